"""The runnable plug-in examples work against the fake Bot API, werkbot inside them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from telegram import Update

from tests.services import free_port
from tests.telegram.conftest import SECRET, TOKEN
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.helpers import text_update

REPO = Path(__file__).resolve().parents[2]


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_config(tmp_path: Path, fake_api: FakeBotAPI) -> Path:
    config = tmp_path / "werkbot.toml"
    config.write_text(f"""
texts_dir = "{REPO / 'config' / 'texts'}"
[server]
port = {free_port()}
public_url = "https://bot.example.de"
secret = "example-secret-0123456789"
[database]
url = "sqlite+aiosqlite:///{tmp_path / 'werkbot.db'}"
[media]
dir = "{tmp_path / 'media'}"
[business]
holidays = ""
[telegram]
token = "{TOKEN}"
api_base = "{fake_api.url}"
webhook_secret = "{SECRET}"
""", encoding="utf-8")
    return config


async def test_ptb_example_host_start_and_werkbot_hilfe(tmp_path: Path,
                                                         fake_api: FakeBotAPI) -> None:
    example = load_example("ptb_host_bot")
    app = example.build_application(write_config(tmp_path, fake_api))
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)  # run_polling would call it; the test drives updates itself
    try:
        for update_id, said in ((21, "/start"), (22, "hilfe")):
            await app.process_update(Update.de_json(text_update(update_id, said), app.bot))
        sent = await fake_api.wait_for("sendMessage", 3)
    finally:
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()
    replies = [str(c.params["text"]) for c in sent]
    assert any(s.startswith("Hallo! Ich bin der Bot der Firma") for s in replies)
    assert any("brauchen wir Ihre Einwilligung" in s for s in replies)  # consent first
    assert any("Willkommen bei Sanitär Maier GmbH" in s for s in replies)
    assert not any(s.startswith("Der Host-Bot hat gelesen") for s in replies)  # hilfe was ours
    assert len(app.handlers[-1000]) == 1  # werkbot sits in its own early group
