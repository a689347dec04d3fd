"""Configuration: a bad value stops `werkbot check` with exit 1 and one line naming the key;
environment overrides (`WERKBOT_<SECTION>__<KEY>`) apply; the shipped configs and texts
are valid. The CLI runs as a subprocess, exactly as an operator runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from werkbot.bot.settings import SettingsError, load_settings
from werkbot.bot.texts import Texts

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "werkbot.toml"


def werkbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `werkbot` console script (next to this interpreter) from the repo root."""
    script = Path(sys.executable).with_name("werkbot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "werkbot.bot.cli"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WERKBOT_")}
    return subprocess.run([*command, *args], cwd=REPO, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60, check=False)


def config_with(tmp_path: Path, *replacements: tuple[str, str], extra: str = "") -> Path:
    """The shipped example config with text replaced (each must occur) and lines added."""
    body = SHIPPED.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in body, old
        body = body.replace(old, new, 1)
    path = tmp_path / "werkbot.toml"
    path.write_text(body + extra, encoding="utf-8")
    return path


def assert_refused(result: subprocess.CompletedProcess[str], key: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert key in lines[0], lines[0]
    assert "configuration ok" not in result.stdout


@pytest.mark.parametrize(("replacement", "key"), [
    (("port = 8080", "port = 70000"), "server.port"),
    (("port = 8080", 'port = "http"'), "server.port"),
    (("[server]\n", "[server]\nprot = 8081\n"), "server.prot"),
    (('timezone = "Europe/Berlin"', 'timezone = "Europe/Atlantis"'), "business.timezone"),
    (('tue = ["07:30-16:30"]', 'tue = ["16:30-07:30"]'), "business.hours.tue"),
    (('tue = ["07:30-16:30"]', 'tue = ["7:30 bis 16:30"]'), "business.hours.tue"),
    (('rotation = ["ludwig", "karl"]', 'rotation = ["ludwig", "sepp"]'), "oncall.rotation"),
    (('escalation = ["chef"]', 'escalation = ["nobody"]'), "oncall.escalation"),
    (('ack_timeout = "3m"', 'ack_timeout = "ten minutes"'), "oncall.ack_timeout"),
    (('url = "sqlite+aiosqlite:///var/werkbot.db"', 'url = "mysql://x"'), "database.url"),
    (('holidays = "DE-BY"', 'holidays = "XX-YY"'), "business.holidays"),
    (('roles = ["fitter"]', 'roles = ["boss"]'), "staff[2].roles"),
])
def test_a_bad_value_exits_1_naming_the_key(tmp_path: Path, replacement: tuple[str, str],
                                             key: str) -> None:
    assert_refused(werkbot("check", "--config", str(config_with(tmp_path, replacement))), key)


def test_an_unknown_section_is_refused(tmp_path: Path) -> None:
    path = config_with(tmp_path, extra='\n[twillio]\nauth_token = "x"\n')
    assert_refused(werkbot("check", "--config", str(path)), "twillio")


def test_a_bad_environment_override_exits_1_naming_the_key(tmp_path: Path) -> None:
    result = werkbot("check", "--config", str(SHIPPED), env={"WERKBOT_SERVER__PORT": "abc"})
    assert_refused(result, "server.port")


def test_a_channel_without_credentials_is_refused_naming_both_keys(tmp_path: Path) -> None:
    result = werkbot("check", "--config", str(SHIPPED),
                     env={"WERKBOT_TWILIO__SMS_FROM": "+498912345678"})
    assert result.returncode == 1, result.stdout
    assert result.stderr.splitlines() == [
        "werkbot: config error: twilio.account_sid: required when WhatsApp or SMS is on",
        "werkbot: config error: twilio.auth_token: required when WhatsApp or SMS is on"]


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    assert_refused(werkbot("check", "--config", str(tmp_path / "nope.toml")), "config")


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[server\nport = 1\n", encoding="utf-8")
    assert_refused(werkbot("check", "--config", str(path)), "config")


def test_werkbot_config_variable_chooses_the_file(tmp_path: Path) -> None:
    bad = config_with(tmp_path, ("port = 8080", "port = 0"))
    assert_refused(werkbot("check", env={"WERKBOT_CONFIG": str(bad)}), "server.port")


@pytest.mark.parametrize("name", ["werkbot.toml", "demo.toml"])
def test_the_shipped_configs_pass_check(name: str) -> None:
    result = werkbot("check", "--config", f"config/{name}")
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout
    assert ": http://127.0.0.1:8080/sandbox" in result.stdout


def test_environment_overrides_reach_the_running_check() -> None:
    result = werkbot("check", "--config", str(SHIPPED),
                     env={"WERKBOT_SERVER__PUBLIC_URL": "https://bot.example.de"})
    assert result.returncode == 0, result.stderr
    assert ": https://bot.example.de/sandbox" in result.stdout


def test_environment_overrides_apply_with_types_and_nesting() -> None:
    env = {
        "WERKBOT_TWILIO__AUTH_TOKEN": "from-the-environment",
        "WERKBOT_TWILIO__ACCOUNT_SID": "AC" + "0" * 32,
        "WERKBOT_TWILIO__SMS_FROM": "+498912345678",
        "WERKBOT_SERVER__PORT": "9090",
        "WERKBOT_SERVER__SANDBOX": "false",
        "WERKBOT_BUSINESS__HOURS__MON": "08:00-12:00, 13:00-17:00",
        "WERKBOT_ONCALL__ROTATION": "karl,ludwig",
        "WERKBOT_ONCALL__ACK_TIMEOUT": "5m",
        "WERKBOT_STAFF__1__NAME": "Anna Huber-Maier",
        "OTHER_VARIABLE": "ignored",
    }
    settings = load_settings(SHIPPED, env=env)
    assert settings.twilio.auth_token == "from-the-environment"
    assert settings.twilio.sms_from == "+498912345678"
    assert settings.server.port == 9090 and settings.server.sandbox is False
    assert settings.business.hours["mon"] == ["08:00-12:00", "13:00-17:00"]
    assert settings.business.hours["tue"] == ["07:30-16:30"]  # the rest of the table stays
    assert settings.oncall.rotation == ["karl", "ludwig"]
    assert settings.oncall.ack_timeout.total_seconds() == 300
    assert settings.staff[1].name == "Anna Huber-Maier"
    assert settings.staff[0].name == "Josef Maier"


def test_an_override_of_a_missing_staff_entry_names_the_key() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(SHIPPED, env={"WERKBOT_STAFF__9__NAME": "x"})
    assert caught.value.key.startswith("staff")


@pytest.mark.parametrize("code", ["\x00", "DE-\x00", "DE-BY\n", "D", "1E-BY"])
def test_a_holiday_code_no_command_line_can_carry_is_refused_naming_the_key(code: str
                                                                           ) -> None:
    # Found by the config fuzz at 100,000 examples: a NUL byte reached the child
    # process's argument list and raised ValueError instead of naming the key.
    with pytest.raises(SettingsError) as caught:
        load_settings(SHIPPED, env={"WERKBOT_BUSINESS__HOLIDAYS": code})
    assert caught.value.key == "business.holidays"


def test_every_text_exists_in_both_languages() -> None:
    texts = Texts.load(REPO / "config" / "texts")
    assert texts.check() == []
    assert "Sanitär Maier GmbH" in texts.get("menu.text", "de", business="Sanitär Maier GmbH")
