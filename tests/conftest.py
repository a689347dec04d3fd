"""Shared fixtures: settings on a temporary SQLite database and the in-process harness."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.services import create_database, postgres_server
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.router import Router
from werkbot.bot.settings import Settings
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import build_bundle, menu

REPO = Path(__file__).resolve().parents[1]


def menu_bundle() -> HandlerBundle:
    """Only the menu: for tests of the core and the adapters, where every text gets the
    menu (the full handler set asks a new contact for consent first)."""
    root = Router("menu-only")
    root.include_router(menu.router)
    root.include_router(menu.fallback)
    return HandlerBundle(router=root)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with Harness(settings, build_bundle(settings)) as h:
        yield h


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return create_database(pg_server, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once on SQLite and once on PostgreSQL (the storage contract)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url
