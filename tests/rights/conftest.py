"""Fixtures for the rights tests: a harness whose bundle holds the rights router and pages.

The bundle is built here (rights, then the menu fallback) so these tests do not depend on
how far the root wiring in `handlers/__init__.py` has come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.router import Router
from werkbot.bot.settings import Settings
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import menu, rights

STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "anna", "name": "Anna Büro", "roles": ["office"], "telegram": 133333333},
]


def rights_bundle() -> HandlerBundle:
    root = Router("test-root")
    root.include_router(rights.router)
    root.include_router(menu.router)
    root.include_router(menu.fallback)
    return HandlerBundle(router=root, routes=rights.routes, setup=rights.setup)


@pytest.fixture
def rights_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, staff=STAFF)


@pytest.fixture
async def h(rights_settings: Settings) -> AsyncIterator[Harness]:
    async with Harness(rights_settings, rights_bundle()) as harness:
        yield harness
