"""The pipeline benchmark: werkbot's durable path next to bare aiohttp, aiogram and PTB.

Every server runs in its own process; the load comes from `wrk` (or, without it, an
aiohttp client in another process) over loopback with 32 concurrent connections, each
request a unique event. werkbot is measured twice on SQLite: role `web` (the durable
inbox alone: parse, group-commit, acknowledge) and role `all` (the same while the
dispatcher handles and the outbox sends through the sandbox adapter), where it also
reports webhook-to-send latency and the rate at which events were handled end to end.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import run_server, telegram_bodies

CONNECTIONS = 32
SANDBOX_BODY = ('{"channel":"whatsapp","from":"+49151__PHONE__","text":"hallo",'
                '"id":"bench-__UID__"}')

LUA = """
local templates = {TEMPLATES}
local counter = 0
local base = 0
local threads = {}
function setup(thread)
  thread:set("base", #threads * 10000000 + {OFFSET})
  table.insert(threads, thread)
end
function init(args)
  base = tonumber(base) or 0
end
request = function()
  counter = counter + 1
  local uid = base + counter
  local body = templates[(counter % #templates) + 1]
  body = string.gsub(body, "__UID__", tostring(uid))
  body = string.gsub(body, "__PHONE__", string.format("%08d", uid))
  return wrk.format("POST", "{PATH}", {["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"max_us\\": %d, \\"errors\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class Target:
    name: str
    kind: str
    path: str
    bodies: list[str]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    extra: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lua_script(target: Target, offset: int, directory: Path) -> Path:
    quoted = ", ".join(json.dumps(b) for b in target.bodies)
    script = (LUA.replace("{TEMPLATES}", "{" + quoted + "}")
              .replace("{PATH}", target.path).replace("{OFFSET}", str(offset)))
    path = directory / f"{target.name}-{offset}.lua"
    path.write_text(script, encoding="utf-8")
    return path


def run_wrk(url: str, script: Path, seconds: float, threads: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s",
         "--timeout", "10s", "-s", str(script), url],
        capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRKJSON "))
    return dict(json.loads(line[len("WRKJSON "):]))


def python_client(url: str, target: Target, offset: int, seconds: float,
                  queue: Any) -> None:
    """Fallback load generator (own process): 32 connections in a closed loop."""
    import aiohttp

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        counter = offset
        deadline = time.perf_counter() + seconds
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def worker() -> None:
                nonlocal counter, errors
                while time.perf_counter() < deadline:
                    counter += 1
                    body = target.bodies[counter % len(target.bodies)]
                    body = body.replace("__UID__", str(counter)).replace(
                        "__PHONE__", f"{counter:08d}")
                    started = time.perf_counter()
                    async with session.post(url, data=body, headers={
                            "Content-Type": "application/json"}) as resp:
                        await resp.read()
                        if resp.status != 200:
                            errors += 1
                    latencies.append(time.perf_counter() - started)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
            took = time.perf_counter() - began
        latencies.sort()
        return {"requests": len(latencies), "duration_us": int(took * 1e6),
                "p50_us": int(latencies[len(latencies) // 2] * 1e6),
                "p99_us": int(latencies[int(len(latencies) * 0.99)] * 1e6),
                "max_us": int(latencies[-1] * 1e6), "errors": errors}

    queue.put(asyncio.run(main()))


def load(url: str, target: Target, offset: int, seconds: float, client: str,
         workdir: Path) -> dict[str, Any]:
    if client == "wrk":
        return run_wrk(url, lua_script(target, offset, workdir), seconds, threads=1)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=python_client, args=(url, target, offset, seconds, queue))
    proc.start()
    got = dict(queue.get(timeout=seconds + 120))
    proc.join()
    return got


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback http
        return json.loads(resp.read())


def measure(target: Target, seconds: float, warmup: float, client: str,
            workdir: Path) -> Result:
    ctx = mp.get_context("spawn")
    port = free_port()
    ready = ctx.Event()
    options = {**target.options, "tmp": str(workdir / target.name)}
    Path(options["tmp"]).mkdir(parents=True, exist_ok=True)
    proc = ctx.Process(target=run_server, args=(target.kind, port, ready, options),
                       daemon=True)
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError(f"{target.name} did not start")
        url = f"http://127.0.0.1:{port}{target.path}"
        extra: dict[str, Any] = {}
        if warmup:
            load(url, target, 50_000_000, warmup, client, workdir)
        if target.kind == "werkbot":
            _wait_drained(port, target)
            reset = urllib.request.Request(f"http://127.0.0.1:{port}/bench/reset",
                                           method="POST")
            urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310 - loopback
        got = load(url, target, 0, seconds, client, workdir)
        if target.kind == "werkbot" and target.options.get("role") == "all":
            extra = _pipeline_stats(port, got["requests"] - got["errors"])
        duration = got["duration_us"] / 1e6
        return Result(target.name, got["requests"] / duration, got["p50_us"] / 1e3,
                      got["p99_us"] / 1e3, got["requests"], got["errors"], extra)
    finally:
        proc.terminate()
        proc.join(60)
        if proc.is_alive():
            proc.kill()


def _wait_drained(port: int, target: Target, timeout: float = 600) -> None:
    if target.options.get("role") != "all":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = get_json(f"http://127.0.0.1:{port}/healthz")
        if not health["inbox_pending"] and not health["outbox_queued"]:
            return
        time.sleep(0.2)
    raise RuntimeError("werkbot did not drain its queues")


def _pipeline_stats(port: int, acknowledged: int) -> dict[str, Any]:
    began = time.monotonic()
    while True:
        stats = get_json(f"http://127.0.0.1:{port}/bench/stats")
        if stats["sent"] >= acknowledged or time.monotonic() - began > 600:
            break
        time.sleep(0.2)
    recent = stats["latencies"]  # this run's events only (the probe was reset)
    n = len(recent)
    return {"handled": stats["sent"], "handled_per_s": n / stats["span"]
            if stats["span"] else 0.0,
            "send_p50_ms": recent[n // 2] * 1e3 if n else 0.0,
            "send_p99_ms": recent[int(n * 0.99)] * 1e3 if n else 0.0,
            "drain_s": time.monotonic() - began}


def targets(real_handlers: bool) -> list[Target]:
    sandbox = [SANDBOX_BODY]
    telegram = telegram_bodies()
    return [
        Target("bare aiohttp", "bare", "/hook", telegram),
        Target("aiogram 3 webhook", "aiogram", "/hook", telegram),
        Target("PTB 22 (update_queue)", "ptb", "/hook", telegram),
        Target("werkbot inbox (role web)", "werkbot", "/sandbox/api/messages", sandbox,
               {"role": "web", "real_handlers": real_handlers}),
        Target("werkbot full (role all)", "werkbot", "/sandbox/api/messages", sandbox,
               {"role": "all", "real_handlers": real_handlers}),
    ]


def report(results: list[Result]) -> str:
    base = next(r for r in results if r.name == "bare aiohttp")
    lines = [f"{'server':28} {'events/s':>9} {'vs bare':>8} {'ack p50':>9} {'ack p99':>9} "
             f"{'errors':>6}", "-" * 74]
    for r in results:
        lines.append(f"{r.name:28} {r.rps:9.0f} {r.rps / base.rps:8.2f} {r.p50_ms:7.2f}ms "
                     f"{r.p99_ms:7.2f}ms {r.errors:6d}")
    for r in results:
        if r.extra:
            e = r.extra
            lines.append(f"\n{r.name}: handled end to end {e['handled']} events at "
                         f"{e['handled_per_s']:.0f} events/s; webhook-to-send p50 "
                         f"{e['send_p50_ms']:.0f} ms, p99 {e['send_p99_ms']:.0f} ms "
                         f"(queues drained {e['drain_s']:.1f} s after the load stopped)")
    frameworks = [r for r in results if r.name.startswith(("aiogram", "PTB"))]
    inbox = next(r for r in results if r.name.startswith("werkbot inbox"))
    faster = max(frameworks, key=lambda r: r.rps)
    ok = inbox.rps >= faster.rps and inbox.p99_ms < 50
    lines.append(f"\ntarget: werkbot inbox >= {faster.name} ({faster.rps:.0f}/s) with p99 < "
                 f"50 ms at {CONNECTIONS} connections: {'MET' if ok else 'MISSED'} "
                 f"({inbox.rps:.0f}/s, p99 {inbox.p99_ms:.1f} ms)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--client", choices=["wrk", "python"],
                        default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--real-handlers", action="store_true",
                        help="werkbot with the shipped handlers instead of a trivial one")
    parser.add_argument("--only", default="", help="comma-separated server kinds")
    parser.add_argument("--ack-only", action="store_true",
                        help="skip the 'werkbot full' row (handling is in bench_load.py)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--profile", type=Path,
                        help="cProfile werkbot's server processes into this directory")
    args = parser.parse_args(argv)
    chosen = [t for t in targets(args.real_handlers)
              if (not args.only or t.kind in args.only.split(",") or t.kind == "bare")
              and not (args.ack_only and t.options.get("role") == "all")]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for t in chosen:
            if t.kind == "werkbot":
                role = t.options["role"]
                t.options["profile"] = str(args.profile.resolve() / f"werkbot-{role}.prof")
    print(f"load: {args.client}, {CONNECTIONS} connections, {args.seconds:.0f} s per server "
          f"after {args.warmup:.0f} s warm-up, loopback", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="werkbot-bench-") as tmp:
        for target in chosen:
            result = measure(target, args.seconds, args.warmup, args.client, Path(tmp))
            print(f"  {target.name}: {result.rps:.0f}/s, p99 {result.p99_ms:.1f} ms",
                  flush=True)
            results.append(result)
    print()
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
