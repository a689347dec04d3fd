"""One-way dependencies: nothing under `bot/` may import `adapters` or `handlers`.

Walks the AST of every `bot/**/*.py` (so imports inside functions and under
`TYPE_CHECKING` count too), including `importlib.import_module("adapters...")` and
`__import__("handlers")` with a string literal. The checker itself is tested on
snippets, so a broken walker cannot pass silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
FORBIDDEN = ("adapters", "handlers")


def _forbidden(module: str) -> bool:
    parts = module.split(".")
    if parts[0] == "werkbot":
        parts = parts[1:]
    return bool(parts) and parts[0] in FORBIDDEN


def violations(source: str, filename: str = "<snippet>") -> list[str]:
    """`file:line module` for every import of a forbidden package in `source`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names = [first.value]
        found += [f"{filename}:{node.lineno} {name}" for name in names if _forbidden(name)]
    return found


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):  # importlib.import_module(...)
        return func.attr == "import_module"
    if isinstance(func, ast.Name):  # import_module(...) or __import__(...)
        return func.id in {"import_module", "__import__"}
    return False


def test_bot_imports_neither_adapters_nor_handlers() -> None:
    files = sorted(BOT.rglob("*.py"))
    assert len(files) > 20  # the walk really found the core
    problems = [v for path in files
                for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(BOT)))]
    assert problems == [], "bot/ must not import adapters or handlers:\n" + "\n".join(problems)


@pytest.mark.parametrize("snippet", [
    "import adapters",
    "import werkbot.adapters",
    "from werkbot.handlers.menu import router",
    "from werkbot.adapters.telegram import build",
    "import adapters.sandbox",
    "import os, handlers.menu as m",
    "from handlers import build_bundle",
    "from adapters.twilio.client import TwilioApi",
    "def f():\n    from handlers.menu import router\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import adapters.sandbox\n",
    "import importlib\nimportlib.import_module('werkbot.adapters.sandbox')",
    "from importlib import import_module\nimport_module('handlers')",
    "__import__('werkbot.handlers.menu')",
])
def test_the_checker_catches(snippet: str) -> None:
    assert violations(snippet)


@pytest.mark.parametrize("snippet", [
    "import bot.adapter",
    "from werkbot.bot.adapter import Adapter",
    "import werkbot",
    "from bot.adapter import Adapter",
    "from . import adapter",
    "from .handlers import x",  # relative: bot's own module of that name
    "import adapterslib",
    "x = 'werkbot.adapters.sandbox'",  # a string that is not imported
    "from importlib.metadata import entry_points\nentry_points(group='werkbot.adapters')",
])
def test_the_checker_allows(snippet: str) -> None:
    assert violations(snippet) == []
