"""The aiohttp app factory: webhooks, health, metrics, media links and the workers.

`create_app(settings)` mounts each enabled adapter's routes, keeps typed state under
`web.AppKey`s, opens and closes everything in one `cleanup_ctx` (database, workers,
adapters), limits webhook bodies, and drains on shutdown: adapters stop taking
requests first, then the workers finish what they hold.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from werkbot.bot.adapter import Feed, ProviderEraser
from werkbot.bot.clock import Clock, SystemClock
from werkbot.bot.dispatcher import Dispatcher
from werkbot.bot.events import Event
from werkbot.bot.inbox import InboxWriter
from werkbot.bot.media import MediaStore
from werkbot.bot.metrics import Metrics
from werkbot.bot.outbox import OutboxSender
from werkbot.bot.plugins import Plugins, load_plugins
from werkbot.bot.policy import ReachablePolicy
from werkbot.bot.pressure import Pressure
from werkbot.bot.services import Services
from werkbot.bot.settings import Settings
from werkbot.bot.staff_persons import sync_staff
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.storage.sqlite_checkpoint import WalCheckpointer
from werkbot.bot.texts import Texts
from werkbot.bot.tokens import Signer

log = logging.getLogger(__name__)

SERVICES = web.AppKey("services", Services)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
OUTBOX = web.AppKey("outbox", OutboxSender)
INBOX = web.AppKey("inbox", InboxWriter)
PLUGINS = web.AppKey("plugins", Plugins)


def create_app(settings: Settings, *, plugins: Plugins | None = None, clock: Clock | None = None,
               run_workers: bool = True, migrate: bool = True) -> web.Application:
    """The whole server for `settings`. `run_workers=False` leaves draining to the caller."""
    plugins = plugins or load_plugins(settings)
    pressure = Pressure()
    app = web.Application(
        client_max_size=max(settings.media.max_upload_bytes, settings.server.max_body_bytes))
    app[PLUGINS] = plugins
    app.cleanup_ctx.append(_lifecycle(settings, plugins, clock or SystemClock(), run_workers,
                                      migrate, pressure))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/media/{token}", _media)
    limit = settings.server.max_body_bytes
    for adapter in plugins.adapters:
        app.router.add_routes(_guarded(adapter.routes(), limit, pressure))
    app.router.add_routes(_guarded(plugins.bundle.routes, limit, pressure))
    app.router.add_routes(_guarded(plugins.routes, limit, pressure))
    return app


def _lifecycle(settings: Settings, plugins: Plugins, clock: Clock, run_workers: bool,
               migrate: bool, pressure: Pressure
               ) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if migrate:
            from werkbot.bot.storage.migrate import upgrade_async  # Alembic only when it is needed

            await upgrade_async(settings.database.url)
        db = Database(settings.database.url, settings.database.pool_size)
        metrics = Metrics()
        signer = Signer(settings.server.secret or _local_secret(settings))
        media = MediaStore(Path(settings.media.dir), db, signer, settings.server.public_url,
                           clock, settings.media.link_ttl)
        services = Services(
            settings=settings, texts=Texts.load(Path(settings.texts_dir)), clock=clock, db=db,
            media=media, signer=signer, metrics=metrics,
            channels={a.name: a.capabilities for a in plugins.adapters},
            fetchers={a.name: a.fetch_media for a in plugins.adapters},
            provider_erasers={a.name: a for a in plugins.adapters
                              if isinstance(a, ProviderEraser)},
            policy=ReachablePolicy(),
        )
        bundle = plugins.bundle
        if bundle.policy is not None:
            services.policy = bundle.policy(services)
        dispatcher = Dispatcher(services, bundle.router, pressure=pressure,
                                unthrottled=bundle.unthrottled)
        inbox = InboxWriter(db, clock, metrics, dispatcher.wake.set)
        outbox = OutboxSender(services, {a.name: a for a in plugins.adapters},
                              _feed(inbox, metrics), pressure)
        services.wake_outbox = outbox.wake.set
        dispatcher.outbox = outbox
        app[SERVICES], app[DISPATCHER], app[OUTBOX], app[INBOX] = (
            services, dispatcher, outbox, inbox)
        await sync_staff(services)
        if bundle.setup is not None:
            await bundle.setup(services)
        await outbox.recover()
        inbox.start()
        wal = WalCheckpointer.of(db)  # SQLite: the log folded back off the event loop
        checkpoints = [asyncio.create_task(wal.run(), name="wal-checkpoint")] if wal else []
        for adapter in plugins.adapters:
            await adapter.start(_feed(inbox, metrics), media)
        workers = run_workers and settings.server.role != "web"
        tasks = _start_workers(dispatcher, outbox, db.is_sqlite, settings) if workers else []
        log.info("werkbot ready: channels %s", ", ".join(services.channels) or "none")
        try:
            yield
        finally:
            # Workers first (a send cut short is sent again after restart), then the
            # adapters they send through (and polling that feeds the inbox), then the inbox.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await outbox.release_handed()  # claimed, never begun: queued again
            except Exception as exc:  # the database is down: the lease or recovery decides
                log.warning("could not requeue replies on shutdown (%s)", type(exc).__name__)
            for adapter in plugins.adapters:
                with suppress(Exception):
                    await adapter.stop()
            await inbox.stop()
            for task in checkpoints:
                task.cancel()
            await asyncio.gather(*checkpoints, return_exceptions=True)
            await db.close()

    return lifecycle


class _InboxFeed:
    """What adapters feed: the durable inbox, and the duplicate counter for redeliveries
    an adapter recognised by itself (`bot.adapter.count_duplicates`)."""

    def __init__(self, inbox: InboxWriter, metrics: Metrics) -> None:
        self._inbox = inbox
        self._metrics = metrics

    async def __call__(self, events: Sequence[Event]) -> None:
        await self._inbox.store(events)

    def duplicates(self, channel: str, count: int) -> None:
        self._metrics.duplicates.labels(channel).inc(count)


def _feed(inbox: InboxWriter, metrics: Metrics) -> Feed:
    return _InboxFeed(inbox, metrics)


def _start_workers(dispatcher: Dispatcher, outbox: OutboxSender, is_sqlite: bool,
                   settings: Settings) -> list[asyncio.Task[None]]:
    # PostgreSQL: two workers, so one runs Python while the other waits for the server.
    # More only compete for the one event loop and lengthen the tail (bench/README.md).
    count = settings.database.workers or (1 if is_sqlite else 2)
    tasks = [asyncio.create_task(dispatcher.run(), name=f"dispatch-{i}") for i in range(count)]
    tasks.append(asyncio.create_task(outbox.run(), name="outbox"))
    return tasks


def _local_secret(settings: Settings) -> str:
    """A secret kept beside the media directory when none is configured."""
    path = Path(settings.media.dir).parent / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    log.warning("server.secret is empty: generated one in %s", path)
    return value


def _guarded(routes: Iterable[web.AbstractRouteDef], limit: int, pressure: Pressure
             ) -> list[web.AbstractRouteDef]:
    """Webhooks and forms, wrapped: a webhook body over `limit` is refused (413) before it
    is read, and while any of them is in flight background work gives way (`Pressure`).

    A wrapper per route rather than a middleware: with no middleware aiohttp calls the
    handler directly, which every acknowledged webhook saves."""
    out: list[web.AbstractRouteDef] = []
    for route in routes:
        if isinstance(route, web.RouteDef) and not isinstance(route.handler, type):
            webhook = route.path.startswith("/webhooks/")
            if webhook or route.method == "POST":
                handler = _guard(route.handler, limit if webhook else None, pressure)
                route = web.RouteDef(route.method, route.path, handler, route.kwargs)
        out.append(route)
    return out


def _guard(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], limit: int | None,
           pressure: Pressure) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if limit is not None:
            length = request.content_length
            if length is not None and length > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length)
            if length is None:  # chunked: the limit is enforced as the body is read
                request = request.clone(client_max_size=limit)
        pressure.enter()  # a webhook or form someone waits for: background work gives way
        try:
            return await handler(request)
        finally:
            pressure.leave()

    return guarded


async def _healthz(request: web.Request) -> web.Response:
    """200 while the database answers (on SQLite: can be written), else 503."""
    services = request.app[SERVICES]
    down = web.json_response({"status": "down", "database": "unreachable"}, status=503)
    if not await services.db.ping():
        return down
    try:
        async with services.db.engine.connect() as conn:
            pending = await conn.scalar(select(func.count()).select_from(InboxRow)
                                        .where(InboxRow.status == "pending",
                                               InboxRow.available_at <= services.clock.now()))
            queued = await conn.scalar(select(func.count()).select_from(OutboxRow)
                                       .where(OutboxRow.status.in_(("queued", "sending"))))
    except (SQLAlchemyError, OSError):  # went down since the ping
        log.warning("health check: the database stopped answering")
        return down
    body = {"status": "ok", "channels": sorted(services.channels),
            "inbox_pending": pending, "outbox_queued": queued}
    for adapter in request.app[PLUGINS].adapters:  # a channel still starting, e.g. a webhook
        if isinstance(state := getattr(adapter, "state", None), str):  # being registered
            body[adapter.name] = state
    return web.json_response(body)


async def _metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    now = services.clock.now()
    try:
        async with services.db.engine.connect() as conn:  # work due now; future timers wait
            inbox = await conn.scalar(select(func.count()).select_from(InboxRow).where(
                InboxRow.status == "pending", InboxRow.available_at <= now))
            outbox = await conn.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.status.in_(("queued", "sending")), OutboxRow.next_attempt_at <= now))
    except (SQLAlchemyError, OSError):  # the database is down: the other metrics still count
        log.warning("metrics: queue depths not refreshed, the database did not answer")
    else:
        services.metrics.queue_depth.labels("inbox").set(inbox or 0)
        services.metrics.queue_depth.labels("outbox").set(outbox or 0)
    body = generate_latest(services.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _media(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    media_id = services.media.resolve(request.match_info["token"])
    if media_id is None:
        raise web.HTTPNotFound(text="not found")
    try:
        stored = await services.media.read(media_id)
    except FileNotFoundError:
        raise web.HTTPNotFound(text="not found") from None
    return web.Response(body=stored.data, content_type=stored.content_type,
                        headers={"Cache-Control": "private, max-age=300",
                                 "X-Content-Type-Options": "nosniff"})
