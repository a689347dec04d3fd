"""Texts people read, looked up by key and language from `config/texts/<lang>.toml`.

Every word a customer sees lives in those files, editable without touching code. A
missing key in the requested language falls back to German, then raises `KeyError`
naming the key; `check()` lists keys that one language has and another lacks.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"


class Texts:
    """A catalogue of texts per language, flattened to dotted keys."""

    def __init__(self, catalogues: Mapping[str, Mapping[str, Any]]) -> None:
        self._by_lang = {lang: _flatten(cat) for lang, cat in catalogues.items()}
        self._words: dict[str, frozenset[str]] = {}  # texts are loaded once: merge once

    @classmethod
    def load(cls, directory: Path) -> Texts:
        """Read `<lang>.toml` and every `<lang>/*.toml` (one file per feature) per language."""
        catalogues: dict[str, Mapping[str, Any]] = {}
        for lang in LANGUAGES:
            main = directory / f"{lang}.toml"
            if not main.exists():
                raise FileNotFoundError(f"texts file missing: {main}")
            merged: dict[str, Any] = {}
            for path in [main, *sorted((directory / lang).glob("*.toml"))]:
                try:
                    flat = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
                except tomllib.TOMLDecodeError as exc:
                    raise ValueError(f"{path} is not valid TOML: {exc}") from exc
                clash = merged.keys() & flat.keys()
                if clash:
                    raise ValueError(f"{path} repeats text keys: {', '.join(sorted(clash))}")
                merged.update(flat)
            catalogues[lang] = merged
        return cls(catalogues)

    def get(self, key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
        """The text for `key` in `lang`, with `{name}` placeholders filled from `values`."""
        template = self.raw(key, lang)
        if not isinstance(template, str):
            raise KeyError(f"text {key!r} is not a single text")
        return template.format_map(_Defaults(values)) if values else template

    def raw(self, key: str, lang: str = DEFAULT_LANGUAGE) -> Any:
        for candidate in (lang, DEFAULT_LANGUAGE):
            catalogue = self._by_lang.get(candidate, {})
            if key in catalogue:
                return catalogue[key]
        raise KeyError(f"text {key!r} is missing from config/texts")

    def catalogues(self) -> Mapping[str, Mapping[str, Any]]:
        """Every language's texts, keys flattened ("consent.request")."""
        return self._by_lang

    def words(self, key: str) -> frozenset[str]:
        """A word list (e.g. `words.help`) merged over all languages, lower-cased."""
        known = self._words.get(key)
        if known is not None:
            return known
        merged: set[str] = set()
        for catalogue in self._by_lang.values():
            value = catalogue.get(key, [])
            if isinstance(value, list):
                merged.update(str(v).lower() for v in value)
        self._words[key] = frozenset(merged)
        return self._words[key]

    def word_keys(self) -> frozenset[str]:
        """The names of the word lists (`help` for `words.help`), over all languages."""
        return frozenset(key.removeprefix("words.") for catalogue in self._by_lang.values()
                         for key in catalogue if key.startswith("words."))

    def check(self) -> list[str]:
        """Keys present in one language and missing in another."""
        problems = []
        all_keys = set().union(*(cat.keys() for cat in self._by_lang.values()))
        for lang, catalogue in self._by_lang.items():
            problems += [f"{lang}: {key}" for key in sorted(all_keys - catalogue.keys())]
        return problems


class _Defaults(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(_flatten(value, full))
        else:
            flat[full] = value
    return flat
