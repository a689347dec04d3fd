"""Issue 21: every text in `config/texts` is checked. Both languages have the same keys
and the same `{placeholders}`; German texts hold no English words and English texts no
German ones; every placeholder can be filled (no `{x}` survives formatting); and every
text fits SMS's GSM-7 alphabet once the core's SMS step has fitted it, in few segments.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from werkbot.bot.capabilities import Capabilities, degrade
from werkbot.bot.gsm7 import is_gsm7, segments
from werkbot.bot.replies import TextReply, text_of
from werkbot.bot.texts import Texts

REPO = Path(__file__).resolve().parents[2]
TEXTS = Texts.load(REPO / "config" / "texts")
CATALOGUES: Mapping[str, Mapping[str, Any]] = TEXTS.catalogues()
SMS = Capabilities(max_text=1600, gsm7=True)

# Words that give an untranslated fragment away: English in a German text, German in an
# English one. Commands (`/oncall`), placeholders and upper-case keywords customers type
# (NOTFALL, STOP) are allowed in either language and stripped before the check.
ENGLISH = {"new", "stage", "today", "week", "month", "list", "show", "close", "assign",
           "report", "send", "sign", "swap", "clear", "until", "incidents", "reply", "open",
           "closed", "job", "jobs", "staff", "customer", "done", "none", "yes", "no", "the",
           "and", "or", "to", "of", "from", "by", "not", "please", "your", "you", "is",
           "are", "with", "for", "refused", "unknown", "missing", "error", "kind", "request"}
GERMAN = {"und", "oder", "nicht", "bitte", "der", "die", "das", "mit", "für", "ist", "sie",
          "wir", "auftrag", "kunde", "heute", "woche", "monat", "bis", "neu", "zeige",
          "liste", "tausch", "einsatz", "geschlossen", "offen", "ja", "nein", "vorgang"}
FOREIGN = {"de": ENGLISH, "en": GERMAN}
# Texts that only a page or a PDF shows (never a chat): not SMS-bound.
NOT_SMS = ("rights.page.", "rights.pages.", "rights.receipt.", "rights.report.",
           "rights.consent_page.", "jobs.report.title", "jobs.sign.pdf_title",
           "jobs.sign.page_text", "jobs.sign.signed_line")
_COMMAND = re.compile(r"/[\wäöüß]+|\{[^}]*\}|<[^>]*>|\b[A-ZÄÖÜ]{2,}\b|https?://\S+|\[[^\]]*\]")


def texts_of(lang: str) -> dict[str, str]:
    return {k: v for k, v in CATALOGUES[lang].items() if isinstance(v, str)}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys() -> None:
    assert TEXTS.check() == []


# Dates are written the local way: "Freitag, 28.05." needs the month's number,
# "Friday, 28 May" its name. The code passes both; each language picks one.
DATE_STYLES = {"month", "month_name"}


@pytest.mark.parametrize("key", sorted(texts_of("de")))
def test_both_languages_fill_the_same_placeholders(key: str) -> None:
    german, english = placeholders(texts_of("de")[key]), placeholders(texts_of("en")[key])
    assert german - DATE_STYLES == english - DATE_STYLES, key


@pytest.mark.parametrize("lang", ["de", "en"])
def test_no_text_holds_words_of_the_other_language(lang: str) -> None:
    found = []
    for key, text in texts_of(lang).items():
        words = set(re.findall(r"[a-zäöüß]+", _COMMAND.sub(" ", text).lower()))
        if words & FOREIGN[lang]:
            found.append(f"{key}: {sorted(words & FOREIGN[lang])}")
    assert found == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_placeholder_is_filled_when_formatted(lang: str) -> None:
    for key, text in texts_of(lang).items():
        values = dict.fromkeys(placeholders(text), 7)  # numbers fit `{day:02}` as well
        filled = TEXTS.get(key, lang, **values) if values else text
        assert not re.search(r"\{\w*\}", filled), f"{lang} {key}: {filled!r}"


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_sms_bound_text_goes_as_gsm7_in_few_segments(lang: str) -> None:
    counted = {}
    for key, text in texts_of(lang).items():
        if key.startswith(NOT_SMS):
            continue
        values = dict.fromkeys(placeholders(text), 1234567)  # numbers fit `{day:02d}` too
        filled = text.format(**values) if values else text
        parts = [text_of(p) for p in degrade(TextReply(text=filled), SMS)]
        assert all(is_gsm7(p) for p in parts), key
        counted[key] = sum(segments(p) for p in parts)
    assert counted["menu.text"] <= 2
    assert counted["emergency.away.text"] <= 3  # five in UCS-2 before (issue 21)
    assert counted["emergency.safety.gas"] <= 2
    # The longest, the consent request, must name purposes, recipients, retention and
    # rights (Art. 13): five segments; every other text takes at most three.
    assert counted["consent.request"] <= 5
    assert [k for k, n in counted.items() if n > 3] == ["consent.request"]
