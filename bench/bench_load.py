"""The load benchmark (issue 9): werkbot's whole pipeline on SQLite and on PostgreSQL.

`python -m bench.bench_load [--db sqlite|postgres|both] [--seconds 10] [--quick]
[--json FILE]` runs, in one run and on this machine, every server in its own process:

- baselines: bare aiohttp (Telegram JSON, and a Twilio form handler), aiogram 3's
  webhook handler and PTB 22 (`bench/servers.py`, trivial handlers, nothing stored);
- werkbot as `werkbot serve` runs it (`bench/load_server.py`): the shipped handler
  bundle, WhatsApp through the Twilio adapter against the fake Twilio, and in a second
  configuration Telegram on as well (fake Bot API); the stand-ins run in their own
  process (`bench/load_standin.py`). The database is pre-filled (`bench/load_fill.py`)
  with 10,000 stored messages and their customers, all of whom consented; the load's
  senders are among them and write `hilfe`: signature check, parse, durable store, 200;
  then consent gate, menu handler, outbox row, POST to the stand-in.

Per werkbot row, in this order: after a warm-up, RSS "at start"; the rate werkbot
handles messages at end to end (a closed loop run from the stand-in process, 32 webhooks
in flight, the next sent when the reply to the last has arrived), with werkbot's (and
PostgreSQL's) CPU time per message; an open loop at half that rate: p50/p99 from sending
the webhook to the reply arriving at the stand-in, and the SQL statements' times; then
acknowledged webhooks/s (`wrk`, 32 connections, closed loop) against bare aiohttp and the
faster framework; peak RSS over all of it (polled VmRSS, and VmHWM). Rows for role `web`
(store and acknowledge only) show the acknowledging path alone. Flatness: the WhatsApp
row again on a database pre-filled with 1,000,000 stored messages (`--quick`: 100,000),
and the ratios. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load_client as client
from bench.bench_drain import FIRST_CONTACT
from bench.load_fill import Fill, active_senders, fill_database
from bench.load_pg import PgServer, postgres
from bench.load_stages import describe, stages
from bench.servers import run_server
from werkbot.bot.storage.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
SECRET = "load-bench-secret-0123456789abcdef"
TELEGRAM_SECRET = "load-bench-webhook-secret"
PUBLIC_URL = "https://bot.example.de"
ACTIVE = 4000  # senders per channel; flood protection allows 30 a minute each
USERS = 32  # webhooks in flight in the end-to-end closed loop
TICK = os.sysconf("SC_CLK_TCK")


# -- process measurements -----------------------------------------------------------------

def status_kb(pid: int, key: str) -> int:
    """A `/proc/<pid>/status` value in kB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine used (from /proc/stat), in CPU-seconds."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = fh.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def server_cpu_seconds(postmaster: int | None) -> float:
    """CPU time of a PostgreSQL server: the postmaster and its children (the backends)."""
    if postmaster is None:
        return 0.0
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(entry) == postmaster or int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, ValueError, IndexError):
            continue
    return total


class MemoryPoller:
    """Polls a process's VmRSS every 20 ms in a thread; `peak_kb` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            self._stop.wait(0.02)


# -- HTTP helpers ---------------------------------------------------------------------

def get_json(url: str, timeout: float = 30) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())


def post_json(url: str) -> Any:
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> str:
    """The 1-minute load average: other work on the machine skews every number here."""
    with open("/proc/loadavg", encoding="ascii") as fh:
        return fh.read().split()[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- results --------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    db: str = ""
    stored: int = 0
    ack_per_s: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p99_ms: float = 0.0
    errors: int = 0
    handled_per_s: float = 0.0
    half_rate: float = 0.0
    e2e_p50_ms: float = float("nan")
    e2e_p99_ms: float = float("nan")
    e2e_replies: str = ""
    saturated_p50_ms: float = float("nan")
    saturated_p99_ms: float = float("nan")
    rss_boot_mb: float = 0.0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    hwm_mb: float = 0.0
    cpu_ms_per_msg: float = 0.0
    db_cpu_ms_per_msg: float = 0.0
    # The werkbot process's CPU per reply in the half-load open loop: what a message that
    # mostly comes alone costs (moves far less between rounds than the p99 it drives).
    half_cpu_ms_per_msg: float = 0.0
    # Where the open loop's messages waited (SQLite rows): bench/load_stages.py.
    half_stages: dict[str, Any] = field(default_factory=dict)
    startup_s: float = 0.0
    fill_s: float = 0.0
    statements: list[dict[str, Any]] = field(default_factory=list)
    pg_statements: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    server_busy: float = 0.0  # share of one CPU the server used in the end-to-end loop
    others_cpus: float = 0.0  # CPUs other processes of the machine used meanwhile
    standin_busy: float = 0.0  # share of one CPU the stand-ins (and the loop's client) used
    notes: list[str] = field(default_factory=list)
    round: int = 1  # the round of --rounds it was measured in


# -- the stand-ins ----------------------------------------------------------------------

@contextlib.contextmanager
def standins(workdir: Path) -> Iterator[dict[str, str]]:
    port_file = workdir / "standin.json"
    port_file.unlink(missing_ok=True)  # a reused work directory: never an old run's ports
    log = (workdir / "standin.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "bench.load_standin", str(port_file)],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stand-ins did not start; see standin.log")
            time.sleep(0.05)
        info = json.loads(port_file.read_text(encoding="utf-8"))
        info["pid"] = proc.pid
        yield info
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


# -- baselines --------------------------------------------------------------------------

def run_bare_form(port: int, ready: Any, options: dict[str, Any]) -> None:
    """A bare aiohttp Twilio webhook: read the form, answer empty TwiML (own process)."""
    from aiohttp import web

    from bench.servers import _serve

    async def hook(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="<Response/>", content_type="text/xml")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/webhooks/whatsapp", hook)
        await _serve(app, port, ready)

    asyncio.run(main())


def measure_baseline(name: str, kind: str, requests: client.Requests, args: argparse.Namespace,
                     workdir: Path, *, uvloop: bool = False) -> Row:
    ctx = mp.get_context("spawn")
    port = free_port()
    ready = ctx.Event()
    target = run_bare_form if kind == "bare-form" else run_server
    options = {"uvloop": True} if uvloop else {}
    proc_args: tuple[Any, ...] = ((port, ready, options) if kind == "bare-form"
                                  else (kind, port, ready, options))
    proc = ctx.Process(target=target, args=proc_args, daemon=True)
    proc.start()
    row = Row(name)
    try:
        if not ready.wait(60) or proc.pid is None:
            raise RuntimeError(f"{name} did not start")
        base = f"http://127.0.0.1:{port}"
        time.sleep(0.3)
        row.rss_boot_mb = status_kb(proc.pid, "VmRSS") / 1024
        warm = requests.slice(0, 2000)
        client.closed_loop(args.client, base, warm, max(1, args.warmup // 2), workdir,
                           f"{kind}-warm")
        row.rss_start_mb = status_kb(proc.pid, "VmRSS") / 1024
        cpu0 = cpu_seconds(proc.pid)
        with MemoryPoller(proc.pid) as mem:
            got = client.closed_loop(args.client, base, requests, args.seconds, workdir, kind)
        cpu1 = cpu_seconds(proc.pid)
        row.ack_per_s = got["requests"] / (got["duration_us"] / 1e6)
        row.ack_p50_ms, row.ack_p99_ms = got["p50_us"] / 1e3, got["p99_us"] / 1e3
        row.errors = got["errors"]
        row.rss_peak_mb = max(mem.peak_kb, status_kb(proc.pid, "VmRSS")) / 1024
        row.hwm_mb = status_kb(proc.pid, "VmHWM") / 1024
        row.cpu_ms_per_msg = (cpu1 - cpu0) * 1e3 / max(1, got["requests"])
    finally:
        proc.terminate()
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    return row


def measure_baselines(bench: Bench, args: argparse.Namespace, workdir: Path,
                      round_: int) -> list[Row]:
    """Round 1: the four baselines (with --uvloop-baselines on uvloop too); later rounds
    of --rounds: PTB alone, as it ships, to pair with that round's werkbot rows."""
    print("baselines" if round_ == 1 else "baseline (PTB)", flush=True)
    telegram_load = bench.requests("telegram", args.seconds * 12000)
    hook = client.Requests("/hook", telegram_load.header,
                           telegram_load.content_type, telegram_load.items)
    ptb = ("PTB 22 webhook (update_queue)", "ptb", hook)
    servers = [ptb]
    if round_ == 1:
        form = bench.requests("whatsapp", 20000)
        servers = [("bare aiohttp (Telegram JSON)", "bare", hook),
                   ("bare aiohttp (Twilio form)", "bare-form", form),
                   ("aiogram 3 webhook", "aiogram", hook), ptb]
    loops = [False, True] if args.uvloop_baselines and round_ == 1 else [False]
    out = []
    for on_uvloop, (name, kind, load) in ((u, s) for u in loops for s in servers):
        name = f"{name} {UVLOOP_TAG}" if on_uvloop else name
        row = measure_baseline(name, kind, load, args, workdir, uvloop=on_uvloop)
        row.round = round_
        print(f"  {name}: {row.ack_per_s:,.0f}/s, RSS {row.rss_start_mb:.0f} → "
              f"{row.rss_peak_mb:.0f} MB", flush=True)
        out.append(row)
    return out


