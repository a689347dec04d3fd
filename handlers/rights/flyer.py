"""Links for flyers and vans: `wa.me` and `t.me` deep links and their QR codes.

`deep_links(settings)` gives one link per enabled channel that starts a conversation
(the first message then gets the consent request). `/consent/qr/{token}` serves a QR
PNG for the office; its token comes only from `flyer_link` (a staff command), so the
path answers nobody else.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import quote

from aiohttp import web

from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.bot.settings import Settings
from werkbot.bot.texts import Texts
from werkbot.handlers.rights.html import not_found

PURPOSE = "flyer"
FLYER_TTL = timedelta(days=30)


def deep_links(settings: Settings, texts: Texts | None = None) -> dict[str, str]:
    """Start links per enabled channel: WhatsApp (`wa.me`), Telegram (`t.me`), SMS."""
    lang = settings.business.language
    greeting = texts.get("rights.flyer.greeting", lang) if texts else ""
    links: dict[str, str] = {}
    whatsapp = re.sub(r"\D", "", settings.twilio.whatsapp_from)
    if whatsapp:
        query = f"?text={quote(greeting)}" if greeting else ""
        links["whatsapp"] = f"https://wa.me/{whatsapp}{query}"
    if settings.telegram.token and settings.telegram.bot_username:
        links["telegram"] = f"https://t.me/{settings.telegram.bot_username.lstrip('@')}?start=hallo"
    if settings.twilio.sms_from:
        number = settings.twilio.sms_from.strip()
        links["sms"] = f"sms:{number}" + (f"?body={quote(greeting)}" if greeting else "")
    return links


def qr_png(url: str) -> bytes:
    """A QR code PNG for `url` (error correction M, print-friendly border)."""
    import qrcode  # with Pillow ~4 MB: loaded when a flyer is made, not at start-up

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10,
                         border=4)
    code.add_data(url)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(out)
    return out.getvalue()


def flyer_link(services: Services, channel: str, ttl: timedelta = FLYER_TTL) -> str:
    """A link to the QR PNG of `channel`'s deep link (for staff commands)."""
    if channel not in deep_links(services.settings):
        raise LookupError(f"channel {channel!r} has no deep link")
    token = services.signer.sign(PURPOSE, {"c": channel}, ttl, services.clock.now())
    return f"{services.settings.server.public_url.rstrip('/')}/consent/qr/{token}"


async def qr_page(req: web.Request) -> web.StreamResponse:
    services = req.app[SERVICES]
    data = services.signer.verify(PURPOSE, req.match_info["token"], services.clock.now())
    links = deep_links(services.settings, services.texts)
    channel = data.get("c") if data else None
    if not isinstance(channel, str) or channel not in links:
        return not_found()
    return web.Response(body=qr_png(links[channel]), content_type="image/png",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options":
                                 "nosniff"})
