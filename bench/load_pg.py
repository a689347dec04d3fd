"""A PostgreSQL server for the load benchmark, started the way the test suite starts one.

It reuses `tests/services.py` (initdb as the `postgres` user in a temporary directory, a
loopback port) but keeps PostgreSQL's durable defaults (`fsync` and `synchronous_commit`
on: every acknowledged webhook is on disk, as werkbot promises), where the tests turn
`fsync` off for speed. `pg_stat_statements` is loaded, so the benchmark can say which
statements take the time, and `max_wal_size` is 4 GB (as a tuned server's would be), so
the bulk load of a million messages does not set off checkpoint after checkpoint.
`WERKBOT_BENCH_PG_URL` points the benchmark at an existing server instead (its databases
are created there with `createdb`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services import _as_postgres, _pg_bin, _wait_for, new_cluster


@dataclass
class PgServer:
    url: str  # of the `postgres` database; `fresh_database` makes the ones to use
    data: Path | None  # the data directory, when the benchmark started the server

    def postmaster(self) -> int | None:
        """The server's main process id (its backends are its children)."""
        if self.data is None:
            return None
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


@contextmanager
def postgres(durable: bool = True) -> Iterator[PgServer]:
    """Start a fresh server (or use `WERKBOT_BENCH_PG_URL`'s) for the benchmark's databases."""
    if url := os.environ.get("WERKBOT_BENCH_PG_URL"):
        yield PgServer(url, None)
        return
    bindir = _pg_bin()
    root, data, port = new_cluster("werkbot-bench-pg-")
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
               "-c shared_preload_libraries=pg_stat_statements -c max_connections=100 "
               "-c max_wal_size=4GB")
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                                 "-l", str(root / "log"), "-w", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    try:
        _wait_for(port)
        yield PgServer(f"postgresql+asyncpg://werkbot@127.0.0.1:{port}/postgres", data)
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                     "stop"]), check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """Create database `name` on the server (with pg_stat_statements); returns its URL."""
    host_part = server_url.rsplit("/", 1)[0]
    port = host_part.rsplit(":", 1)[1]
    subprocess.run(_as_postgres([str(_pg_bin() / "createdb"), "-h", "127.0.0.1", "-p", port,
                                 "-U", "werkbot", name]), check=True)
    url = f"{host_part}/{name}"
    psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return url


def drop_database(server_url: str, name: str) -> None:
    host_part = server_url.rsplit("/", 1)[0]
    port = host_part.rsplit(":", 1)[1]
    subprocess.run(_as_postgres([str(_pg_bin() / "dropdb"), "-h", "127.0.0.1", "-p", port,
                                 "-U", "werkbot", "--if-exists", name]), check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def psql(url: str, sql: str) -> str:
    """Run `sql` with psql (tab-separated, unaligned rows) and return its output."""
    host_part, name = url.rsplit("/", 1)
    port = host_part.rsplit(":", 1)[1]
    out = subprocess.run(_as_postgres([str(_pg_bin() / "psql"), "-h", "127.0.0.1", "-p", port,
                                       "-U", "werkbot", "-d", name, "-At", "-F", "\t",
                                       "-c", sql]),
                         check=True, capture_output=True, text=True)
    return out.stdout
