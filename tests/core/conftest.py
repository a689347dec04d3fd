"""Fixtures for the SQLite storage tests: a migrated database file, werkbot's `Database`
on it (statements inline), and plain sessions on it through aiosqlite's thread (the
engine path, which the inline path must match)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inline_sql import InlineSession
from werkbot.bot.storage.migrate import upgrade


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "werkbot.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def database(db_file: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{db_file}")
    yield db
    await db.close()


@pytest.fixture
async def engine_sessions(db_file: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of werkbot's class on aiosqlite's thread: never inline."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_file}")
    yield async_sessionmaker(engine, expire_on_commit=False, sync_session_class=InlineSession)
    await engine.dispose()
