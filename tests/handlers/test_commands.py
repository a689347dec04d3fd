"""Staff commands: roles, refusals, confirmation, and customers never reaching them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.storage.models import AuditRow
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import build_bundle
from werkbot.handlers.commands import ADMIN, UsageError, commands

BOSS = Address("whatsapp", "+4917100000001")
FITTER = Address("telegram", "122222222")
CUSTOMER = Address("whatsapp", "+491709999999")
STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "karl", "name": "Karl Berger", "roles": ["fitter"], "telegram": 122222222},
]
ran: list[tuple[str, ...]] = []


@commands.command("testwipe", roles=ADMIN, help_key="commands.help",
                  confirm=lambda args: True)
async def _testwipe(args: tuple[str, ...], ctx: Context) -> None:
    if not args:
        raise UsageError("missing", what="ein Ziel")
    ran.append(args)
    await ctx.reply("wiped")


@pytest.fixture
async def h(tmp_path: Path) -> Harness:
    settings = make_settings(tmp_path, staff=STAFF)
    async with Harness(settings, build_bundle(settings)) as harness:
        ran.clear()
        yield harness  # type: ignore[misc]


async def test_staff_help_lists_commands_for_their_role(h: Harness) -> None:
    got = await h.say(BOSS, "/hilfe")
    assert "Befehle für Mitarbeiter" in got[0].text


async def test_customer_typing_a_command_gets_the_menu(h: Harness) -> None:
    got = await h.say(CUSTOMER, "/testwipe all")
    assert ran == []
    assert "Befehle" not in got[0].text


async def test_refusal_is_answered_and_audited(h: Harness) -> None:
    got = await h.say(FITTER, "/testwipe all")
    assert "Berechtigung" in got[0].text
    assert ran == []
    async with h.services.db.session() as session:
        audit = (await session.scalars(select(AuditRow))).all()
    assert [(a.actor, a.action) for a in audit] == [("staff:karl", "refused:testwipe")]


async def test_destructive_command_runs_only_after_yes(h: Harness) -> None:
    got = await h.say(BOSS, "testwipe everything")
    assert "bestätigen" in got[0].text
    assert ran == []
    got = await h.say(BOSS, "ja")
    assert ran == [("everything",)]
    assert got[-1].text == "wiped"


async def test_no_cancels_a_destructive_command(h: Harness) -> None:
    await h.say(BOSS, "/testwipe everything")
    got = await h.say(BOSS, "nein")
    assert "Abgebrochen" in got[0].text
    assert ran == []


async def test_bad_arguments_say_what_was_wrong(h: Harness) -> None:
    await h.say(BOSS, "/testwipe")
    got = await h.say(BOSS, "ja")
    assert "Es fehlt eine Angabe: ein Ziel." in got[0].text
