"""Database faults under load: PostgreSQL restarted, SQLite locked by another writer.

The promise: no message lost, each handled once and each reply sent once, and the server
recovers without a restart. Real `werkbot serve` processes, with WhatsApp and SMS pointed
at a stand-in of Twilio's Messages endpoint and Telegram in webhook mode pointed at the
fake Bot API (the stand-ins of `test_multi_process`). A client plays the providers: it
posts signed webhooks at a steady rate and redelivers whatever is not answered 2xx (an
error status, a refused connection or a time-out) a second later, as Twilio and Telegram
do; the redelivery may reach another process, as through a load balancer (every process
has the same public URL, the one the signatures cover).

1. PostgreSQL restarted under load: two processes on one PostgreSQL, 300 webhooks at 20 a
   second; a few seconds in, PostgreSQL is stopped (`pg_ctl stop -m immediate`, as in a
   crash) and started again ~2.5 s later on the same port and data. While it is down,
   `/healthz` says 503 (`/metrics` still answers) and a webhook gets 503: never 500, never
   a 2xx for what was not stored. Afterwards every webhook is in the inbox once, handled,
   and answered with exactly the replies a first contact gets, each sent once (counted at
   the stand-ins, whose Twilio answers slowly, so the fault also lands between a send and
   its record). The same processes then take a new wave, each answered 2xx first time.
2. SQLite locked by another writer for a few seconds (within the busy timeout): the
   webhooks that arrive wait and are stored once the lock is released; all handled once.
3. SQLite locked for longer than the busy timeout (`?timeout=2` in the database URL):
   webhooks get 503 (logged), nothing 500, the process stays up; the redeliveries after
   the release are stored and everything is handled once; `/healthz` is 503 while the
   database cannot be written and 200 after.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.processes import (
    Werkbot,
    clean_env,
    free_port,
    query,
    running,
    wait_for,
)
from tests.e2e.test_multi_process import (
    ACCOUNT_SID,
    SMS_FROM,
    TG_SECRET,
    WA_FROM,
    Hook,
    StandIns,
    configure,
    migrate_once,
    pg_query,
    telegram_hook,
    telegram_update,
    twilio_hook,
)
from tests.e2e.test_multi_process import write_config as multi_config
from tests.services import start_postgres, stop_postgres
from tests.twilio.payloads import sms, whatsapp

pytestmark = pytest.mark.timeout(120)

PUBLIC_URL = "https://werkbot.example"  # what every process signs against, as behind an LB
RETRY_DELAY = 1.0  # the provider's redelivery, a second after a failure
CLIENT_TIMEOUT = 15.0  # Twilio gives up on a webhook after 15 s
GIVE_UP = 45.0  # the test's limit for one webhook to be taken (not a provider's)
REPLIES_PER_FIRST_CONTACT = 2  # 'hilfe' from someone new: the consent request and the menu
SENT = ("accepted", "sent", "delivered")


@dataclass
class SlowStandIns(StandIns):
    """The stand-ins, Twilio taking `delay` seconds to answer: the outbox spends its time
    in the middle of a send, so a fault lands between the send and its record."""

    delay: float = 0.0

    async def _message(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        return await super()._message(request)


@pytest.fixture
def fake() -> Iterator[SlowStandIns]:
    stand_ins = SlowStandIns(delay=0.2).start()
    yield stand_ins
    stand_ins.close()


def write_config(path: Path, tmp: Path, port: int, db_url: str, fake: StandIns) -> Path:
    """The multi-process config, every process with the same public URL."""
    multi_config(path, tmp, port, db_url, fake)
    text = path.read_text(encoding="utf-8")
    own = f'public_url = "http://127.0.0.1:{port}"'
    assert own in text
    path.write_text(text.replace(own, f'public_url = "{PUBLIC_URL}"'), encoding="utf-8")
    return path


# ----------------------------------------------------------------- the load


@dataclass
class Wave:
    """Webhooks from new customers, one message each, in three channels."""

    hooks: list[Hook]
    twilio: dict[str, str]  # inbox/outbox address -> the "To" of the replies at Twilio
    chats: list[int]

    @property
    def senders(self) -> list[str]:
        return [*self.twilio, *(f"telegram:{c}" for c in self.chats)]


def build_wave(count: int, wave: int) -> Wave:
    hooks: list[Hook] = []
    twilio: dict[str, str] = {}
    chats: list[int] = []
    for i in range(count):
        kind = i % 3
        if kind == 2:
            chat = 700_000_000 + wave * 10_000 + i
            update = telegram_update(500_000 + wave * 10_000 + i, chat, "hilfe")
            hooks.append(telegram_hook(0, update, TG_SECRET))
            chats.append(chat)
            continue
        channel = "whatsapp" if kind == 0 else "sms"
        phone = f"+49172{wave:02d}{i:05d}"
        sid = f"SM{secrets.token_hex(16)}"
        form = (whatsapp("hilfe", sender=phone, message_sid=sid) if channel == "whatsapp"
                else sms("hilfe", sender=phone, message_sid=sid))
        form["AccountSid"] = ACCOUNT_SID
        form["To"] = WA_FROM if channel == "whatsapp" else SMS_FROM
        hooks.append(twilio_hook(0, PUBLIC_URL, channel, form))
        twilio[f"{channel}:{phone}"] = form["From"]
    return Wave(hooks, twilio, chats)


@dataclass
class Delivery:
    """One webhook as the provider sees it: each attempt's answer, until a 2xx."""

    hook: Hook
    answers: list[str] = field(default_factory=list)  # "200", "503", "ClientOSError", ...
    first_sent: float = 0.0
    seconds: float = 0.0  # from the first attempt to the 2xx

    @property
    def delivered(self) -> bool:
        return bool(self.answers) and self.answers[-1].startswith("2")


