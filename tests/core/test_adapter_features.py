"""Adapters' optional features are detected by type (`bot.adapter` protocols), and the
sandbox renders each channel exactly as the real adapter it imitates does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from werkbot.adapters import sandbox, telegram, twilio
from werkbot.bot.adapter import (
    Adapter,
    Describing,
    ProviderEraser,
    SentFinder,
    count_duplicates,
)
from werkbot.bot.events import Event
from werkbot.bot.settings import Settings
from werkbot.bot.testing import make_settings

TWILIO = {"account_sid": "AC" + "0" * 32, "auth_token": "0" * 32,
          "whatsapp_from": "whatsapp:+498912345678", "sms_from": "+498912345678"}
TOKEN = "123456789:" + "A" * 35


def _real(tmp_path: Path, *, mms: bool = False) -> dict[str, Adapter]:
    settings = make_settings(tmp_path, twilio={**TWILIO, "mms": mms},
                             telegram={"token": TOKEN, "webhook_secret": "s3cret"})
    return {a.name: a for a in [*twilio.build(settings), *telegram.build(settings)]}


def _sandbox(tmp_path: Path, *, mms: bool = False) -> dict[str, Adapter]:
    settings: Settings = make_settings(tmp_path, server={"sandbox": True},
                                       twilio={"mms": mms})
    return {a.name: a for a in sandbox.build(settings)}


@pytest.mark.parametrize("mms", [False, True])
def test_the_sandbox_renders_each_channel_as_its_real_adapter(tmp_path: Path,
                                                               mms: bool) -> None:
    real, simulated = _real(tmp_path, mms=mms), _sandbox(tmp_path, mms=mms)
    assert set(simulated) == set(real) == {"whatsapp", "sms", "telegram"}
    for channel, adapter in real.items():
        assert simulated[channel].capabilities == adapter.capabilities, channel


def test_optional_features_are_found_by_type(tmp_path: Path) -> None:
    real, simulated = _real(tmp_path), _sandbox(tmp_path)
    whatsapp, tg = real["whatsapp"], real["telegram"]
    assert isinstance(whatsapp, ProviderEraser) and isinstance(whatsapp, SentFinder)
    assert isinstance(whatsapp, Describing) and whatsapp.describe()
    assert isinstance(tg, ProviderEraser) and not isinstance(tg, SentFinder)
    for adapter in simulated.values():  # the sandbox keeps no provider copies
        assert not isinstance(adapter, ProviderEraser | SentFinder | Describing)


def test_dropped_redeliveries_are_counted_only_by_a_feed_that_counts() -> None:
    counted: list[tuple[str, int]] = []

    class CountingFeed:
        async def __call__(self, events: Sequence[Event]) -> None: ...

        def duplicates(self, channel: str, count: int) -> None:
            counted.append((channel, count))

    async def plain_feed(events: Sequence[Event]) -> None: ...

    count_duplicates(CountingFeed(), "telegram", 2)
    count_duplicates(plain_feed, "telegram")  # a test's plain function: nothing to tell
    count_duplicates(None, "telegram")
    count_duplicates(CountingFeed(), "sms", 0)
    assert counted == [("telegram", 2)]
