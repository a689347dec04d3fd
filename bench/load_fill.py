"""Pre-fill a werkbot database with history, fast, for the load benchmark's flatness check.

After `werkbot db upgrade` the tables exist; this inserts, with one bulk statement per
table inside one transaction (SQLite: `executemany`; PostgreSQL: `COPY`), what a firm's
database holds after a while:

- customers (`persons` + `addresses`), half on WhatsApp, half on Telegram, every one with
  consent on their channel (three ledger rows, one per purpose, and an answered consent
  request), WhatsApp ones with the numbered menu choices remembered in `kv`;
- `messages` handled inbound messages (`inbox`, status `done`, payloads made by werkbot's
  own parsers and codec from realistic webhooks) and as many replies (`outbox`, the menu,
  `read`/`sent`), spread over the last 170 days (inside `retention.messages`, so the
  retention sweep has nothing to blank).

The first `active` customers of each channel are the senders the load generator uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from multidict import MultiDict

from tests.twilio.payloads import whatsapp
from werkbot.adapters.telegram.parse import parse_update
from werkbot.adapters.twilio.inbound import parse_message
from werkbot.bot.codec import dumps_event, dumps_reply
from werkbot.bot.replies import Choice, ChoicesReply
from werkbot.bot.texts import Texts
from werkbot.bot.tokens import Signer

REPO = Path(__file__).resolve().parents[1]
PURPOSES = ("requests", "photos", "emergency")
FIRST_NAMES = ("Erika", "Hans", "Jürgen", "Petra", "Stefan", "Sabine", "Thomas", "Ursula",
               "Michael", "Monika", "Andreas", "Gabriele", "Wolfgang", "Karin", "Klaus")
LAST_NAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
              "Becker", "Schulz", "Hoffmann", "Koch", "Bauer", "Richter", "Klein")
TEXTS = ("Hallo, die Heizung im Keller tropft seit gestern Abend. Können Sie vorbeikommen?",
         "Guten Tag, wann kommt der Monteur morgen ungefähr?",
         "Danke, passt so!", "Der Wasserhahn in der Küche ist undicht.",
         "Können Sie mir bitte das Angebot noch einmal schicken?")
TEMPLATE_SID = "SM" + "a" * 32
TEMPLATE_DIGITS = "4915199999999"
TEMPLATE_CHAT = 799999999
TEMPLATE_UPDATE = 199999999


def whatsapp_number(person: int) -> str:
    """The E.164 number of customer `person` (a possible German mobile number)."""
    return f"+49151{person:08d}"


def telegram_chat(person: int) -> int:
    return 700_000_000 + person


def channel_of(person: int) -> str:
    return "whatsapp" if person % 2 == 1 else "telegram"


def address_of(person: int) -> str:
    if channel_of(person) == "whatsapp":
        return f"whatsapp:{whatsapp_number(person)}"
    return f"telegram:{telegram_chat(person)}"


def active_senders(channel: str, count: int) -> list[int]:
    """The person ids the load generator writes as (the first `count` of the channel)."""
    first = 1 if channel == "whatsapp" else 2
    return [first + 2 * i for i in range(count)]


def persons_for(messages: int, active: int) -> int:
    """How many customers hold `messages` messages: about ten each, at least the senders."""
    return max(2 * active + 1000, messages // 10)


@dataclass
class Templates:
    whatsapp_in: list[str]
    telegram_in: list[str]
    menu_out: str
    menu_sha: str


def templates(texts_dir: Path) -> Templates:
    """Payload templates made by werkbot's own parsers and codec (ids replaced per row)."""
    now = datetime.now(UTC)
    wa, tg = [], []
    for text in TEXTS:
        form = whatsapp(text, sender="+" + TEMPLATE_DIGITS, message_sid=TEMPLATE_SID)
        wa.append(dumps_event(parse_message("whatsapp", MultiDict(form), now=now)))
        update = {"update_id": TEMPLATE_UPDATE, "message": {
            "message_id": 4242, "date": int(now.timestamp()), "text": text,
            "from": {"id": TEMPLATE_CHAT, "is_bot": False, "first_name": "Erika",
                     "last_name": "Müller", "language_code": "de"},
            "chat": {"id": TEMPLATE_CHAT, "type": "private", "first_name": "Erika",
                     "last_name": "Müller"}}}
        tg.append(dumps_event(parse_update(update, now).events[0]))
    texts = Texts.load(texts_dir)
    menu = ChoicesReply(kind="menu", text=texts.get("menu.text", business="Sanitär Maier GmbH"),
                        choices=(Choice(texts.get("menu.emergency"), "notfall"),
                                 Choice(texts.get("menu.export"), "auskunft"),
                                 Choice(texts.get("menu.help"), "hilfe")))
    shown = hashlib.sha256(b"consent request as shown, version 2026-11").hexdigest()
    return Templates(wa, tg, dumps_reply(menu), shown)