# -- werkbot ----------------------------------------------------------------------------

WEEK = ('{ mon = ["07:30-12:00", "13:00-16:30"], tue = ["07:30-16:30"], '
        'wed = ["07:30-16:30"], thu = ["07:30-16:30"], fri = ["07:30-13:00"] }')


def werkbot_config(path: Path, *, port: int, db_url: str, tmp: Path, stand: dict[str, str],
                   telegram: bool, log_level: str, role: str = "all",
                   event_loop: str = "auto", workers: int = 0) -> None:
    telegram_section = (f"""
[telegram]
token = "{stand['telegram_token']}"
api_base = "{stand['telegram']}"
mode = "webhook"
webhook_secret = "{TELEGRAM_SECRET}"
""" if telegram else "")
    path.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
public_url = "{PUBLIC_URL}"
secret = "{SECRET}"
log_level = "{log_level}"
role = "{role}"
event_loop = "{event_loop}"

[database]
url = "{db_url}"
workers = {workers}

[business]
name = "Sanitär Maier GmbH"
timezone = "Europe/Berlin"
holidays = "DE-BY"
phone = "+49 89 1234567"
email = "info@example.de"
privacy_url = "https://example.de/datenschutz"
hours = {WEEK}

[media]
dir = "{tmp / 'media'}"

[twilio]
account_sid = "{stand['account_sid']}"
auth_token = "{stand['auth_token']}"
api_base = "{stand['twilio']}"
whatsapp_from = "whatsapp:+498912345678"
{telegram_section}
[oncall]
rotation = ["ludwig", "karl"]
handover = "mon 07:00"
rotation_start = "2026-11-30"
ack_timeout = "10m"
escalation = ["chef"]

[[staff]]
id = "chef"
name = "Josef Maier"
roles = ["admin"]
phone = "+4917100000001"
whatsapp = "+4917100000001"

[[staff]]
id = "buero"
name = "Anna Huber"
roles = ["office"]
phone = "+498912345670"
telegram = 100000002

[[staff]]
id = "ludwig"
name = "Ludwig Brandl"
roles = ["fitter"]
phone = "+4917100000003"
whatsapp = "+4917100000003"

