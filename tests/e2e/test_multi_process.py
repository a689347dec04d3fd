"""Three `werkbot serve` processes on one PostgreSQL under a mixed webhook load.

The set-up a hoster or a firm that must never lose a message runs: several processes
behind a load balancer, one database. The test starts three real servers on one fresh
PostgreSQL database (migrated once by `werkbot db upgrade`), with WhatsApp and SMS
pointed at a local stand-in of Twilio's Messages endpoint (it records every POST and
answers 201) and Telegram in webhook mode pointed at the fake Bot API (which also
answers each server's setWebhook). Then:

1. Escalation: an SMS customer consents and reports an emergency while nobody is in the
   office (no opening hours). The on-call fitter (Telegram) is alerted; nobody
   acknowledges, so after `oncall.ack_timeout = "30s"` of real time the escalation timer
   fires and the admin is alerted: exactly once, whichever of the three processes
   claims the timer.
2. Load: about 2,000 webhooks spread round-robin over the three processes, 16 at a
   time: WhatsApp and SMS forms signed for the process they go to, Telegram updates with
   the webhook secret; 10% are sent again to a *different* process (a redelivery through
   another instance), some carry a bad signature or a wrong secret and must be refused.
   Every customer writes `hilfe` once; a first contact gets the consent request and the
   menu. Afterwards each valid message is in the inbox exactly once and handled, each
   reply was sent exactly once (counted at the stand-ins, per recipient), and nothing of
   a refused request was stored.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import secrets
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from twilio.request_validator import RequestValidator

from tests.e2e.processes import (
    REPO,
    Werkbot,
    clean_env,
    free_port,
    get_json,
    running,
    werkbot_command,
)
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.twilio.payloads import sms, whatsapp
from werkbot.adapters.telegram.adapter import SECRET_HEADER, WEBHOOK_PATH

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

T = TypeVar("T")
ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "multi-auth-token-0123456789abcdef"
WA_FROM = "whatsapp:+498912345678"
SMS_FROM = "+498912345679"
TG_TOKEN = "123456789:AAEmultiProcessTestToken_0123456789ab"
TG_SECRET = "multi-process-webhook-secret"
CHEF_TG = 100000001  # the admin, the escalation contact
LUDWIG_TG = 111111111  # the fitter on call
EMERGENCY_CUSTOMER = "+491709990001"
PROCESSES = 3
CONCURRENCY = 16
TWILIO_MESSAGES = 1200  # half WhatsApp, half SMS
TELEGRAM_MESSAGES = 800
DUPLICATE_SHARE = 0.10
BAD_SHARE = 0.05
SETTLE_TIMEOUT = 150.0


# ----------------------------------------------------------------- the stand-ins


@dataclass
class TwilioPost:
    to: str
    sender: str
    body: str
    sid: str  # the message SID the stand-in answered with


@dataclass
class StandIns:
    """Twilio's Messages endpoint and the fake Bot API, served by a loop in a thread.

    A thread of their own: the test's main thread blocks while it waits for the servers
    to come up, and each server calls setWebhook during its start.
    """

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    twilio_posts: list[TwilioPost] = field(default_factory=list)
    bot: FakeBotAPI | None = None
    twilio_url: str = ""
    _twilio: TestServer | None = None
    _thread: threading.Thread | None = None

    def run(self, coro: Awaitable[T], timeout: float = 30) -> T:
        async def wrapped() -> T:
            return await coro

        future: Future[T] = asyncio.run_coroutine_threadsafe(wrapped(), self.loop)
        return future.result(timeout)

    def start(self) -> StandIns:
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        self.bot = FakeBotAPI(TG_TOKEN)
        await self.bot.start()
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._message)
        self._twilio = TestServer(app, host="127.0.0.1")
        await self._twilio.start_server()
        self.twilio_url = str(self._twilio.make_url("")).rstrip("/")

    async def _message(self, request: web.Request) -> web.Response:
        if request.match_info["account"] != ACCOUNT_SID or not request.headers.get(
                "Authorization"):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = await request.post()
        to, sender, body = (str(form.get(k, "")) for k in ("To", "From", "Body"))
        sid = "SM" + secrets.token_hex(16)
        self.twilio_posts.append(TwilioPost(to, sender, body, sid))
        return web.json_response({
            "sid": sid, "account_sid": ACCOUNT_SID, "status": "queued", "to": to,
            "from": sender, "body": body, "direction": "outbound-api",
            "api_version": "2010-04-01", "num_segments": "1", "num_media": "0",
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": None,
            "error_code": None, "error_message": None, "price": None, "price_unit": "USD",
            "messaging_service_sid": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            "subresource_uris": {},
        }, status=201)

    def sent_to_chat(self, chat_id: int) -> list[str]:
        """Texts the fake Bot API got by sendMessage for one chat."""
        assert self.bot is not None
        return [str(c.params.get("text", "")) for c in list(self.bot.calls)
                if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(chat_id)]

    def close(self) -> None:
        async def stop() -> None:
            if self.bot is not None:
                await self.bot.close()
            if self._twilio is not None:
                await self._twilio.close()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(10)


@pytest.fixture
def stand_ins() -> Iterator[StandIns]:
    fake = StandIns().start()
    yield fake
    fake.close()


# ----------------------------------------------------------------- configuration


def write_config(path: Path, tmp: Path, port: int, db_url: str, fake: StandIns) -> Path:
    assert fake.bot is not None
    path.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
secret = "multi-process-secret-0123456789abcdef"
log_level = "INFO"

[database]
url = "{db_url}"

[business]
name = "Sanitär Maier GmbH"
timezone = "Europe/Berlin"
holidays = ""
phone = "+49 89 1234567"

[media]
dir = "{tmp / 'media'}"

[twilio]
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
api_base = "{fake.twilio_url}"
whatsapp_from = "{WA_FROM}"
sms_from = "{SMS_FROM}"

[telegram]
token = "{TG_TOKEN}"
api_base = "{fake.bot.url}"
mode = "webhook"
webhook_secret = "{TG_SECRET}"
bot_username = "fitter_test_bot"

[oncall]
rotation = ["ludwig"]
ack_timeout = "30s"
escalation = ["chef"]

[[staff]]
id = "chef"
name = "Josef Maier"
roles = ["admin"]
telegram = {CHEF_TG}

[[staff]]
id = "ludwig"
name = "Ludwig Maier"
roles = ["fitter"]
telegram = {LUDWIG_TG}
""", encoding="utf-8")
    return path


