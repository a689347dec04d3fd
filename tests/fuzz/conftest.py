"""Shared pieces of the fuzz tests: example counts from the environment and strategies.

Every test here is marked `fuzz`. `WERKBOT_FUZZ_EXAMPLES` sets the examples per parser
property (200 by default, what plain `make test` runs; `make fuzz` sets 100000). The
webhook properties post through a whole app and default to 50 examples; they follow
`WERKBOT_FUZZ_WEBHOOK_EXAMPLES` if set, else `WERKBOT_FUZZ_EXAMPLES` if set.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "telegram-updates.json"

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture]


def _count(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return int(value)
    return default


PARSER_EXAMPLES = _count("WERKBOT_FUZZ_EXAMPLES", default=200)
WEBHOOK_EXAMPLES = _count("WERKBOT_FUZZ_WEBHOOK_EXAMPLES", "WERKBOT_FUZZ_EXAMPLES", default=50)

parser_settings = settings(max_examples=PARSER_EXAMPLES, deadline=None, database=None,
                           suppress_health_check=_HEALTH)
webhook_settings = settings(max_examples=WEBHOOK_EXAMPLES, deadline=None, database=None,
                            suppress_health_check=_HEALTH)

# -- text -------------------------------------------------------------------------------

# Any str, lone surrogates included (what a MultiDict or a Python caller may hold).
any_text = st.text()
# What can travel in an HTTP body: no lone surrogates (they cannot be UTF-8 encoded).
wire_text = st.text(st.characters(codec="utf-8"))

_TRICKY = ["", " ", "0", "1", "-1", "10", "11", "+0", "²", "٣", "１", "0" * 5000, "1e400",
           "nan", "inf", "-inf", "1_0", "0x10", " 1 ", "\x00", "\u2028", "/", "@", "whatsapp:",
           "whatsapp:+491701234567", "+491701234567", "491701234567", "0170 1234567",
           "WHATSAPP:+4915112345678", "text", "image", "location", "button", "interactive",
           "sticker", "delivered", "read", "failed", "21610", "63016", "image/jpeg",
           "audio/ogg", "/help", "/start job_42", '"unbalanced', "90", "-90.0", "180.0001"]


def field_values(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly tricky or realistic values, sometimes anything at all."""
    return st.one_of(st.sampled_from(_TRICKY), alphabet,
                     st.integers().map(str), st.floats().map(str))


# -- Twilio forms -------------------------------------------------------------------------

TWILIO_KEYS = ("MessageSid", "SmsMessageSid", "SmsSid", "From", "To", "Body", "NumMedia",
               *(f"MediaUrl{i}" for i in range(12)),
               *(f"MediaContentType{i}" for i in range(12)),
               "MessageType", "Latitude", "Longitude", "Label", "Address", "ButtonPayload",
               "ButtonText", "ListId", "ListTitle", "WaId", "ProfileName",
               "OriginalRepliedMessageSid", "MessageStatus", "SmsStatus", "ErrorCode",
               "ErrorMessage", "AccountSid", "ApiVersion", "NumSegments", "ChannelMetadata")


def twilio_pairs(alphabet: st.SearchStrategy[str] = any_text
                 ) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Form fields as (key, value) pairs: realistic keys with odd values, plus any keys,
    duplicates allowed, in any order."""
    value = field_values(alphabet)
    known = st.lists(st.tuples(st.sampled_from(TWILIO_KEYS), value), max_size=20)
    other = st.lists(st.tuples(alphabet, value), max_size=4)
    # A usual base (sid, sender, recipient) so parsing gets past the first checks often.
    base = st.fixed_dictionaries({}, optional={
        "MessageSid": st.one_of(st.just("SM" + "a" * 32), value),
        "From": st.one_of(st.sampled_from(["whatsapp:+491701234567", "+491701234567"]), value),
        "To": st.one_of(st.sampled_from(["whatsapp:+491701234567", "+498912345679"]), value),
        "MessageStatus": st.one_of(st.sampled_from(["sent", "delivered", "read"]), value),
        "NumMedia": st.one_of(st.sampled_from(["0", "1", "2", "²", "٢", "0" * 5000]), value),
    }).map(lambda d: list(d.items()))
    return st.tuples(base, known, other).flatmap(
        lambda parts: st.permutations(parts[0] + parts[1] + parts[2]))


# -- Telegram updates ---------------------------------------------------------------------

def load_fixture_updates() -> list[dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return list(data.values())


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                         st.floats(allow_nan=False, allow_infinity=False), wire_text,
                         st.sampled_from(["", "kicked", "left", "member", "wb:yes", "/start",
                                          "/help@fitter_test_bot", "/help@other_bot", "12.5"]))
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(wire_text, inner, max_size=4)),
    max_leaves=12)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            out.extend(_paths(child, (*prefix, key)))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out.extend(_paths(child, (*prefix, i)))
    return out


@st.composite
def mutated_update(draw: st.DrawFn) -> dict[str, Any]:
    """A recorded update with a few values replaced, keys removed or added."""
    update: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(load_fixture_updates())))
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(update)[1:]  # the root itself stays a dict
        if not paths:
            update[draw(st.sampled_from(_TELEGRAM_KEYS))] = draw(json_values)
            continue
        path = draw(st.sampled_from(paths))
        *parent_path, last = path
        parent: Any = update
        for step in parent_path:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if op == "replace" or (op == "delete" and isinstance(parent, list)):
            parent[last] = draw(json_values)
        elif op == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.one_of(st.sampled_from(_TELEGRAM_KEYS), wire_text))] = draw(
                json_values)
        else:
            parent.append(draw(json_values))
    return update


_TELEGRAM_KEYS = ["update_id", "message", "callback_query", "my_chat_member", "chat", "id",
                  "from", "from_user", "text", "photo", "file_id", "voice", "audio", "video",
                  "video_note", "animation", "document", "sticker", "location", "latitude",
                  "longitude", "venue", "contact", "phone_number", "user_id", "data",
                  "reply_markup", "inline_keyboard", "reply_to_message", "message_id",
                  "message_thread_id", "new_chat_member", "status", "media_group_id",
                  "caption", "mime_type", "file_size", "first_name", "last_name"]


@st.composite
def random_update(draw: st.DrawFn) -> dict[str, Any]:
    """An update-shaped dict with random content under a known or unknown kind."""
    update: dict[str, Any] = {}
    if draw(st.booleans()):
        update["update_id"] = draw(st.one_of(st.integers(), json_scalars))
    kind = draw(st.one_of(st.sampled_from(["message", "callback_query", "my_chat_member",
                                           "edited_message"]), wire_text))
    update[kind] = draw(st.one_of(
        json_values,
        st.dictionaries(st.sampled_from(_TELEGRAM_KEYS), json_values, max_size=6)))
    return update


telegram_updates = st.one_of(mutated_update(), random_update(), st.dictionaries(
    st.one_of(st.sampled_from(_TELEGRAM_KEYS), wire_text), json_values, max_size=4))