[[staff]]
id = "karl"
name = "Karl Wimmer"
roles = ["fitter"]
phone = "+4917100000004"
telegram = 100000004
""", encoding="utf-8")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path
    statements: Path

    def health(self) -> dict[str, Any] | None:
        try:
            got: dict[str, Any] = get_json(self.base + "/healthz", timeout=60)
            return got
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return None

    def wait_drained(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"werkbot exited; see {self.log}")
            health = self.health()
            if health and not health["inbox_pending"] and not health["outbox_queued"]:
                return
            time.sleep(0.25)
        raise RuntimeError("werkbot did not drain its queues")

    def statement_totals(self) -> dict[str, list[float]]:
        """The statement totals since the last call (SIGUSR1 makes the server write them)."""
        with contextlib.suppress(FileNotFoundError):
            self.statements.unlink()
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not self.statements.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.statements.exists():
            return {}
        got: dict[str, list[float]] = json.loads(self.statements.read_text(encoding="utf-8"))
        return got

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def upgrade_in(tree: Path, db_url: str) -> None:
    """`werkbot db upgrade` with `tree`'s migrations (this tree's: in this process)."""
    if tree == REPO:
        upgrade(db_url)
        return
    subprocess.run([sys.executable, "-c", "import sys; from werkbot.bot.storage.migrate "
                    "import upgrade; upgrade(sys.argv[1])", db_url], cwd=tree, check=True)


def start_werkbot(config: Path, port: int, tmp: Path, tree: Path = REPO) -> Server:
    log = tmp / "werkbot.log"
    statements = tmp / "statements.json"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bench.load_server", "--config",
                                 str(config), "--statements", str(statements)],
                                cwd=tree, stdout=out, stderr=subprocess.STDOUT,
                                env={k: v for k, v in os.environ.items()
                                     if not k.startswith("WERKBOT_")})
    server = Server(proc, f"http://127.0.0.1:{port}", log, statements)
    deadline = time.monotonic() + 120
    while server.health() is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"werkbot did not start:\n{tail}")
        time.sleep(0.1)
    return server


def wait_for_replies(control: str, expected: int, server: Server, timeout: float) -> None:
    """Until the stand-in has `expected` replies (or werkbot drained and nothing came)."""
    deadline = time.monotonic() + timeout
    stalled_since = time.monotonic()
    last = -1
    while time.monotonic() < deadline:
        count = int(get_json(control + "/count")["count"])
        if count >= expected:
            return
        if count != last:
            last, stalled_since = count, time.monotonic()
        elif time.monotonic() - stalled_since > 5:
            health = server.health()
            if health and not health["inbox_pending"] and not health["outbox_queued"]:
                return  # drained: whatever is missing is not coming
        time.sleep(0.1)


def matched(sent: list[tuple[str, float]], arrivals: list[tuple[str, float]]
            ) -> list[tuple[float, float]]:
    """(sent at, latency) per answered webhook, in sending order: the first reply to its
    sender that arrived after it was sent."""
    by_key: dict[str, list[float]] = {}
    for key, at in arrivals:
        by_key.setdefault(key, []).append(at)
    for times in by_key.values():
        times.sort()
    pairs = []
    for key, at in sent:
        times = by_key.get(key, [])
        i = bisect.bisect_left(times, at)
        if i < len(times):
            pairs.append((at, times[i] - at))
    return pairs


def latency_series(pairs: list[tuple[float, float]]) -> list[list[float]]:
    """[seconds into the open loop, latency] per answered webhook, in sending order."""
    start = pairs[0][0] if pairs else 0.0
    return [[round(at - start, 4), round(latency, 4)] for at, latency in pairs]


def top_statements(totals: dict[str, list[float]], messages: int, limit: int = 8
                   ) -> list[dict[str, Any]]:
    ranked = sorted(totals.items(), key=lambda kv: kv[1][1], reverse=True)[:limit]
    return [{"sql": sql[:160], "calls_per_msg": count / max(1, messages),
             "ms_per_call": seconds * 1e3 / max(1, count),
             "ms_per_msg": seconds * 1e3 / max(1, messages)}
            for sql, (count, seconds) in ranked]


@dataclass
class Plan:
    name: str
    db: str  # sqlite | postgres
    telegram: bool
    load: str  # whatsapp | telegram
    stored: int
    role: str = "all"  # "web": store and acknowledge only, nobody handles (--ack-only)
    event_loop: str = "auto"  # server.event_loop
    mix: str = "consented"  # consented: `hilfe` from customers who agreed; first-contact:
    # every webhook from a new sender (person, address, held message, consent request)
    tree: Path = REPO  # the checkout werkbot runs from (--against: an earlier revision)
    tag: str = ""  # the revision's name in directories and rows ("" for this tree)
    round: int = 1  # the round of --rounds (later rounds get their own directory)


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, stand: dict[str, str]) -> None:
        self.args = args
        self.workdir = workdir
        self.stand = stand
        self.sequence = 10_000_000  # MessageSid / update_id counter: every request unique

    def requests(self, load: str, count: int, mix: str = "consented") -> client.Requests:
        first, self.sequence = self.sequence, self.sequence + count
        senders, text = active_senders(load, ACTIVE), client.HELP
        if mix == "first-contact":  # person ids never filled and never used again
            senders, text = list(range(first, first + count)), FIRST_CONTACT
        if load == "whatsapp":
            return client.twilio_requests(self.stand["auth_token"], PUBLIC_URL, senders,
                                          first, count, text)
        return client.telegram_requests(TELEGRAM_SECRET, senders, first, count, text)

    def drive(self, server: Server, load: str, seconds: float, users: int,
              mix: str = "consented") -> dict[str, Any]:
        """The end-to-end closed loop, run by the stand-in process (see load_standin)."""
        requests = self.requests(load, int(seconds * self.args.max_rate / 4) + 2 * users, mix)
        spec = {"base": server.base, "path": requests.path, "header": requests.header,
                "content_type": requests.content_type, "items": requests.items,
                "seconds": seconds, "users": users}
        request = urllib.request.Request(  # noqa: S310 - the stand-in on loopback
            self.stand["control"] + "/drive", data=json.dumps(spec).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=seconds + 120) as resp:  # noqa: S310
            got: dict[str, Any] = json.loads(resp.read())
        if got["ran_out"]:
            got["note"] = "the end-to-end loop ran out of prepared requests"
        return got

    def acknowledge_only(self, plan: Plan, server: Server, row: Row, tmp: Path) -> None:
        """Role `web`: the acknowledging path alone (verify, parse, durable store, 200)."""
        args = self.args
        pid = server.proc.pid
        warm = self.requests(plan.load, int(args.warmup * args.max_rate))
        client.closed_loop(args.client, server.base, warm, args.warmup, tmp, "warm")
        time.sleep(0.5)
        row.rss_start_mb = status_kb(pid, "VmRSS") / 1024
        closed = self.requests(plan.load, int(args.seconds * args.max_rate))
        cpu0 = cpu_seconds(pid)
        spy = _profile(args, tmp / "profile-ack.txt", pid)
        with MemoryPoller(pid) as mem:
            got = client.closed_loop(args.client, server.base, closed, args.seconds, tmp,
                                     "closed")
        if spy is not None:
            spy.wait()
        row.cpu_ms_per_msg = (cpu_seconds(pid) - cpu0) * 1e3 / max(1, got["requests"])
        row.ack_per_s = got["requests"] / (got["duration_us"] / 1e6)
        row.ack_p50_ms, row.ack_p99_ms = got["p50_us"] / 1e3, got["p99_us"] / 1e3
        row.errors = got["errors"]
        if got.get("wrapped"):
            row.notes.append("closed loop ran out of prepared requests")
        row.rss_peak_mb = max(mem.peak_kb, status_kb(pid, "VmRSS")) / 1024
        row.hwm_mb = status_kb(pid, "VmHWM") / 1024

    def run(self, plan: Plan, pg: PgServer | None) -> Row:
        args = self.args
        later = f"r{plan.round}" if plan.round > 1 else ""
        tmp = (self.workdir / f"{plan.db}-{plan.load}-{plan.stored}-{plan.role}-"
               f"{plan.event_loop}-{plan.mix}{'-' + plan.tag if plan.tag else ''}"
               f"{'-' + later if later else ''}")
        tmp.mkdir(parents=True, exist_ok=True)
        row = Row(plan.name, plan.db, plan.stored, round=plan.round)
        run_began = time.perf_counter()
        db_name = (f"load_{plan.load}_{plan.stored}_{plan.role}_{plan.event_loop}_"
                   f"{plan.mix.replace('-', '_')}{'_' + plan.tag if plan.tag else ''}"
                   f"{'_' + later if later else ''}")
        if plan.db == "sqlite":
            db_url = f"sqlite+aiosqlite:///{tmp / 'werkbot.db'}"
        else:
            from bench.load_pg import drop_database, fresh_database

            assert pg is not None
            drop_database(pg.url, db_name)
            db_url = fresh_database(pg.url, db_name)
        port = free_port()
        config = tmp / "werkbot.toml"
        werkbot_config(config, port=port, db_url=db_url, tmp=tmp, stand=self.stand,
                       telegram=plan.telegram, log_level=args.log_level, role=plan.role,
                       event_loop=plan.event_loop, workers=args.workers)
        upgrade_in(plan.tree, db_url)  # what `werkbot db upgrade` does
        fill = Fill(plan.stored, ACTIVE, SECRET, REPO / "config" / "texts")
        _, row.fill_s = fill_database(db_url, fill)
        print(f"  {plan.name} [{plan.db}]: {plan.stored:,} stored messages filled in "
              f"{row.fill_s:.1f} s", flush=True)
        control = self.stand["control"]
        began = time.perf_counter()
        server = start_werkbot(config, port, tmp, plan.tree)
        try:
            if plan.role != "web":  # nobody handles in role web: timers stay pending
                server.wait_drained()
            row.startup_s = time.perf_counter() - began
            pid = server.proc.pid
            time.sleep(0.5)
            row.rss_boot_mb = status_kb(pid, "VmRSS") / 1024
            row.timings["start"] = time.perf_counter() - run_began
            if plan.role == "web":
                self.acknowledge_only(plan, server, row, tmp)
                return row
            # A. warm-up: every lazy import and cache on the path
            self.drive(server, plan.load, args.warmup, USERS, plan.mix)
            server.wait_drained()
            post_json(control + "/reset")
            time.sleep(0.5)
            row.rss_start_mb = status_kb(pid, "VmRSS") / 1024
            with MemoryPoller(pid) as mem:
                # B. the rate werkbot handles messages at, end to end (32 in flight)
                postmaster = pg.postmaster() if pg is not None else None
                stand_pid = int(self.stand["pid"])
                cpu0, db0 = cpu_seconds(pid), server_cpu_seconds(postmaster)
                all0, stand0, wall0 = (machine_busy_seconds(), cpu_seconds(stand_pid),
                                       time.perf_counter())
                got = self.drive(server, plan.load, args.seconds, USERS, plan.mix)
                cpu1, db1 = cpu_seconds(pid), server_cpu_seconds(postmaster)
                all1, stand1, wall1 = (machine_busy_seconds(), cpu_seconds(stand_pid),
                                       time.perf_counter())
                wall = wall1 - wall0
                row.server_busy = (cpu1 - cpu0) / wall
                row.standin_busy = (stand1 - stand0) / wall
                row.others_cpus = max(0.0, ((all1 - all0) - (cpu1 - cpu0) - (db1 - db0)
                                            - (stand1 - stand0)) / wall)
                handled = int(got["handled"])
                row.handled_per_s = handled / got["seconds"]
                row.cpu_ms_per_msg = (cpu1 - cpu0) * 1e3 / max(1, handled)
                if postmaster is not None:
                    row.db_cpu_ms_per_msg = (db1 - db0) * 1e3 / max(1, handled)
                row.saturated_p50_ms = pct(got["latencies"], 0.5) * 1e3
                row.saturated_p99_ms = pct(got["latencies"], 0.99) * 1e3
                if got["lost"]:
                    row.notes.append(f"{got['lost']} webhooks of the end-to-end loop got no "
                                     "reply within 30 s")
                if got.get("note"):
                    row.notes.append(got["note"])
                server.wait_drained()
                row.timings["B"] = time.perf_counter() - run_began
                # C. open loop at half that rate: webhook-to-send latency
                post_json(control + "/reset")
                server.statement_totals()  # start counting here
                if plan.db == "postgres":
                    pg_statements_reset(db_url)
                row.half_rate = args.open_rate or max(1.0, row.handled_per_s / 2)
                opened = self.requests(plan.load, max(50, int(row.half_rate * args.seconds)),
                                       plan.mix)
                open_spy = _profile(args, tmp / "profile-half-load.txt", pid)
                half_cpu0 = cpu_seconds(pid)
                open_began = datetime.now(UTC)
                sent = client.open_loop(server.base, opened, row.half_rate, tmp, "open")
                open_ended = datetime.now(UTC)
                wait_for_replies(control, len(opened.items), server,
                                 timeout=args.drain_timeout)
                half_cpu = cpu_seconds(pid) - half_cpu0
                if open_spy is not None:
                    open_spy.wait()
                arrivals = get_json(control + "/arrivals")["arrivals"]
                pairs = matched([(k, t) for k, t in sent["sent"]], arrivals)
                latencies = [latency for _, latency in pairs]
                # For reading the tail: when in the run the slow ones were sent.
                (tmp / "half-load-latencies.json").write_text(json.dumps(
                    latency_series(pairs)), encoding="utf-8")
                row.e2e_p50_ms = pct(latencies, 0.5) * 1e3
                row.e2e_p99_ms = pct(latencies, 0.99) * 1e3
                row.e2e_replies = f"{len(latencies)}/{len(opened.items)}"
                if len(arrivals) > len(opened.items):
                    row.notes.append(f"{len(arrivals)} replies to {len(opened.items)} webhooks")
                if sent["rate"] < row.half_rate * 0.95:
                    row.notes.append(f"open loop offered only {sent['rate']:.0f}/s")
                half_handled = len(latencies)
                row.half_cpu_ms_per_msg = half_cpu * 1e3 / max(1, half_handled)
                row.statements = top_statements(server.statement_totals(), half_handled)
                if plan.db == "postgres":
                    row.pg_statements = pg_statements(db_url, half_handled)
                server.wait_drained()
                if plan.db == "sqlite":
                    row.half_stages = stages(tmp / "werkbot.db", open_began, open_ended)
                row.timings["C"] = time.perf_counter() - run_began
                # D. acknowledgements: wrk, 32 connections, as fast as werkbot answers
                closed = self.requests(plan.load, int(args.seconds * args.max_rate), plan.mix)
                spy = _profile(args, tmp / "profile-ack.txt", pid)
                got = client.closed_loop(args.client, server.base, closed, args.seconds, tmp,
                                         "closed")
                if got.get("wrapped"):
                    row.notes.append("closed loop ran out of prepared requests")
                row.ack_per_s = got["requests"] / (got["duration_us"] / 1e6)
                row.ack_p50_ms, row.ack_p99_ms = got["p50_us"] / 1e3, got["p99_us"] / 1e3
                row.errors = got["errors"]
                if spy is not None:
                    spy.wait()
                time.sleep(1)  # the backlog is being handled: memory at its fullest
            row.rss_peak_mb = max(mem.peak_kb, status_kb(pid, "VmRSS")) / 1024
            row.hwm_mb = status_kb(pid, "VmHWM") / 1024
        finally:
            stopping = time.perf_counter()
            server.stop()  # the ack flood's backlog is left behind: nobody waits for it
            row.timings["stop"] = time.perf_counter() - stopping
            post_json(control + "/reset")
            if not args.keep:
                if pg is not None:
                    from bench.load_pg import drop_database

                    drop_database(pg.url, db_name)
                for leftover in tmp.glob("werkbot.db*"):
                    leftover.unlink()
            row.timings["run"] = time.perf_counter() - run_began
        return row


def pg_statements_reset(url: str) -> None:
    from bench.load_pg import psql

    psql(url, "SELECT pg_stat_statements_reset()")


def pg_statements(url: str, messages: int, limit: int = 8) -> list[dict[str, Any]]:
    """PostgreSQL's own view (execution time in the server) of this database's statements."""
    from bench.load_pg import psql

    out = psql(url, "SELECT calls, total_exec_time, mean_exec_time, "  # noqa: S608
                    "regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
                    f"current_database()) ORDER BY total_exec_time DESC LIMIT {int(limit)}")
    rows = []
    for line in out.splitlines():
        calls, total, mean, query = line.split("\t", 3)
        rows.append({"sql": query[:160], "calls_per_msg": int(calls) / max(1, messages),
                     "ms_per_call": float(mean), "ms_per_msg": float(total) / max(1, messages)})
    return rows


# -- report -----------------------------------------------------------------------------

def fmt(value: float, digits: int = 0) -> str:
    if value != value:  # NaN
        return "–"
    return f"{value:,.{digits}f}"


def report(baselines: list[Row], rows: list[Row], flat: list[tuple[Row, Row]],
           args: argparse.Namespace) -> str:
    shipped = [r for r in baselines if UVLOOP_TAG not in r.name]  # the targets' baselines
    bare = next((r for r in shipped if r.name.startswith("bare aiohttp (Telegram")), None)
    bare_form = next((r for r in shipped if r.name.startswith("bare aiohttp (Twilio")), None)
    frameworks = [r for r in shipped if r.name.startswith(("aiogram", "PTB"))]
    faster = max(frameworks, key=lambda r: r.ack_per_s) if frameworks else None
    rounds = ""
    if args.rounds > 1:
        rounds = (f"Every number is the median of {args.rounds} rounds"
                  + (" (PTB measured in each, the other baselines in round 1)"
                     if baselines else "") + ". ")
    lines = [
        f"{rounds}Load average before / after the run: {args.loadavg_before} / {loadavg()}. "
        f"{args.seconds} s closed loop per row ({client.CONNECTIONS} connections, "
        f"{args.client}), then {args.seconds} s open loop at half the handled rate; "
        f"{os.cpu_count()} CPUs; werkbot log level {args.log_level}.",
        "",
        "| server | db | acked/s | vs bare | vs faster framework | ack p99 ms | handled/s "
        "| half load/s | webhook→send p50 / p99 ms | RSS start MB | RSS peak MB | Δ MB "
        "| CPU ms/msg | other load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in baselines:
        lines.append(
            f"| {r.name} | – | {fmt(r.ack_per_s)} | "
            f"{fmt(r.ack_per_s / bare.ack_per_s, 2) if bare else '–'} | "
            f"{fmt(r.ack_per_s / faster.ack_per_s, 2) if faster else '–'} | "
            f"{fmt(r.ack_p99_ms, 1)} | – | – | – | {fmt(r.rss_start_mb)} | "
            f"{fmt(r.rss_peak_mb)} | {fmt(r.rss_peak_mb - r.rss_start_mb)} | "
            f"{fmt(r.cpu_ms_per_msg, 2)} | – |")
    for r in rows:
        ref = bare_form if "WhatsApp" in r.name else bare
        cpu = fmt(r.cpu_ms_per_msg, 2) + (f" + {fmt(r.db_cpu_ms_per_msg, 2)} PG"
                                          if r.db_cpu_ms_per_msg else "")
        handling = (f"{fmt(r.handled_per_s)} | {fmt(r.half_rate)} | "
                    f"{fmt(r.e2e_p50_ms, 1)} / {fmt(r.e2e_p99_ms, 1)}"
                    if not _ack_only(r) else "– | – | –")
        lines.append(
            f"| {r.name} | {r.db} | {fmt(r.ack_per_s)} | "
            f"{fmt(r.ack_per_s / ref.ack_per_s, 2) if ref else '–'} | "
            f"{fmt(r.ack_per_s / faster.ack_per_s, 2) if faster else '–'} | "
            f"{fmt(r.ack_p99_ms, 1)} | {handling} | {fmt(r.rss_start_mb)} | "
            f"{fmt(r.rss_peak_mb)} | {fmt(r.rss_peak_mb - r.rss_start_mb)} | {cpu} | "
            f"{fmt(r.others_cpus, 2) if not _ack_only(r) else '–'} |")
    lines += ["", "WhatsApp rows compare with the bare aiohttp Twilio-form handler, Telegram "
              "rows with the bare JSON handler. handled/s: end to end with 32 webhooks in "
              "flight. CPU ms/msg: the werkbot process (+ the PostgreSQL server) per handled "
              "message. other load: CPUs that other processes on the machine used meanwhile."]
    if flat:
        lines += ["", "Flatness (WhatsApp, Telegram off): the same run on a bigger database"
                  + (" (last round, next to that round's row)" if args.rounds > 1 else "")
                  + ". Per-message cost: CPU time of werkbot (+ PostgreSQL) per handled message.",
                  "", "| db | stored | acked/s | handled/s | webhook→send p99 ms "
                  "| CPU ms/msg | DB CPU ms/msg | other load | fill s | start-up s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for small, big in flat:
            for r in (small, big):
                lines.append(f"| {r.db} | {r.stored:,} | {fmt(r.ack_per_s)} | "
                             f"{fmt(r.handled_per_s)} | {fmt(r.e2e_p99_ms, 1)} | "
                             f"{fmt(r.cpu_ms_per_msg, 2)} | "
                             f"{fmt(r.db_cpu_ms_per_msg, 2) if r.db == 'postgres' else '–'} | "
                             f"{fmt(r.others_cpus, 2)} | {fmt(r.fill_s, 1)} | "
                             f"{fmt(r.startup_s, 1)} |")
            lines.append(
                f"| {small.db} | ratio | {_ratio(big.ack_per_s, small.ack_per_s)} | "
                f"{_ratio(big.handled_per_s, small.handled_per_s)} | "
                f"{_ratio(big.e2e_p99_ms, small.e2e_p99_ms)} | "
                f"{_ratio(big.cpu_ms_per_msg, small.cpu_ms_per_msg)} | "
                f"{_ratio(big.db_cpu_ms_per_msg, small.db_cpu_ms_per_msg)} | | | |")
    lines += ["", "Targets:", *targets(baselines, rows, flat, faster)]
    notes = [f"- {r.name} ({r.db}): {n}" for r in rows + [b for _, b in flat] for n in r.notes]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)


UVLOOP_TAG = "[uvloop]"


def _ack_only(r: Row) -> bool:
    return "role web" in r.name


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and a == a and b == b else "–"


def cost(r: Row) -> float:
    """The per-message cost: CPU time of werkbot and its database per handled message."""
    return r.cpu_ms_per_msg + r.db_cpu_ms_per_msg


def targets(baselines: list[Row], rows: list[Row], flat: list[tuple[Row, Row]],
            faster: Row | None) -> list[str]:
    out = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    for r in rows:
        if faster:
            need = faster.ack_per_s * (1.0 if r.db == "sqlite" else 0.5)
            out.append(f"- {r.name} ({r.db}): acked {fmt(r.ack_per_s)}/s vs "
                       f"{'' if r.db == 'sqlite' else 'half of '}{faster.name} "
                       f"({fmt(need)}/s): {verdict(r.ack_per_s >= need)}")
        if _ack_only(r):
            continue
        out.append(f"- {r.name} ({r.db}): webhook→send p99 at half load "
                   f"{fmt(r.e2e_p99_ms, 1)} ms < 100 ms: {verdict(r.e2e_p99_ms < 100)}")
        delta = r.rss_peak_mb - r.rss_start_mb
        out.append(f"- {r.name} ({r.db}): peak RSS {fmt(r.rss_peak_mb)} MB, "
                   f"{fmt(delta)} MB over start-up (< 50): {verdict(delta < 50)}"
                   + ("" if "Telegram off" not in r.name else
                      f"; < 100 MB in all with Telegram off: {verdict(r.rss_peak_mb < 100)}"))
    for small, big in flat:
        ratio = cost(big) / cost(small) if cost(small) else float("nan")
        out.append(f"- flat per-message cost ({small.db}, {small.stored:,} → {big.stored:,} "
                   f"stored): {fmt(cost(small), 2)} → {fmt(cost(big), 2)} CPU ms/msg, "
                   f"×{fmt(ratio, 2)} (within 20 %): {verdict(ratio < 1.2)}; handled/s "
                   f"×{_ratio(big.handled_per_s, small.handled_per_s)}, ack/s "
                   f"×{_ratio(big.ack_per_s, small.ack_per_s)} (these move with other load)")
    return out


def issue22_targets(baselines: list[Row], rows: list[Row], against: str) -> list[str]:
    """Issue 22's targets for every SQLite row that handles (both mixes): acknowledged
    rate at least PTB's, p99 (half-load webhook→send and ack) below 50 ms, and with
    `--against` no row more than 5 % slower (acked and handled) than the same row there."""
    ptb = next((b for b in baselines if b.name.startswith("PTB") and UVLOOP_TAG not in b.name),
               None)
    out = []
    by_name = {r.name: r for r in rows if r.db == "sqlite"}
    for r in by_name.values():
        if _ack_only(r) or (against and r.name.endswith(f"[{against}]")):
            continue
        checks = []
        if ptb is not None:
            checks.append(f"acked {fmt(r.ack_per_s)}/s vs PTB {fmt(ptb.ack_per_s)}/s "
                          f"(×{_ratio(r.ack_per_s, ptb.ack_per_s)}): "
                          f"{'met' if r.ack_per_s >= ptb.ack_per_s else 'MISSED'}")
        checks.append(f"p99 webhook→send {fmt(r.e2e_p99_ms, 1)} ms, ack {fmt(r.ack_p99_ms, 1)} "
                      f"ms (< 50): "
                      f"{'met' if max(r.e2e_p99_ms, r.ack_p99_ms) < 50 else 'MISSED'}")
        before = by_name.get(f"{r.name} [{against}]") if against else None
        if before is not None:
            worst = min(r.ack_per_s / before.ack_per_s if before.ack_per_s else 1.0,
                        r.handled_per_s / before.handled_per_s if before.handled_per_s else 1.0)
            checks.append(f"vs {against}: acked ×{_ratio(r.ack_per_s, before.ack_per_s)}, "
                          f"handled ×{_ratio(r.handled_per_s, before.handled_per_s)} "
                          f"(no more than 5 % slower): {'met' if worst >= 0.95 else 'MISSED'}")
        out.append(f"- {r.name}: " + "; ".join(checks))
    return out


# -- several rounds (--rounds) ----------------------------------------------------------

def _median(values: list[float]) -> float:
    """The median, NaNs left out (NaN if there is nothing else)."""
    known = [v for v in values if v == v]
    return statistics.median(known) if known else float("nan")


def _worst(values: list[float]) -> float:
    """The highest, NaNs left out (NaN if there is nothing else)."""
    return max((v for v in values if v == v), default=float("nan"))


def by_name(rows: list[Row]) -> dict[str, list[Row]]:
    """The rows grouped by name, in the order the names first appear."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.name, []).append(r)
    return groups


