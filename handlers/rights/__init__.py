"""Data-subject rights and web signatures: export, erasure, consent pages, privacy report.

Exports `router` (root position 3, after the consent words and before the consent gate:
people without consent can still use their rights), `routes` (the pages) and `setup`.
The public API other features use is re-exported here.
"""

from __future__ import annotations

from aiohttp import web

from werkbot.bot.adapter import ProviderEraser
from werkbot.bot.hooks import hooks
from werkbot.bot.router import Router
from werkbot.bot.services import Services
from werkbot.handlers.consent.holds import erase_consent_records
from werkbot.handlers.rights import chat, notify
from werkbot.handlers.rights.chat import erasure_pending
from werkbot.handlers.rights.checkpoint import wait_for_checkpoints
from werkbot.handlers.rights.erasure import Erasure, NotErasable, erase_person
from werkbot.handlers.rights.export import export_link, export_page
from werkbot.handlers.rights.flyer import deep_links, flyer_link, qr_page, qr_png
from werkbot.handlers.rights.forwarding import send_about
from werkbot.handlers.rights.pages import page_handlers
from werkbot.handlers.rights.privacy_report import register_cli, write_privacy_report
from werkbot.handlers.rights.registry import (
    ERASERS,
    EXPORTERS,
    NEEDLES,
    PROVIDER_ERASERS,
    SIGNING_HOOKS,
)
from werkbot.handlers.rights.signing import create_consent_link, create_signing_request

__all__ = [
    "ERASERS", "EXPORTERS", "NEEDLES", "PROVIDER_ERASERS", "SIGNING_HOOKS", "Erasure",
    "NotErasable", "ProviderEraser", "create_consent_link",
    "create_signing_request", "deep_links", "erase_person", "erasure_pending", "export_link",
    "flyer_link", "qr_png", "register_cli", "router", "routes", "send_about", "setup",
    "wait_for_checkpoints", "write_privacy_report",
]

router = Router("rights-root")
router.include_router(chat.router)
router.include_router(notify.router)

routes: list[web.RouteDef] = [
    web.get("/consent/qr/{token}", qr_page),
    *page_handlers("consent"),
    *page_handlers("sign"),
    web.get("/export/{token}", export_page),
]


async def setup(services: Services) -> None:
    """Erasers: consent records, and every channel whose adapter can delete the provider's
    own copies."""
    # Consent records go with the person whichever bundle composes the rights feature.
    hooks(services, ERASERS).add("consent", erase_consent_records)
    registry = hooks(services, PROVIDER_ERASERS)
    for channel, erase in services.provider_erasers.items():
        registry.add(channel, erase)