async def deliver(bases: list[str], hooks: list[Hook], rate: float) -> list[Delivery]:
    """Post `hooks` at `rate` a second, round-robin over `bases`; redeliver what fails,
    each time to the next process."""
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async def one(n: int, hook: Hook) -> Delivery:
            result = Delivery(hook, first_sent=loop.time())
            attempt = 0
            while loop.time() - result.first_sent < GIVE_UP:
                base = bases[(n + attempt) % len(bases)]
                try:
                    async with session.post(base + hook.path, data=hook.body,
                                            headers=hook.headers) as resp:
                        await resp.read()
                        result.answers.append(str(resp.status))
                except (aiohttp.ClientError, TimeoutError) as exc:
                    result.answers.append(type(exc).__name__)
                if result.delivered:
                    result.seconds = loop.time() - result.first_sent
                    return result
                attempt += 1
                await asyncio.sleep(RETRY_DELAY)
            return result

        started = loop.time()
        tasks = []
        for n, hook in enumerate(hooks):
            await asyncio.sleep(max(0.0, started + n / rate - loop.time()))
            tasks.append(asyncio.create_task(one(n, hook)))
        return list(await asyncio.gather(*tasks))


async def healthz(base: str, path: str = "/healthz") -> int:
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.get(base + path) as resp:
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


def answers(deliveries: list[Delivery]) -> Counter[str]:
    return Counter(a for d in deliveries for a in d.answers)


def assert_all_delivered(deliveries: list[Delivery], logs: Callable[[], str]) -> None:
    lost = [(d.hook.label, d.answers) for d in deliveries if not d.delivered]
    assert not lost, f"{len(lost)} webhooks never taken, e.g. {lost[:5]}\n{logs()}"
    # A store failure is a 503 the provider retries; a 500 (an unhandled error) is not it.
    unexpected = set(answers(deliveries)) - {"200", "503"}
    assert not unexpected, (answers(deliveries), logs())


Rows = Callable[[str], list[tuple[Any, ...]]]