# ----------------------------------------------------------------- the database


def configure(tmp_path: Path, pg_url: str, fake: StandIns, count: int,
              write: Callable[[Path, Path, int, str, StandIns], Path] | None = None
              ) -> tuple[list[str], list[Path]]:
    """Base URLs and config files (`write`, default `write_config`) for `count`
    processes on one PostgreSQL."""
    write = write or write_config
    ports = [free_port() for _ in range(count)]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    configs = [write(tmp_path / f"werkbot-{n}.toml", tmp_path, port, pg_url, fake)
               for n, port in enumerate(ports)]
    return bases, configs


def migrate_once(config: Path, env: dict[str, str]) -> None:
    """One migration before any server starts, as an operator does on a deploy."""
    upgrade = subprocess.run([*werkbot_command(), "db", "upgrade", "--config", str(config)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
                             check=False)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr


def pg_query(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Read the shared PostgreSQL database directly (one short connection, no pool)."""

    async def fetch() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(text(sql), params)
                return [tuple(r) for r in result.all()]
        finally:
            await engine.dispose()

    return asyncio.run(fetch())


def wait_until(check: Callable[[], T | None], timeout: float, what: str,
               interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def settled(url: str) -> bool:
    """No inbox row waits to be handled and no reply waits to be sent."""
    open_rows = pg_query(url, """
        SELECT (SELECT count(*) FROM inbox WHERE status <> 'done' AND kind <> 'TimerEvent')
             + (SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending'))""")
    return int(open_rows[0][0]) == 0


# ----------------------------------------------------------------- the webhooks


@dataclass
class Hook:
    """One webhook request: where it goes, what it carries and the answer it must get."""

    process: int
    path: str
    body: bytes
    headers: dict[str, str]
    expect: int
    label: str


def twilio_hook(process: int, base: str, channel: str, form: dict[str, str],
                *, bad: bool = False) -> Hook:
    path = f"/webhooks/{channel}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base + path, form)
    if bad:  # signed with a wrong token: what a forger without the auth token sends
        signature = RequestValidator("not-the-token").compute_signature(base + path, form)
    return Hook(process, path, urllib.parse.urlencode(form).encode(),
                {"Content-Type": "application/x-www-form-urlencoded",
                 "X-Twilio-Signature": signature}, 403 if bad else 200, form["MessageSid"])


def telegram_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Kunde", "language_code": "de"}
    return {"update_id": update_id, "message": {
        "message_id": update_id % 100000, "date": int(time.time()), "from": user,
        "chat": {"id": chat_id, "type": "private", "first_name": "Kunde"}, "text": text}}


def telegram_hook(process: int, update: dict[str, Any], secret: str | None) -> Hook:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    expect = 200 if secret == TG_SECRET else (401 if secret is None else 403)
    return Hook(process, WEBHOOK_PATH, json.dumps(update).encode(), headers, expect,
                f"telegram:{update['update_id']}")


async def send_hooks(bases: list[str], hooks: list[Hook]) -> list[tuple[Hook, int, str]]:
    """POST every hook, `CONCURRENCY` at a time; (hook, status, body) of each."""
    gate = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)

    async with aiohttp.ClientSession(timeout=timeout) as session:
        async def one(hook: Hook) -> tuple[Hook, int, str]:
            async with gate, session.post(bases[hook.process] + hook.path, data=hook.body,
                                          headers=hook.headers) as resp:
                return hook, resp.status, (await resp.text())[:200]

        return list(await asyncio.gather(*(one(h) for h in hooks)))


def post_hooks(bases: list[str], hooks: list[Hook]) -> None:
    results = asyncio.run(send_hooks(bases, hooks))
    wrong = [(h.label, h.process, h.expect, status, body)
             for h, status, body in results if status != h.expect]
    assert not wrong, f"{len(wrong)} unexpected answers, e.g. {wrong[:5]}"


@dataclass
class Load:
    hooks: list[Hook]
    twilio_customers: dict[str, str]  # customer address in the outbox -> Twilio "To"
    telegram_chats: list[int]
    refused_twilio: list[str]  # phone numbers whose only webhook had a bad signature
    refused_chats: list[int]
    valid_keys: int  # distinct valid messages


def build_load(bases: list[str], rng: random.Random) -> Load:
    """The mixed load, round-robin over the processes, duplicates to another process."""
    turn = itertools.count()
    hooks: list[Hook] = []
    customers: dict[str, str] = {}
    refused_twilio: list[str] = []
    duplicates: list[Hook] = []
    for i in range(TWILIO_MESSAGES):
        channel = "whatsapp" if i % 2 == 0 else "sms"
        phone = f"+49171{i:07d}"
        sid = f"SM{secrets.token_hex(16)}"
        form = (whatsapp("hilfe", sender=phone, message_sid=sid) if channel == "whatsapp"
                else sms("hilfe", sender=phone, message_sid=sid))
        form["AccountSid"] = ACCOUNT_SID
        form["To"] = WA_FROM if channel == "whatsapp" else SMS_FROM
        process = next(turn) % PROCESSES
        bad = rng.random() < BAD_SHARE
        hooks.append(twilio_hook(process, bases[process], channel, form, bad=bad))
        if bad:
            refused_twilio.append(phone)
            continue
        customers[f"{channel}:{phone}"] = form["From"]
        if rng.random() < DUPLICATE_SHARE:  # Twilio retries; the LB picks another process
            other = (process + rng.randint(1, PROCESSES - 1)) % PROCESSES
            duplicates.append(twilio_hook(other, bases[other], channel, form))
    chats: list[int] = []
    refused_chats: list[int] = []
    for i in range(TELEGRAM_MESSAGES):
        chat_id = 800_000_000 + i
        update = telegram_update(900_000 + i, chat_id, "hilfe")
        process = next(turn) % PROCESSES
        if rng.random() < BAD_SHARE:
            secret = None if i % 2 else "wrong-secret"
            hooks.append(telegram_hook(process, update, secret))
            refused_chats.append(chat_id)
            continue
        hooks.append(telegram_hook(process, update, TG_SECRET))
        chats.append(chat_id)
        if rng.random() < DUPLICATE_SHARE:
            other = (process + rng.randint(1, PROCESSES - 1)) % PROCESSES
            duplicates.append(telegram_hook(other, update, TG_SECRET))
    # Interleave the channels, and let each duplicate come after its original.
    rng.shuffle(hooks)
    for dup in duplicates:
        hooks.insert(rng.randint(len(hooks) // 2, len(hooks)), dup)
    return Load(hooks, customers, chats, refused_twilio, refused_chats,
                len(customers) + len(chats))


# ----------------------------------------------------------------- the test


def telegram_registered(bot: Werkbot) -> bool:
    """Serving, and its /healthz says the Telegram webhook is registered."""
    health = get_json(bot.base + "/healthz", quiet=True)
    return isinstance(health, dict) and health.get("telegram") == "ok"


def test_three_processes_one_postgres_handle_each_message_once(
        tmp_path: Path, pg_url: str, stand_ins: StandIns) -> None:
    assert stand_ins.bot is not None
    bases, configs = configure(tmp_path, pg_url, stand_ins, PROCESSES)
    env = clean_env()
    migrate_once(configs[0], env)

    with ExitStack() as stack:
        servers: list[Werkbot] = [
            stack.enter_context(running(["serve", "--config", str(config)],
                                        tmp_path / f"werkbot-{n}.log", env=env, base=base,
                                        ready=telegram_registered))
            for n, (config, base) in enumerate(zip(configs, bases, strict=True))]

        def logs() -> str:
            return "\n".join(f"--- process {n}\n{s.output()[-3000:]}"
                             for n, s in enumerate(servers))

        # Each server set its webhook on the fake Bot API (in the background of its start).
        assert len(stand_ins.bot.calls_of("setWebhook")) >= PROCESSES, logs()

        # ---- 1. an emergency whose acknowledgement never comes
        hooks_before = emergency_before_load(bases, pg_url, stand_ins, logs)
        alerted_at = time.monotonic()

        # ---- 2. the load
        load = build_load(bases, random.Random(20261205))
        started = time.monotonic()
        post_hooks(bases, load.hooks)
        posted = time.monotonic() - started
        wait_until(lambda: settled(pg_url), SETTLE_TIMEOUT,
                   "every inbox row handled and every reply sent\n" + logs(), interval=0.5)
        handled = time.monotonic() - started

        # Handled exactly once: one inbox row per valid message, all done, none failed.
        rows = pg_query(pg_url, "SELECT dedup_key, status, attempts FROM inbox "
                                "WHERE kind = 'TextEvent'")
        keys = Counter(str(r[0]) for r in rows)
        assert not [k for k, n in keys.items() if n > 1]
        assert len(rows) == load.valid_keys + hooks_before, (len(rows), load.valid_keys)
        assert {str(r[1]) for r in rows} == {"done"}
        outbox = pg_query(pg_url, "SELECT address, status, attempts, inbound_id FROM outbox")
        assert not [r for r in outbox if r[1] not in ("accepted", "sent", "delivered")], (
            [r for r in outbox if r[1] not in ("accepted", "sent", "delivered")][:5])
        per_address = Counter(str(r[0]) for r in outbox)

        # Sent exactly once: count at the stand-ins, per recipient.
        twilio_to = Counter(p.to for p in stand_ins.twilio_posts)
        expected_twilio = per_address[next(iter(load.twilio_customers))]
        assert expected_twilio == 2, "a first-contact 'hilfe' gets consent request + menu"
        wrong_twilio = {a: (per_address[a], twilio_to[to])
                        for a, to in load.twilio_customers.items()
                        if per_address[a] != expected_twilio or twilio_to[to] != expected_twilio}
        assert not wrong_twilio, list(wrong_twilio.items())[:10]
        chat_sends = Counter(str(c.params.get("chat_id"))
                             for c in stand_ins.bot.calls_of("sendMessage"))
        wrong_chats = {c: (per_address[f"telegram:{c}"], chat_sends[str(c)])
                       for c in load.telegram_chats
                       if per_address[f"telegram:{c}"] != 2 or chat_sends[str(c)] != 2}
        assert not wrong_chats, list(wrong_chats.items())[:10]

        # A refused request stored nothing and was answered nothing.
        stored_senders = {str(r[0]) for r in pg_query(pg_url, "SELECT sender FROM inbox")}
        for phone in load.refused_twilio:
            assert not {f"whatsapp:{phone}", f"sms:{phone}"} & stored_senders, phone
            assert twilio_to[phone] == 0 and twilio_to[f"whatsapp:{phone}"] == 0, phone
        for chat in load.refused_chats:
            assert f"telegram:{chat}" not in stored_senders and chat_sends[str(chat)] == 0

        # ---- 1 (cont.). the escalation timer fires once across the three processes
        def chef_alerts() -> list[str] | None:
            return stand_ins.sent_to_chat(CHEF_TG) or None

        remaining = max(5.0, 30 + 30 - (time.monotonic() - alerted_at))
        wait_until(chef_alerts, remaining, "the escalation to the admin\n" + logs())
        time.sleep(3)  # a second firing in another process would show up by now
        assert len(stand_ins.sent_to_chat(CHEF_TG)) == 1, stand_ins.sent_to_chat(CHEF_TG)
        assert len(stand_ins.sent_to_chat(LUDWIG_TG)) == 1
        steps = pg_query(pg_url, "SELECT action, detail FROM emergency_incident_steps "
                                 "WHERE action = 'escalated'")
        stages = Counter(str(detail) for _, detail in steps)
        assert stages["stage 1"] == 1 and set(stages.values()) == {1}, steps
        # The timer row is one row, claimed and handled once (the stage after the admin
        # may have fired too by now: it tells the customer, not the staff).
        timers = pg_query(pg_url, "SELECT dedup_key, status FROM inbox "
                                  "WHERE kind = 'TimerEvent' AND dedup_key LIKE "
                                  "'timer:emergency:%' ORDER BY id")
        assert timers[0] == ("timer:emergency:1:1", "done"), timers
        assert [t[0] for t in timers] == [f"timer:emergency:1:{n}"
                                         for n in range(1, len(timers) + 1)], timers

        for n, server in enumerate(servers):
            assert server.stop() == 0, f"process {n}:\n{server.output()[-3000:]}"

        # Every send the stand-ins got is one outbox row's recorded send (no send repeated,
        # none invented). Compared once nothing moves: the escalation timers go on telling
        # the emergency customer and the admin while the load's replies are checked above.
        recorded = [str(r[0]) for r in pg_query(
            pg_url, "SELECT provider_id FROM outbox WHERE provider_id IS NOT NULL")]
        twilio_sids = sorted(sid for sid in recorded if sid.startswith("SM"))
        assert sorted(p.sid for p in stand_ins.twilio_posts) == twilio_sids
        assert len(stand_ins.bot.calls_of("sendMessage")) == len(recorded) - len(twilio_sids)
        print(f"\n{len(load.hooks)} webhooks ({load.valid_keys} valid messages) posted in "
              f"{posted:.1f}s, all handled and replied to in {handled:.1f}s")


def emergency_before_load(bases: list[str], pg_url: str, fake: StandIns,
                          logs: Callable[[], str]) -> int:
    """An SMS customer consents, then reports an emergency; the fitter is alerted.

    Returns the number of text messages this sent (they are in the inbox too).
    """
    texts = ["hilfe", "ja", "Notfall Wasserrohrbruch"]
    for n, said in enumerate(texts):
        form = sms(said, sender=EMERGENCY_CUSTOMER, message_sid=f"SM{secrets.token_hex(16)}")
        form["AccountSid"], form["To"] = ACCOUNT_SID, SMS_FROM
        process = n % PROCESSES  # each step through another process
        post_hooks(bases, [twilio_hook(process, bases[process], "sms", form)])
        wait_until(lambda: settled(pg_url), 30, f"the answer to {said!r}\n" + logs())
    wait_until(lambda: fake.sent_to_chat(LUDWIG_TG) or None, 30,
               "the alert to the fitter on call\n" + logs())
    assert fake.sent_to_chat(CHEF_TG) == []
    return len(texts)