def median_rows(rows: list[Row]) -> list[Row]:
    """One row per name: each number the median over its rounds (for counts the lower
    median, still a count), the rest (statements, timings) from the last round, and the
    notes of every round, marked with their round."""
    out = []
    for same in by_name(rows).values():
        numbers: dict[str, Any] = {}
        for key, value in vars(same[-1]).items():
            values = [getattr(r, key) for r in same]
            if key == "round" or not isinstance(value, int | float):
                continue
            numbers[key] = (statistics.median_low(values)
                            if all(isinstance(v, int) for v in values) else _median(values))
        notes = [f"round {r.round}: {note}" for r in same for note in r.notes]
        out.append(replace(same[-1], **numbers, notes=notes))
    return out


def paired_ratios(rows: list[Row], others: list[Row], key: str) -> list[float]:
    """Per round that both have: `key` of the row in `rows` divided by `key` of the row
    in `others` measured in the same round (rounds with a zero or NaN left out)."""
    theirs = {r.round: float(getattr(r, key)) for r in others}
    out = []
    for r in rows:
        mine, other = float(getattr(r, key)), theirs.get(r.round, float("nan"))
        if other and other == other and mine == mine:
            out.append(mine / other)
    return out


def _spread(ratios: list[float]) -> str:
    """`×median (min–max, n rounds)` of paired ratios."""
    if not ratios:
        return "×–"
    return (f"×{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}, "
            f"{len(ratios)} rounds)")


