"""Handler routers from plug-ins go where the handler bundle places them, or nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from werkbot.bot import plugins
from werkbot.bot.plugins import HandlerBundle, Plugin, declared_plugins, load_plugins
from werkbot.bot.router import Router
from werkbot.bot.settings import Settings
from werkbot.bot.testing import make_settings

EXTRA = Router("third-party")


def _installed(monkeypatch: pytest.MonkeyPatch, *extra: Plugin, without: str = "") -> None:
    """werkbot's own plug-ins (except `without`) and `extra`, as if installed."""
    own = tuple(p for p in declared_plugins() if p.name != without)
    monkeypatch.setattr(plugins, "declared_plugins", lambda: (*own, *extra))


def test_werkbots_bundle_puts_them_after_the_consent_gate_before_the_office_inbox(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _installed(monkeypatch, Plugin(name="prices", routers=lambda settings: [EXTRA]))
    tree = [r.name for r in load_plugins(make_settings(tmp_path)).bundle.router.walk()]
    assert tree.index("consent.gate") < tree.index("third-party") < tree.index("office")


def test_a_bundle_without_a_place_for_them_refuses_to_start(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def bare(settings: Settings) -> HandlerBundle:
        return HandlerBundle(router=Router("bare"))

    _installed(monkeypatch, Plugin(name="bare", handlers=bare),
               Plugin(name="prices", routers=lambda settings: [EXTRA]), without="handlers")
    with pytest.raises(RuntimeError, match="'prices' brings handler routers"):
        load_plugins(make_settings(tmp_path))
