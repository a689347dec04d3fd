"""Staff confidentiality commitments, recorded in the ledger like a consent.

At start-up every `[[staff]]` member gets one ledger row per purpose with method
`staff-commitment`, lawful basis Art. 28(3)(b)/Art. 29 GDPR and the hash of the
commitment text in their language, once per text version (`consent.text_version`).
Which customer data then reaches them is the policy's business (`kinds.STAFF_DATA_KINDS`).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from werkbot.bot.services import Services
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.handlers.consent.ledger import ALL_CHANNELS, PURPOSES, ConsentEntry, ConsentLedger

log = logging.getLogger(__name__)

METHOD = "staff-commitment"
LAWFUL_BASIS = "Art. 28(3)(b)/Art. 29 GDPR"


async def record_commitments(services: Services) -> int:
    """Record each staff member's commitment unless this text version is on record."""
    settings, now = services.settings, services.clock.now()
    version = settings.consent.text_version
    recorded = 0
    async with services.db.session() as session:
        ledger = ConsentLedger(session, services.signer)
        for staff in settings.staff:
            member = await PeopleRepo(session).by_staff_id(staff.id)
            if member is None:
                continue
            known = await session.scalar(select(ConsentEntry.id).where(
                ConsentEntry.person_id == member.id, ConsentEntry.method == METHOD,
                ConsentEntry.text_version == version).limit(1))
            if known is not None:
                continue
            text = services.texts.get("consent.staff_commitment", staff.language,
                                      business=settings.business.name)
            await ledger.record(
                person_id=member.id, address=None, channel=ALL_CHANNELS, purposes=PURPOSES,
                granted=True, text=text, text_version=version, method=METHOD,
                evidence=f"config:staff:{staff.id}", recorded_by="setup", now=now,
                lawful_basis=LAWFUL_BASIS)
            recorded += 1
    if recorded:
        log.info("recorded %d staff confidentiality commitment(s)", recorded)
    return recorded
