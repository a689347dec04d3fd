"""Long polling: a getUpdates loop for businesses without a public URL.

Each batch is stored (fed) before its offset is confirmed, so a crash between the two
only redelivers updates, which the inbox de-duplicates on `update_id`: each update is
handled once. A whole batch is fed in one call, so an album that arrives together is
stored together. Failures back off (honouring Telegram's `retry_after`) and never end
the loop; only `stop()` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from werkbot.adapters.telegram.client import TelegramClient
from werkbot.bot.adapter import SendError

log = logging.getLogger(__name__)
Accept = Callable[[Sequence[Mapping[str, Any]]], Awaitable[object]]
MAX_BACKOFF = 30.0


class Poller:
    """Runs getUpdates until cancelled, handing each batch to `accept`."""

    def __init__(self, client: TelegramClient, accept: Accept, timeout: int = 25) -> None:
        self._client = client
        self._accept = accept
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self.offset: int | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self._client.get_updates(self.offset, self._timeout)
                if updates:
                    await self._accept(updates)
                    # Confirmed only now: the next getUpdates tells Telegram to drop them.
                    self.offset = max(int(u["update_id"]) for u in updates) + 1
                failures = 0
            except asyncio.CancelledError:
                raise
            except SendError as exc:
                failures += 1
                delay = exc.retry_after or min(MAX_BACKOFF, 2.0 ** failures)
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc.code, delay)
                await asyncio.sleep(delay)
            except Exception:  # storing failed: keep the offset, try again
                failures += 1
                log.exception("telegram updates could not be stored; retrying")
                await asyncio.sleep(min(MAX_BACKOFF, 2.0 ** failures))
