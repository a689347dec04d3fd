"""How long SQLite's WAL checkpoints stop the event loop: on the loop or on their thread.

`python -m bench.bench_checkpoint [--seconds 6] [--rounds 2]`

Each measurement (a child process, so the settings cannot leak between them) writes
transactions of eight ~1 KB rows through werkbot's `Database` (inline SQLite on the
event loop, as the server does) for `--seconds`, while a task sleeping 1 ms at a time
records how late the loop wakes it. Two configurations, alternating, in the same run:

- `on the loop`: SQLite's default, a commit that takes the log past 1,000 pages folds
  it back into the file itself (what werkbot did before `sqlite_checkpoint.py`);
- `checkpointer`: werkbot's connections leave it to `WalCheckpointer` on its thread.

Reported: transactions, the loop's lateness at p99 / p99.9 / max, and how often it was
more than 5 ms late.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODES = ("on the loop", "checkpointer")


async def _measure(mode: str, seconds: float, work: Path) -> dict[str, Any]:
    from sqlalchemy import text

    from werkbot.bot.storage import sqlite_connections

    if mode == MODES[0]:
        sqlite_connections.AUTOCHECKPOINT_PAGES = 1000  # SQLite's default
    from werkbot.bot.storage.database import Database
    from werkbot.bot.storage.sqlite_checkpoint import WalCheckpointer

    db = Database(f"sqlite+aiosqlite:///{work / 'bench.db'}")
    async with db.session() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, x TEXT)"))
        await session.execute(text("CREATE INDEX ix_t_k ON t (k)"))
    late: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            late.append(time.perf_counter() - started - 0.001)

    watcher = asyncio.create_task(watch())
    checkpointer = WalCheckpointer.of(db) if mode == MODES[1] else None
    checkpoints = asyncio.create_task(checkpointer.run()) if checkpointer else None
    began, transactions = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        async with db.session() as session:
            for row in range(8):
                await session.execute(text("INSERT INTO t (k, x) VALUES (:k, :x)"),
                                      {"k": f"{transactions}-{row}", "x": "y" * 900})
        transactions += 1
        await asyncio.sleep(0.0005)
    done.set()
    await watcher
    if checkpoints is not None:
        checkpoints.cancel()
        await asyncio.gather(checkpoints, return_exceptions=True)
    await db.close()
    ms = sorted(value * 1e3 for value in late)
    return {"transactions": transactions, "p99": ms[int(len(ms) * 0.99)],
            "p999": ms[int(len(ms) * 0.999)], "max": ms[-1],
            "stalls": sum(1 for value in ms if value > 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory(prefix="werkbot-ckpt-") as work:
            print(json.dumps(asyncio.run(_measure(args.child, args.seconds, Path(work)))))
        return
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for n in range(args.rounds):
        for mode in MODES if n % 2 == 0 else reversed(MODES):
            out = subprocess.run([sys.executable, "-m", "bench.bench_checkpoint", "--child",
                                  mode, "--seconds", str(args.seconds)], cwd=REPO,
                                 check=True, capture_output=True, text=True).stdout
            got = json.loads(out.splitlines()[-1])
            results[mode].append(got)
            print(f"round {n + 1} {mode}: {got['transactions']} transactions, loop late "
                  f"p99 {got['p99']:.2f} / p99.9 {got['p999']:.2f} / max {got['max']:.1f} ms, "
                  f"{got['stalls']} times > 5 ms")
    print(f"\nmedians of {args.rounds} rounds:")
    for mode, rows in results.items():
        print(f"  {mode:>12}: {statistics.median(r['transactions'] for r in rows):.0f} "
              f"transactions, loop late max {statistics.median(r['max'] for r in rows):.1f} ms, "
              f"{statistics.median(r['stalls'] for r in rows):.0f} times > 5 ms")


if __name__ == "__main__":
    main()
