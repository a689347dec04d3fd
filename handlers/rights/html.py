"""Renders the rights pages from the templates in `static/`, words from `config/texts`.

Every value is HTML-escaped; each response carries a strict Content-Security-Policy with
a per-response nonce, no referrer to other sites (the token is in the URL), no caching
and no framing.
"""

from __future__ import annotations

import html
import secrets
from functools import cache
from pathlib import Path
from string import Template

from aiohttp import web

from werkbot.bot.texts import Texts

STATIC = Path(__file__).with_name("static")


@cache
def template(name: str) -> Template:
    return Template((STATIC / name).read_text(encoding="utf-8"))


def headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "img-src 'self' data:; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'"),
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def render(name: str, status: int = 200, **values: str) -> web.Response:
    """`values` must already be escaped (use `esc`); the nonce is added here."""
    nonce = secrets.token_urlsafe(12)
    body = template(name).safe_substitute(nonce=nonce, **values)
    return web.Response(text=body, status=status, content_type="text/html",
                        charset="utf-8", headers=headers(nonce))


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def message_page(texts: Texts, lang: str, key: str, status: int = 200, *,
                 link: str = "", link_label: str = "", **values: object) -> web.Response:
    """A page with a heading and one message, both from `rights.pages.<key>`."""
    anchor = (f'<p><a class="button" id="link" href="{esc(link)}">{esc(link_label)}</a></p>'
              if link else "")
    return render("message.html", status, lang=esc(lang),
                  title=esc(texts.get(f"rights.pages.{key}.title", lang, **values)),
                  message=esc(texts.get(f"rights.pages.{key}.message", lang, **values)),
                  link=anchor)


def not_found() -> web.Response:
    """The same 404 for every bad token: nothing tells forged from expired from erased."""
    return web.Response(text="not found", status=404, headers={"Cache-Control": "no-store"})