@dataclass
class Fill:
    """What to insert; `rows_*` generate the rows as tuples in the tables' column order."""

    messages: int
    active: int
    secret: str
    texts_dir: Path
    seed: int = 9

    def __post_init__(self) -> None:
        self.persons = persons_for(self.messages, self.active)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=170)
        self.tpl = templates(self.texts_dir)
        self.signer = Signer(self.secret)

    def _at(self, i: int, n: int) -> datetime:
        return self.start + (self.now - timedelta(days=1) - self.start) * (i / max(1, n))

    def rows_persons(self) -> Iterator[tuple[Any, ...]]:
        for p in range(1, self.persons + 1):
            name = f"{FIRST_NAMES[p % len(FIRST_NAMES)]} {LAST_NAMES[p % len(LAST_NAMES)]}"
            yield (p, "customer", None, name, "de", self._at(p, 3 * self.persons), None)

    def rows_addresses(self) -> Iterator[tuple[Any, ...]]:
        for p in range(1, self.persons + 1):
            seen = self._at(p, self.persons)
            window = seen + timedelta(hours=24) if channel_of(p) == "whatsapp" else None
            yield (p, p, address_of(p), channel_of(p), 0, window, None,
                   self._at(p, 3 * self.persons), seen)

    def rows_consent(self) -> Iterator[tuple[Any, ...]]:
        ident = 0
        for p in range(1, self.persons + 1):
            at = self._at(p, 3 * self.persons) + timedelta(minutes=1)
            subject = self.signer.pseudonym(f"person:{p}")
            for purpose in PURPOSES:
                ident += 1
                yield (ident, p, subject, channel_of(p), address_of(p), purpose, True,
                       "consent", "2026-11", self.tpl.menu_sha, "chat",
                       f"{channel_of(p)}:consent-{p}", "werkbot", at)

    def rows_asks(self) -> Iterator[tuple[Any, ...]]:
        for p in range(1, self.persons + 1):
            yield (p, channel_of(p), self._at(p, 3 * self.persons), "2026-11",
                   self.tpl.menu_sha, False)

    def rows_kv(self) -> Iterator[tuple[Any, ...]]:
        value = b'["notfall","auskunft","hilfe"]'
        for p in range(1, self.persons + 1, 2):  # WhatsApp: choices go as numbered text
            yield (f"choices:{address_of(p)}", value)


    def message_params(self) -> dict[str, Any]:
        """Parameters of the INSERT ... SELECT statements below (times in Unix seconds)."""
        first = self.start.timestamp()
        last = (self.now - timedelta(days=1)).timestamp()
        return {"n": self.messages, "persons": self.persons, "t0": int(first),
                "step": (last - first) / max(1, self.messages)}


