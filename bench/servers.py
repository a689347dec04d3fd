"""The servers the pipeline benchmark compares, each run in its own process.

- `bare`: a bare aiohttp handler (read JSON, answer 200): the ceiling of the stack.
- `aiogram`: aiogram 3's `SimpleRequestHandler` with a Dispatcher and a trivial message
  handler that returns nothing (so no Bot API call), no storage.
- `ptb`: python-telegram-bot 22 `Application` with `updater=None`; an aiohttp route does
  what PTB's own (tornado) webhook handler does: parse, `Update.de_json`,
  `update_queue.put`, answer 200; the running application's fetcher calls
  `process_update` with a trivial handler. `initialize()` calls getMe, answered by a
  one-route Bot API stand-in on the same server.
- `werkbot`: `create_app` with the sandbox channel on SQLite, durable inbox (group
  commit), dispatcher, outbox and the sandbox adapter; a trivial handler that replies
  "ok". Role `web` measures the acknowledging path alone; role `all` also handles and
  sends, and records webhook-to-send latency per event.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-token-not-real"


async def _serve(app: web.Application, port: int, ready: Any) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run_server(kind: str, port: int, ready: Any, options: dict[str, Any]) -> None:
    """Process entry point: build the server `kind` and serve until terminated."""
    builders = {"bare": bare_app, "aiogram": aiogram_app, "ptb": ptb_app,
                "werkbot": werkbot_app}
    if options.get("uvloop"):
        import uvloop

        uvloop.install()

    async def main() -> None:
        app = await builders[kind](port, options)
        await _serve(app, port, ready)

    profile_to = options.get("profile")
    if not profile_to:
        asyncio.run(main())
        return
    import cProfile
    import signal

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)  # unwind, so the profile is written
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(main())
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)


async def bare_app(port: int, options: dict[str, Any]) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


async def aiogram_app(port: int, options: dict[str, Any]) -> web.Application:
    from aiogram import Bot, Dispatcher, Router
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    router = Router()

    @router.message()
    async def on_message(message: Message) -> None:
        return None  # trivial: no answer, so no Bot API call

    dp = Dispatcher()
    dp.include_router(router)
    bot = Bot(TOKEN)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot).register(app, path="/hook")
    return app


async def ptb_app(port: int, options: dict[str, Any]) -> web.Application:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        return None

    async def get_me(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": {
            "id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}})

    stand_in = web.Application()  # the Bot API, as far as initialize() needs it
    stand_in.router.add_post(f"/bot{TOKEN}/getMe", get_me)
    runner = web.AppRunner(stand_in, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api_port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{api_port}"
    application = (Application.builder().token(TOKEN).updater(None)
                   .base_url(base + "/bot").base_file_url(base + "/file/bot").build())
    application.add_handler(MessageHandler(filters.ALL, on_message))

    async def hook(request: web.Request) -> web.Response:
        data = await request.json()
        await application.update_queue.put(Update.de_json(data, application.bot))
        return web.Response()

    async def lifecycle(app: web.Application) -> Any:
        await application.initialize()  # getMe, answered by the stand-in above
        await application.start()
        yield
        await application.stop()
        await application.shutdown()

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.cleanup_ctx.append(lifecycle)
    return app


class PipelineProbe:
    """Timestamps per sender: when the sandbox fed the event in, when the adapter sent."""

    def __init__(self) -> None:
        self.fed: dict[str, float] = {}
        self.sent: dict[str, float] = {}

    def stats(self) -> dict[str, Any]:
        latencies = sorted(self.sent[k] - self.fed[k] for k in self.sent if k in self.fed)
        first = min(self.fed.values(), default=0.0)
        last = max(self.sent.values(), default=0.0)
        return {"fed": len(self.fed), "sent": len(self.sent), "latencies": latencies,
                "span": max(0.0, last - first)}


async def werkbot_app(port: int, options: dict[str, Any]) -> web.Application:
    from werkbot.bot.context import Context
    from werkbot.bot.events import Event, TextEvent
    from werkbot.bot.plugins import HandlerBundle, Plugins, load_plugins
    from werkbot.bot.router import Router
    from werkbot.bot.server import create_app
    from werkbot.bot.settings import settings_from_dict

    tmp = Path(options.get("tmp") or tempfile.mkdtemp(prefix="werkbot-bench-"))
    settings = settings_from_dict({
        "server": {"host": "127.0.0.1", "port": port, "sandbox": True,
                   "public_url": f"http://127.0.0.1:{port}", "role": options["role"],
                   "secret": "bench-secret-0123456789abcdef", "log_level": "WARNING"},
        "database": {"url": f"sqlite+aiosqlite:///{tmp / 'bench.db'}"},
        "media": {"dir": str(tmp / "media")},
        "business": {"holidays": "", "hours": {}},
        "texts_dir": str(REPO / "config" / "texts"),
    }, env={})
    loaded = load_plugins(settings)
    bundle = loaded.bundle
    if not options.get("real_handlers"):
        router = Router("bench")

        @router.on(TextEvent)
        async def trivial(event: Event, ctx: Context) -> None:
            await ctx.reply("ok")

        bundle = HandlerBundle(router=router)
    probe = PipelineProbe()
    for adapter in loaded.adapters:
        _instrument(adapter, probe)
    app = create_app(settings, plugins=Plugins(loaded.adapters, bundle))

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(probe.stats())

    async def reset(request: web.Request) -> web.Response:
        probe.fed.clear()
        probe.sent.clear()
        return web.json_response({"ok": True})

    app.router.add_get("/bench/stats", stats)
    app.router.add_post("/bench/reset", reset)
    import logging

    logging.getLogger().setLevel(logging.WARNING)
    return app


def _instrument(adapter: Any, probe: PipelineProbe) -> None:
    """Wrap an adapter's feed and send to timestamp each event's way through the pipe."""
    start, send = adapter.start, adapter.send

    async def timed_start(feed: Any, media: Any) -> None:
        async def timed_feed(events: Any) -> None:
            now = time.perf_counter()
            for event in events:
                probe.fed.setdefault(str(event.sender), now)
            await feed(events)

        await start(timed_feed, media)

    async def timed_send(address: Any, reply: Any) -> Any:
        receipt = await send(address, reply)
        probe.sent.setdefault(str(address), time.perf_counter())
        return receipt

    adapter.start, adapter.send = timed_start, timed_send


def telegram_bodies() -> list[str]:
    """The shared fixture's updates as templates with `__UID__` for a unique update_id."""
    path = Path(os.environ.get("WERKBOT_BENCH_FIXTURES", REPO / "tests" / "fixtures" / "telegram"))
    updates = json.loads((path / "telegram-updates.json").read_text(encoding="utf-8"))
    out = []
    for update in updates.values():
        update = dict(update)
        update["update_id"] = 0
        out.append(json.dumps(update, separators=(",", ":")).replace(
            '"update_id":0', '"update_id":__UID__'))
    return out
