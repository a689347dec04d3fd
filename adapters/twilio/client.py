"""The one Twilio REST client per app, shared by the WhatsApp and SMS adapters.

twilio-python's `AsyncTwilioHttpClient` opens an aiohttp session in its constructor, so
the client is built in `open()` inside the running loop (app start-up) and closed when
the last adapter using it stops. Its session also serves inbound media downloads: one
connection pool per app, never a session per message.

Calls go through the client's `request_async` (its authentication, headers and HTTP
client) to the Messages resource, and Twilio's error answers become twilio-python's own
exceptions (`Version.exception`). The generated resource classes are not used: werkbot
needs three calls of one resource, and importing `twilio.rest.api.v2010` loads every
resource of the API (bench/README.md) and parses each answer into an object werkbot never
reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import ClientSession
from twilio.base.version import Version
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from werkbot.bot.settings import TwilioSettings

log = logging.getLogger(__name__)

HttpFactory = Callable[[], Any]  # returns an AsyncTwilioHttpClient (or a subclass)
REQUEST_TIMEOUT = 20.0


def default_http() -> Any:
    return AsyncTwilioHttpClient(timeout=REQUEST_TIMEOUT)


class TwilioApi:
    """Owns the twilio-python `Client` for one account; reference-counted open/close."""

    def __init__(self, settings: TwilioSettings, http_factory: HttpFactory = default_http) -> None:
        self.settings = settings
        self._http_factory = http_factory
        self._client: Any = None
        self._http: Any = None
        self._users = 0

    @property
    def base_url(self) -> str:
        return self.settings.api_base.rstrip("/")

    @property
    def messages_url(self) -> str:
        """`{api_base}/2010-04-01/Accounts/{account_sid}/Messages` (contract section 4)."""
        return f"{self.base_url}/2010-04-01/Accounts/{self.settings.account_sid}/Messages"

    async def call(self, method: str, url: str, *, data: Mapping[str, object] | None = None,
                   params: Mapping[str, object] | None = None) -> dict[str, Any]:
        """One REST call; the JSON answer, or twilio-python's exception for an error answer.

        Raises `TwilioRestException` / `TwilioServiceException` (as the generated
        resources would), aiohttp's `ClientError` or `TimeoutError`.
        """
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await self.client.request_async(
            method, url, params=dict(params) if params else None,
            data=dict(data) if data is not None else None, headers=headers)
        if not 200 <= response.status_code < 300:
            raise Version.exception(method, url, response, f"Unable to {method} {url}")
        if not response.text:
            return {}
        answer = json.loads(response.text)
        return answer if isinstance(answer, dict) else {}

    async def open(self) -> None:
        self._users += 1
        if self._client is not None:
            return
        self._http = self._http_factory()
        client = Client(self.settings.account_sid, self.settings.auth_token,
                        account_sid=self.settings.account_sid, http_client=self._http)
        # TWILIO_EDGE / TWILIO_REGION from the environment would rewrite the host and so
        # bypass `api_base`; werkbot's configuration is the only source of truth. (Every
        # call names its whole URL under `api_base`; see `call`.)
        client.edge = None
        client.region = None
        self._client = client
        log.info("twilio client ready for %s", self.base_url)

    async def close(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users or self._http is None:
            return
        http, self._http, self._client = self._http, None, None
        await http.close()

    @property
    def client(self) -> Any:
        """The twilio-python `Client` (untyped library, hence `Any`)."""
        if self._client is None:
            raise RuntimeError("twilio client used before start()")
        return self._client

    @property
    def session(self) -> ClientSession:
        """The aiohttp session under the Twilio client, reused for media downloads."""
        if self._http is None:
            raise RuntimeError("twilio client used before start()")
        session = self._http.session
        if not isinstance(session, ClientSession):
            raise RuntimeError("twilio http client has no pooled aiohttp session")
        return session
