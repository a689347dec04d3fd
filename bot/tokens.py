"""Signed, expiring tokens for public links (media, consent pages, exports).

A token is `base64url(json payload) . base64url(hmac-sha256)`, keyed by the server
secret and bound to a purpose, with a random nonce so that two links never collide.
A forged, altered, expired or wrong-purpose token verifies to `None`: callers answer 404
and reveal nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

SHORT_TOKEN_LENGTH = 32  # base64url of 24 bytes


class Signer:
    """Signs and verifies link tokens with one server secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("server secret must be at least 16 characters")
        self._key = hashlib.sha256(secret.encode()).digest()

    def sign(self, purpose: str, data: dict[str, Any], ttl: timedelta, now: datetime) -> str:
        body = {"p": purpose, "d": data, "e": int((now + ttl).timestamp()),
                "n": secrets.token_urlsafe(6)}
        raw = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{raw}.{self._mac(raw)}"

    def verify(self, purpose: str, token: str, now: datetime) -> dict[str, Any] | None:
        raw, sep, mac = token.partition(".")
        if not sep or not hmac.compare_digest(mac, self._mac(raw)):
            return None
        try:
            body = json.loads(_unb64(raw))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(body, dict) or body.get("p") != purpose:
            return None
        if int(body.get("e", 0)) < now.timestamp():
            return None
        data = body.get("d")
        return data if isinstance(data, dict) else None

    def sign_short(self, purpose: str, value: int, ttl: timedelta, now: datetime) -> str:
        """A short signed, expiring token for one number, in `[A-Za-z0-9_-]` only.

        For places that allow few characters (a Telegram deep link's `start` payload:
        at most 64): 8 bytes of value, 4 of expiry and 12 of HMAC, 32 characters.
        """
        body = value.to_bytes(8, "big") + int((now + ttl).timestamp()).to_bytes(4, "big")
        return _b64(body + self._short_mac(purpose, body))

    def verify_short(self, purpose: str, token: str, now: datetime) -> int | None:
        """The number a `sign_short` token carries, or None (forged, expired, other use)."""
        if len(token) != SHORT_TOKEN_LENGTH or not token.isascii():
            return None
        try:
            raw = _unb64(token)
        except ValueError:
            return None
        body, mac = raw[:12], raw[12:]
        if not hmac.compare_digest(mac, self._short_mac(purpose, body)):
            return None
        if int.from_bytes(body[8:], "big") < now.timestamp():
            return None
        return int.from_bytes(body[:8], "big")

    def _short_mac(self, purpose: str, body: bytes) -> bytes:
        return hmac.new(self._key, f"short:{purpose}:".encode() + body,
                        hashlib.sha256).digest()[:12]

    def pseudonym(self, text: str) -> str:
        """A keyed, stable pseudonym of `text` (not reversible without the secret)."""
        return hmac.new(self._key, f"pseudonym:{text}".encode(), hashlib.sha256).hexdigest()[:32]

    def _mac(self, raw: str) -> str:
        return _b64(hmac.new(self._key, raw.encode(), hashlib.sha256).digest()[:20])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
