"""A person's rights in the browser: the consent ledger with its evidence, a data export
link, and erasure after an explicit confirmation step; and the audit log for admins.

Erasure runs the rights feature's `erase_person`, as `/erase` does in chat; the
confirmation page names what will be removed and asks for a second, deliberate click.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from werkbot.bot.storage.models import AuditRow
from werkbot.handlers.consent.ledger import ConsentEntry
from werkbot.handlers.office_web.guard import Call, office_page, see_other
from werkbot.handlers.office_web.listing import name_of, person_channels
from werkbot.handlers.office_web.threads import thread
from werkbot.handlers.rights import NotErasable, erase_person, export_link
from werkbot.handlers.staff_roles import OFFICE_ROLES

ADMIN = frozenset({"admin"})
AUDIT_LENGTH = 200


@office_page(roles=OFFICE_ROLES)
async def person_page(call: Call) -> web.StreamResponse:
    person = await call.customer()
    ledger = (await call.session.scalars(select(ConsentEntry).where(
        ConsentEntry.person_id == person.id).order_by(ConsentEntry.at, ConsentEntry.id))).all()
    await call.audit("ledger_view", subject=f"person:{person.id}")
    return call.page("person.html", person=person, ledger=ledger, export="",
                     name=name_of(person, await thread(call.session, person.id, limit=20)),
                     channels=await person_channels(call.session, person.id))


@office_page(roles=OFFICE_ROLES, form=True)
async def export(call: Call) -> web.StreamResponse:
    person = await call.customer()
    await call.audit("export", subject=f"person:{person.id}")
    ledger = (await call.session.scalars(select(ConsentEntry).where(
        ConsentEntry.person_id == person.id).order_by(ConsentEntry.at, ConsentEntry.id))).all()
    return call.page("person.html", person=person, ledger=ledger,
                     name=name_of(person, await thread(call.session, person.id, limit=20)),
                     channels=await person_channels(call.session, person.id),
                     export=export_link(call.services, person.id))


@office_page(roles=OFFICE_ROLES, form=True)
async def erase_ask(call: Call) -> web.StreamResponse:
    """The confirmation step: nothing is erased by this request."""
    person = await call.customer()
    return call.page("erase.html", person=person)


@office_page(roles=OFFICE_ROLES, form=True)
async def erase_confirmed(call: Call) -> web.StreamResponse:
    person = await call.customer()
    if call.form.get("confirm") != "yes":
        call.flash(call.t("erase_not_confirmed"))
        return call.page("erase.html", person=person, status=400)
    try:
        await erase_person(call.session, call.services, person.id, actor=call.viewer.actor)
    except NotErasable:
        raise web.HTTPNotFound(text="not found") from None
    await call.audit("erase", subject=f"person:{person.id}")
    call.flash(call.t("erased", person=person.id))
    return see_other("/office")


@office_page(roles=ADMIN)
async def audit_log(call: Call) -> web.StreamResponse:
    """The newest audit lines; filtered by who and by what (ids and words, no content)."""
    actor = call.request.query.get("actor", "").strip()[:100]
    action = call.request.query.get("action", "").strip()[:64]
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(AUDIT_LENGTH)
    if actor:
        query = query.where(AuditRow.actor.contains(actor))
    if action:
        query = query.where(AuditRow.action.contains(action))
    rows = (await call.session.scalars(query)).all()
    return call.page("audit.html", rows=rows, actor=actor, action=action)
