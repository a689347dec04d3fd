"""Webhook authenticity: `X-Twilio-Signature` checked with twilio's own validator.

The URL that was signed is the one Twilio called: `server.public_url` plus the path and
query the request arrived with. `request.url` is never used: behind a TLS-terminating
proxy its scheme, host and port are the proxy's, and every signature would fail (or,
worse, an attacker-controlled Host header would be trusted).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from multidict import MultiDict
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

__all__ = ["SIGNATURE_HEADER", "SignatureChecker", "signed_url"]


def signed_url(public_url: str, raw_path_qs: str) -> str:
    """The URL Twilio signed: the public base URL (which may carry a path prefix)."""
    return public_url.rstrip("/") + raw_path_qs


class SignatureChecker:
    """Checks Twilio webhook signatures for one auth token."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid(self, url: str, params: MultiDict[str] | Mapping[str, str],
              headers: Mapping[str, str]) -> bool:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER, ""))
        if "bodySHA256" not in url and algorithm.upper() in (HMAC_SHA1, HMAC_SHA256):
            # The URL as configured is one of the two forms twilio's validator tries (with
            # and without the port): one HMAC instead of two plus URL parsing, per webhook.
            expected = str(self._validator.compute_signature(url, params, algorithm))
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return True
        return bool(self._validator.validate(url, params, signature, algorithm))

    def sign(self, url: str, params: MultiDict[str] | Mapping[str, str]) -> str:
        """The signature Twilio would send (tests and the bench sign with it)."""
        return str(self._validator.compute_signature(url, params))