# The message history is generated inside the database (an INSERT ... SELECT over a
# sequence), which is many times faster than sending a million rows from Python. The
# sender of message i is the pseudo-random customer (i * 2654435761 mod persons) + 1;
# payloads are the codec's templates with the ids replaced; times are spread evenly.
# Templates live in a temporary table `bench_tpl(k, wa, tg)`, k = i mod len(TEXTS).
_PERSON = "((i * 2654435761) % :persons) + 1"
SQLITE_INBOX = f"""
INSERT INTO inbox (id, dedup_key, kind, sender, payload, status, available_at, created_at,
                   handled_at, attempts, error)
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n),
rows AS (SELECT i, {_PERSON} AS p, CAST(:t0 + i * :step AS INTEGER) AS t FROM seq)
SELECT i,
  CASE WHEN p % 2 = 1 THEN 'whatsapp:SM' || printf('%032x', i)
       ELSE 'telegram:' || (100000000 + i) END,
  'TextEvent',
  CASE WHEN p % 2 = 1 THEN 'whatsapp:+49151' || printf('%08d', p)
       ELSE 'telegram:' || (700000000 + p) END,
  CASE WHEN p % 2 = 1
       THEN replace(replace(tpl.wa, '{TEMPLATE_SID}', 'SM' || printf('%032x', i)),
                    '{TEMPLATE_DIGITS}', '49151' || printf('%08d', p))
       ELSE replace(replace(tpl.tg, '{TEMPLATE_UPDATE}', CAST(100000000 + i AS TEXT)),
                    '{TEMPLATE_CHAT}', CAST(700000000 + p AS TEXT)) END,
  'done',
  strftime('%Y-%m-%d %H:%M:%S', t, 'unixepoch') || '.000000',
  strftime('%Y-%m-%d %H:%M:%S', t, 'unixepoch') || '.000000',
  strftime('%Y-%m-%d %H:%M:%S', t + 1, 'unixepoch') || '.000000',
  0, ''
FROM rows JOIN bench_tpl AS tpl ON tpl.k = rows.i % {len(TEXTS)}
"""  # noqa: S608 - constants only
SQLITE_OUTBOX = f"""
INSERT INTO outbox (id, address, person_id, kind, payload, status, attempts, next_attempt_at,
                    lease_until, provider_id, error_code, error, inbound_id, created_at,
                    updated_at, thread)
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n),
rows AS (SELECT i, {_PERSON} AS p, CAST(:t0 + i * :step AS INTEGER) + 1 AS t FROM seq)
SELECT i,
  CASE WHEN p % 2 = 1 THEN 'whatsapp:+49151' || printf('%08d', p)
       ELSE 'telegram:' || (700000000 + p) END,
  p, 'menu', :menu,
  CASE WHEN p % 2 = 1 THEN 'read' ELSE 'sent' END,
  1,
  strftime('%Y-%m-%d %H:%M:%S', t, 'unixepoch') || '.000000',
  NULL,
  CASE WHEN p % 2 = 1 THEN 'SM' || printf('%032x', i * 7919)
       ELSE (700000000 + p) || ':' || (10000 + i) END,
  '', '', i,
  strftime('%Y-%m-%d %H:%M:%S', t, 'unixepoch') || '.000000',
  strftime('%Y-%m-%d %H:%M:%S', t + 2, 'unixepoch') || '.000000',
  ''
FROM rows
"""  # noqa: S608 - constants only
_PG_PERSON = "((i::bigint * 2654435761) % $2) + 1"
POSTGRES_INBOX = f"""
INSERT INTO inbox (id, dedup_key, kind, sender, payload, status, available_at, created_at,
                   handled_at, attempts, error)
SELECT i,
  CASE WHEN p % 2 = 1 THEN 'whatsapp:SM' || lpad(to_hex(i), 32, '0')
       ELSE 'telegram:' || (100000000 + i) END,
  'TextEvent',
  CASE WHEN p % 2 = 1 THEN 'whatsapp:+49151' || lpad(p::text, 8, '0')
       ELSE 'telegram:' || (700000000 + p) END,
  CASE WHEN p % 2 = 1
       THEN replace(replace(tpl.wa, '{TEMPLATE_SID}', 'SM' || lpad(to_hex(i), 32, '0')),
                    '{TEMPLATE_DIGITS}', '49151' || lpad(p::text, 8, '0'))
       ELSE replace(replace(tpl.tg, '{TEMPLATE_UPDATE}', (100000000 + i)::text),
                    '{TEMPLATE_CHAT}', (700000000 + p)::text) END,
  'done', t, t, t + interval '1 second', 0, ''
FROM (SELECT i, {_PG_PERSON} AS p,
             to_timestamp(floor($3 + i * $4)) AS t FROM generate_series(1, $1) AS i) AS rows
JOIN bench_tpl AS tpl ON tpl.k = rows.i % {len(TEXTS)}
"""  # noqa: S608 - constants only
POSTGRES_OUTBOX = f"""
INSERT INTO outbox (id, address, person_id, kind, payload, status, attempts, next_attempt_at,
                    lease_until, provider_id, error_code, error, inbound_id, created_at,
                    updated_at, thread)
SELECT i,
  CASE WHEN p % 2 = 1 THEN 'whatsapp:+49151' || lpad(p::text, 8, '0')
       ELSE 'telegram:' || (700000000 + p) END,
  p, 'menu', $5,
  CASE WHEN p % 2 = 1 THEN 'read' ELSE 'sent' END,
  1, t, NULL,
  CASE WHEN p % 2 = 1 THEN 'SM' || lpad(to_hex(i::bigint * 7919), 32, '0')
       ELSE (700000000 + p) || ':' || (10000 + i) END,
  '', '', i, t, t + interval '1 second', ''
FROM (SELECT i, {_PG_PERSON} AS p,
             to_timestamp(floor($3 + i * $4) + 1) AS t
      FROM generate_series(1, $1) AS i) AS rows
"""  # noqa: S608 - constants only


