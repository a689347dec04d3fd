"""An in-process fake of the Telegram Bot API: real HTTP on a loopback port.

Serves `POST|GET /bot{token}/{method}` and `GET /file/bot{token}/{path}`, records every
call (JSON, urlencoded or multipart; nested objects arrive as JSON strings and are
decoded, `chat_id` stays the string it was sent as), checks required parameters against
the Bot API reference in `tests/fixtures/telegram/telegram-bot-api.json`, answers with realistic
objects, can fail the next call of a method (429 with `retry_after`, 403 blocked, ...)
and serves getUpdates from a queue with offset confirmation, as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "telegram-bot-api.json"
BOT_USER = {"id": 555000111, "is_bot": True, "first_name": "Fitter Bot",
            "username": "fitter_test_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_DOWNLOAD = 20 * 1024 * 1024
_SEND_FILE = {"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice",
              "sendAudio": "audio", "sendVideo": "video"}


def load_spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)

    def upload(self, name: str) -> bytes | None:
        """The bytes uploaded for parameter `name` (directly or as `attach://<part>`)."""
        value = self.params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        return self.files.get(name)


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None = None


class FakeBotAPI:
    """The fake server. `url` is what goes into `telegram.api_base`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.spec = load_spec()
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}  # file_id -> bytes, served by getFile + download
        self.webhook: dict[str, Any] = {"url": ""}
        self.last_webhook_error = ""
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self.garbled: dict[str, int] = defaultdict(int)  # method -> calls done, answer mangled
        self._updates: list[dict[str, Any]] = []
        self.held: dict[str, asyncio.Event] = {}  # method -> answered once the event is set
        self._changed = asyncio.Condition()
        self._message_ids = itertools.count(5000)
        self._file_ids = itertools.count(1)
        self._server: TestServer | None = None
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self.app = app

    async def start(self) -> None:
        self._server = TestServer(self.app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    # ---- what tests use -------------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def fail_next(self, method: str, status: int, description: str = "",
                  retry_after: int | None = None) -> None:
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        text = description or {429: f"Too Many Requests: retry after {retry_after}",
                               403: "Forbidden: bot was blocked by the user"}.get(status, "Error")
        self._failures[method].append(_Failure(status, text, parameters))

    async def push_update(self, *updates: Mapping[str, Any]) -> None:
        """Queue updates for getUpdates (one call may return several: an album burst)."""
        async with self._changed:
            self._updates.extend(dict(u) for u in updates)
            self._changed.notify_all()

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait (event-driven, with a safety time-out) until `count` calls of `method`."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.calls_of(method)) >= count), timeout)
        return self.calls_of(method)

    def hold(self, method: str) -> asyncio.Event:
        """Keep calls of `method` open until the returned event is set (a slow Telegram)."""
        self.held[method] = asyncio.Event()
        return self.held[method]

    def add_file(self, file_id: str, data: bytes) -> None:
        self.files[file_id] = data

    # ---- the HTTP side --------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _read_params(request)
        async with self._changed:
            self.calls.append(Call(method, params, files))
            self._changed.notify_all()
        spec = self.spec["methods"].get(method)
        if spec is None:
            return _error(404, "Not Found: method not found")
        missing = [f["name"] for f in spec.get("fields", [])
                   if f.get("required") and f["name"] not in params and f["name"] not in files]
        if missing:
            return _error(400, f"Bad Request: parameter {missing[0]} is required")
        if (gate := self.held.get(method)) is not None:
            await gate.wait()
        if self._failures[method]:
            failure = self._failures[method].popleft()
            return _error(failure.status, failure.description, failure.parameters)
        try:
            result = await self._result(method, params, files)
        except _BadRequest as exc:
            return _error(400, f"Bad Request: {exc}")
        if isinstance(result, web.Response):
            return result
        if self.garbled[method]:  # carried out, but the answer arrives mangled
            self.garbled[method] -= 1
            return web.Response(status=200, text='{"ok": true, "result": {"message_',
                                content_type="application/json")
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1].split(".", 1)[0]
        data = self.files.get(file_id)
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    async def _result(self, method: str, p: dict[str, Any], files: dict[str, bytes]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getWebhookInfo":
            info = {"url": self.webhook["url"], "has_custom_certificate": False,
                    "pending_update_count": len(self._updates)}
            if self.webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.last_webhook_error:
                info["last_error_date"] = int(time.time())
                info["last_error_message"] = self.last_webhook_error
            return info
        if method == "setWebhook":
            self.webhook = {"url": p["url"], "secret_token": p.get("secret_token"),
                            "allowed_updates": p.get("allowed_updates")}
            self.last_webhook_error = ""
            return True
        if method == "deleteWebhook":
            self.webhook = {"url": ""}
            return True
        if method == "getUpdates":
            return await self._get_updates(p)
        if method in ("answerCallbackQuery", "setMyCommands", "deleteMessage"):
            return True
        if method == "createForumTopic":
            return {"message_thread_id": 1000 + next(self._file_ids), "name": p["name"],
                    "icon_color": 7322096}
        if method == "getFile":
            return self._get_file(str(p["file_id"]))
        if method == "sendMessage":
            message = self._message(p, text=p["text"])
            markup = p.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup  # Telegram echoes inline keyboards only
            return message
        if method in _SEND_FILE:
            field_name = _SEND_FILE[method]
            ref = p.get(field_name, f"attach://{field_name}")
            media = self._media_object(field_name, ref, files)
            message = self._message(p, **{field_name: media})
            if p.get("caption"):
                message["caption"] = p["caption"]
            return message
        if method == "sendMediaGroup":
            group = f"album-{next(self._file_ids)}"
            out = []
            for i, item in enumerate(p["media"]):
                kind = {"photo": "photo", "video": "video", "document": "document",
                        "audio": "audio"}[item["type"]]
                message = self._message(p, media_group_id=group,
                                        **{kind: self._media_object(kind, item["media"], files)})
                if i == 0 and item.get("caption"):
                    message["caption"] = item["caption"]
                out.append(message)
            return out
        return True

    async def _get_updates(self, p: dict[str, Any]) -> Any:
        if self.webhook["url"]:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active;"
                          " use deleteWebhook to delete the webhook first")
        offset = int(p.get("offset") or 0)
        wait = min(float(p.get("timeout") or 0), 0.2)  # long polling, capped for tests
        async with self._changed:
            if offset:  # confirms (and forgets) everything before the offset
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates)),
                                           wait)
            return list(self._updates[: int(p.get("limit") or 100)])

    def _get_file(self, file_id: str) -> Any:
        data = self.files.get(file_id)
        if data is None:
            raise _BadRequest("invalid file_id")
        if len(data) > MAX_DOWNLOAD:
            raise _BadRequest("file is too big")
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(data),
                "file_path": f"documents/{file_id}.bin"}

    def _message(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(p["chat_id"])
        chat: dict[str, Any] = ({"id": chat_id, "type": "private", "first_name": "Alice"}
                                if chat_id > 0 else
                                {"id": chat_id, "type": "supergroup", "title": "Office",
                                 "is_forum": True})
        message: dict[str, Any] = {"message_id": next(self._message_ids),
                                   "date": int(time.time()), "chat": chat, "from": BOT_USER,
                                   **content}
        if p.get("message_thread_id"):
            message["message_thread_id"] = int(p["message_thread_id"])
        return message

    def _media_object(self, kind: str, ref: str, files: dict[str, bytes]) -> Any:
        if ref.startswith("attach://"):
            data = files[ref.removeprefix("attach://")]
            file_id = f"{kind}-{next(self._file_ids)}"
            self.files[file_id] = data
        else:
            file_id, data = ref, self.files.get(ref, b"")
        base = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(data)}
        if kind == "photo":
            return [{**base, "width": 90, "height": 90, "file_id": f"{file_id}-thumb"},
                    {**base, "width": 1280, "height": 960}]
        if kind in ("voice", "audio"):
            return {**base, "duration": 3}
        if kind == "video":
            return {**base, "width": 640, "height": 480, "duration": 3}
        return {**base, "file_name": "file.bin"}


class _BadRequest(Exception):
    pass


def _error(status: int, description: str,
           parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if request.method == "GET":
        items: Mapping[str, Any] = request.query
    elif request.content_type == "application/json":
        body = await request.read()
        return (json.loads(body) if body else {}), files
    else:
        items = await request.post()
    for name, value in items.items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
        else:
            params[name] = _decoded(str(value))
    return params, files


def _decoded(value: str) -> Any:
    """Nested objects (keyboards, media arrays) arrive as JSON strings; scalars stay text."""
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
