"""The default delivery policy: anything to any reachable address.

The consent handlers replace it with the consent gate; the core only needs something
that answers the two questions a `DeliveryPolicy` asks.
"""

from __future__ import annotations

from sqlalchemy import select

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.replies import Reply
from werkbot.bot.storage.models import AddressRow


class ReachablePolicy:
    """Allows every reachable address; picks a person's first reachable one."""

    async def allows(self, ctx: Context, address: Address, reply: Reply) -> bool:
        if ctx.address_row is not None and address == ctx.address:
            return ctx.address_row.unreachable_at is None
        unreachable = await ctx.tx.scalar(
            select(AddressRow.unreachable_at).where(AddressRow.address == str(address))
        )
        return unreachable is None

    async def choose(self, ctx: Context, person_id: int, reply: Reply) -> Address | None:
        for row in await ctx.people.addresses(person_id):
            if row.unreachable_at is None and row.channel in ctx.services.channels:
                return Address.parse(row.address)
        return None
