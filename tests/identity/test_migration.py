"""Migration 0010 links the persons that already wrote from one number on WhatsApp and
on SMS: one person afterwards, with every row that pointed at either of them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from werkbot.bot.storage.migrate import upgrade

NUMBER = "+491705550999"
AT = "2026-11-20 10:00:00.000000"


def test_issue20_migration_links_whatsapp_and_sms_persons_of_one_number(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    for before in ("0003", "0004", "0005", "0006", "0007", "0009"):
        upgrade(url, before)
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        for person, kind, name in ((1, "customer", ""), (2, "customer", "Erika Muster"),
                                   (3, "customer", ""), (4, "staff", "Karl")):
            conn.execute(text("INSERT INTO persons (id, kind, display_name, language, "
                              "created_at) VALUES (:id, :kind, :name, 'de', :at)"),
                         {"id": person, "kind": kind, "name": name, "at": AT})
        for person, address in ((1, f"whatsapp:{NUMBER}"), (2, f"sms:{NUMBER}"),
                                (3, "sms:+491705550111"), (4, "whatsapp:+491705550111")):
            conn.execute(text("INSERT INTO addresses (person_id, address, channel, position, "
                              "created_at) VALUES (:p, :a, :c, 0, :at)"),
                         {"p": person, "a": address, "c": address.partition(":")[0],
                          "at": AT})
        for person in (1, 2):
            conn.execute(text("INSERT INTO conversation_states (person_id, data, updated_at) "
                              "VALUES (:p, :d, :at)"), {"p": person, "d": f'{{"n": {person}}}',
                                                         "at": AT})
            conn.execute(text(
                "INSERT INTO consent_ledger (person_id, subject, channel, address, purpose, "
                "granted, lawful_basis, text_version, text_sha256, method, evidence, "
                "recorded_by, at) VALUES (:p, 's', :c, '', 'requests', 1, 'consent', 'v', "
                "'h', 'chat', '', 'werkbot', :at)"),
                {"p": person, "c": "whatsapp" if person == 1 else "sms", "at": AT})
    upgrade(url)
    with engine.connect() as conn:
        addresses = dict(conn.execute(text("SELECT address, person_id FROM addresses")).all())
        persons = dict(conn.execute(text("SELECT id, display_name FROM persons")).all())
        ledger = conn.execute(text("SELECT person_id, channel FROM consent_ledger "
                                   "ORDER BY channel")).all()
        states = conn.execute(text("SELECT person_id, data FROM conversation_states")).all()
        audit = conn.execute(text("SELECT action, subject FROM audit")).all()
    engine.dispose()
    assert addresses[f"whatsapp:{NUMBER}"] == addresses[f"sms:{NUMBER}"] == 1
    assert persons == {1: "Erika Muster", 3: "", 4: "Karl"}  # staff's number never links
    assert addresses["sms:+491705550111"] == 3
    assert [tuple(r) for r in ledger] == [(1, "sms"), (1, "whatsapp")]
    assert [tuple(r) for r in states] == [(1, '{"n": 1}')]  # the older person's state wins
    assert [tuple(r) for r in audit] == [("identity.merged", "person:1")]
