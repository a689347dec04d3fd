"""`werkbot serve` migrates what needs it before anything opens the database, and a
restart of an up-to-date database goes without Alembic; a migration that fails stops
start-up with nothing listening."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.processes import (
    clean_env,
    free_port,
    get_json,
    running,
    werkbot_command,
    write_config,
)
from werkbot.bot.storage.migrate import upgrade
from werkbot.bot.storage.migration_state import script_heads


def _versions(db: Path) -> set[str]:
    with sqlite3.connect(db) as raw:
        found = {row[0] for row in raw.execute("SELECT version_num FROM alembic_version")}
    raw.close()
    return found


def test_an_older_database_is_migrated_before_serving(tmp_path: Path) -> None:
    db = tmp_path / "werkbot.db"
    upgrade(f"sqlite+aiosqlite:///{db}", "0002")
    port = free_port()
    config = write_config(tmp_path / "werkbot.toml", tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    with running(["serve", "--config", str(config)], tmp_path / "werkbot.log",
                 env=clean_env(), base=base) as bot:
        assert get_json(base + "/healthz")["status"] == "ok"
        assert bot.stop() == 0, bot.output()
    assert _versions(db) == script_heads()


def test_a_failing_migration_stops_start_up(tmp_path: Path) -> None:
    db = tmp_path / "werkbot.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    with sqlite3.connect(db) as raw:  # a revision this werkbot does not know (a newer one)
        raw.execute("UPDATE alembic_version SET version_num = '9999' WHERE version_num = "
                    "(SELECT max(version_num) FROM alembic_version)")
    raw.close()
    config = write_config(tmp_path / "werkbot.toml", tmp_path, free_port())
    done = subprocess.run([*werkbot_command(), "serve", "--config", str(config)],
                          env=clean_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert "database migrations failed" in done.stderr