TABLES: Sequence[tuple[str, str, tuple[str, ...]]] = (
    ("persons", "rows_persons",
     ("id", "kind", "staff_id", "display_name", "language", "created_at", "erased_at")),
    ("addresses", "rows_addresses",
     ("id", "person_id", "address", "channel", "position", "window_until", "unreachable_at",
      "created_at", "last_seen_at")),
    ("consent_ledger", "rows_consent",
     ("id", "person_id", "subject", "channel", "address", "purpose", "granted",
      "lawful_basis", "text_version", "text_sha256", "method", "evidence", "recorded_by",
      "at")),
    ("consent_asks", "rows_asks",
     ("person_id", "channel", "asked_at", "text_version", "text_sha256", "pending")),
    ("kv", "rows_kv", ("key", "value")),
)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLAlchemy's SQLite format: naive UTC, microseconds
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, bool):
        return int(value)
    return value


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fill_sqlite(path: Path, fill: Fill) -> dict[str, int]:
    """Insert everything in one transaction (the server is not running yet)."""
    conn = sqlite3.connect(path, isolation_level=None)
    counts: dict[str, int] = {}
    try:
        # A bulk load into a file nobody else has open: no journal (werkbot's connections
        # switch WAL back on), no syncs, a big cache; the history's indexes are dropped
        # and built again afterwards (sorting once beats a million random inserts).
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MB
        conn.execute("BEGIN IMMEDIATE")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('inbox', 'outbox')").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, method, columns in TABLES:
            sql = (f"INSERT INTO {table} ({', '.join(_quote(c) for c in columns)}) "  # noqa: S608
                   f"VALUES ({', '.join('?' for _ in columns)})")
            counts[table] = 0
            for chunk in _chunks(getattr(fill, method)(), 20_000):
                conn.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in chunk])
                counts[table] += len(chunk)
        conn.execute("CREATE TEMP TABLE bench_tpl (k INTEGER PRIMARY KEY, wa TEXT, tg TEXT)")
        conn.executemany("INSERT INTO bench_tpl VALUES (?, ?, ?)",
                         list(zip(range(len(TEXTS)), fill.tpl.whatsapp_in, fill.tpl.telegram_in,
                                  strict=True)))
        params = {**fill.message_params(), "menu": fill.tpl.menu_out}
        counts["inbox"] = conn.execute(SQLITE_INBOX, {
            k: v for k, v in params.items() if k != "menu"}).rowcount
        counts["outbox"] = conn.execute(SQLITE_OUTBOX, params).rowcount
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return counts


