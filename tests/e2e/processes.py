"""Real `werkbot` processes for end-to-end tests: start, wait until serving, kill, read the DB.

Each process writes its output to a log file in the test's temporary directory (never a
pipe that could fill up), so a failing test can show what the server said.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def werkbot_command() -> list[str]:
    script = Path(sys.executable).with_name("werkbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "werkbot.bot.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WERKBOT_")}
    env.update(extra)
    return env


@dataclass
class Werkbot:
    """One running werkbot process."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a power cut or an OOM kill."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM: the graceful shutdown; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def start(args: list[str], log: Path, *, env: Mapping[str, str], base: str,
          ready: Callable[[Werkbot], bool] | None = None, timeout: float = 60.0) -> Werkbot:
    """Start werkbot with `args` (cwd: the repo root) and wait until it serves `/healthz`."""
    with log.open("ab") as out:
        proc = subprocess.Popen([*werkbot_command(), *args], cwd=REPO, env=dict(env),
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    bot = Werkbot(proc, base, log)
    check = ready or (lambda b: get_json(b.base + "/healthz", quiet=True) is not None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"werkbot exited with {proc.returncode}:\n{bot.output()}")
        if check(bot):
            return bot
        time.sleep(0.1)
    bot.kill()
    raise AssertionError(f"werkbot did not serve within {timeout}s:\n{bot.output()}")


@contextmanager
def running(args: list[str], log: Path, **kwargs: Any) -> Iterator[Werkbot]:
    bot = start(args, log, **kwargs)
    try:
        yield bot
    finally:
        if bot.proc.poll() is None:
            bot.kill()


def get_json(url: str, *, quiet: bool = False, timeout: float = 30) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        if quiet:
            return None
        raise


def post(url: str, body: bytes, content_type: str,
         headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_json(url: str, data: Any) -> tuple[int, bytes]:
    return post(url, json.dumps(data).encode(), "application/json")


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the werkbot SQLite file directly (WAL lets a reader in beside the server)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def wait_for(check: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}")


ALL_WEEK = ", ".join(f'{day} = ["00:00-24:00"]'
                     for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def write_config(path: Path, tmp: Path, port: int, *, extra: str = "") -> Path:
    """A werkbot config for one test: SQLite and media under `tmp`, sandbox on."""
    path.write_text(f"""
[server]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
secret = "e2e-secret-0123456789abcdef"
sandbox = true
log_level = "INFO"

[database]
url = "sqlite+aiosqlite:///{tmp / 'werkbot.db'}"

[business]
name = "Sanitär Maier GmbH"
timezone = "Europe/Berlin"
holidays = ""
phone = "+49 89 1234567"
hours = {{ {ALL_WEEK} }}

[media]
dir = "{tmp / 'media'}"
{extra}
""", encoding="utf-8")
    return path


__all__ = ["REPO", "Werkbot", "clean_env", "free_port", "get_json", "post", "post_json",
           "query", "running", "start", "wait_for", "write_config"]