def issue22_rounds(baselines: list[Row], rows: list[Row], against: str) -> list[str]:
    """`issue22_targets` over several rounds: each ratio paired within a round (the row
    against the same round's PTB, or the same round's row of `against`), shown as median
    and range; the p99s as medians and the worst round. Every verdict is on the medians."""
    ptb = [b for b in baselines if b.name.startswith("PTB") and UVLOOP_TAG not in b.name]
    groups = by_name([r for r in rows if r.db == "sqlite"])
    out = []
    for name, same in groups.items():
        if _ack_only(same[0]) or (against and name.endswith(f"[{against}]")):
            continue
        checks = []
        if ptb:
            acked = paired_ratios(same, ptb, "ack_per_s")
            checks.append(f"acked vs PTB {_spread(acked)}: "
                          f"{'met' if acked and statistics.median(acked) >= 1 else 'MISSED'}")
        e2e, ack = [r.e2e_p99_ms for r in same], [r.ack_p99_ms for r in same]
        checks.append(f"p99 webhook→send {fmt(_median(e2e), 1)} ms (worst "
                      f"{fmt(_worst(e2e), 1)}), ack {fmt(_median(ack), 1)} ms (worst "
                      f"{fmt(_worst(ack), 1)}) (medians < 50): "
                      f"{'met' if max(_median(e2e), _median(ack)) < 50 else 'MISSED'}")
        before = groups.get(f"{name} [{against}]") if against else None
        if before is not None:
            acked = paired_ratios(same, before, "ack_per_s")
            handled = paired_ratios(same, before, "handled_per_s")
            lone = paired_ratios(same, before, "half_cpu_ms_per_msg")
            worst = min(statistics.median(acked) if acked else 1.0,
                        statistics.median(handled) if handled else 1.0)
            checks.append(f"vs {against}: acked {_spread(acked)}, handled {_spread(handled)} "
                          f"(no more than 5 % slower): {'met' if worst >= 0.95 else 'MISSED'}; "
                          f"CPU per message at half load {_spread(lone)}")
        out.append(f"- {name}: " + "; ".join(checks))
    return out


