"""werkbot: GDPR-minded customer messaging for trade businesses (WhatsApp, SMS, Telegram).

The one import package werkbot installs. Its parts are `werkbot.bot` (the channel-free
core), `werkbot.adapters` (channels) and `werkbot.handlers` (what the bot does); the
names a host program needs are importable from here:

    from werkbot import EmbeddedWerkbot, Settings, load_settings, werkbot_router, attach

`werkbot_router` needs aiogram (`pip install "werkbot[aiogram]"`), `attach`
python-telegram-bot (`werkbot[ptb]`); both are imported only when first asked for, so
the core installs and imports without either Telegram library.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from werkbot.bot.logs import setup_logging
from werkbot.bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from werkbot.adapters.telegram.aiogram_plugin import werkbot_router
    from werkbot.adapters.telegram.embed import EmbeddedWerkbot
    from werkbot.adapters.telegram.ptb_plugin import attach
    from werkbot.bot.server import create_app

try:
    __version__ = version("werkbot")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# name -> module that defines it; imported on first use (PEP 562)
_LAZY = {
    "EmbeddedWerkbot": "werkbot.adapters.telegram.embed",
    "werkbot_router": "werkbot.adapters.telegram.aiogram_plugin",
    "attach": "werkbot.adapters.telegram.ptb_plugin",
    "create_app": "werkbot.bot.server",
}
_EXTRA = {"werkbot_router": "aiogram", "attach": "ptb"}

__all__ = ["EmbeddedWerkbot", "Settings", "SettingsError", "__version__", "attach",
           "create_app", "load_settings", "setup_logging", "werkbot_router"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'werkbot' has no attribute {name!r}")
    try:
        value = getattr(import_module(module), name)
    except ModuleNotFoundError as exc:
        extra = _EXTRA.get(name, "all")
        raise ModuleNotFoundError(
            f"werkbot.{name} needs {exc.name}: pip install 'werkbot[{extra}]'",
            name=exc.name) from exc
    globals()[name] = value
    return value
