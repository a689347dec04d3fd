"""Staff from `[[staff]]` as persons of kind `staff` with their configured addresses.

Synchronised at start-up, so staff addresses are always known to werkbot and never get
a customer's consent request. The configuration wins: an address listed for a staff
member belongs to that staff member.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from werkbot.bot.addresses import Address
from werkbot.bot.services import Services
from werkbot.bot.settings import StaffSettings
from werkbot.bot.storage.models import AddressRow, Person

log = logging.getLogger(__name__)


def staff_addresses(staff: StaffSettings) -> list[Address]:
    """The addresses werkbot reaches a staff member on, in preference order."""
    found = []
    if staff.telegram:
        found.append(Address("telegram", str(staff.telegram)))
    if staff.whatsapp:
        found.append(Address.of("whatsapp", staff.whatsapp))
    if staff.sms:
        found.append(Address.of("sms", staff.sms))
    return found


async def sync_staff(services: Services) -> None:
    now = services.clock.now()
    async with services.db.session() as session:
        for staff in services.settings.staff:
            person = await session.scalar(select(Person).where(Person.staff_id == staff.id))
            if person is None:
                person = Person(kind="staff", staff_id=staff.id, created_at=now)
                session.add(person)
            person.display_name, person.language = staff.name, staff.language
            await session.flush()
            for position, address in enumerate(staff_addresses(staff)):
                row = await session.scalar(
                    select(AddressRow).where(AddressRow.address == str(address)))
                if row is None:
                    row = AddressRow(address=str(address), channel=address.channel,
                                     person_id=person.id, created_at=now)
                    session.add(row)
                elif row.person_id != person.id:
                    log.warning("address %s moved to staff %s", address.masked(), staff.id)
                row.person_id, row.position = person.id, position
