"""The `werkbot` command: serve, demo, check, db upgrade (and subcommands of plug-ins).

A bad configuration exits 1 with one line per problem, each naming its key; nothing
starts half-configured. Warnings (what a valid configuration will get wrong at run time)
are printed by `check` and logged by `serve`, which starts anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aiohttp import web

from werkbot.bot.config_warnings import config_warnings
from werkbot.bot.event_loop import run as run_on_loop
from werkbot.bot.event_loop import running_loop_name
from werkbot.bot.logs import setup_logging
from werkbot.bot.plugins import declared_plugins, load_plugins
from werkbot.bot.settings import (
    PACKAGED_CONFIG,
    Problem,
    Settings,
    SettingsError,
    config_path,
    load_settings,
)
from werkbot.bot.storage.database import MIGRATE_URL_ENV
from werkbot.bot.storage.migration_state import sqlite_at_heads

log = logging.getLogger(__name__)
DEMO_CONFIG = PACKAGED_CONFIG / "demo.toml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except SettingsError as exc:
        _print_problems("error", exc.problems)
        return 1


def _print_problems(kind: str, problems: Sequence[Problem]) -> None:
    for key, problem in problems:
        print(f"werkbot: config {kind}: {key}: {problem}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="werkbot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"werkbot {_version()}")
    sub = parser.add_subparsers(required=True, metavar="command")
    serve = sub.add_parser("serve", help="run the production server")
    serve.add_argument("--config", type=Path)
    serve.set_defaults(run=_serve)
    demo = sub.add_parser("demo", help="run a demo with the sandbox channel, no accounts needed")
    demo.add_argument("--port", type=int, default=None,
                      help="wins over WERKBOT_SERVER__PORT, which wins over 8080")
    demo.add_argument("--config", type=Path, default=DEMO_CONFIG)
    demo.set_defaults(run=_demo)
    check = sub.add_parser("check", help="validate the configuration and print webhook URLs")
    check.add_argument("--config", type=Path)
    check.set_defaults(run=_check)
    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(required=True, metavar="action")
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.add_argument("--config", type=Path)
    up.set_defaults(run=_upgrade)
    for plugin in declared_plugins():
        if plugin.cli is not None:
            plugin.cli(sub)  # e.g. `werkbot privacy-report`, contributed by the handlers
    return parser


def _version() -> str:
    try:
        return version("werkbot")
    except PackageNotFoundError:
        return "0+unknown (not installed)"


def _serve(args: argparse.Namespace) -> int:
    return _start(load_settings(args.config), banner=False)


def _demo(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    port = settings.server.port if args.port is None else args.port
    if not 0 < port < 65536:
        raise SettingsError("--port", f"{port} is not a TCP port")
    return _start(replace(settings, server=replace(
        settings.server, port=port, sandbox=True,
        public_url=f"http://{settings.server.host}:{port}")), banner=True)


def _start(settings: Settings, *, banner: bool) -> int:
    setup_logging(settings.server.log_level, settings.server.log_file)
    migrations = _upgrade_in_child(settings)
    try:
        return run_on_loop(_run(settings, migrations, banner=banner),
                           settings.server.event_loop)
    finally:
        if migrations is not None and migrations.poll() is None:
            migrations.wait()  # start-up failed early: never leave it writing behind us


def _check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    plugins = load_plugins(settings)
    base = settings.server.public_url.rstrip("/")
    warnings = config_warnings(settings, plugins.names)
    _print_problems("warning", warnings)
    counted = f" ({len(warnings)} warning{'s' * (len(warnings) != 1)})" if warnings else ""
    print(f"configuration ok{counted}: {config_path(args.config)}")
    print("plug-ins: " + ", ".join(f"{p.name} ({p.distribution})" if p.distribution else p.name
                                   for p in declared_plugins()))
    if not plugins.adapters:
        print("no channel is enabled")
    from werkbot.bot.adapter import Describing

    for adapter in plugins.adapters:
        paths = sorted({getattr(r, "path", "") for r in adapter.routes()} - {""})
        for path in paths:
            if path.startswith("/webhooks/") or path == "/sandbox":
                print(f"{adapter.name}: {base}{path}")
        if isinstance(adapter, Describing):
            print(f"{adapter.name}: {adapter.describe()}")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from werkbot.bot.storage.migrate import upgrade

    settings = load_settings(args.config)
    upgrade(settings.database.url)
    print("database is up to date")
    return 0


def _upgrade_in_child(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Start applying migrations in a short-lived process: Alembic (~11 MB) never stays
    loaded in the server, and the server's imports and set-up run meanwhile (`_migrated`
    waits for it before anything opens the database). None when an SQLite database is
    known to be up to date already (a restart). The URL goes through the environment,
    never the command line (`ps`)."""
    if sqlite_at_heads(settings.database.url):
        return None
    env = {**os.environ, MIGRATE_URL_ENV: settings.database.url}
    return subprocess.Popen([sys.executable, "-m", "werkbot.bot.storage.migrate"], env=env)


def _migrated(migrations: subprocess.Popen[bytes] | None) -> bool:
    if migrations is None:
        return True
    returncode = migrations.wait()
    if returncode != 0:
        log.error("database migrations failed (exit %d); not starting", returncode)
        print("werkbot: database migrations failed; see the output above", file=sys.stderr)
    return returncode == 0


async def _run(settings: Settings, migrations: subprocess.Popen[bytes] | None, *,
               banner: bool) -> int:
    from werkbot.bot.server import PLUGINS, SERVICES, create_app  # local: keeps `check` light

    app = create_app(settings, migrate=False)  # the child upgrades the database
    for key, problem in config_warnings(settings, app[PLUGINS].names):
        log.warning("config warning: %s: %s", key, problem)  # serve starts anyway
    seed = app[PLUGINS].bundle.seed_demo
    if banner and seed is not None:

        async def seed_demo(app: web.Application) -> None:
            await seed(app[SERVICES])

        app.on_startup.append(seed_demo)  # runs after the lifecycle context built services
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10)
    # Nothing has opened the database yet; the services do, as the runner sets up.
    if not await asyncio.to_thread(_migrated, migrations):
        return 1
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port)
    await site.start()
    # Everything start-up built lives as long as the process: out of the collector's sight.
    # A full collection then scans only what came since, instead of stopping the loop
    # every few seconds under load (bench/README.md).
    gc.collect()
    gc.freeze()
    url = f"http://{settings.server.host}:{settings.server.port}"
    if banner:
        print(f"werkbot demo is running: open {url}/sandbox in your browser", flush=True)
    log.info("listening on %s (%s event loop)", url, running_loop_name())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: draining")
    await runner.cleanup()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
