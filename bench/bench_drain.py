"""Handling and sending cost per message, this tree against an earlier revision, one run.

`python -m bench.bench_drain [--against REV] [-n 2000] [--rounds 3] [--db sqlite|postgres]`

What one measurement does (in a child process, in the tree being measured): a database
pre-filled like the load benchmark's (10,000 stored messages, customers with consent;
`bench/load_fill.py`), then `n` stored WhatsApp `hilfe` events from 4,000 of those
customers, put into the inbox the way a webhook does (`--mix first-contact`: each from a
new sender, so each makes a person and gets the consent request). Then, timed apart:

- handling: the dispatcher drains them through the shipped handlers (consent gate,
  menu, outbox row), as `werkbot serve` does;
- sending (after a pause of `PAUSE` seconds, in which the WAL checkpointer folds the
  handling's log back): the outbox sends every reply through the Twilio adapter to the
  recording fake Twilio (`bench/load_standin.py`, its own process).

Reported per tree: events handled per second and CPU milliseconds per event (this
process only), replies sent per second and CPU ms per reply. With `--against REV`, the
same child runs in a `git worktree` of REV, alternating with this tree, `--rounds`
times each; the medians and their ratios are printed. The baseline is then the older
code, measured on the same machine in the same run. No webhooks, no HTTP load: this is
the cost behind the acknowledgement, which the load benchmark (`bench_load.py`) measures
as a whole.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# A new customer's first message (held until they agree; the consent request answers it).
# Seconds between handling and sending: two rounds of SQLite's WAL checkpointer.
PAUSE = 2.0
LOOKS = 500  # empty looks of each worker, after sending
FIRST_CONTACT = "Guten Tag, im Keller tropft die Heizung. Wann koennen Sie kommen?"


def measure(tree: Path, n: int, db: str, pg_url: str | None, batch: int = 0,
            mix: str = "consented") -> dict[str, float]:
    """One measurement in a child process running `tree`'s code."""
    with tempfile.TemporaryDirectory(prefix="werkbot-drain-") as work:
        # This file's child code, with `tree`'s packages first on the path (an older
        # revision may not have this file at all).
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child",
               "-n", str(n), "--db", db, "--work", work, "--batch", str(batch),
               "--mix", mix]
        if pg_url:
            cmd += ["--pg-url", pg_url]
        return child_result(tree, cmd, timeout=1800)


