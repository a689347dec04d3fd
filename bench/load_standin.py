"""The providers' stand-ins for the load benchmark, in a process of their own.

`python -m bench.load_standin PORTFILE` starts the recording fake Twilio
(`tests/twilio/fake_twilio.py`) and the fake Bot API (`tests/telegram/fake_bot_api.py`)
on loopback ports, plus a small control server, and writes the three base URLs as JSON
to PORTFILE. Every outbound message that reaches a stand-in is stamped on arrival with
`time.perf_counter()` (CLOCK_MONOTONIC, the same clock in every process of the machine),
so the load client's send times and these arrival times give webhook-to-send latency.

Control routes: `GET /arrivals` (`[[recipient, t], ...]` since the last reset, the
recipient as werkbot's address string: `whatsapp:+49...`, `telegram:<chat id>`),
`GET /count`, `POST /reset` (also forgets the fakes' own records, so memory stays flat),
and `POST /drive`: an end-to-end closed loop run from here, where the replies arrive.
`users` webhooks are in flight at any time; each user sends the next webhook as soon as
the reply to its previous one has arrived here. So werkbot's backlog never exceeds
`users` messages, and the rate is the rate werkbot handles messages at, end to end.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.telegram.fake_bot_api import FakeBotAPI, _read_params  # noqa: E402
from tests.twilio.fake_twilio import FakeTwilio  # noqa: E402

TELEGRAM_TOKEN = "123456:LOAD-bench-token-not-real"
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio",
                   "sendVideo", "sendMediaGroup"})


class Arrivals:
    """(recipient, arrival time) of every outbound message since the last reset."""

    def __init__(self) -> None:
        self.items: list[tuple[str, float]] = []
        self.waiting: dict[str, asyncio.Future[float]] = {}

    def add(self, key: str, at: float) -> None:
        self.items.append((key, at))
        waiter = self.waiting.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)


async def drive(arrivals: Arrivals, spec: dict[str, Any]) -> dict[str, Any]:
    """The end-to-end closed loop (see the module docstring)."""
    items: list[list[str]] = spec["items"]
    url = spec["base"] + spec["path"]
    deadline = time.perf_counter() + float(spec["seconds"])
    timeout = float(spec.get("timeout", 30))
    latencies: list[float] = []
    lost = 0
    statuses: dict[int, int] = {}
    position = 0
    loop = asyncio.get_running_loop()
    connector = TCPConnector(limit=int(spec["users"]))
    async with ClientSession(connector=connector) as session:
        async def user() -> None:
            nonlocal position, lost
            while time.perf_counter() < deadline and position < len(items):
                key, header, body = items[position]
                position += 1
                waiter: asyncio.Future[float] = loop.create_future()
                arrivals.waiting[key] = waiter
                sent = time.perf_counter()
                async with session.post(url, data=body.encode(), headers={
                        "Content-Type": spec["content_type"], spec["header"]: header}) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                try:
                    at = await asyncio.wait_for(waiter, timeout)
                except TimeoutError:
                    arrivals.waiting.pop(key, None)
                    lost += 1
                    continue
                latencies.append(at - sent)

        began = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(int(spec["users"]))))
        took = time.perf_counter() - began
    return {"handled": len(latencies), "lost": lost, "seconds": took,
            "statuses": {str(k): v for k, v in statuses.items()},
            "latencies": latencies, "ran_out": position >= len(items)}


class RecordingTwilio(FakeTwilio):
    """The fake Twilio, noting each created message's recipient and arrival time."""

    arrivals: Arrivals

    async def _create(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        form = await request.post()  # cached: the fake's own handler reads it again
        response = await super()._create(request)
        if response.status == 201:
            self.arrivals.add(str(form.get("To", "")), arrived)
        if len(self.sent) > 1000:
            self.sent.clear()  # keep no per-message record: the stand-in's memory stays flat
        return response


class RecordingBotAPI(FakeBotAPI):
    """The fake Bot API, noting each send call's chat and arrival time."""

    arrivals: Arrivals

    async def _method(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        method = request.match_info["method"]
        params: Any = {}
        if method in SENDS:
            params, _ = await _read_params(request)  # cached: the fake reads it again
        response = await super()._method(request)
        if method in SENDS and response.status == 200:
            self.arrivals.add(f"telegram:{params.get('chat_id')}", arrived)
        if len(self.calls) > 1000:
            self.calls.clear()  # keep no per-call record: the stand-in's memory stays flat
        return response


async def serve(port_file: Path) -> None:
    arrivals = Arrivals()
    twilio = RecordingTwilio()
    twilio.arrivals = arrivals
    await twilio.start()
    telegram = RecordingBotAPI(TELEGRAM_TOKEN)
    telegram.arrivals = arrivals
    await telegram.start()

    async def get_arrivals(request: web.Request) -> web.Response:
        return web.json_response({"arrivals": arrivals.items})

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"count": len(arrivals.items),
                                  "last": arrivals.items[-1][1] if arrivals.items else 0.0})

    async def reset(request: web.Request) -> web.Response:
        arrivals.items = []
        twilio.sent.clear()
        telegram.calls.clear()
        return web.json_response({"ok": True})

    async def drive_route(request: web.Request) -> web.Response:
        return web.json_response(await drive(arrivals, await request.json()))

    control = web.Application(client_max_size=1024**3)
    control.router.add_post("/drive", drive_route)
    control.router.add_get("/arrivals", get_arrivals)
    control.router.add_get("/count", count)
    control.router.add_post("/reset", reset)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control_port = runner.addresses[0][1]
    info: dict[str, Any] = {"twilio": twilio.base_url, "telegram": telegram.url,
                            "control": f"http://127.0.0.1:{control_port}",
                            "account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                            "telegram_token": TELEGRAM_TOKEN}
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    tmp.replace(port_file)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await telegram.close()
        await twilio.close()


def main() -> None:
    asyncio.run(serve(Path(sys.argv[1])))


if __name__ == "__main__":
    main()
