"""Telegram webhooks per second: werkbot's whole pipeline next to aiogram's and PTB's own.

Run: `.venv/bin/python bench/bench_telegram.py [--n 2000] [--concurrency 32]`.

All three over real loopback HTTP, in the same run, the same text updates (unique
`update_id`s, the secret header set):
1. aiogram: `SimpleRequestHandler` (answers after handling) with a no-op message handler;
2. PTB: its documented custom-webhook pattern (`Update.de_json` + `process_update`; PTB's
   own server needs tornado) with a no-op handler;
3. werkbot: secret check, parse, durable group-commit store in SQLite, then 200, with
   its dispatch and outbox workers running and replies going to an in-process fake Bot API.

Neither framework stores anything; werkbot's answer means "on disk".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services import free_port
from tests.telegram.fake_bot_api import FakeBotAPI
from werkbot.adapters.telegram.adapter import SECRET_HEADER, TelegramAdapter
from werkbot.bot.plugins import Plugins
from werkbot.bot.server import create_app
from werkbot.bot.testing import make_settings
from werkbot.handlers import build_bundle

TOKEN = "123456:BENCH-token"
SECRET = "bench-secret"


def update(i: int) -> dict[str, Any]:
    chat = 100000 + i % 500
    return {"update_id": 10_000_000 + i, "message": {
        "message_id": i, "date": 1764666000, "text": "Hallo, die Heizung tropft",
        "from": {"id": chat, "is_bot": False, "first_name": "Kunde"},
        "chat": {"id": chat, "type": "private", "first_name": "Kunde"}}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def closed_loop(url: str, n: int, offset: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(offset + i)
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                started = time.perf_counter()
                async with http.post(url, json=update(i),
                                     headers={SECRET_HEADER: SECRET}) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {statuses}")
    return {"per_s": n / elapsed, "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99),
            "mean_ms": statistics.fmean(latencies) * 1000}


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def aiogram_app(api: str) -> tuple[web.Application, Callable[[], Awaitable[None]]]:
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    router = Router()

    @router.message()
    async def noop(message: Message) -> None:
        return None

    dp = Dispatcher()
    dp.include_router(router)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False,
                         secret_token=SECRET).register(app, path="/webhook")
    return app, bot.session.close


async def ptb_app(api: str) -> tuple[web.Application, Callable[[], Awaitable[None]]]:
    from telegram import Update
    from telegram.ext import Application, MessageHandler, filters

    async def noop(update: Update, context: object) -> None:
        return None

    ptb = Application.builder().token(TOKEN).base_url(api + "/bot").updater(None).build()
    ptb.add_handler(MessageHandler(filters.ALL, noop))
    await ptb.initialize()

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get(SECRET_HEADER) != SECRET:
            raise web.HTTPForbidden()
        await ptb.process_update(Update.de_json(await request.json(), ptb.bot))
        return web.Response()

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    return app, ptb.shutdown


async def main(n: int, concurrency: int, workers: bool) -> None:
    fake = FakeBotAPI(TOKEN)
    await fake.start()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp), telegram={
            "token": TOKEN, "api_base": fake.url, "webhook_secret": SECRET})
        adapter = TelegramAdapter(settings)
        werkbot = create_app(settings, plugins=Plugins(adapters=[adapter],
                                                       bundle=build_bundle(settings)),
                             run_workers=workers)
        for name, make in (("aiogram", aiogram_app), ("ptb", ptb_app)):
            app, close = await make(fake.url)
            runner, url = await serve(app)
            await closed_loop(url + "/webhook", 200, 0, concurrency)  # warm-up
            results[name] = await closed_loop(url + "/webhook", n, 1000, concurrency)
            await runner.cleanup()
            await close()
        gc.collect()
        runner, url = await serve(werkbot)
        await closed_loop(url + "/webhooks/telegram", 200, 0, concurrency)
        results["werkbot"] = await closed_loop(url + "/webhooks/telegram", n, 1000, concurrency)
        await runner.cleanup()
    await fake.close()
    print(f"{n} updates, concurrency {concurrency}, loopback HTTP, one process, "
          f"werkbot workers {'on' if workers else 'off'}")
    print(f"{'':10}{'updates/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for name, r in results.items():
        print(f"{name:10}{r['per_s']:12.0f}{r['p50_ms']:10.1f}{r['p99_ms']:10.1f}")
    best = max(results["aiogram"]["per_s"], results["ptb"]["per_s"])
    verdict = "meets" if results["werkbot"]["per_s"] >= best else "misses"
    print(f"werkbot {verdict} the target (>= the faster framework: {best:.0f}/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-workers", action="store_true",
                        help="measure werkbot's acknowledgement alone (no dispatch, no replies)")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrency, not args.no_workers))
