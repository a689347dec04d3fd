"""Crash tests: a real `werkbot serve` process is SIGKILLed at the two worst moments.

1. After an event is acknowledged and before it is handled (the first process runs with
   `server.role = "web"`, which stores and acknowledges but never handles). After a
   restart the event is handled exactly once: one reply, recorded once, sent once.
2. In the middle of a send: the Twilio SMS adapter posts the reply to a local stand-in
   of Twilio's REST API that accepts the first POST and never answers it. The process is
   killed while it waits; after a restart the reply is sent again, exactly once more, and
   the outbox records it once.
"""

from __future__ import annotations

import email.utils
import json
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from tests.e2e.processes import (
    clean_env,
    free_port,
    get_json,
    post,
    post_json,
    query,
    running,
    wait_for,
    write_config,
)

CUSTOMER = "+491701234567"
ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "e2e-auth-token-0123456789abcdef"
SMS_FROM = "+498912345679"


def outbox_for(db: Path, address: str) -> list[tuple[str, str, int]]:
    return [(str(s), str(p), int(a)) for s, p, a in query(
        db, "SELECT status, payload, attempts FROM outbox WHERE address = ? ORDER BY id",
        address)]


def test_acknowledged_event_is_handled_exactly_once_after_sigkill(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "werkbot.toml", tmp_path, port)
    db = tmp_path / "werkbot.db"
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--config", str(config)]
    log = tmp_path / "werkbot.log"
    with running(args, log, env=clean_env(WERKBOT_SERVER__ROLE="web"), base=base) as web:
        status, body = post_json(base + "/sandbox/api/messages",
                                 {"channel": "whatsapp", "from": CUSTOMER, "text": "hilfe",
                                  "id": "crash-1"})
        assert status == 200, body
        # Acknowledged means stored: the row is on disk before the answer came back.
        assert query(db, "SELECT status FROM inbox WHERE dedup_key = 'crash-1'") == [
            ("pending",)]
        web.kill()
    assert outbox_for(db, f"whatsapp:{CUSTOMER}") == []  # never handled before the kill

    with running(args, log, env=clean_env(WERKBOT_SERVER__ROLE="all"), base=base) as bot:
        def sent() -> list[tuple[str, str, int]] | None:
            rows = outbox_for(db, f"whatsapp:{CUSTOMER}")
            return rows if rows and all(r[0] == "sent" for r in rows) else None

        wait_for(sent, what="the reply to be sent after the restart")
        # Give a wrongly repeated handling every chance to show up before asserting.
        get_json(base + "/sandbox/api/transcript?after=1000000&wait=1")
        assert query(db, "SELECT status FROM inbox WHERE dedup_key = 'crash-1'") == [("done",)]
        # A first contact gets the consent request, then the menu: each exactly once.
        consent, menu = outbox_for(db, f"whatsapp:{CUSTOMER}")
        assert [consent[0], consent[2], menu[0], menu[2]] == ["sent", 1, "sent", 1]
        assert "Einwilligung" in json.loads(consent[1])["text"]
        assert "Willkommen bei Sanitär Maier GmbH" in json.loads(menu[1])["text"]
        transcript = get_json(base + "/sandbox/api/transcript?after=0")["messages"]
        out = [m for m in transcript if m["direction"] == "out" and m["address"] == CUSTOMER]
        assert len(out) == 2, transcript
        assert bot.stop() == 0, bot.output()  # SIGTERM: a clean, draining shutdown


# ---------------------------------------------------------------- kill during a send


