"""The entry point: no Telegram without a token, and aiogram loaded only when it starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.telegram.helpers import text_update
from werkbot.adapters.telegram import build
from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.adapters.telegram.claim import ClaimRule, Verdict
from werkbot.adapters.telegram.memory import ChatMemory
from werkbot.bot.settings import Settings
from werkbot.bot.texts import Texts

REPO = Path(__file__).resolve().parents[2]


def test_no_token_no_adapter_and_no_aiogram_import() -> None:
    script = (
        "import sys\n"
        "from adapters.telegram import build\n"
        "from bot.settings import Settings\n"
        "assert build(Settings()) == []\n"
        "from adapters.telegram.adapter import TelegramAdapter\n"
        "from dataclasses import replace\n"
        "s = Settings()\n"
        "s = replace(s, telegram=replace(s.telegram, token='1:x', webhook_secret='y'))\n"
        "(adapter,) = build(s)\n"
        "assert adapter.name == 'telegram'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiogram', 'telegram')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_token_gives_one_webhook_adapter(tg_settings: Settings) -> None:
    (adapter,) = build(tg_settings)
    assert isinstance(adapter, TelegramAdapter)
    assert [r.path for r in adapter.routes()] == ["/webhooks/telegram"]  # type: ignore[attr-defined]


def test_answers_to_werkbot_messages_and_asked_contacts_are_claimed(
        tg_settings: Settings) -> None:
    rule = ClaimRule.from_texts(Texts.load(Path(tg_settings.texts_dir)))
    memory = ChatMemory()
    answer = text_update(1, "Am Dienstag passt es", reply_to_message={
        "message_id": 5000, "date": 1, "chat": {"id": 7001, "type": "private"}})
    assert rule.verdict(answer, memory) is Verdict.HOST
    memory.remember_sent("7001", 5000)
    assert rule.verdict(answer, memory) is Verdict.CLAIM
    contact = text_update(2, "")
    del contact["message"]["text"]
    contact["message"]["contact"] = {"phone_number": "4917111111111", "first_name": "A",
                                     "user_id": 7001}
    assert rule.verdict(contact, memory) is Verdict.HOST
    memory.remember_keyboard("7001", {"Lieber nicht": "no"})
    assert rule.verdict(contact, memory) is Verdict.CLAIM
    assert rule.verdict(text_update(3, "lieber nicht"), memory) is Verdict.CLAIM
