"""Alembic migrations, run programmatically (`werkbot db upgrade`, and `serve` at start).

`python -m bot.storage.migrate` upgrades the database named by `_WERKBOT_MIGRATE_URL`:
`serve` and `demo` run it as a child process, so the server never holds Alembic.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from werkbot.bot.storage.database import MIGRATE_URL_ENV, ensure_sqlite_dir

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Apply migrations up to `revision`. Call from synchronous code only."""
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    """Apply migrations from inside a running event loop (in a worker thread)."""
    await asyncio.to_thread(upgrade, url)


def main() -> int:
    url = os.environ.get(MIGRATE_URL_ENV, "")
    if not url:
        print(f"{MIGRATE_URL_ENV} is not set", file=sys.stderr)
        return 2
    upgrade(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
