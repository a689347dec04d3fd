"""Telegram's start in the background, so the server answers from its first second.

Loading aiogram builds pydantic models for seconds of CPU, and Telegram may be slow or
down: neither may keep `/healthz` or the other channels waiting. `load_client_modules`
imports aiogram's side in a worker thread (the event loop keeps serving meanwhile), and
`keep_trying` registers the webhook (or removes it for polling) with back-off until
Telegram takes it, reporting each outcome: "registering", "ok" or "failed: <code>".
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable

from werkbot.bot.adapter import SendError

log = logging.getLogger(__name__)

MODULES = ("werkbot.adapters.telegram.client", "werkbot.adapters.telegram.sender",
           "werkbot.adapters.telegram.polling")
MAX_DELAY = 300.0


def _import_all() -> None:
    for name in MODULES:
        importlib.import_module(name)


async def load_client_modules() -> None:
    """Import the aiogram-backed modules in a thread (a no-op once they are loaded)."""
    await asyncio.to_thread(_import_all)


async def keep_trying(attempt: Callable[[], Awaitable[object]], report: Callable[[str], None],
                      *, what: str, first_delay: float = 1.0) -> None:
    """Run `attempt` until it succeeds, waiting `first_delay`, doubled after each failure
    up to five minutes (or Telegram's retry_after); `report` hears every outcome."""
    delay = first_delay
    while True:
        try:
            await attempt()
        except SendError as exc:
            report(f"failed: {exc.code}")
            wait = exc.retry_after or delay
            log.error("telegram %s failed (%s); retrying in %.0f s", what, exc.code, wait)
            await asyncio.sleep(wait)
            delay = min(MAX_DELAY, delay * 2)
            continue
        report("ok")
        return