def _quote(column: str) -> str:
    return f'"{column}"' if column in {"key"} else column


async def fill_postgres(dsn: str, fill: Fill) -> dict[str, int]:
    """Three connections at once: the customers (COPY from here), the inbox history and,
    once the customers are committed (the outbox refers to them), the outbox history;
    then the id sequences move on and VACUUM ANALYZE runs, as autovacuum would soon."""
    import asyncpg  # type: ignore[import-untyped]

    counts: dict[str, int] = {}
    p = fill.message_params()

    async def customers() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                for table, method, columns in TABLES:
                    counts[table] = 0
                    for chunk in _chunks(getattr(fill, method)(), 50_000):
                        await conn.copy_records_to_table(table, records=chunk, columns=columns)
                        counts[table] += len(chunk)
        finally:
            await conn.close()

    async def history(table: str, after: asyncio.Task[None] | None) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            if after is not None:
                await after
            async with conn.transaction():
                # The indexes are dropped and built again after the load (sorting once
                # beats a million random index inserts); the schema ends up the same.
                indexes = await conn.fetch(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 "
                    "AND indexname NOT IN (SELECT conname FROM pg_constraint)", table)
                for index in indexes:
                    await conn.execute(f'DROP INDEX "{index["indexname"]}"')
                if table == "inbox":
                    await conn.execute("CREATE TEMP TABLE bench_tpl (k int PRIMARY KEY, "
                                       "wa text, tg text) ON COMMIT DROP")
                    await conn.executemany(
                        "INSERT INTO bench_tpl VALUES ($1, $2, $3)",
                        list(zip(range(len(TEXTS)), fill.tpl.whatsapp_in, fill.tpl.telegram_in,
                                 strict=True)))
                    status = await conn.execute(POSTGRES_INBOX, p["n"], p["persons"], p["t0"],
                                                p["step"])
                else:
                    status = await conn.execute(POSTGRES_OUTBOX, p["n"], p["persons"],
                                                p["t0"], p["step"], fill.tpl.menu_out)
                counts[table] = int(status.split()[-1])
                for index in indexes:
                    await conn.execute(index["indexdef"])
        finally:
            await conn.close()

    first = asyncio.create_task(customers())
    await asyncio.gather(first, history("inbox", None), history("outbox", first))
    conn = await asyncpg.connect(dsn)
    try:
        for table in ("persons", "addresses", "consent_ledger", "inbox", "outbox"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))")
        # What autovacuum does soon after a bulk load, done at once so that every run
        # starts from the same planner statistics and visibility map.
        for table in ("persons", "addresses", "consent_ledger", "consent_asks", "kv", "inbox",
                      "outbox"):
            await conn.execute(f"VACUUM ANALYZE {table}")
        # Write the load's dirty pages out now, not during the measurement that follows.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return counts


def fill_database(url: str, fill: Fill) -> tuple[dict[str, int], float]:
    """Fill the database at SQLAlchemy `url`; returns the row counts and the seconds taken."""
    began = time.perf_counter()
    if url.startswith("sqlite"):
        counts = fill_sqlite(Path(url.split(":///", 1)[1]), fill)
    else:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        counts = asyncio.run(fill_postgres(dsn, fill))
    return counts, time.perf_counter() - began