@dataclass
class HangingTwilio:
    """Twilio's Messages endpoint that never answers its first POST (nor creates that
    message), then answers 201; its list (GET) shows the messages it created."""

    posts: list[dict[str, list[str]]] = field(default_factory=list)
    created: list[dict[str, object]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    first_seen: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> HangingTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    self.send_response(404)
                    self.end_headers()
                    return
                fake.lookups.append(query)
                wanted = urllib.parse.parse_qs(query)
                found = [m for m in fake.created
                         if m["to"] in wanted.get("To", [m["to"]])
                         and m["from"] in wanted.get("From", [m["from"]])]
                uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
                body = json.dumps({"messages": found[::-1], "page": 0, "page_size": 50,
                                   "uri": uri, "first_page_uri": uri, "next_page_uri": None,
                                   "previous_page_uri": None, "end": len(found) - 1,
                                   "start": 0}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                expected = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
                if self.path != expected or not self.headers.get("Authorization"):
                    self.send_response(404)
                    self.end_headers()
                    return
                fake.posts.append(form)
                if len(fake.posts) == 1:
                    fake.first_seen.set()
                    fake.release.wait(120)  # hold the connection, answer nothing
                    return
                sid = "SM" + secrets.token_hex(16)
                now = email.utils.format_datetime(datetime.now(UTC))
                message: dict[str, object] = {
                    "sid": sid, "account_sid": ACCOUNT_SID, "status": "queued",
                    "to": form.get("To", [""])[0], "from": form.get("From", [""])[0],
                    "body": form.get("Body", [""])[0], "direction": "outbound-api",
                    "api_version": "2010-04-01", "num_segments": "1", "num_media": "0",
                    "date_created": now, "date_updated": now, "date_sent": None,
                    "error_code": None, "error_message": None, "price": None,
                    "price_unit": "USD", "messaging_service_sid": None,
                    "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
                    "subresource_uris": {},
                }
                fake.created.append(message)
                body = json.dumps(message).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def twilio() -> Iterator[HangingTwilio]:
    fake = HangingTwilio().start()
    yield fake
    fake.close()


def signed_sms(public_url: str, body: str, message_sid: str) -> tuple[bytes, dict[str, str]]:
    params = {
        "ToCountry": "DE", "ToState": "", "SmsMessageSid": message_sid, "NumMedia": "0",
        "ToCity": "", "FromZip": "", "SmsSid": message_sid, "FromState": "",
        "SmsStatus": "received", "FromCity": "", "Body": body, "FromCountry": "DE",
        "To": SMS_FROM, "ToZip": "", "NumSegments": "1", "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID, "From": CUSTOMER, "ApiVersion": "2010-04-01",
    }
    url = public_url + "/webhooks/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    return urllib.parse.urlencode(params).encode(), {"X-Twilio-Signature": signature}


def test_reply_interrupted_mid_send_is_sent_again_once_after_sigkill(
        tmp_path: Path, twilio: HangingTwilio) -> None:
    declared = {ep.name: ep.value for ep in entry_points(group="werkbot.plugins")}
    assert "werkbot.adapters.twilio:plugin" in declared.values(), (
        "the Twilio adapters are not declared: pyproject.toml needs "
        "[project.entry-points.\"werkbot.plugins\"] twilio = \"werkbot.adapters.twilio:plugin\"")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path / "werkbot.toml", tmp_path, port, extra=f"""
[twilio]
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
api_base = "{twilio.base}"
sms_from = "{SMS_FROM}"
""")
    db = tmp_path / "werkbot.db"
    args = ["serve", "--config", str(config)]
    log = tmp_path / "werkbot.log"
    address = f"sms:{CUSTOMER}"
    with running(args, log, env=clean_env(), base=base) as first:
        body, headers = signed_sms(base, "hilfe", "SM" + "c" * 32)
        status, answer = post(base + "/webhooks/sms", body,
                              "application/x-www-form-urlencoded", headers)
        assert status == 200, answer
        assert b"<Response/>" in answer  # empty TwiML: the reply goes through the REST API
        assert twilio.first_seen.wait(30), first.output()
        assert [r[0] for r in outbox_for(db, address)][:1] == ["sending"]
        first.kill()  # the POST is in flight, unanswered
    hung = twilio.posts[0]
    assert hung["To"] == [CUSTOMER] and hung["From"] == [SMS_FROM]

    with running(args, log, env=clean_env(), base=base) as second:
        def settled() -> list[tuple[str, str, int]] | None:
            rows = outbox_for(db, address)
            done = rows and all(r[0] not in ("queued", "sending") for r in rows)
            return rows if done else None

        rows = wait_for(settled, what="the interrupted reply to be sent after the restart")
        get_json(base + "/sandbox/api/transcript?after=1000000&wait=1")
        rows = outbox_for(db, address)
        assert rows[0][0] in ("accepted", "sent") and rows[0][2] == 2  # second attempt
        assert all(r[0] in ("accepted", "sent") for r in rows)
        bodies = [p["Body"][0] for p in twilio.posts]
        # The interrupted message went out again exactly once more; nothing else twice.
        assert bodies.count(hung["Body"][0]) == 2  # looked up first, not found: resent
        assert twilio.lookups and all("To=" in q for q in twilio.lookups)
        assert len(twilio.posts) == 1 + len(rows)
        assert query(db, "SELECT status FROM inbox WHERE kind = 'TextEvent'") == [("done",)]
        assert second.stop() == 0, second.output()
