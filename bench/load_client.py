"""Load generation for the load benchmark: signed webhooks, closed and open loop.

Requests are made ahead of time (Twilio signatures computed here, as the fake Twilio
signs them) and each is unique (a new MessageSid / update_id), from a pool of senders:
consented customers the database was pre-filled with (`bench/load_fill.py`).

- Closed loop: `wrk` (one thread, 32 connections) replaying the prepared requests from
  a file, or without `wrk` an aiohttp client in its own process.
- Open loop: an aiohttp client in its own process that starts request *i* at
  `t0 + i / rate`, whatever the server does, and notes when it sent which sender's
  webhook (`time.perf_counter()`, the machine-wide monotonic clock the stand-in stamps
  arrivals with).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.load_fill import telegram_chat, whatsapp_number
from tests.twilio.payloads import whatsapp

CONNECTIONS = 32
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
HELP = "hilfe"  # a consented customer asks for the menu: consent gate, menu, one reply


@dataclass
class Requests:
    """Prepared requests to one endpoint: recipient key, header value and body each."""

    path: str
    header: str
    content_type: str
    items: list[tuple[str, str, str]]  # (reply recipient, header value, body)

    def slice(self, start: int, count: int) -> Requests:
        return Requests(self.path, self.header, self.content_type,
                        self.items[start:start + count])


def twilio_requests(auth_token: str, public_url: str, senders: Sequence[int], first: int,
                    count: int, text: str = HELP) -> Requests:
    """Signed WhatsApp webhooks from `senders` in turn, MessageSids from `first` on."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(auth_token)
    url = public_url.rstrip("/") + "/webhooks/whatsapp"
    items = []
    for i in range(first, first + count):
        person = senders[i % len(senders)]
        number = whatsapp_number(person)
        form = whatsapp(text, sender=number, message_sid=f"SM{i:032x}")
        signature = str(validator.compute_signature(url, form))
        items.append((f"whatsapp:{number}", signature, urlencode(form)))
    return Requests("/webhooks/whatsapp", TWILIO_SIGNATURE_HEADER,
                    "application/x-www-form-urlencoded", items)


def telegram_requests(secret: str, senders: Sequence[int], first: int, count: int,
                      text: str = HELP) -> Requests:
    """Telegram text updates from `senders` in turn, update_ids from `first` on."""
    items = []
    for i in range(first, first + count):
        chat = telegram_chat(senders[i % len(senders)])
        update = {"update_id": i, "message": {
            "message_id": 1000 + i, "date": int(time.time()), "text": text,
            "from": {"id": chat, "is_bot": False, "first_name": "Erika", "last_name": "Müller",
                     "language_code": "de"},
            "chat": {"id": chat, "type": "private", "first_name": "Erika",
                     "last_name": "Müller"}}}
        items.append((f"telegram:{chat}", secret,
                      json.dumps(update, ensure_ascii=False, separators=(",", ":"))))
    return Requests("/webhooks/telegram", TELEGRAM_SECRET_HEADER, "application/json", items)


# -- closed loop: wrk ------------------------------------------------------------------

LUA = """
local reqs = {}
local n = 0
local i = 0
function init(args)
  for line in io.lines("@FILE@") do
    local tab = string.find(line, "\\t", 1, true)
    n = n + 1
    reqs[n] = wrk.format("POST", "@PATH@", {["Content-Type"] = "@CTYPE@",
      ["@HEADER@"] = string.sub(line, 1, tab - 1)}, string.sub(line, tab + 1))
  end
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"max_us\\": %d, \\"errors\\": %d, \\"status_errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
"""


