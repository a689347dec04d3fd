"""A restart skips the migration child only when the database is surely up to date.

The heads read from the migration files are Alembic's own; a database at every head is
up to date; a new, an older or a foreign database, or a migration this reading cannot
follow, sends start-up to Alembic as before.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from alembic.script import ScriptDirectory

from werkbot.bot.storage.migrate import alembic_config, upgrade
from werkbot.bot.storage.migration_state import VERSIONS, script_heads, sqlite_at_heads

NEWEST = max(script_heads() or ())  # the newest migration, a head of its branch


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def test_the_heads_are_alembics_own(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(_url(tmp_path / "x.db")))
    assert script_heads() == frozenset(script.get_heads())


def test_only_a_database_at_every_head_is_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    assert not sqlite_at_heads(_url(db))  # no file: the child creates it
    assert not db.exists()  # and looking did not create it
    upgrade(_url(db), "0002")
    assert not sqlite_at_heads(_url(db))  # older: the child migrates
    upgrade(_url(db))
    assert sqlite_at_heads(_url(db))
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM alembic_version WHERE version_num = ?", (NEWEST,))
    raw.close()
    assert not sqlite_at_heads(_url(db))  # one branch behind


def test_anything_unsure_goes_to_alembic(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    upgrade(_url(db))
    assert not sqlite_at_heads("postgresql+asyncpg://u@localhost/werkbot")
    assert not sqlite_at_heads("sqlite+aiosqlite://")  # in memory
    versions = tmp_path / "versions"
    shutil.copytree(VERSIONS, versions, ignore=shutil.ignore_patterns("__pycache__"))
    assert sqlite_at_heads(_url(db), versions)
    (versions / "9001_next.py").write_text(
        f'revision = "9001"\ndown_revision = "{NEWEST}"\n')
    assert not sqlite_at_heads(_url(db), versions)  # a new migration to apply
    (versions / "9001_next.py").write_text(
        f'revision = "9001"\ndown_revision = "{NEWEST}"\ndepends_on = "0007"\n')
    assert script_heads(versions) is None
    (versions / "9001_next.py").write_text('revision = compute()\n')
    assert script_heads(versions) is None
    (versions / "9001_next.py").write_text("revision = (\n")
    assert script_heads(versions) is None
    with sqlite3.connect(tmp_path / "other.db") as raw:
        raw.execute("CREATE TABLE t (x)")
    raw.close()
    assert not sqlite_at_heads(_url(tmp_path / "other.db"))  # not werkbot's