def settled(rows: Rows) -> bool:
    """No inbox row waits to be handled and no reply waits to be sent."""
    left = rows("SELECT (SELECT count(*) FROM inbox WHERE status <> 'done' "
                "AND kind <> 'TimerEvent') + (SELECT count(*) FROM outbox "
                "WHERE status IN ('queued', 'sending'))")
    return int(left[0][0]) == 0


def assert_handled_once(rows: Rows, fake: StandIns, wave: Wave) -> None:
    """Each webhook of the wave is one inbox row, handled, and its replies were each
    recorded once in the outbox and sent once (counted at the stand-ins)."""
    assert fake.bot is not None
    inbox = rows("SELECT sender, status FROM inbox WHERE kind = 'TextEvent'")
    per_sender = Counter(str(r[0]) for r in inbox)
    wrong_inbox = {s: per_sender[s] for s in wave.senders if per_sender[s] != 1}
    assert not wrong_inbox, list(wrong_inbox.items())[:10]
    not_done = [r for r in inbox if str(r[0]) in set(wave.senders) and r[1] != "done"]
    assert not not_done, not_done[:10]

    outbox = rows("SELECT address, status FROM outbox")
    per_address = Counter(str(r[0]) for r in outbox)
    unsent = [r for r in outbox if r[1] not in SENT]
    assert not unsent, unsent[:10]
    twilio_to = Counter(p.to for p in fake.twilio_posts)
    wrong_twilio = {a: (per_address[a], twilio_to[to]) for a, to in wave.twilio.items()
                    if per_address[a] != REPLIES_PER_FIRST_CONTACT
                    or twilio_to[to] != REPLIES_PER_FIRST_CONTACT}
    assert not wrong_twilio, list(wrong_twilio.items())[:10]
    chat_sends = Counter(str(c.params.get("chat_id"))
                         for c in fake.bot.calls_of("sendMessage"))
    wrong_chats = {c: (per_address[f"telegram:{c}"], chat_sends[str(c)]) for c in wave.chats
                   if per_address[f"telegram:{c}"] != REPLIES_PER_FIRST_CONTACT
                   or chat_sends[str(c)] != REPLIES_PER_FIRST_CONTACT}
    assert not wrong_chats, list(wrong_chats.items())[:10]
    # Nothing sent that the outbox does not record once (no send repeated).
    assert sum(twilio_to.values()) == sum(
        n for a, n in per_address.items() if not a.startswith("telegram:"))
    assert sum(chat_sends.values()) == sum(
        n for a, n in per_address.items() if a.startswith("telegram:"))


def log_of(servers: list[Werkbot]) -> Callable[[], str]:
    def logs() -> str:
        return "\n".join(f"--- process {n}\n{s.output()[-4000:]}"
                         for n, s in enumerate(servers))

    return logs


# ----------------------------------------------------------------- 1. PostgreSQL restart

PG_PROCESSES = 2
PG_HOOKS = 300
PG_RATE = 20.0  # webhooks a second: the load runs 15 s
PG_STOP_AFTER = 4.0
PG_DOWN = 2.5


