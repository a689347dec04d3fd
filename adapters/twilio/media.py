"""Inbound media download: credentials to the Twilio API host only, size limits enforced.

Twilio's `MediaUrl` points at the API host, wants Basic auth and answers with a redirect
to a CDN. The redirect is followed by hand so the credentials are sent on the first hop
only: aiohttp would otherwise decide per hop, and a CDN (or a forged URL) must never see
the account's auth token. A URL that is not on the configured API host is refused before
any request is made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import ClientError, ClientSession, ClientTimeout, StreamReader, encode_basic_auth
from yarl import URL

from werkbot.bot.adapter import MediaTooLarge
from werkbot.bot.adapter import MediaUnavailable as CoreMediaUnavailable

log = logging.getLogger(__name__)

MB = 1024 * 1024
REDIRECTS = {301, 302, 303, 307, 308}
MAX_HOPS = 5
TIMEOUT = ClientTimeout(total=60, sock_connect=10)


class MediaRefused(CoreMediaUnavailable):
    """A media URL werkbot will not fetch (not on the Twilio API host)."""

    permanent = True


class MediaUnavailable(CoreMediaUnavailable):
    """The media could not be downloaded (gone, denied, network trouble)."""


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """Per-channel size limits; `image_bytes` applies to image/* content."""

    max_bytes: int
    image_bytes: int

    def for_type(self, content_type: str) -> int:
        if content_type.lower().startswith("image/"):
            return min(self.max_bytes, self.image_bytes)
        return self.max_bytes


WHATSAPP_LIMITS = MediaLimits(max_bytes=16 * MB, image_bytes=5 * MB)
MMS_LIMITS = MediaLimits(max_bytes=5 * MB, image_bytes=5 * MB)


def _origin(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


class MediaFetcher:
    """Downloads Twilio media with the account's credentials, for one API base URL."""

    def __init__(self, api_base: str, account_sid: str, auth_token: str,
                 limits: MediaLimits) -> None:
        self._api = URL(api_base)
        self._authorization = encode_basic_auth(account_sid, auth_token)
        self.limits = limits

    def allowed(self, url: str) -> bool:
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            return False
        # User info in the URL would be sent as credentials of its own, or hide the real
        # host from a reader: never Twilio's form, so refused like a foreign host.
        return (parsed.is_absolute() and parsed.user is None and parsed.password is None
                and _origin(parsed) == _origin(self._api))

    async def fetch(self, session: ClientSession, url: str, declared_type: str = "",
                    ) -> tuple[bytes, str]:
        if not self.allowed(url):
            log.warning("media URL refused: not on the Twilio API host")
            raise MediaRefused("media URL is not on the Twilio API host")
        target = URL(url)
        headers = {"Authorization": self._authorization}
        try:
            for _ in range(MAX_HOPS):
                async with session.get(target, headers=headers, allow_redirects=False,
                                       timeout=TIMEOUT) as resp:
                    if resp.status in REDIRECTS and "Location" in resp.headers:
                        target = target.join(URL(resp.headers["Location"]))
                        if target.scheme not in ("http", "https"):
                            raise MediaUnavailable("redirect to a non-HTTP URL")
                        headers = {}  # the credentials stay with the Twilio API host
                        continue
                    if resp.status != 200:
                        raise MediaUnavailable(f"media download answered {resp.status}")
                    content_type = resp.content_type or declared_type
                    limit = self.limits.for_type(declared_type or content_type)
                    if resp.content_length is not None and resp.content_length > limit:
                        raise MediaTooLarge(f"{resp.content_length} bytes, limit {limit}")
                    return await _read_capped(resp.content, limit), content_type
        except ClientError as exc:
            raise MediaUnavailable(f"media download failed: {type(exc).__name__}") from exc
        raise MediaUnavailable("too many redirects")


async def _read_capped(stream: StreamReader, limit: int) -> bytes:
    """Read at most `limit` bytes; a longer body (whatever Content-Length said) fails."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in stream.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > limit:
            raise MediaTooLarge(f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
