"""Real services for the test run: a PostgreSQL server on a loopback port.

Started once per test session as the `postgres` user (the server refuses root), in a
temporary directory, and stopped at the end. `WERKBOT_TEST_PG_URL` points the suite at
an existing server instead. A missing PostgreSQL is a failure, never a skip: `make test`
installs it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make services` (apt: postgresql)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def new_cluster(prefix: str) -> tuple[Path, Path, int]:
    """`initdb` a fresh cluster (user `werkbot`, trust on loopback) owned by `postgres` in a
    temporary directory: its directory, data directory and a free port for it."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    data = root / "data"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    subprocess.run(_as_postgres([str(_pg_bin() / "initdb"), "-D", str(data), "-A", "trust",
                                 "-U", "werkbot", "-E", "UTF8"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root, data, free_port()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an asyncpg URL of a fresh PostgreSQL server."""
    if url := os.environ.get("WERKBOT_TEST_PG_URL"):
        yield url
        return
    bindir = _pg_bin()
    root, data, port = new_cluster("werkbot-pg-")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    _SERVERS[port] = (data, options, root / "log")
    try:
        start_postgres(f"postgresql+asyncpg://werkbot@127.0.0.1:{port}/werkbot")
        subprocess.run(_as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p",
                                     str(port), "-U", "werkbot", "werkbot"]), check=True)
        yield f"postgresql+asyncpg://werkbot@127.0.0.1:{port}/werkbot"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                     "stop"]), check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        _SERVERS.pop(port, None)
        shutil.rmtree(root, ignore_errors=True)


# The servers `postgres_server` started, by port: data directory, options, log file.
_SERVERS: dict[int, tuple[Path, str, Path]] = {}


def _own_server(url: str) -> tuple[int, Path, str, Path]:
    port = int(url.rsplit("/", 1)[0].rsplit(":", 1)[1])
    if port not in _SERVERS:
        raise RuntimeError(f"PostgreSQL on port {port} was not started by this test run "
                           "(WERKBOT_TEST_PG_URL?): it cannot be stopped and started")
    return (port, *_SERVERS[port])


def stop_postgres(url: str, mode: str = "fast") -> None:
    """Stop the test run's PostgreSQL server that `url` points at (`pg_ctl stop -m mode`:
    `fast` ends the sessions, `immediate` aborts like a crash); its data stays."""
    _, data, _, _ = _own_server(url)
    subprocess.run(_as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(data), "-m", mode,
                                 "-w", "stop"]), check=True, stdout=subprocess.DEVNULL)


def start_postgres(url: str) -> None:
    """Start the test run's PostgreSQL server again: same port, same data directory."""
    port, data, options, log = _own_server(url)
    subprocess.run(_as_postgres([str(_pg_bin() / "pg_ctl"), "-D", str(data), "-o", options,
                                 "-l", str(log), "-w", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    _wait_for(port)


def create_database(base_url: str, name: str) -> str:
    """A fresh database on the test server; returns its URL."""
    host_part = base_url.rsplit("/", 1)[0]
    port = host_part.rsplit(":", 1)[1]
    subprocess.run(_as_postgres([str(_pg_bin() / "createdb"), "-h", "127.0.0.1", "-p", port,
                                 "-U", "werkbot", name]), check=True)
    return f"{host_part}/{name}"


def _wait_for(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not listen on port {port}")