@pytest.mark.postgres
def test_postgres_restart_under_load_loses_nothing_and_recovers(
        tmp_path: Path, pg_url: str, fake: StandIns) -> None:
    bases, configs = configure(tmp_path, pg_url, fake, PG_PROCESSES, write_config)
    env = clean_env()
    migrate_once(configs[0], env)

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return pg_query(pg_url, sql)

    with ExitStack() as stack:
        servers = [stack.enter_context(running(["serve", "--config", str(config)],
                                               tmp_path / f"werkbot-{n}.log", env=env,
                                               base=base))
                   for n, (config, base) in enumerate(zip(configs, bases, strict=True))]
        logs = log_of(servers)
        wave = build_wave(PG_HOOKS, 1)

        async def scenario() -> tuple[list[Delivery], list[int], float]:
            load = asyncio.create_task(deliver(bases, wave.hooks, PG_RATE))
            await asyncio.sleep(PG_STOP_AFTER)
            await asyncio.to_thread(stop_postgres, pg_url, "immediate")
            stopped = time.monotonic()
            health = list(await asyncio.gather(*(healthz(b) for b in bases)))
            health += await asyncio.gather(*(healthz(b, "/metrics") for b in bases))
            await asyncio.sleep(max(0.0, PG_DOWN - (time.monotonic() - stopped)))
            await asyncio.to_thread(start_postgres, pg_url)
            down = time.monotonic() - stopped
            return await load, health, down

        started = time.monotonic()
        deliveries, health_down, down = asyncio.run(scenario())
        posted = time.monotonic() - started
        assert_all_delivered(deliveries, logs)
        refused = sum(1 for d in deliveries if len(d.answers) > 1)
        assert refused > 0, "no webhook arrived while PostgreSQL was down: the test missed"
        # While down: unhealthy, but the metrics (without fresh queue depths) still served.
        assert health_down == [503] * PG_PROCESSES + [200] * PG_PROCESSES, (health_down, logs())

        # Recovered without a restart: healthy again, everything handled and sent once.
        for base in bases:
            wait_for(lambda b=base: asyncio.run(healthz(b)) == 200, 30, f"{base} healthy")
        wait_for(lambda: settled(rows), 60, "every webhook handled and replied to\n" + logs())
        handled = time.monotonic() - started
        assert_handled_once(rows, fake, wave)

        # The same processes take new webhooks, each answered 2xx the first time.
        after = build_wave(30, 2)
        again = asyncio.run(deliver(bases, after.hooks, 30.0))
        assert [d.answers for d in again if d.answers != ["200"]] == [], logs()
        wait_for(lambda: settled(rows), 30, "the new wave handled\n" + logs())
        assert_handled_once(rows, fake, after)
        assert all(s.proc.poll() is None for s in servers)
        for n, server in enumerate(servers):
            assert server.stop() == 0, f"process {n}:\n{server.output()[-3000:]}"
        print(f"\nPostgreSQL down {down:.1f}s: {PG_HOOKS} webhooks posted in {posted:.1f}s "
              f"({refused} redelivered; answers {dict(answers(deliveries))}), all handled "
              f"and replied to in {handled:.1f}s")


# ----------------------------------------------------------------- 2./3. SQLite locked


