"""Issue 23: the office web app's pages and forms on SQLite and on PostgreSQL.

Over plain HTTP (no browser): sign in with a `/web` link, the conversation list, the
thread, an answer that reaches the customer's channel, the live stream's first event,
and every other page, on each database werkbot supports.
"""

from __future__ import annotations

import re
from pathlib import Path

from werkbot.bot.addresses import Address
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import build_bundle
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger

STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "sms": "+4917100000001"},
    {"id": "ludwig", "name": "Ludwig Maier", "roles": ["fitter"], "telegram": 111},
]
CUSTOMER = Address("whatsapp", "+491705550001")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def test_pages_and_answering_on_each_database(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path, database={"url": db_url}, staff=STAFF,
                             business={"hours": {d: ["00:00-24:00"] for d in
                                                 ("mon", "tue", "wed", "thu", "fri",
                                                  "sat", "sun")}})
    async with Harness(settings, build_bundle(settings)) as h:
        assert h.client is not None
        async with h.services.db.session() as session:
            person, _ = await PeopleRepo(session).create_customer(CUSTOMER, h.clock.now())
            await ConsentLedger(session, h.services.signer).record(
                person_id=person.id, address=CUSTOMER, purposes=PURPOSES, granted=True,
                text="Einwilligung", text_version="test", method="chat", evidence="test",
                recorded_by="customer", now=h.clock.now())
            person_id = person.id
        await h.say(CUSTOMER, "Das Waschbecken ist verstopft.")
        (link,) = await h.say(Address("sms", "+4917100000001"), "/web")
        path = re.search(r"https://bot\.example\.de(/office/login/\S+)", link.text)
        assert path is not None
        signed_in = await h.client.get(path.group(1))
        assert signed_in.status == 200
        listing = await signed_in.text()
        assert "Das Waschbecken ist verstopft." in listing

        thread = await h.client.get(f"/office/c/{person_id}")
        page = await thread.text()
        assert thread.status == 200 and "verstopft" in page
        csrf = CSRF.search(page)
        assert csrf is not None
        sent = await h.client.post(f"/office/c/{person_id}/reply",
                                   data={"csrf": csrf.group(1), "text": "Wir kommen heute."})
        assert sent.status == 200
        await h.run()
        assert [s.text for s in h.adapter("whatsapp").to(CUSTOMER)][-1] == "Wir kommen heute."

        for path_ in ("/office/incidents", "/office/jobs", "/office/rota", "/office/stats",
                      "/office/stats.csv", f"/office/p/{person_id}", "/office/audit"):
            resp = await h.client.get(path_)
            assert resp.status == 200, path_
        live = await h.client.get("/office/live")
        first = await live.content.readuntil(b"\n\n")
        assert first.startswith(b"event: change") and b'"forward"' in first
        live.close()
