"""werkbot's handlers: one router per module, their order fixed here.

Order matters (first match wins): consent and safety come before business flows, and
the fallback that answers anything with the menu comes last.
"""

from __future__ import annotations

from bot.plugins import HandlerBundle
from bot.router import Router
from bot.settings import Settings
from handlers import menu
from handlers.commands import commands


def build_root() -> Router:
    root = Router("root")
    root.include_router(commands.router)  # staff only: commands and their confirmations
    root.include_router(menu.router)
    root.include_router(menu.fallback)
    return root


def build_bundle(settings: Settings) -> HandlerBundle:
    """The handler bundle werkbot's entry point `werkbot.handlers:default` names."""
    del settings
    return HandlerBundle(router=build_root())