def hold_write_lock(db: Path, seconds: float, held: threading.Event | None = None
                    ) -> tuple[float, float]:
    """Another writer: takes SQLite's write lock with a write, holds it (`held` is set
    once it does), rolls back. Returns when the lock was taken and released (monotonic)."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE alembic_version SET version_num = version_num")
        taken = time.monotonic()
        if held is not None:
            held.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        return taken, time.monotonic()
    finally:
        conn.close()


@dataclass
class LockRun:
    deliveries: list[Delivery]
    taken: float
    released: float
    health: list[int]
    seconds: float


def run_sqlite_lock(base: str, db: Path, wave: Wave, *, rate: float, lock_after: float,
                    hold: float, health_probe: bool) -> LockRun:
    async def scenario() -> LockRun:
        started = time.monotonic()
        load = asyncio.create_task(deliver([base], wave.hooks, rate))
        await asyncio.sleep(lock_after)
        held = threading.Event()
        lock = asyncio.create_task(asyncio.to_thread(hold_write_lock, db, hold, held))
        health: list[int] = []
        if health_probe:  # once the other writer holds the lock (however busy the machine)
            assert await asyncio.to_thread(held.wait, 30), "the other writer never got the lock"
            await asyncio.sleep(0.3)
            health.append(await healthz(base))
        taken, released = await lock
        deliveries = await load
        return LockRun(deliveries, taken, released, health, time.monotonic() - started)

    return asyncio.run(scenario())


def sqlite_server(stack: ExitStack, tmp_path: Path, fake: StandIns, url_query: str = ""
                  ) -> tuple[Werkbot, Path]:
    port = free_port()
    db = tmp_path / "werkbot.db"
    config = write_config(tmp_path / "werkbot.toml", tmp_path, port,
                          f"sqlite+aiosqlite:///{db}{url_query}", fake)
    server = stack.enter_context(running(["serve", "--config", str(config)],
                                         tmp_path / "werkbot.log", env=clean_env(),
                                         base=f"http://127.0.0.1:{port}"))
    return server, db


def test_sqlite_locked_by_another_writer_webhooks_wait_and_nothing_is_lost(
        tmp_path: Path, fake: StandIns) -> None:
    with ExitStack() as stack:
        server, db = sqlite_server(stack, tmp_path, fake)
        logs = log_of([server])

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return query(db, sql)

        wave = build_wave(90, 3)
        run = run_sqlite_lock(server.base, db, wave, rate=15.0, lock_after=1.5, hold=3.0,
                              health_probe=False)
        assert_all_delivered(run.deliveries, logs)
        # Within the busy timeout the webhooks waited for the lock: none refused.
        assert answers(run.deliveries) == Counter({"200": len(wave.hooks)}), logs()
        waited = [d for d in run.deliveries if d.first_sent < run.released - 0.5
                  and d.first_sent + d.seconds > run.released - 0.1]
        assert len(waited) >= 10, "too few webhooks arrived while the lock was held"
        wait_for(lambda: settled(rows), 30, "every webhook handled and replied to\n" + logs())
        assert_handled_once(rows, fake, wave)

        after = build_wave(15, 4)
        again = asyncio.run(deliver([server.base], after.hooks, 30.0))
        assert [d.answers for d in again if d.answers != ["200"]] == [], logs()
        wait_for(lambda: settled(rows), 30, "the new wave handled\n" + logs())
        assert_handled_once(rows, fake, after)
        assert server.stop() == 0, server.output()[-3000:]
        longest = max(d.seconds for d in run.deliveries)
        print(f"\nSQLite locked {run.released - run.taken:.1f}s: {len(waited)} webhooks "
              f"waited (longest {longest:.1f}s), all 200, all handled once")


def test_sqlite_locked_longer_than_busy_timeout_answers_503_and_recovers(
        tmp_path: Path, fake: StandIns) -> None:
    with ExitStack() as stack:
        server, db = sqlite_server(stack, tmp_path, fake, "?timeout=2")
        logs = log_of([server])

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return query(db, sql)

        wave = build_wave(60, 5)
        run = run_sqlite_lock(server.base, db, wave, rate=10.0, lock_after=1.0, hold=7.0,
                              health_probe=True)
        assert_all_delivered(run.deliveries, logs)
        counts = answers(run.deliveries)
        assert counts["503"] > 0, (counts, "the lock outlasted the busy timeout: 503s due")
        assert run.health == [503], run.health
        assert server.proc.poll() is None
        assert "database is locked" in server.output()
        wait_for(lambda: asyncio.run(healthz(server.base)) == 200, 30, "healthy again")
        wait_for(lambda: settled(rows), 30, "every webhook handled and replied to\n" + logs())
        assert_handled_once(rows, fake, wave)

        after = build_wave(15, 6)
        again = asyncio.run(deliver([server.base], after.hooks, 30.0))
        assert [d.answers for d in again if d.answers != ["200"]] == [], logs()
        wait_for(lambda: settled(rows), 30, "the new wave handled\n" + logs())
        assert_handled_once(rows, fake, after)
        assert server.stop() == 0, server.output()[-3000:]
        print(f"\nSQLite locked {run.released - run.taken:.1f}s (busy timeout 2s): answers "
              f"{dict(counts)}, {sum(len(d.answers) > 1 for d in run.deliveries)} redelivered,"
              f" all handled once")
