"""The README's "Architecture at a glance" page matches the code.

Every file or folder it names exists, every `werkbot.…` symbol it names imports, and the
layering it states holds (walked over the AST of every module, imports inside functions
and `importlib.import_module("…")` literals included). A page that drifts from the code
misleads exactly the newcomer it is written for.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TITLE = "## Architecture at a glance"
# Which top-level layer must not import which (the page's first paragraph says so).
FORBIDDEN = {"bot": {"adapters", "handlers"}, "adapters": {"handlers"}, "handlers": {"adapters"}}
STATED = ("`bot/` imports neither", "adapters and\nhandlers never import each other")


def page(readme: str | None = None) -> str:
    text = readme if readme is not None else (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(TITLE)
    end = text.find("\n## ", start + len(TITLE))
    return text[start:] if end < 0 else text[start:end]


def named_paths(text: str) -> list[str]:
    """Repository paths in backticks or the diagram (placeholders like `<channel>` cut)."""
    found = re.findall(r"(?<![\w.])((?:bot|adapters|handlers|config|tests)/[\w./<>-]*"
                       r"|pyproject\.toml)", text)
    return sorted({path.split("<", 1)[0] for path in found})


def missing_paths(text: str) -> list[str]:
    return [path for path in named_paths(text) if not (ROOT / path).exists()]


def named_symbols(text: str) -> list[str]:
    """`werkbot.…` names in backticks (an entry-point group is written inside its table)."""
    return sorted(set(re.findall(r"`(werkbot(?:\.\w+)+)`", text)))


def resolve(dotted: str) -> object:
    """Import the longest module prefix of `dotted`, then look up the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def layer_imports(source: str) -> set[str]:
    """The werkbot layers (`bot`, `adapters`, `handlers`) a module's source imports."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              {"import_module", "__import__", "optional"}):
            names.append(node.args[0].value)
    layers = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "werkbot" and len(parts) > 1:
            layers.add(parts[1])
    return layers & set(FORBIDDEN)


def test_every_path_the_page_names_exists() -> None:
    text = page()
    assert len(named_paths(text)) > 15  # the page really names modules
    assert missing_paths(text) == []


def test_every_symbol_the_page_names_imports() -> None:
    symbols = named_symbols(page())
    assert len(symbols) > 15
    failed = []
    for dotted in symbols:
        try:
            resolve(dotted)
        except (ImportError, AttributeError) as exc:
            failed.append(f"{dotted}: {type(exc).__name__}")
    assert failed == []


def test_the_layering_the_page_states_holds() -> None:
    text = page()
    assert all(sentence in text for sentence in STATED)
    broken = []
    for layer, forbidden in FORBIDDEN.items():
        files = sorted((ROOT / layer).rglob("*.py"))
        assert len(files) > 10
        for path in files:
            crossed = layer_imports(path.read_text(encoding="utf-8")) & forbidden
            broken += [f"{path.relative_to(ROOT)} imports {other}" for other in sorted(crossed)]
    assert broken == []


@pytest.mark.parametrize(("source", "layers"), [
    ("from werkbot.handlers.menu import router", {"handlers"}),
    ("def f():\n    import werkbot.adapters.sandbox\n", {"adapters"}),
    ("import importlib\nimportlib.import_module('werkbot.handlers.jobs')", {"handlers"}),
    ("from werkbot.bot.events import Event", {"bot"}),
    ("import json", set()),
])
def test_the_layer_walker_sees_imports(source: str, layers: set[str]) -> None:
    assert layer_imports(source) == layers


def test_a_page_naming_what_is_gone_is_caught() -> None:
    text = page(f"{TITLE}\n\n`bot/no_such_module.py` and `werkbot.bot.no_such.Thing`\n")
    assert missing_paths(text) == ["bot/no_such_module.py"]
    with pytest.raises((ImportError, AttributeError)):
        resolve("werkbot.bot.no_such.Thing")