def child_result(tree: Path, cmd: list[str], timeout: int) -> dict[str, float]:
    """Run a measurement's child in `tree` (its packages first on the path); the JSON
    object it printed last."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True,
                          check=False, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"measurement in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child(args: argparse.Namespace) -> None:
    """Runs in the measured tree (its `bench` and `bot` packages come first on the path)."""
    from bench.bench_load import ACTIVE, SECRET, free_port, standins, werkbot_config
    from bench.load_fill import Fill, active_senders, fill_database, whatsapp_number
    from werkbot.bot.storage.migrate import upgrade

    work = Path(args.work)
    tree = Path.cwd()
    with standins(work) as stand:
        if args.db == "sqlite":
            url = f"sqlite+aiosqlite:///{work / 'werkbot.db'}"
        else:
            from bench.load_pg import fresh_database

            url = fresh_database(args.pg_url, f"drain_{os.getpid()}")
        config = work / "werkbot.toml"
        werkbot_config(config, port=free_port(), db_url=url, tmp=work, stand=stand,
                       telegram=False, log_level="WARNING")
        upgrade(url)
        fill_database(url, Fill(10_000, ACTIVE, SECRET, tree / "config" / "texts"))
        senders = [whatsapp_number(p) for p in active_senders("whatsapp", ACTIVE)]
        text = "hilfe"
        if args.mix == "first-contact":  # a new sender per event: person, consent request
            senders = [whatsapp_number(50_000_000 + i) for i in range(args.n)]
            text = FIRST_CONTACT
        try:
            print(json.dumps(asyncio.run(_drain(config, senders, args.n, args.batch, text))))
        finally:
            if args.db != "sqlite":
                from bench.load_pg import drop_database

                drop_database(args.pg_url, f"drain_{os.getpid()}")


async def _drain(config: Path, senders: list[str], n: int, batch: int, text: str
                 ) -> dict[str, float]:
    from aiohttp.test_utils import TestServer

    from werkbot.bot.addresses import Address
    from werkbot.bot.events import TextEvent
    from werkbot.bot.server import DISPATCHER, INBOX, OUTBOX, create_app
    from werkbot.bot.settings import load_settings

    app = create_app(load_settings(config), run_workers=False, migrate=False)
    server = TestServer(app)
    await server.start_server()
    try:
        now = datetime.now(UTC)
        events = [TextEvent(id=f"SMdrain{i:010d}", received_at=now, text=text,
                            sender=Address("whatsapp", senders[i % len(senders)]))
                  for i in range(n)]
        for start in range(0, n, 200):
            await app[INBOX].store(events[start:start + 200])
        wall, cpu = time.perf_counter(), time.process_time()
        if batch:  # batches of this size, as a trickle of webhooks leaves them
            handled = 0
            while got := await app[DISPATCHER].handle_batch(batch):
                handled += got
        else:
            handled = await app[DISPATCHER].drain()
        wall_h, cpu_h = time.perf_counter() - wall, time.process_time() - cpu
        # The server's WAL checkpointer folds the handling's log back once a second;
        # without a pause that work would be counted to sending.
        await asyncio.sleep(PAUSE)
        wall, cpu = time.perf_counter(), time.process_time()
        sent = await app[OUTBOX].drain()
        wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        # Looks that find nothing, as every poll and the last look after each round do:
        # the dispatcher's and the sender's, in turn.
        cpu = time.process_time()
        for _ in range(LOOKS):
            await app[DISPATCHER].handle_batch()
            await app[OUTBOX].send_due()
        cpu_l = time.process_time() - cpu
    finally:
        await server.close()
    if handled < n or sent < n:
        raise RuntimeError(f"handled {handled} and sent {sent} of {n}")
    return {"handled_per_s": handled / wall_h, "cpu_ms_per_event": 1e3 * cpu_h / handled,
            "sent_per_s": sent / wall_s, "cpu_ms_per_reply": 1e3 * cpu_s / sent,
            "cpu_us_per_empty_look": 1e6 * cpu_l / (2 * LOOKS)}


def _worktree(stack: ExitStack, rev: str) -> Path:
    """A checkout of `rev` (revisions from before the fixtures moved into `tests/fixtures`
    read the Telegram updates from `WERKBOT_BENCH_FIXTURES`)."""
    root = Path(tempfile.mkdtemp(prefix="werkbot-baseline-"))
    path = root / REPO.name
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=REPO,
                   check=True, capture_output=True)

    def remove() -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=REPO,
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    stack.callback(remove)
    _declare_entry_points(path)
    return path


def _declare_entry_points(tree: Path) -> None:
    """Make the checkout's own entry points visible to processes started in it.

    The installed werkbot declares this tree's entry points (today one group,
    `werkbot.plugins`); an earlier revision reads others (`werkbot.adapters`,
    `werkbot.handlers`). A `.dist-info` folder in the checkout (on `sys.path` first, as the
    working directory of `python -m`) declares the revision's own."""
    project = tomllib.loads((tree / "pyproject.toml").read_text()).get("project", {})
    groups: dict[str, dict[str, str]] = project.get("entry-points", {})
    # What the installed werkbot declares already is not declared twice.
    groups = {group: {name: target for name, target in points.items()
                      if not any(ep.name == name and ep.value == target
                                 for ep in entry_points(group=group))}
              for group, points in groups.items()}
    info = tree / "werkbot_baseline-0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: werkbot-baseline\nVersion: 0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items())
        for group, points in groups.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="stored events (default 2000)")
    parser.add_argument("--against", default="", help="a git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=0,
                        help="handle in batches of this many events (default: the "
                             "dispatcher's own, 32)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--mix", choices=("consented", "first-contact"), default="consented",
                        help="first-contact: every event from a new sender (default: "
                        "`hilfe` from consented customers)")
    parser.add_argument("--json", default="", help="write the results here too")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", default="", help=argparse.SUPPRESS)
    parser.add_argument("--pg-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    with ExitStack() as stack:
        pg_url = None
        if args.db == "postgres":
            from bench.load_pg import postgres

            pg_url = stack.enter_context(postgres()).url
        trees = {"this tree": REPO}
        if args.against:
            trees[args.against] = _worktree(stack, args.against)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            # Turn about, so that neither tree always runs first in a round.
            order = list(trees.items())
            for name, tree in order if round_ % 2 == 0 else reversed(order):
                runs[name].append(measure(tree, args.n, args.db, pg_url, args.batch,
                                          args.mix))
                print(f"round {round_ + 1} {name}: {_line(runs[name][-1])}", flush=True)
    medians = {name: {key: statistics.median(r[key] for r in results) for key in results[0]}
               for name, results in runs.items()}
    print(f"\nmedians of {args.rounds} rounds, {args.n} events, {args.db}:")
    for name, values in medians.items():
        print(f"  {name:>12}: {_line(values)}")
    if args.against:
        now, then = medians["this tree"], medians[args.against]
        print(f"  {'ratio':>12}: handling x{now['handled_per_s'] / then['handled_per_s']:.2f}"
              f" (CPU/event x{now['cpu_ms_per_event'] / then['cpu_ms_per_event']:.2f}),"
              f" sending x{now['sent_per_s'] / then['sent_per_s']:.2f}"
              f" (CPU/reply x{now['cpu_ms_per_reply'] / then['cpu_ms_per_reply']:.2f}),"
              f" empty look CPU x{_ratio(now, then, 'cpu_us_per_empty_look')}")
        # The machine's speed drifts between rounds: the two trees ran next to each other
        # in each round, so the ratio within a round says more than the medians' ratio.
        print(f"  {'per round':>12}: " + ", ".join(
            f"{key} {_paired(runs['this tree'], runs[args.against], key)}"
            for key in ("cpu_ms_per_event", "cpu_ms_per_reply", "cpu_us_per_empty_look")))
    if args.json:
        out: dict[str, Any] = {"n": args.n, "db": args.db, "runs": runs, "medians": medians}
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


def _line(values: dict[str, float]) -> str:
    look = values.get("cpu_us_per_empty_look")  # an earlier bench file's child has none
    return (f"handled {values['handled_per_s']:.0f}/s ({values['cpu_ms_per_event']:.2f} ms CPU"
            f" each), sent {values['sent_per_s']:.0f}/s ({values['cpu_ms_per_reply']:.2f} ms"
            " CPU each)" + (f", empty look {look:.0f} µs CPU" if look is not None else ""))


def _ratio(now: dict[str, float], then: dict[str, float], key: str) -> str:
    return f"{now[key] / then[key]:.2f}" if key in now and key in then else "–"


def _paired(now: list[dict[str, float]], then: list[dict[str, float]], key: str) -> str:
    """`key`'s ratio this tree / the other within each round: median (lowest–highest)."""
    ratios = [a[key] / b[key] for a, b in zip(now, then, strict=True) if key in a and key in b]
    if not ratios:
        return "x–"
    return f"x{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


if __name__ == "__main__":
    if "--child" in sys.argv:  # the measured tree (the working directory) comes first
        sys.path.insert(0, str(Path.cwd()))
    raise SystemExit(main())
