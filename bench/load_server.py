"""`werkbot serve`, as shipped, for the load benchmark; optionally timing SQL statements.

`python -m bench.load_server --config FILE [--statements OUT]` runs exactly what the
`werkbot serve --config FILE` command runs (`bot.cli.main`). With `--statements`, every
SQL statement's wall time (from the driver call to its return, awaits included) is added
up per statement text, and on SIGUSR1 the totals since the last SIGUSR1 are written to OUT
as JSON (`{statement: [count, seconds]}`), so the benchmark can tell which statements grow
with the size of the database. The listeners cost about a microsecond per statement.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _time_statements(out: Path) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    totals: dict[str, list[float]] = {}

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              executemany: bool) -> None:
        started = conn.info["bench_started"].pop()
        entry = totals.setdefault(" ".join(statement.split()), [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    def dump(*_: object) -> None:
        snapshot = dict(totals)
        totals.clear()
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot), encoding="utf-8")
        tmp.replace(out)

    signal.signal(signal.SIGUSR1, dump)


def main(argv: list[str]) -> int:
    statements = None
    if "--statements" in argv:
        at = argv.index("--statements")
        statements = Path(argv[at + 1])
        argv = argv[:at] + argv[at + 2:]
    if statements is not None:
        _time_statements(statements)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from werkbot.bot.cli import main as werkbot

    return werkbot(["serve", *argv])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
