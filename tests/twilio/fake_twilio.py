"""A recording fake Twilio: the REST `Messages.json` endpoint (create, and the filtered
message list), media behind Basic auth with a redirect to a second (CDN) host, and the
webhook side (signed inbound messages and status callbacks posted to werkbot over real HTTP).

Prism checks what werkbot sends against Twilio's OpenAPI file but is stateless and cannot
call back; this fake does what Prism cannot: fresh `SM...` ids, scripted failures,
media, signatures and callbacks in any order.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, ClientResponse, ClientSession, web
from aiohttp.test_utils import TestServer
from multidict import MultiDict
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
_media_ids = itertools.count(1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SentMessage:
    """One POST to Messages.json as the fake received it."""

    form: MultiDict[str]
    auth: BasicAuth | None
    headers: Mapping[str, str]
    sid: str
    at: float = field(default_factory=time.perf_counter)  # when it arrived (bench timing)
    created: datetime = field(default_factory=_utc_now)  # Twilio's date_created

    def __getitem__(self, key: str) -> str:
        return self.form[key]

    def get(self, key: str, default: str = "") -> str:
        return self.form.get(key, default)


@dataclass
class MediaHit:
    host: str
    path: str
    authorization: str  # the Authorization header as received ("" if none)


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    sent: list[SentMessage] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    api_hits: list[MediaHit] = field(default_factory=list)
    cdn_hits: list[MediaHit] = field(default_factory=list)
    api: TestServer | None = None
    cdn: TestServer | None = None
    session: ClientSession | None = None
    chunked: bool = False  # serve media without Content-Length
    clock: Callable[[], datetime] = _utc_now  # date_created/date_sent (a test's clock)
    listed_status: dict[str, str] = field(default_factory=dict)  # sid -> status in the list
    list_queries: list[MultiDict[str]] = field(default_factory=list)  # GET Messages.json
    garbled: int = 0  # the next creates are kept but answered 201 with an unreadable body

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> FakeTwilio:
        api_app = web.Application()
        api_app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        api_app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self._list)
        api_app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}",
                               self._media_api)
        cdn_app = web.Application()
        cdn_app.router.add_get("/cdn/{me}", self._media_cdn)
        self.api, self.cdn = TestServer(api_app), TestServer(cdn_app)
        await self.api.start_server()
        await self.cdn.start_server()
        self.session = ClientSession()
        return self

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        for server in (self.api, self.cdn):
            if server is not None:
                await server.close()

    @property
    def base_url(self) -> str:
        assert self.api is not None
        return str(self.api.make_url("")).rstrip("/")

    @property
    def cdn_url(self) -> str:
        assert self.cdn is not None
        return str(self.cdn.make_url("")).rstrip("/")

    # -- scripting -------------------------------------------------------------------
    def fail_next(self, status: int, code: int | None = None, message: str = "") -> None:
        body: dict[str, Any] = {"status": status, "message": message or f"error {status}"}
        if code is not None:
            body["code"] = code
            body["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
        self.failures.append((status, body))

    def add_media(self, data: bytes, content_type: str) -> str:
        """Store bytes; returns the API-host MediaUrl Twilio would put in a webhook."""
        me = f"ME{next(_media_ids):032x}"
        self.media[me] = (data, content_type)
        mm = "MM" + secrets.token_hex(16)
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages/{mm}/Media/{me}"

    # -- webhooks towards werkbot -------------------------------------------------------
    def sign(self, url: str, form: Mapping[str, str]) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(url, dict(form)))

    async def post(self, base_url: str, path: str, form: Mapping[str, str], *,
                   public_url: str, signature: str | None = None,
                   headers: Mapping[str, str] | None = None) -> ClientResponse:
        """POST a form to werkbot, signed for `public_url` + `path` as Twilio would."""
        assert self.session is not None
        sent_headers = {"X-Twilio-Signature": signature if signature is not None
                        else self.sign(public_url.rstrip("/") + path, form)}
        if signature == "":
            sent_headers.pop("X-Twilio-Signature")
        sent_headers.update(headers or {})
        resp = await self.session.post(base_url.rstrip("/") + path, data=dict(form),
                                       headers=sent_headers)
        await resp.read()
        return resp

    # -- handlers -------------------------------------------------------------------
    def _authorised(self, request: web.Request) -> BasicAuth | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        try:
            auth = BasicAuth.decode(header)
        except ValueError:
            return None
        if (auth.login, auth.password) != (self.account_sid, self.auth_token):
            return None
        return auth

    async def _create(self, request: web.Request) -> web.Response:
        auth = self._authorised(request)
        if auth is None or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate",
                                      "status": 401}, status=401)
        form = MultiDict(await request.post())
        if self.failures:
            status, body = self.failures.pop(0)
            return web.json_response(body, status=status)
        sid = "SM" + secrets.token_hex(16)
        created = self.clock()
        self.sent.append(SentMessage(MultiDict((k, str(v)) for k, v in form.items()), auth,
                                     dict(request.headers), sid, created=created))
        if self.garbled:  # a proxy mangled the answer: the message exists all the same
            self.garbled -= 1
            return web.Response(status=201, text='{"sid": "' + sid[:9],
                                content_type="application/json")
        return web.json_response(_message_json(self.account_sid, sid, form, created),
                                 status=201)

    async def _list(self, request: web.Request) -> web.Response:
        """`GET Messages.json` as Twilio answers it: filtered by To, From and DateSent
        (whole GMT days; `DateSent>` is on or after, `DateSent<` on or before), newest
        first, one page of `PageSize` (default 50)."""
        auth = self._authorised(request)
        if auth is None or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate",
                                      "status": 401}, status=401)
        query = request.query
        self.list_queries.append(MultiDict(query))
        try:
            days = {op: date.fromisoformat(query[name][:10]) for op, name in
                    (("=", "DateSent"), ("<", "DateSent<"), (">", "DateSent>"))
                    if name in query}
            size = int(query.get("PageSize", "50"))
            number = int(query.get("Page", "0"))
        except ValueError:
            return web.json_response({"code": 20001, "message": "Invalid parameter",
                                      "status": 400}, status=400)
        listed = []
        for sent in reversed(self.sent):  # newest first (date_sent, then arrival)
            day = sent.created.astimezone(UTC).date()  # the fake sends at once
            if ((query.get("To") not in (None, sent.get("To")))
                    or (query.get("From") not in (None, sent.get("From")))
                    or ("=" in days and day != days["="])
                    or ("<" in days and day > days["<"])
                    or (">" in days and day < days[">"])):
                continue
            listed.append(sent)
        listed.sort(key=lambda s: s.created, reverse=True)
        chunk = listed[number * size:(number + 1) * size]
        messages = []
        for sent in chunk:
            message = _message_json(self.account_sid, sent.sid, sent.form, sent.created)
            message["status"] = self.listed_status.get(sent.sid, "sent")
            message["date_sent"] = message["date_created"]
            messages.append(message)
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        params = {k: v for k, v in query.items() if k not in ("Page", "PageToken")}

        def uri(page: int) -> str:
            return f"{base}?{urlencode({**params, 'PageSize': size, 'Page': page})}"

        more = len(listed) > (number + 1) * size
        return web.json_response({
            "end": number * size + max(len(chunk) - 1, 0), "first_page_uri": uri(0),
            "messages": messages, "next_page_uri": uri(number + 1) if more else None,
            "page": number, "page_size": size,
            "previous_page_uri": uri(number - 1) if number else None,
            "start": number * size, "uri": uri(number)})

    async def _media_api(self, request: web.Request) -> web.Response:
        self.api_hits.append(MediaHit("api", request.path,
                                      request.headers.get("Authorization", "")))
        if self._authorised(request) is None:
            return web.json_response({"code": 20003, "status": 401}, status=401)
        me = request.match_info["me"]
        if me not in self.media:
            return web.json_response({"code": 20404, "status": 404}, status=404)
        raise web.HTTPFound(f"{self.cdn_url}/cdn/{me}")

    async def _media_cdn(self, request: web.Request) -> web.StreamResponse:
        self.cdn_hits.append(MediaHit("cdn", request.path,
                                      request.headers.get("Authorization", "")))
        found = self.media.get(request.match_info["me"])
        if found is None:
            raise web.HTTPNotFound()
        data, content_type = found
        if not self.chunked:
            return web.Response(body=data, content_type=content_type)
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(0, len(data), 256 * 1024):
            await resp.write(data[i:i + 256 * 1024])
        await resp.write_eof()
        return resp


def _message_json(account_sid: str, sid: str, form: Mapping[str, Any],
                  created: datetime) -> dict[str, Any]:
    stamp = format_datetime(created.astimezone(UTC))
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
        "date_created": stamp, "date_sent": None, "date_updated": stamp,
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": form.get("From"), "messaging_service_sid": None,
        "num_media": str(len(form.getall("MediaUrl", [])) if hasattr(form, "getall") else 0),
        "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
        "status": "queued", "to": form.get("To"),
        "subresource_uris": {"media": f"{_base(account_sid, sid)}/Media.json"},
        "uri": f"{_base(account_sid, sid)}.json",
    }


def _base(account_sid: str, sid: str) -> str:
    return f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