def print_statements(rows: list[Row]) -> str:
    lines = []
    for r in rows:
        for title, statements in (("as werkbot waits for them", r.statements),
                                  ("inside PostgreSQL (pg_stat_statements)", r.pg_statements)):
            if not statements:
                continue
            lines.append(f"\n{r.name} ({r.db}, {r.stored:,} stored), at half load: "
                         f"statements by time per message, {title}")
            for st in statements:
                lines.append(f"  {st['ms_per_msg']:7.3f} ms/msg {st['calls_per_msg']:5.2f}x "
                             f"{st['ms_per_call']:7.3f} ms/call  {st['sql'][:100]}")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------

def werkbot_plans(args: argparse.Namespace, db: str) -> list[Plan]:
    """This tree's werkbot rows on `db`, in the order they run."""
    mixes = ["consented", "first-contact"] if args.mix == "both" else [args.mix]
    plans = []
    for mix in mixes:
        label = "" if mix == "consented" else " first contact"
        plans.append(Plan(f"werkbot WhatsApp{label} (Telegram off)", db, False,
                          "whatsapp", args.stored, mix=mix))
        if not args.no_telegram:
            plans.append(Plan(f"werkbot Telegram{label} (Telegram on)", db, True,
                              "telegram", args.stored, mix=mix))
    if args.ack_only:
        plans.append(Plan("werkbot WhatsApp, ack only (role web)", db, False,
                          "whatsapp", args.stored, role="web"))
        if not args.no_telegram:
            plans.append(Plan("werkbot Telegram, ack only (role web)", db, True,
                              "telegram", args.stored, role="web"))
    if args.event_loop == "both":
        return [replace(p, name=f"{p.name} [{loop}]", event_loop=loop)
                for p in plans for loop in ("asyncio", "uvloop")]
    return [replace(p, event_loop=args.event_loop) for p in plans]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10, help="per closed and open loop")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="3 s loops, flatness 10k vs 100k stored messages")
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=0,
                        help="stored messages of the flatness run (default 1,000,000; "
                        "--quick 100,000; -1: skip)")
    parser.add_argument("--client", choices=["wrk", "python"],
                        default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--log-level", default="INFO", help="werkbot's (INFO as shipped)")
    parser.add_argument("--max-rate", type=int, default=8000,
                        help="requests prepared per closed-loop second")
    parser.add_argument("--drain-timeout", type=float, default=120,
                        help="how long to wait for the open loop's last replies")
    parser.add_argument("--open-rate", type=float, default=0.0,
                        help="open loop at this rate instead of half the handled rate "
                             "(comparisons at equal load)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--no-telegram", action="store_true", help="skip the Telegram rows")
    parser.add_argument("--ack-only", action=argparse.BooleanOptionalAction, default=None,
                        help="rows for role `web` too (store and acknowledge, nobody handles); "
                        "on by default, off with --quick")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--workdir", type=Path,
                        help="keep logs, request files and (with --keep) databases here")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--event-loop", choices=["auto", "asyncio", "uvloop", "both"],
                        default="auto", help="werkbot's server.event_loop; both: a row each")
    parser.add_argument("--workers", type=int, default=0,
                        help="database.workers (dispatch workers; 0: werkbot's default)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy profiles of werkbot at half load and under the ack flood "
                             "(profile-*.txt in each row's directory; use with --workdir)")
    parser.add_argument("--uvloop-baselines", action="store_true",
                        help="measure the baselines on uvloop as well (extra rows; the "
                             "targets stay against the frameworks as they ship)")
    parser.add_argument("--mix", choices=["consented", "first-contact", "both"], default="both",
                        help="consented: `hilfe` from customers who agreed; first-contact: "
                        "every webhook from a new sender (consent request); both: a row each")
    parser.add_argument("--against", default="",
                        help="a git revision: its werkbot rows too, from a git worktree, "
                        "side by side in the same run (baselines and stand-ins shared)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure N times: each round PTB, then every werkbot row (with "
                        "--against the two trees first in turn); the other baselines run in "
                        "round 1 only, the flatness run in the last round only; the table "
                        "shows medians, issue 22's targets per-round paired ratios")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.quick:
        args.seconds = min(args.seconds, 3)
        args.warmup = 1
    if args.ack_only is None:
        args.ack_only = not args.quick
    big = args.big or (100_000 if args.quick else 1_000_000)
    args.loadavg_before = loadavg()
    if float(args.loadavg_before) > 0.5:
        print(f"note: load average {args.loadavg_before} before the run: other processes "
              "compete for the CPUs and skew the numbers", flush=True)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    began = time.monotonic()
    baselines: list[Row] = []
    rows: list[Row] = []
    flat: list[tuple[Row, Row]] = []
    with (_workdir(args.workdir) as workdir, standins(workdir) as stand,
          contextlib.ExitStack() as trees):
        bench = Bench(args, workdir, stand)
        earlier = None
        if args.against:
            from bench.bench_drain import _worktree

            earlier = _worktree(trees, args.against)
        for round_ in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"round {round_} of {args.rounds}", flush=True)
            if not args.no_baselines:
                baselines += measure_baselines(bench, args, workdir, round_)
            for db in dbs:
                print(db, flush=True)
                with _database_server(db) as pg:
                    plans = [replace(p, round=round_) for p in werkbot_plans(args, db)]
                    ordered = plans
                    if earlier is not None:
                        # each row of this tree next to the earlier one's, first in turn:
                        # this tree in odd rounds, the earlier revision in even ones
                        ordered = []
                        for p in plans:
                            pair = [p, replace(p, name=f"{p.name} [{args.against}]",
                                               tree=earlier, tag=args.against)]
                            ordered += pair if round_ % 2 else pair[::-1]
                    done = []
                    for plan in ordered:
                        row = bench.run(plan, pg)
                        _progress(row)
                        done.append(row)
                    rows += done
                    if big > 0 and round_ == args.rounds:  # flatness: once, in the last round
                        row = bench.run(replace(plans[0], stored=big), pg)
                        _progress(row)
                        flat.append((next(r for r in done if r.name == plans[0].name), row))
    if args.rounds > 1:
        issue = issue22_rounds(baselines, rows, args.against)
        table = report(median_rows(baselines), median_rows(rows), flat, args)
    else:
        issue = issue22_targets(baselines, rows, args.against)
        table = report(baselines, rows, flat, args)
    print()
    if issue:
        table += "\n\nIssue 22 targets (SQLite):\n" + "\n".join(issue)
    print(table)
    if args.rounds > 1:
        print(f"\nStatements: round {args.rounds} (the last)")
    print(print_statements([r for r in rows if r.round == args.rounds] + [b for _, b in flat]))
    waited = [line for r in rows if r.round == args.rounds
              for line in describe(r.name, r.half_stages)]
    if waited:
        print("\nWhere the open loop's messages waited (bench/load_stages.py), last round:")
        print("\n".join(waited))
    print(f"\nwhole run: {time.monotonic() - began:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "baselines": [asdict(r) for r in baselines], "rows": [asdict(r) for r in rows],
            "flatness": [[asdict(a), asdict(b)] for a, b in flat], "table": table},
            indent=2, default=str), encoding="utf-8")
    return 0


