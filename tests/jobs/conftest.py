"""Fixtures for the jobs tests: staff, a harness with the jobs router, customers, images."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from werkbot.bot.addresses import Address
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.router import Router
from werkbot.bot.services import Services
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import jobs, menu
from werkbot.handlers.commands import commands
from werkbot.handlers.consent.ledger import PHOTOS, REQUESTS, ConsentLedger
from werkbot.handlers.consent.policy import build_policy
from werkbot.handlers.jobs import router as jobs_router
from werkbot.handlers.jobs.models import Job
from werkbot.handlers.jobs.repo import JobsRepo

CHEF = Address("whatsapp", "+4917100000001")
KARL = Address("telegram", "122222222")
ANNA = Address("telegram", "133333333")
STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "karl", "name": "Karl Berger", "roles": ["fitter"], "telegram": 122222222},
    {"id": "anna", "name": "Anna Huber", "roles": ["office"], "telegram": 133333333},
]
WINDOW = timedelta(seconds=8)


def bundle() -> HandlerBundle:
    root = Router("root")
    root.include_router(commands.router)
    root.include_router(jobs_router)
    root.include_router(menu.router)
    root.include_router(menu.fallback)
    return HandlerBundle(router=root, policy=build_policy,  # the real consent gate
                         setup=register_jobs)


async def register_jobs(services: Services) -> None:
    jobs.register(services)  # the jobs' export, erasure and signing hooks


@pytest.fixture
def jobs_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
async def h(tmp_path: Path, jobs_settings: dict[str, Any]) -> AsyncIterator[Harness]:
    settings = make_settings(tmp_path, staff=STAFF, jobs=jobs_settings)
    async with Harness(settings, bundle()) as harness:
        yield harness


async def customer(h: Harness, address: Address, *, photos: bool = True) -> int:
    """A known customer with consent for requests (and job photos unless told otherwise)."""
    async with h.services.db.session() as session:
        from werkbot.bot.storage.repos import PeopleRepo

        person, _ = await PeopleRepo(session).create_customer(address, h.clock.now())
        purposes = [REQUESTS, PHOTOS] if photos else [REQUESTS]
        await ConsentLedger(session, h.services.signer).record(
            person_id=person.id, address=address, purposes=purposes, granted=True,
            text="Einwilligung", text_version="test", method="chat", evidence="test",
            recorded_by="test", now=h.clock.now())
        return person.id


async def job(h: Harness, title: str, *, customer_id: int | None = None,
              staff: tuple[str, ...] = ("karl",)) -> str:
    async with h.services.db.session() as session:
        made: Job = await JobsRepo(session).create_job(
            h.settings, title=title, now=h.clock.now(), customer_id=customer_id,
            staff_ids=staff)
        return made.code


def jpeg(color: tuple[int, int, int], *, gps: bool = False, size: tuple[int, int] = (80, 60),
         taken: str = "") -> bytes:
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 8.0, 30.0), 3: "E", 4: (11.0, 34.0, 12.0)}
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()
