"""Signing in and out: the one-time link, sign-out, an admin ending every session, the
demo's one-click sign-in, and the package's static files.

Every sign-in, failed sign-in and sign-out is audited (who, when; never the link).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.bot.storage.repos import AuditRepo
from werkbot.bot.texts import LANGUAGES
from werkbot.handlers.office_web.auth import (
    AttemptLimiter,
    clear_cookie,
    end_all_sessions,
    end_session,
    open_link,
    served_over_https,
    set_cookie,
    start_session,
)
from werkbot.handlers.office_web.guard import (
    LANG_COOKIE,
    Call,
    office_page,
    see_other,
    signin_page,
)
from werkbot.handlers.office_web.render import HEADERS, static_file

log = logging.getLogger(__name__)
ADMIN = frozenset({"admin"})
limiter = AttemptLimiter()


async def login(request: web.Request) -> web.StreamResponse:
    """`GET /office/login/{token}`: a valid, unused link starts a session, once."""
    services = request.app[SERVICES]
    now = services.clock.now()
    if not limiter.allow(request.remote or "-", now):
        log.warning("office sign-in attempts over the limit")
        return signin_page(services, status=429, key="too_many", request=request)
    async with services.db.session() as session:
        opened = await open_link(session, services, request.match_info["token"])
        audit = AuditRepo(session)
        if opened is None:
            await audit.record("web", "web.signin_failed", now)
            log.info("office sign-in link refused (unknown, used or expired)")
            failed = True
        else:
            secret, staff = opened
            await audit.record(f"staff:{staff.id}", "web.signin", now)
            log.info("office sign-in: staff %s", staff.id)
            failed = False
    if failed:
        return signin_page(services, status=403, key="link_invalid", request=request)
    response = see_other("/office")
    set_cookie(response, request, services, secret)
    return response


@office_page(form=True)
async def logout(call: Call) -> web.StreamResponse:
    await end_session(call.session, call.viewer, call.services.clock.now())
    await call.audit("signout")
    response = see_other("/office")
    clear_cookie(response)
    return response


@office_page(roles=ADMIN, form=True)
async def end_everyone(call: Call) -> web.StreamResponse:
    ended = await end_all_sessions(call.session, call.viewer.staff.id,
                                   call.services.clock.now())
    await call.audit("sessions_ended", detail=str(ended))
    response = see_other("/office")
    clear_cookie(response)
    return response


def demo_allowed(services: Services) -> bool:
    """One-click sign-in only in the demo: the sandbox on, served on this machine alone."""
    host = urlsplit(services.settings.server.public_url).hostname or ""
    return services.settings.server.sandbox and host in ("127.0.0.1", "localhost", "::1")


async def demo_login(request: web.Request) -> web.StreamResponse:
    """`GET /office/demo`: signs the demo's office staff member in (demo only, else 404)."""
    services = request.app[SERVICES]
    office = next((s for s in services.settings.staff if "office" in s.roles),
                  next((s for s in services.settings.staff if "admin" in s.roles), None))
    if not demo_allowed(services) or office is None:
        raise web.HTTPNotFound(text="not found")
    async with services.db.session() as session:
        secret = await start_session(session, services, office)
        await AuditRepo(session).record(f"staff:{office.id}", "web.signin_demo",
                                        services.clock.now())
    response = see_other("/office")
    set_cookie(response, request, services, secret)
    return response


async def language(request: web.Request) -> web.StreamResponse:
    """`GET /office/lang/{de|en}`: the pages' language for this browser (a cookie)."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound(text="not found")
    response = see_other("/office")
    response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="Lax", path="/office",
                        max_age=365 * 24 * 3600,
                        secure=served_over_https(request, request.app[SERVICES]))
    return response


async def static(request: web.Request) -> web.StreamResponse:
    found = static_file(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound(text="not found")
    body, content_type = found
    headers = {**HEADERS, "Cache-Control": "private, max-age=300"}
    return web.Response(body=body, content_type=content_type, headers=headers)
