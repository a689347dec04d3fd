"""The consent gate on the way out: the `DeliveryPolicy` every `ctx.send` asks.

`allows`: staff and the office's own chats always (but a customer's data only for a
purpose that customer agreed to, see `kinds.STAFF_DATA_KINDS`); customers get exempt
kinds (`kinds.EXEMPT_KINDS`) always, everything else only with current consent for the
kind's purpose on that channel. Unreachable addresses get nothing.

`choose`: the first address in the person's preference order that is allowed, reachable,
on a channel that exists, and (WhatsApp) inside the 24-hour window or with a template
configured for the kind. `candidates` lists all of them, for fallbacks.
"""

from __future__ import annotations

from collections.abc import Collection

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.replies import Reply, TemplateReply
from werkbot.bot.services import DeliveryPolicy, Services
from werkbot.bot.storage.models import AddressRow
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.ledger import granted_in
from werkbot.handlers.consent.repo import ConsentRepo
from werkbot.handlers.staff_roles import is_office_address


class ConsentPolicy:
    """Delivery by consent: see the module docstring."""

    async def allows(self, ctx: Context, address: Address, reply: Reply) -> bool:
        if is_office_address(ctx.settings, address):
            return await self._staff_may_receive(ctx, reply)
        row = ctx.address_row if address == ctx.address else None  # loaded for this event
        if row is None:
            row = await ctx.repo(ConsentRepo).address_row(address)
        if row is None:
            return kinds.is_exempt(reply.kind)  # e.g. a consent link the office sends
        return await self._allows_row(ctx, row, reply)

    async def choose(self, ctx: Context, person_id: int, reply: Reply) -> Address | None:
        found = await self.candidates(ctx, person_id, reply)
        return found[0] if found else None

    async def candidates(self, ctx: Context, person_id: int, reply: Reply, *,
                         exclude: Collection[str] = ()) -> list[Address]:
        """Every address `reply` may go to, in the person's preference order."""
        found = []
        for row in await ctx.people.addresses(person_id):
            if row.address in exclude or row.channel not in ctx.services.channels:
                continue
            if not _window_ok(ctx, row, reply):
                continue
            if await self._allows_row(ctx, row, reply):
                found.append(Address.parse(row.address))
        return found

    async def _allows_row(self, ctx: Context, row: AddressRow, reply: Reply) -> bool:
        if row.unreachable_at is not None:
            return False
        repo = ctx.repo(ConsentRepo)
        person = await repo.person(row.person_id)
        if person is not None and person.kind == "staff":
            return await self._staff_may_receive(ctx, reply)
        if kinds.is_exempt(reply.kind):
            return True
        state = await repo.current(row.person_id)
        return granted_in(state, kinds.purpose_of(reply.kind), row.channel)

    async def _staff_may_receive(self, ctx: Context, reply: Reply) -> bool:
        """Staff get a customer's data only for a purpose that customer agreed to."""
        if reply.kind not in kinds.STAFF_DATA_KINDS:
            return True
        customer = ctx.person
        if customer is None or customer.kind == "staff":
            return True  # not about the sender: the caller checked `may_share`
        return await ctx.repo(ConsentRepo).may_share(customer.id, kinds.purpose_of(reply.kind))


def _window_ok(ctx: Context, row: AddressRow, reply: Reply) -> bool:
    caps = ctx.services.channels.get(row.channel)
    if caps is None or not caps.window_hours or isinstance(reply, TemplateReply):
        return True
    if row.window_until is not None and row.window_until > ctx.clock.now():
        return True
    return caps.templates and reply.kind in ctx.settings.twilio.templates


def build_policy(services: Services) -> DeliveryPolicy:
    """The factory `HandlerBundle.policy` takes."""
    del services
    return ConsentPolicy()
