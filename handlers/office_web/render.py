"""Pages: Jinja2 templates shipped in this package, texts from the texts config, and the
security headers every office page carries.

The Content-Security-Policy allows this origin's own script, style, images and media
and nothing else (no inline script, no framing, forms only to us); pages are never
cached and send a Referer (and so a real Origin on forms) to this site only, so no
URL of ours travels to another site.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from werkbot.bot.services import Services

HERE = Path(__file__).parent
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(("html",), default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(services: Services, template: str, lang: str, *, status: int = 200,
         **values: Any) -> web.Response:
    """Render `template` in `lang` with the office's headers."""
    texts = services.texts
    zone = ZoneInfo(services.settings.business.timezone)

    def t(key: str, /, **params: object) -> str:
        return texts.get(f"office_web.{key}", lang, **params)

    def tx(key: str, fallback: str = "", /, **params: object) -> str:
        """Any text key (e.g. the emergency feature's step names), else `fallback`."""
        try:
            return texts.get(key, lang, **params)
        except KeyError:
            return fallback

    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(zone)
        return local.strftime("%d.%m.%Y %H:%M") if lang == "de" else local.strftime(
            "%Y-%m-%d %H:%M")

    html = _env.get_template(template).render(
        t=t, tx=tx, when=when, lang=lang, business=services.settings.business.name, **values)
    return web.Response(text=html, status=status, content_type="text/html",
                        charset="utf-8", headers=HEADERS)


def static_file(name: str) -> tuple[bytes, str] | None:
    """A file of `static/` by plain name (no paths), with its content type."""
    types = {".js": "text/javascript", ".css": "text/css"}
    path = HERE / "static" / name
    if "/" in name or name.startswith(".") or path.suffix not in types or not path.is_file():
        return None
    return path.read_bytes(), types[path.suffix]
