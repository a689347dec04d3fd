"""The on-call rota: weekly hand-over, round and round, and unknown ids stop start-up."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.emergency.conftest import ONCALL, STAFF, local
from werkbot.bot.settings import SettingsError
from werkbot.bot.testing import make_settings
from werkbot.handlers.emergency.rota import Cover, Rota

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def rota(tmp_path: Path) -> Rota:
    return Rota(make_settings(tmp_path, staff=STAFF, oncall=ONCALL))


def test_hand_over_at_the_boundary(rota: Rota) -> None:
    assert rota.on_call(local(2026, 11, 30, 7, 0)) == "ludwig"  # the first hand-over
    assert rota.on_call(local(2026, 12, 7, 6, 59)) == "ludwig"
    assert rota.on_call(local(2026, 12, 7, 7, 0)) == "karl"
    assert rota.on_call(local(2026, 12, 14, 6, 59)) == "karl"
    assert rota.on_call(local(2026, 12, 14, 7, 0)) == "ludwig"  # round and round
    assert rota.on_call(local(2027, 3, 29, 6, 59)) == "ludwig"  # DST began the day before
    assert rota.on_call(local(2027, 3, 29, 7, 0)) == "karl"


def test_period_and_next_change(rota: Rota) -> None:
    period = rota.period(local(2026, 12, 5, 2, 0))
    assert (period.staff_id, period.starts_at, period.ends_at) == (
        "ludwig", local(2026, 11, 30, 7, 0), local(2026, 12, 7, 7, 0))
    assert rota.next_change(local(2026, 12, 5, 2, 0)) == local(2026, 12, 7, 7, 0)


def test_the_newest_override_wins(rota: Rota) -> None:
    at = local(2026, 12, 5, 2, 0)
    covered = Rota.__new__(Rota)
    covered.__dict__.update(rota.__dict__)
    covered.covers = (Cover(1, "karl", at, at + timedelta(hours=5)),
                      Cover(2, "chef", at, at + timedelta(hours=1)))
    assert covered.on_call(at) == "chef"
    assert covered.on_call(at + timedelta(hours=2)) == "karl"
    assert covered.on_call(at + timedelta(hours=6)) == "ludwig"


def test_an_empty_rota_has_nobody(tmp_path: Path) -> None:
    empty = Rota(make_settings(tmp_path, staff=STAFF, oncall={**ONCALL, "rotation": []}))
    assert empty.on_call(local(2026, 12, 5, 2, 0)) is None


@pytest.mark.parametrize("key", ["rotation", "escalation"])
def test_unknown_staff_id_names_the_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings(tmp_path, staff=STAFF, oncall={**ONCALL, key: ["ludwig", "sepp"]})
    assert caught.value.key == f"oncall.{key}"
    assert "sepp" in str(caught.value)


def test_werkbot_check_stops_on_an_unknown_rota_id(tmp_path: Path) -> None:
    config = tmp_path / "werkbot.toml"
    config.write_text(
        '[oncall]\nrotation = ["ludwig", "sepp"]\n\n'
        '[[staff]]\nid = "ludwig"\nname = "Ludwig"\nroles = ["fitter"]\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "werkbot", "check", "--config", str(config)],
                          capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 1
    assert "oncall.rotation" in done.stderr and "sepp" in done.stderr
