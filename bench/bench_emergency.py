"""Emergency path latency: customer's SMS emergency -> fitter's alert leaving werkbot.

Run: `.venv/bin/python -m bench.bench_emergency [--emergencies 40,60,96] [--levels 1,4,16]`.

One real werkbot (`create_app` with the shipped handler bundle and the real Twilio
adapters, workers running, SQLite in a temp dir) served by aiohttp's `AppRunner` on a
loopback port; Twilio's REST API is `tests/twilio/fake_twilio.py`'s recording
`FakeTwilio`, also on loopback. Staff: one fitter reachable by SMS only, on call
(`oncall.rotation`, rota started in the past); business hours empty, so werkbot is always
closed and every emergency goes to the on-call fitter.

Per concurrency level (1, 4, 16 concurrent customers, closed loop):
- plain baseline: already-consented SMS customers send `hilfe`; measured from posting the
  signed webhook until the fake Twilio receives the menu POSTed back to that customer;
- emergency: fresh SMS customers, each consented first (`ja` as signed webhooks: the
  first gets the consent request, the second records consent; then a short pause),
  send `Notfall Wasserrohrbruch`; measured from posting the signed webhook until the
  fake Twilio receives the POST whose `To` is the fitter's number and whose body is
  that customer's alert (identified by the customer's number in the alert's contact
  line). The customer's answer naming the on-call fitter and number is timed too (it
  follows the water-damage safety advice).

Times are `time.perf_counter()` on both ends (same process): webhook POST start, and the
fake's arrival stamp (`SentMessage.at`, after it read the form). Consent is done before
each measured phase and is not in any figure. All alerts go to one fitter number, and
werkbot's outbox claims only the oldest unsent row per address in each batch, so at
higher concurrency the alerts queue behind each other: that is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

from tests.services import free_port
from tests.twilio import payloads
from tests.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, SentMessage
from werkbot.adapters.twilio import build
from werkbot.bot.plugins import Plugins
from werkbot.bot.server import create_app
from werkbot.bot.settings import Settings
from werkbot.bot.testing import make_settings
from werkbot.handlers import build_bundle

PUBLIC_URL = "https://bot.example.de"
SMS_PATH = "/webhooks/sms"
FITTER_SMS = "+4917111111111"
FITTER_NAME = "Ludwig Maier"
ADMIN_SMS = "+4917100000001"
EMERGENCY = "Notfall Wasserrohrbruch"
PLAIN = "hilfe"
PLAIN_PER_CUSTOMER = 6  # `hilfe` requests per regular customer and level
WAIT = 30.0  # seconds one message may take before the run is declared broken
DEADLINE = 110.0  # the whole run stops by itself after this many seconds

Match = Callable[[SentMessage], bool]


@dataclass
class BenchTwilio(FakeTwilio):
    """FakeTwilio that wakes whoever waits for a matching message as soon as it arrives."""

    waiters: list[tuple[Match, asyncio.Future[SentMessage]]] = field(default_factory=list)

    async def _create(self, request: web.Request) -> web.Response:
        before = len(self.sent)
        response = await super()._create(request)
        for message in self.sent[before:]:
            for waiter in list(self.waiters):
                match, future = waiter
                if not future.done() and match(message):
                    future.set_result(message)
                    self.waiters.remove(waiter)
                    break
        return response

    async def wait_for(self, match: Match, since: int) -> SentMessage:
        """The first message from index `since` on that `match`es (already here or next)."""
        for message in self.sent[since:]:
            if match(message):
                return message
        future: asyncio.Future[SentMessage] = asyncio.get_running_loop().create_future()
        entry = (match, future)
        self.waiters.append(entry)
        try:
            return await asyncio.wait_for(future, WAIT)
        except TimeoutError:
            raise RuntimeError(f"no matching message within {WAIT:.0f} s") from None
        finally:
            if entry in self.waiters:
                self.waiters.remove(entry)


class Customers:
    """Distinct German mobile numbers, never reused within a run."""

    def __init__(self) -> None:
        self.next = 0

    def take(self, n: int) -> list[str]:
        numbers = [f"+49176{self.next + i:08d}" for i in range(n)]
        self.next += n
        return numbers


class Bench:
    def __init__(self, fake: BenchTwilio, session: ClientSession, base: str) -> None:
        self.fake, self.session, self.base = fake, session, base

    async def post(self, sender: str, body: str) -> float:
        """POST a signed SMS webhook from `sender`; returns the perf_counter it started at."""
        form = payloads.sms(body, sender=sender)
        signature = self.fake.sign(PUBLIC_URL + SMS_PATH, form)
        started = time.perf_counter()
        async with self.session.post(self.base + SMS_PATH, data=form,
                                     headers={"X-Twilio-Signature": signature}) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"webhook answered {resp.status}")
        return started

    async def consent(self, numbers: list[str]) -> None:
        """Each number says `ja` twice: the first gets the consent request, the second the
        confirmation (consent recorded); then a short pause."""
        async def one(number: str) -> None:
            for _ in range(2):
                since = len(self.fake.sent)
                await self.post(number, "ja")
                await self.fake.wait_for(lambda m: m.get("To") == number, since)

        await asyncio.gather(*(one(n) for n in numbers))
        await asyncio.sleep(0.3)  # the confirmation's trailing messages, then quiet

    async def plain(self, number: str) -> float:
        since = len(self.fake.sent)
        started = await self.post(number, PLAIN)
        reply = await self.fake.wait_for(lambda m: m.get("To") == number, since)
        return reply.at - started

    async def emergency(self, number: str) -> tuple[float, float]:
        """(webhook -> fitter alert, webhook -> the customer told the fitter's name/number)."""
        since = len(self.fake.sent)
        started = await self.post(number, EMERGENCY)

        def is_alert(m: SentMessage) -> bool:
            return m.get("To") == FITTER_SMS and number in m.get("Body")

        alert, answer = await asyncio.gather(
            self.fake.wait_for(is_alert, since),
            self.fake.wait_for(lambda m: m.get("To") == number and FITTER_NAME in m.get("Body"),
                               since))
        return alert.at - started, answer.at - started


async def closed_loop(jobs: list[Any], concurrency: int,
                      run: Callable[[Any], Any]) -> list[Any]:
    """Run `run(job)` for every job with `concurrency` of them in flight at any time."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    results: list[Any] = []

    async def worker() -> None:
        while not queue.empty():
            results.append(await run(queue.get_nowait()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def pct(values: list[float], q: float) -> float:
    """The q-quantile in milliseconds (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000


def bench_settings(tmp: Path, fake: FakeTwilio, port: int) -> Settings:
    return make_settings(
        tmp,
        server={"host": "127.0.0.1", "port": port, "public_url": PUBLIC_URL,
                "secret": "bench-secret-0123456789abcdef", "log_level": "WARNING"},
        twilio={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                "api_base": fake.base_url, "whatsapp_from": payloads.BUSINESS_WA,
                "sms_from": payloads.BUSINESS_SMS},
        staff=[{"id": "chef", "name": "Josef Maier", "roles": ["admin"], "sms": ADMIN_SMS},
               {"id": "ludwig", "name": FITTER_NAME, "roles": ["fitter"],
                "phone": "+49 171 1111111", "sms": FITTER_SMS}],
        oncall={"rotation": ["ludwig"], "handover": "mon 07:00",
                "rotation_start": "2024-01-01", "ack_timeout": "30m",
                "escalation": ["chef"]},
        business={"holidays": "", "hours": {}, "phone": "+49 89 1234567"},
    )


@dataclass
class Row:
    level: int
    plain: list[float]
    alert: list[float]
    answer: list[float]


async def run(levels: list[int], emergencies: list[int], plain_per_level: int) -> list[Row]:
    fake = BenchTwilio()
    await fake.start()
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="werkbot-bench-emergency-") as tmp:
            port = free_port()
            settings = bench_settings(Path(tmp), fake, port)
            plugins = Plugins(adapters=list(build(settings)), bundle=build_bundle(settings))
            runner = web.AppRunner(create_app(settings, plugins=plugins), access_log=None,
                                   handle_signals=False)
            await runner.setup()
            try:
                await web.TCPSite(runner, "127.0.0.1", port).start()
                async with ClientSession(connector=TCPConnector(limit=64)) as session:
                    bench = Bench(fake, session, f"http://127.0.0.1:{port}")
                    customers = Customers()
                    await bench.consent(customers.take(2))  # warm-up: first dispatch, pools
                    for level, count in zip(levels, emergencies, strict=True):
                        rows.append(await one_level(bench, customers, level, count,
                                                    plain_per_level))
                        print_row(rows[-1], count)
            finally:
                await runner.cleanup()
    finally:
        await fake.close()
    return rows


async def one_level(bench: Bench, customers: Customers, level: int, count: int,
                    plain_count: int) -> Row:
    # werkbot throttles a sender above `server.flood_per_minute` (30): spread the `hilfe`
    # requests over enough regulars, each with at most one in flight
    regulars = customers.take(max(level, -(-plain_count // PLAIN_PER_CUSTOMER)))
    await bench.consent(regulars)
    locks = {number: asyncio.Lock() for number in regulars}

    async def plain_one(number: str) -> float:
        async with locks[number]:
            return await bench.plain(number)

    plain: list[float] = await closed_loop(
        [regulars[i % len(regulars)] for i in range(plain_count)], level, plain_one)
    fresh = customers.take(count)
    await bench.consent(fresh)
    results: list[tuple[float, float]] = await closed_loop(fresh, level, bench.emergency)
    return Row(level, plain, [a for a, _ in results], [b for _, b in results])


def print_header() -> None:
    print("werkbot emergency path, SMS via the Twilio stand-in, loopback, SQLite "
          "(ms, p50/p99)")
    print(f"{'conc':>4} {'n':>4} | {'plain hilfe->menu':>19} | {'Notfall->fitter alert':>21}"
          f" | {'Notfall->customer':>19} | {'ratio p50':>9} {'p99':>5}", flush=True)


def print_row(row: Row, count: int) -> None:
    ratio50 = pct(row.alert, .5) / pct(row.plain, .5)
    ratio99 = pct(row.alert, .99) / pct(row.plain, .99)
    print(f"{row.level:>4} {count:>4} | {pct(row.plain, .5):8.1f} / {pct(row.plain, .99):8.1f}"
          f" | {pct(row.alert, .5):9.1f} / {pct(row.alert, .99):9.1f}"
          f" | {pct(row.answer, .5):8.1f} / {pct(row.answer, .99):8.1f}"
          f" | {ratio50:9.2f} {ratio99:5.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--levels", default="1,4,16", help="concurrent customers per level")
    parser.add_argument("--emergencies", default="40,60,96",
                        help="emergencies (distinct customers) per level")
    parser.add_argument("--plain", type=int, default=48, help="`hilfe` requests per level")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    counts = [int(x) for x in args.emergencies.split(",")]
    if len(levels) != len(counts):
        parser.error("--levels and --emergencies need the same number of entries")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    print_header()
    began = time.perf_counter()

    async def bounded() -> list[Row]:
        return await asyncio.wait_for(run(levels, counts, args.plain), DEADLINE)

    try:
        rows = asyncio.run(bounded())
    except TimeoutError:
        print(f"stopped: the run took longer than {DEADLINE:.0f} s", file=sys.stderr)
        raise SystemExit(1) from None
    every_alert = [x for r in rows for x in r.alert]
    print(f"{len(every_alert)} emergencies, {sum(len(r.plain) for r in rows)} plain "
          f"replies, mean alert {statistics.fmean(every_alert) * 1000:.1f} ms, "
          f"run {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
