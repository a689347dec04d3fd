"""Every office page goes through `office_page`: session, role, CSRF, audit, one transaction.

A request without a valid session gets the sign-in page (401) and no personal data. A
staff member without the role gets a refusal page (403), audited. A form (POST) must
carry the session's CSRF token and come from this site, else 403, audited. The page's
work runs in one database transaction; what must happen after the commit (waking the
outbox sender) is collected in `Call.after_commit`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.bot.storage.models import Person
from werkbot.bot.storage.repos import AuditRepo
from werkbot.bot.texts import LANGUAGES
from werkbot.handlers.office_web.auth import Viewer, csrf_ok, viewer_of
from werkbot.handlers.office_web.render import page

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 64 * 1024
LANG_COOKIE = "werkbot_office_lang"
_flashes: dict[int, list[str]] = {}  # per session id: notices for the next page


@dataclass
class Call:
    """One signed-in request: what a page function works with."""

    request: web.Request
    services: Services
    session: AsyncSession
    viewer: Viewer
    form: dict[str, str]
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def lang(self) -> str:
        """The language picked on the page (a cookie), else the staff member's own."""
        return chosen_language(self.request) or self.viewer.lang

    def page(self, template: str, *, status: int = 200, **values: Any) -> web.Response:
        return page(self.services, template, self.lang, status=status,
                    viewer=self.viewer, csrf=self.viewer.csrf,
                    flashes=_flashes.pop(self.viewer.session_id, []), **values)

    def flash(self, *notices: str) -> None:
        """Notices for this session's next page (in this process: a page answered by
        another process simply shows none)."""
        if len(_flashes) > 1000:  # sessions that never came back for theirs
            _flashes.clear()
        _flashes.setdefault(self.viewer.session_id, []).extend(n for n in notices if n)

    def t(self, key: str, /, **values: object) -> str:
        return self.services.texts.get(f"office_web.{key}", self.lang, **values)

    async def audit(self, action: str, subject: str = "", detail: str = "") -> None:
        await AuditRepo(self.session).record(self.viewer.actor, f"web.{action}",
                                             self.services.clock.now(), subject=subject,
                                             detail=detail)

    def int_arg(self, name: str) -> int:
        value = self.request.match_info.get(name, "")
        if not value.isdigit() or len(value) > 18:
            raise web.HTTPNotFound(text="not found")
        return int(value)

    async def customer(self) -> Person:
        """The customer the URL's `{person}` names; 404 for staff, erased or unknown ids."""
        person = await self.session.get(Person, self.int_arg("person"))
        if person is None or person.kind != "customer" or person.erased_at is not None:
            raise web.HTTPNotFound(text="not found")
        return person


PageFunction = Callable[[Call], Awaitable[web.StreamResponse]]


def office_page(*, roles: frozenset[str] = frozenset(), form: bool = False
                ) -> Callable[[PageFunction], Callable[[web.Request], Awaitable[
                    web.StreamResponse]]]:
    """Wrap a page: signed in, with one of `roles` (any staff when empty), and for a
    `form` a same-site POST carrying the CSRF token."""

    def wrap(fn: PageFunction) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            services = request.app[SERVICES]
            fields: dict[str, str] = {}
            if form:
                fields = await _read_form(request)
            after: list[Callable[[], None]] = []
            async with services.db.session() as session:
                viewer = await viewer_of(session, services, request)
                if viewer is None:
                    return signin_page(services, status=401, request=request)
                call = Call(request, services, session, viewer, fields, after)
                if form and not (csrf_ok(viewer, fields.get("csrf", ""))
                                 and same_site(request, services)):
                    await call.audit("refused.csrf", detail=request.path[:100])
                    log.warning("office form without a valid CSRF token refused")
                    return call.page("refused.html", status=403, reason=call.t("csrf"))
                if roles and not roles & set(viewer.staff.roles):
                    await call.audit("refused.role", detail=request.path[:100])
                    return call.page("refused.html", status=403, reason=call.t("not_allowed"))
                response = await fn(call)
            for task in after:
                task()
            return response

        return handler

    return wrap


def chosen_language(request: web.Request) -> str:
    value = request.cookies.get(LANG_COOKIE, "")
    return value if value in LANGUAGES else ""


def signin_page(services: Services, *, status: int = 401, key: str = "signin_intro",
                request: web.Request | None = None) -> web.Response:
    lang = (chosen_language(request) if request else "") or services.settings.business.language
    return page(services, "signin.html", lang, status=status, key=key, viewer=None,
                csrf="", flashes=[])


def see_other(location: str) -> web.Response:
    """A redirect returned (not raised), so the page's transaction still commits."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


async def _read_form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM_BYTES,
                                            actual_size=request.content_length)
    try:
        data = await request.clone(client_max_size=MAX_FORM_BYTES).post()
    except ValueError:
        raise web.HTTPBadRequest(text="malformed form") from None
    return {k: v for k, v in data.items() if isinstance(v, str)}


def same_site(request: web.Request, services: Services) -> bool:
    """A form from this site: its Origin (when the browser sends one) is ours."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    allowed = {request.host, urlsplit(services.settings.server.public_url).netloc}
    return urlsplit(origin).netloc in allowed
