"""`mentions_any` (emergency words, danger words) with one pattern per word list.

Pinned against the plain definition: some phrase occurs in the text as whole words,
case-insensitively, after punctuation is dropped.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from werkbot.handlers.filters import mentions_any

_WORD = re.compile(r"[\wäöüß]+", re.IGNORECASE)
WORDS = ["wasser", "rohrbruch", "kein", "strom", "gas", "gasgeruch", "notfall", "brennt",
         "überschwemmung", "fire", "no heat", "kein strom", "rohr"]


def plain(text: str, phrases: frozenset[str]) -> bool:
    lowered = " ".join(_WORD.findall(text.lower()))
    return any(re.search(rf"\b{re.escape(p)}\b", lowered) for p in phrases)


def test_whole_words_only_and_any_case() -> None:
    phrases = frozenset({"rohrbruch", "kein strom", "gas"})
    assert mentions_any("Wir haben einen ROHRBRUCH!", phrases)
    assert mentions_any("kein   Strom, seit heute", phrases)
    assert not mentions_any("Gasthaus Rohrbruchweg", phrases)
    assert not mentions_any("anything", frozenset())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=8).map(" ".join),
       st.frozensets(st.sampled_from(WORDS) | st.text(min_size=1, max_size=5), max_size=6))
def test_one_pattern_agrees_with_one_search_per_phrase(text: str,
                                                      phrases: frozenset[str]) -> None:
    assert mentions_any(text, phrases) == plain(text, phrases)
