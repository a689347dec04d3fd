"""Signed WhatsApp webhooks through the whole pipeline vs a bare aiohttp form handler.

Run: `.venv/bin/python bench/bench_twilio.py [--n 2000] [--concurrency 32]`.

Three measurements in one run, all over real loopback HTTP:
1. bare: an aiohttp handler that parses the form and answers empty TwiML (the ceiling);
2. werkbot, closed loop: signed webhooks (verify, parse, durable group-commit store,
   200) at full concurrency; acknowledged webhooks per second and ack latency, plus
   replies per second leaving werkbot (dispatch, help handler, outbox, POST to a fake
   Twilio REST endpoint);
3. werkbot, open loop at half the measured reply rate: p50/p99 from webhook sent to the
   reply arriving at the fake Twilio.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import free_port
from tests.twilio.fake_twilio import FakeTwilio
from tests.twilio.payloads import whatsapp
from werkbot.adapters.twilio import build
from werkbot.bot.plugins import Plugins
from werkbot.bot.server import create_app
from werkbot.bot.testing import make_settings
from werkbot.handlers import build_bundle

PUBLIC_URL = "https://bot.example.de"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def signed_requests(fake: FakeTwilio, n: int, offset: int) -> list[tuple[str, dict[str, str],
                                                                          str]]:
    out = []
    for i in range(n):
        sender = f"+4917{offset + i:08d}"
        form = whatsapp("hilfe", sender=sender)
        out.append((sender, form, fake.sign(PUBLIC_URL + "/webhooks/whatsapp", form)))
    return out


async def closed_loop(session: ClientSession, url: str, reqs: list[Any], concurrency: int,
                      sent_at: dict[str, float]) -> tuple[float, list[float]]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in reqs:
        queue.put_nowait(item)
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            sender, form, sig = queue.get_nowait()
            start = time.perf_counter()
            sent_at[f"whatsapp:{sender}"] = start
            async with session.post(url, data=form, headers={"X-Twilio-Signature": sig}) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"webhook answered {r.status}")
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies


async def open_loop(session: ClientSession, url: str, reqs: list[Any], rate: float,
                    sent_at: dict[str, float]) -> None:
    async def one(sender: str, form: dict[str, str], sig: str) -> None:
        sent_at[f"whatsapp:{sender}"] = time.perf_counter()
        async with session.post(url, data=form, headers={"X-Twilio-Signature": sig}) as r:
            await r.read()

    tasks = []
    began = time.perf_counter()
    for i, item in enumerate(reqs):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*item)))
    await asyncio.gather(*tasks)


async def wait_for_replies(fake: FakeTwilio, count: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while len(fake.sent) < count and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)


async def bare(n: int, concurrency: int, fake: FakeTwilio) -> None:
    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="<Response/>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/webhooks/whatsapp", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:
        elapsed, lat = await closed_loop(session, f"http://127.0.0.1:{port}/webhooks/whatsapp",
                                         signed_requests(fake, n, 0), concurrency, {})
    await runner.cleanup()
    print(f"bare aiohttp form handler : {n / elapsed:8.0f} req/s   "
          f"p50 {pct(lat, .5):6.2f} ms  p99 {pct(lat, .99):6.2f} ms")


async def pipeline(n: int, concurrency: int, fake: FakeTwilio, tmp: Path) -> None:
    settings = make_settings(tmp, server={"public_url": PUBLIC_URL,
                                          "secret": "bench-secret-0123456789"},
                             twilio={"account_sid": fake.account_sid,
                                     "auth_token": fake.auth_token,
                                     "api_base": fake.base_url,
                                     "whatsapp_from": "whatsapp:+498912345678"})
    plugins = Plugins(adapters=list(build(settings)), bundle=build_bundle(settings))
    runner = web.AppRunner(create_app(settings, plugins=plugins), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/webhooks/whatsapp"
    sent_at: dict[str, float] = {}
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:
        began = time.perf_counter()
        elapsed, lat = await closed_loop(session, url, signed_requests(fake, n, 10_000),
                                         concurrency, sent_at)
        await wait_for_replies(fake, n, timeout=300)
        replies_elapsed = time.perf_counter() - began
        reply_rate = len(fake.sent) / replies_elapsed
        print(f"werkbot acknowledged      : {n / elapsed:8.0f} req/s   "
              f"p50 {pct(lat, .5):6.2f} ms  p99 {pct(lat, .99):6.2f} ms")
        print(f"werkbot replies sent      : {reply_rate:8.0f} msg/s   ({len(fake.sent)}/{n})")
        half = max(1.0, reply_rate / 2)
        before = len(fake.sent)
        sent_at.clear()
        m = min(n, int(half * 10) + 1)
        await open_loop(session, url, signed_requests(fake, m, 50_000), half, sent_at)
        await wait_for_replies(fake, before + m, timeout=120)
        arrived = {m.form["To"]: m.at for m in fake.sent[before:]}
        e2e = [arrived[k] - sent_at[k] for k in sent_at if k in arrived]
        print(f"webhook->send at {half:5.0f}/s : p50 {pct(e2e, .5):6.2f} ms  "
              f"p99 {pct(e2e, .99):6.2f} ms  ({len(e2e)}/{m} replies)")
    await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    fake = await FakeTwilio().start()
    try:
        await bare(args.n, args.concurrency, fake)
        with tempfile.TemporaryDirectory() as tmp:
            await pipeline(args.n, args.concurrency, fake, Path(tmp))
    finally:
        await fake.close()


if __name__ == "__main__":
    asyncio.run(main())