def _profile(args: argparse.Namespace, out: Path, pid: int) -> subprocess.Popen[bytes] | None:
    """With --profile: py-spy samples the werkbot process for the phase (collapsed stacks,
    200 Hz) into `out`, in the row's work directory; None otherwise."""
    if not args.profile:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--format", "raw", "-r", "200", "-d",
                             str(args.seconds), "-o", str(out), "--pid", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _progress(row: Row) -> None:
    if _ack_only(row):
        print(f"  {row.name} [{row.db}, {row.stored:,}]: acked {row.ack_per_s:,.0f}/s, "
              f"p99 {row.ack_p99_ms:.1f} ms, RSS {row.rss_start_mb:.0f} → "
              f"{row.rss_peak_mb:.0f} MB, CPU {row.cpu_ms_per_msg:.2f} ms/msg", flush=True)
        return
    print(f"  {row.name} [{row.db}, {row.stored:,}]: acked {row.ack_per_s:,.0f}/s, handled "
          f"{row.handled_per_s:,.0f}/s, at {row.half_rate:,.0f}/s p50/p99 "
          f"{row.e2e_p50_ms:.1f}/{row.e2e_p99_ms:.1f} ms ({row.e2e_replies}), RSS "
          f"{row.rss_start_mb:.0f} → {row.rss_peak_mb:.0f} MB, CPU {row.cpu_ms_per_msg:.2f} "
          f"ms/msg, busy: werkbot {row.server_busy:.0%}, stand-in {row.standin_busy:.0%}, "
          f"others {row.others_cpus:.2f} CPUs; run "
          f"{row.timings.get('run', 0):.0f} s", flush=True)
    for note in row.notes:
        print(f"    note: {note}", flush=True)


@contextlib.contextmanager
def _workdir(chosen: Path | None) -> Iterator[Path]:
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        yield chosen.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="werkbot-load-") as name:
        yield Path(name)


@contextlib.contextmanager
def _database_server(db: str) -> Iterator[PgServer | None]:
    if db == "sqlite":
        yield None
        return
    with postgres() as server:
        yield server


if __name__ == "__main__":
    raise SystemExit(main())
