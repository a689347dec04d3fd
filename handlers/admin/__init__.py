"""Admin and office commands: consent, export, erase, staff, close, stats, audit.

Importing this package registers the commands with `handlers.commands.commands`; the
root includes the registry's router, so nothing else needs wiring.
"""

from __future__ import annotations

from werkbot.handlers.admin import person_commands, reports

__all__ = ["person_commands", "reports"]
