"""Whether an SQLite database is at the newest migrations, found without loading Alembic.

A restart is the common start: nothing to migrate, and loading Alembic to find that out
(half a second of imports in the migration child) was most of what the server's
start-up waited for. The migration files name their `revision` and `down_revision`; the
heads are the revisions no other file names as its `down_revision`, and the database
is up to date when its `alembic_version` rows are exactly those heads. Whenever this
cannot tell for sure (another database than an SQLite file, a file it cannot read this
way, a migration with `depends_on`, no version table), the answer is False and the
migration child runs as before.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from werkbot.bot.storage.sqlite_connections import sqlite_file

VERSIONS = Path(__file__).with_name("migrations") / "versions"


def script_heads(versions: Path = VERSIONS) -> frozenset[str] | None:
    """The head revisions of the migration files in `versions`; None if unsure."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        names = _assignments(path)
        if names is None or not isinstance(names.get("revision"), str):
            return None
        if names.get("depends_on") is not None:
            return None  # cross-branch dependencies: let Alembic decide
        revisions.add(str(names["revision"]))
        down = names.get("down_revision")
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    heads = frozenset(revisions - parents)
    return heads or None


def sqlite_at_heads(url: str, versions: Path = VERSIONS) -> bool:
    """True only if `url` is an SQLite file whose version rows are the heads."""
    path = sqlite_file(url) if url.startswith("sqlite") else None
    if path is None or not Path(path).is_file():
        return False
    heads = script_heads(versions)
    if heads is None:
        return False
    try:
        connection = sqlite3.connect(path, timeout=5)
    except sqlite3.Error:
        return False
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:  # no version table yet, or locked for longer than the timeout
        return False
    finally:
        connection.close()
    return frozenset(str(row[0]) for row in rows) == heads


def _assignments(path: Path) -> dict[str, object] | None:
    """The module's top-level literal assignments, or None if it does not parse."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    found: dict[str, object] = {}
    for node in tree.body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                if target.id in ("revision", "down_revision", "depends_on"):
                    return None
    return found
