"""Shared helpers: find a person, dump every table as text, make a signature PNG."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from PIL import Image, ImageDraw
from sqlalchemy import text

from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import Person
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import Harness


async def person_of(h: Harness, address: Address) -> Person:
    async with h.services.db.session() as session:
        found = await PeopleRepo(session).by_address(address)
    assert found is not None
    return found[0]


async def dump_all_rows(h: Harness) -> str:
    """Every row of every table, as one text (what a person searching the DB would see)."""
    parts: list[str] = []
    async with h.services.db.engine.connect() as conn:
        tables = (await conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='table'")).scalars().all()
        for table in tables:
            query = f'SELECT * FROM "{table}"'  # noqa: S608 - names from sqlite_master
            for row in (await conn.exec_driver_sql(query)).all():
                parts.append(f"{table}: " + " | ".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in row))
    return "\n".join(parts)


async def count(h: Harness, sql: str) -> int:
    async with h.services.db.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


def path_of(url: str) -> str:
    """The path of a public link, to fetch it from the in-process test server."""
    return urlsplit(url).path


def signature_png(width: int = 400, height: int = 150, *, ink: bool = True) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(image).line([(20, 100), (120, 30), (220, 110), (380, 40)],
                                   fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
