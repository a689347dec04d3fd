"""Sign-in without passwords: one-time links, server-side sessions, CSRF, rate limits.

`/web` in chat creates a link (`create_link`) that works once within `LINK_TTL`; opening
it (`open_link`) starts a session whose secret lives only in the browser's cookie (the
database keeps its SHA-256). A session ends after `IDLE_FOR` without a request (a
working day), on sign-out, or when an admin ends every session. Each session carries
its own CSRF token, which every form posts back (`csrf_ok`). Sign-in attempts per
client address and links per staff member are limited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.services import Services
from werkbot.bot.settings import StaffSettings
from werkbot.handlers.office_web.models import WebLogin, WebSession
from werkbot.handlers.staff_roles import OFFICE_ROLES

LINK_TTL = timedelta(minutes=10)
IDLE_FOR = timedelta(hours=10)  # a working day without a request ends the session
LINKS_PER_WINDOW = 5  # `/web` links one staff member may ask for per LINK_TTL
COOKIE = "werkbot_office"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """Who is signed in on this request: their session and configured staff entry."""

    session_id: int
    staff: StaffSettings
    csrf: str

    @property
    def actor(self) -> str:
        return f"staff:{self.staff.id}"

    @property
    def is_office(self) -> bool:
        return bool(OFFICE_ROLES & set(self.staff.roles))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.staff.roles

    @property
    def lang(self) -> str:
        return self.staff.language or "de"


async def create_link(session: AsyncSession, services: Services, staff_id: str) -> str | None:
    """A fresh one-time sign-in URL for `staff_id`; None when they asked too often."""
    now = services.clock.now()
    recent = await session.scalar(
        select(func.count()).select_from(WebLogin)
        .where(WebLogin.staff_id == staff_id, WebLogin.created_at > now - LINK_TTL))
    if (recent or 0) >= LINKS_PER_WINDOW:
        return None
    token = secrets.token_urlsafe(32)
    session.add(WebLogin(token_hash=digest(token), staff_id=staff_id, created_at=now,
                         expires_at=now + LINK_TTL, used_at=None))
    await session.flush()
    return f"{services.settings.server.public_url.rstrip('/')}/office/login/{token}"


class SignInLinks:
    """Sign-in links made in one transaction (a chat command's: `ctx.repo(SignInLinks)`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, services: Services, staff_id: str) -> str | None:
        """As `create_link`."""
        return await create_link(self.session, services, staff_id)


async def open_link(session: AsyncSession, services: Services, token: str
                    ) -> tuple[str, StaffSettings] | None:
    """Use a sign-in link once: the new session's secret and its staff member, or None
    when the link is unknown, used, expired, or its staff member is no longer configured.

    The link is marked used by a conditional update, so two requests racing with the
    same link cannot both win."""
    now = services.clock.now()
    login = await session.scalar(select(WebLogin).where(WebLogin.token_hash == digest(token)))
    if login is None or login.used_at is not None or login.expires_at <= now:
        return None
    won = await session.execute(
        update(WebLogin).where(WebLogin.id == login.id, WebLogin.used_at.is_(None))
        .values(used_at=now))
    staff = services.settings.staff_by_id(login.staff_id)
    if not getattr(won, "rowcount", 0) or staff is None:
        return None
    return await start_session(session, services, staff), staff


async def start_session(session: AsyncSession, services: Services,
                        staff: StaffSettings) -> str:
    """A new session for `staff`; returns the secret that goes into the cookie."""
    now = services.clock.now()
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=digest(secret), csrf=secrets.token_urlsafe(24),
                           staff_id=staff.id, created_at=now, last_seen_at=now,
                           ended_at=None, ended_by=""))
    await session.flush()
    return secret


async def viewer_of(session: AsyncSession, services: Services, request: web.Request,
                    *, touch: bool = True) -> Viewer | None:
    """The signed-in staff member of this request, or None (and no personal data)."""
    secret = request.cookies.get(COOKIE, "")
    if not secret:
        return None
    now = services.clock.now()
    row = await session.scalar(select(WebSession).where(WebSession.token_hash == digest(secret)))
    if row is None or row.ended_at is not None:
        return None
    if row.last_seen_at + IDLE_FOR <= now:
        row.ended_at, row.ended_by = now, "idle"
        return None
    staff = services.settings.staff_by_id(row.staff_id)
    if staff is None:  # removed from the configuration since
        row.ended_at, row.ended_by = now, "staff-removed"
        return None
    if touch:
        row.last_seen_at = now
    return Viewer(row.id, staff, row.csrf)


async def end_session(session: AsyncSession, viewer: Viewer, now: datetime) -> None:
    row = await session.get(WebSession, viewer.session_id)
    if row is not None and row.ended_at is None:
        row.ended_at, row.ended_by = now, viewer.staff.id


async def end_all_sessions(session: AsyncSession, by: str, now: datetime) -> int:
    """An admin ends every open session (their own included); returns how many."""
    result = await session.execute(
        update(WebSession).where(WebSession.ended_at.is_(None))
        .values(ended_at=now, ended_by=by))
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_ok(viewer: Viewer, form_token: str) -> bool:
    return bool(form_token) and hmac.compare_digest(viewer.csrf, form_token)


def set_cookie(response: web.StreamResponse, request: web.Request, services: Services,
               secret: str) -> None:
    response.set_cookie(COOKIE, secret, httponly=True, samesite="Lax", path="/office",
                        secure=served_over_https(request, services))


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/office")


def served_over_https(request: web.Request, services: Services) -> bool:
    """True when the browser talks https to us: directly, or to the TLS-terminating proxy
    in front (`X-Forwarded-Proto`, or a request for the https `server.public_url`)."""
    if request.secure or request.headers.get("X-Forwarded-Proto", "") == "https":
        return True
    public = services.settings.server.public_url
    return public.startswith("https://") and request.host == public.split("/")[2]


class AttemptLimiter:
    """At most `limit` sign-in attempts per client address within `window` (in memory:
    each process limits its own share; links themselves are single-use and expire)."""

    def __init__(self, limit: int = 20, window: timedelta = timedelta(minutes=10)) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[datetime]] = {}

    def allow(self, client: str, now: datetime) -> bool:
        hits = self._seen.setdefault(client, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._seen) > 10_000:  # forget quiet clients rather than grow without end
            for key in [k for k, v in self._seen.items() if not v][:5_000]:
                del self._seen[key]
        return True
