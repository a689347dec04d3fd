"""Start-up time: `werkbot serve` to the first 200 of `/healthz`, this tree against another.

`python -m bench.bench_startup [--against REV] [--rounds 5]` starts `python -m werkbot serve`
(Telegram on against the fake Bot API, Twilio against the fake Twilio, SQLite, the load
benchmark's configuration) and polls `/healthz` every 10 ms from the moment the process is
spawned until it answers 200. With `--against REV` the same runs from a `git worktree` of
REV, alternating with this tree. The database is created and upgraded by a first, unmeasured
start of each tree, so the measured starts do what a restart does (migrations checked, not
applied). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from bench.bench_drain import _worktree
from bench.bench_load import free_port, standins, werkbot_config

REPO = Path(__file__).resolve().parents[1]
# As a restart runs: bytecode cached by the first start (a shell may have switched it off).
ENV = {k: v for k, v in os.environ.items()
       if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("WERKBOT_")}


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            return int(resp.status) == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_once(tree: Path, config: Path, port: int, log: Path) -> float:
    """Seconds from spawning `werkbot serve` to the first 200 of /healthz."""
    url = f"http://127.0.0.1:{port}/healthz"
    with log.open("ab") as out:
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "werkbot", "serve", "--config",
                                 str(config)], cwd=tree, stdout=out, stderr=subprocess.STDOUT,
                                env=ENV)
        try:
            while not healthy(url):
                if proc.poll() is not None or time.perf_counter() - began > 120:
                    raise RuntimeError(f"werkbot did not start; see {log}")
                time.sleep(0.01)
            return time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="", help="a git revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="werkbot-start-")))
        stand = stack.enter_context(standins(work))
        trees = {"this tree": REPO}
        if args.against:
            trees[args.against] = _worktree(stack, args.against)
        configs = {}
        for i, (name, tree) in enumerate(trees.items()):
            tmp = work / f"tree{i}"
            tmp.mkdir()
            port = free_port()
            config = tmp / "werkbot.toml"
            werkbot_config(config, port=port, db_url=f"sqlite+aiosqlite:///{tmp / 'w.db'}",
                           tmp=tmp, stand=stand, telegram=True, log_level="INFO")
            start_once(tree, config, port, tmp / "werkbot.log")  # creates the database
            configs[name] = (tree, config, port, tmp / "werkbot.log")
        runs: dict[str, list[float]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            for name, (tree, config, port, log) in configs.items():
                runs[name].append(start_once(tree, config, port, log))
                print(f"round {round_ + 1} {name}: {runs[name][-1]:.2f} s", flush=True)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(f"\nserve → first 200 of /healthz, median of {args.rounds}, Telegram on, SQLite:")
    for name, value in medians.items():
        print(f"  {name:>12}: {value:.2f} s (min {min(runs[name]):.2f}, "
              f"max {max(runs[name]):.2f})")
    if args.against:
        print(f"  {'ratio':>12}: x{medians['this tree'] / medians[args.against]:.2f}")
    print(json.dumps({"runs": runs, "medians": medians}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