def run_wrk(base: str, requests: Requests, seconds: int, workdir: Path,
            name: str) -> dict[str, Any]:
    """Replay `requests` with wrk for `seconds` (wrapping around if they run out)."""
    data = workdir / f"{name}.requests"
    with data.open("w", encoding="utf-8") as out:
        for _, header, body in requests.items:
            out.write(f"{header}\t{body}\n")
    script = workdir / f"{name}.lua"
    script.write_text(LUA.replace("@FILE@", str(data)).replace("@PATH@", requests.path)
                      .replace("@CTYPE@", requests.content_type)
                      .replace("@HEADER@", requests.header), encoding="utf-8")
    done = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, seconds)}s",
                           "--timeout", "10s", "-s", str(script), base + requests.path],
                          capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
    result["wrapped"] = result["requests"] > len(requests.items)
    return result


# -- closed loop: python fallback, in its own process ----------------------------------

def _python_closed(base: str, requests: Requests, seconds: float, out: str) -> None:
    import aiohttp

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        position = 0
        deadline = time.perf_counter() + seconds
        headers = {"Content-Type": requests.content_type}
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def worker() -> None:
                nonlocal position, errors
                while time.perf_counter() < deadline:
                    _, header, body = requests.items[position % len(requests.items)]
                    position += 1
                    started = time.perf_counter()
                    async with session.post(base + requests.path, data=body.encode(),
                                            headers={**headers, requests.header: header}) as r:
                        await r.read()
                        errors += r.status != 200
                    latencies.append(time.perf_counter() - started)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
            took = time.perf_counter() - began
        latencies.sort()
        n = len(latencies)
        return {"requests": n, "duration_us": int(took * 1e6),
                "p50_us": int(latencies[n // 2] * 1e6) if n else 0,
                "p99_us": int(latencies[int(n * 0.99)] * 1e6) if n else 0,
                "max_us": int(latencies[-1] * 1e6) if n else 0, "errors": errors,
                "status_errors": errors, "wrapped": n > len(requests.items)}

    Path(out).write_text(json.dumps(asyncio.run(run())), encoding="utf-8")


def run_python_closed(base: str, requests: Requests, seconds: int, workdir: Path,
                      name: str) -> dict[str, Any]:
    out = workdir / f"{name}.closed.json"
    proc = mp.get_context("spawn").Process(target=_python_closed,
                                           args=(base, requests, float(seconds), str(out)))
    proc.start()
    proc.join(seconds + 300)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def closed_loop(client: str, base: str, requests: Requests, seconds: int, workdir: Path,
                name: str) -> dict[str, Any]:
    if client == "wrk":
        return run_wrk(base, requests, seconds, workdir, name)
    return run_python_closed(base, requests, seconds, workdir, name)


# -- open loop -------------------------------------------------------------------------

def _open_loop(base: str, requests: Requests, rate: float, out: str) -> None:
    import aiohttp

    async def run() -> dict[str, Any]:
        sent: list[tuple[str, float]] = []
        statuses: dict[int, int] = {}
        connector = aiohttp.TCPConnector(limit=512)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one(key: str, header: str, body: str) -> None:
                sent.append((key, time.perf_counter()))
                async with session.post(base + requests.path, data=body.encode(), headers={
                        "Content-Type": requests.content_type, requests.header: header}) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

            tasks = []
            began = time.perf_counter()
            for i, item in enumerate(requests.items):
                delay = began + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(*item)))
            offered = time.perf_counter() - began
            await asyncio.gather(*tasks)
        return {"sent": sent, "statuses": {str(k): v for k, v in statuses.items()},
                "offered_s": offered, "rate": len(requests.items) / offered if offered else 0}

    Path(out).write_text(json.dumps(asyncio.run(run())), encoding="utf-8")


def open_loop(base: str, requests: Requests, rate: float, workdir: Path,
              name: str) -> dict[str, Any]:
    """Send `requests` at `rate` per second from another process; returns the send log."""
    out = workdir / f"{name}.open.json"
    proc = mp.get_context("spawn").Process(target=_open_loop,
                                           args=(base, requests, rate, str(out)))
    proc.start()
    proc.join(len(requests.items) / rate + 300)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result
