"""Issue 21: `werkbot check` reports every error at once, each with its key, and warns
about what a valid configuration will get wrong at run time. `werkbot serve` refuses to
start on errors, naming each key, and starts (logging them) on warnings only.

Everything runs as an operator runs it: the installed `werkbot` script in a subprocess,
judged by its exit code and output.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.core.test_settings import SHIPPED, config_with, werkbot
from tests.e2e.processes import (
    clean_env,
    free_port,
    running,
    wait_for,
    werkbot_command,
    write_config,
)

SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fedcba9876543210" * 2
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PRODUCTION = f"""
[twilio]
account_sid = "{SID}"
auth_token = "{AUTH_TOKEN}"
sms_from = "+4989123456780"
whatsapp_from = "whatsapp:+4989123456780"
templates = {{ alert = "HXalert", forward = "HXforward" }}

[telegram]
token = "{TG_TOKEN}"
webhook_secret = "a-good_secret-123"
"""


def production_config(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """The shipped example made a production config (public https URL, real channels,
    credentials of the right shape, no sandbox); then `replacements` break it on purpose."""
    path = config_with(
        tmp_path,
        ('public_url = "http://127.0.0.1:8080"', 'public_url = "https://bot.example.de"'),
        ("sandbox = true", "sandbox = false"))
    body = path.read_text(encoding="utf-8")
    head, _, rest = body.partition("[twilio]")
    _, _, tail = rest.partition("[oncall]")
    body = f"{head}{PRODUCTION}\n[oncall]{tail}"
    for old, new in replacements:
        assert old in body, old
        body = body.replace(old, new, 1)
    path.write_text(body, encoding="utf-8")
    return path


def error_keys(result: subprocess.CompletedProcess[str]) -> list[str]:
    prefix = "werkbot: config error: "
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(prefix) for line in lines), result.stderr  # no traceback
    return [line[len(prefix):].split(": ", 1)[0] for line in lines]


def warning_keys(result: subprocess.CompletedProcess[str]) -> list[str]:
    prefix = "werkbot: config warning: "
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(prefix) for line in lines), result.stderr
    return [line[len(prefix):].split(": ", 1)[0] for line in lines]


def test_a_production_config_passes_without_a_warning(tmp_path: Path) -> None:
    result = werkbot("check", "--config", str(production_config(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "configuration ok: " in result.stdout
    assert "https://bot.example.de/webhooks/sms" in result.stdout
    assert "https://bot.example.de/webhooks/telegram" in result.stdout


def test_every_error_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    path = config_with(
        tmp_path,
        ("port = 8080", "port = 70000"),
        ('timezone = "Europe/Berlin"', 'timezone = "Europe/Atlantis"'),
        ('[telegram]\ntoken = ""', '[telegram]\ntoken = "not a token"'),
        ('rotation = ["ludwig", "karl"]', 'rotation = ["ludwig", "sepp"]'),
        ('sms = "+4917111111111"', 'sms = "call me"'),
        ('handover = "mon 07:00"', 'handover = "mon 25:00"'),
        ("[server]\n", "[server]\nprot = 1\n"),
    )
    result = werkbot("check", "--config", str(path))
    assert result.returncode == 1
    assert "configuration ok" not in result.stdout
    assert error_keys(result) == [
        "server.prot", "server.port", "business.timezone", "telegram.webhook_secret",
        "telegram.token", "staff[2].sms", "oncall.rotation", "oncall.handover"]


def test_serve_refuses_to_start_naming_every_key(tmp_path: Path) -> None:
    path = config_with(tmp_path, ("port = 8080", "port = 0"),
                       ('escalation = ["chef"]', 'escalation = ["nobody"]'))
    done = subprocess.run([*werkbot_command(), "serve", "--config", str(path)],
                          env=clean_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert error_keys(done) == ["server.port", "oncall.escalation"]


def test_what_will_fail_at_run_time_is_warned_about_and_check_passes(tmp_path: Path) -> None:
    path = production_config(
        tmp_path,
        ('public_url = "https://bot.example.de"', 'public_url = "http://127.0.0.1:8080"'),
        (f'account_sid = "{SID}"', 'account_sid = "sid-from-the-wrong-field"'),
        (f'auth_token = "{AUTH_TOKEN}"', 'auth_token = "my-password"'),
        (f'token = "{TG_TOKEN}"', 'token = "123:short"'),
        ('webhook_secret = "a-good_secret-123"', 'webhook_secret = "with spaces!"'),
        ('phone = "+4917122222222"', 'phone = "+491712"'),
        # karl (on call in the rota) reachable on Telegram only ...
        ("telegram = 122222222", "telegram = 0"),
        # ... and chef, the escalation, only on WhatsApp
    )
    env = {"WERKBOT_TWILIO__WHATSAPP_FROM": ""}  # WhatsApp off: chef unreachable
    result = werkbot("check", "--config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert "configuration ok (9 warnings)" in result.stdout
    assert warning_keys(result) == [
        "server.public_url", "server.public_url", "telegram.token", "telegram.webhook_secret",
        "twilio.account_sid", "twilio.auth_token", "staff[3].phone", "oncall.rotation",
        "oncall.escalation"]
    assert "'karl' (staff[3])" in result.stderr and "uncovered" in result.stderr
    assert "'chef' (staff[0])" in result.stderr
    assert "not a valid number" in result.stderr
    for secret in ("my-password", "123:short", "with spaces!", "+491712"):
        assert secret not in result.stdout + result.stderr  # warnings never repeat secrets


def test_staff_reached_on_whatsapp_alone_without_templates_are_warned_about(
        tmp_path: Path) -> None:
    # chef (staff[0], admin, escalation) has WhatsApp only: outside the 24-hour window an
    # alert or a forward needs an approved template, or it skips him.
    path = production_config(
        tmp_path, ('templates = { alert = "HXalert", forward = "HXforward" }', ""))
    result = werkbot("check", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert warning_keys(result) == ["staff[0].whatsapp", "staff[0].whatsapp"]
    assert "has no 'alert'" in result.stderr and "has no 'forward'" in result.stderr
    # an SMS address is a way around the window: no warning
    with_sms = production_config(
        tmp_path, ('templates = { alert = "HXalert", forward = "HXforward" }', ""),
        ('whatsapp = "+4917100000001"', 'whatsapp = "+4917100000001"\nsms = "+4917100000001"'))
    result = werkbot("check", "--config", str(with_sms))
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_an_empty_rota_is_warned_about(tmp_path: Path) -> None:
    path = config_with(tmp_path, ('rotation = ["ludwig", "karl"]', "rotation = []"))
    result = werkbot("check", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert warning_keys(result) == ["oncall.rotation"]
    assert "no week has anyone on call" in result.stderr


def test_the_sandbox_needs_no_public_url(tmp_path: Path) -> None:
    # The shipped example runs on 127.0.0.1 with the sandbox only: nothing to warn about.
    result = werkbot("check", "--config", str(SHIPPED))
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_serve_starts_on_warnings_logs_them_and_keeps_the_sandbox_off(tmp_path: Path) -> None:
    """Also: secrets never reach the log, even at DEBUG while Telegram cannot be reached
    (every failed Bot API call names its URL, which carries the token)."""
    port = free_port()
    config = write_config(tmp_path / "werkbot.toml", tmp_path, port, extra=f"""
[twilio]
account_sid = "sid"
auth_token = "{AUTH_TOKEN[:-1]}"
api_base = "http://127.0.0.1:9"
sms_from = "+4989123456780"

[telegram]
token = "{TG_TOKEN}"
api_base = "http://127.0.0.1:9"
mode = "polling"
""")
    body = config.read_text(encoding="utf-8").replace("sandbox = true", "sandbox = false")
    config.write_text(body.replace('log_level = "INFO"', 'log_level = "DEBUG"'),
                      encoding="utf-8")
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "werkbot.log"
    with running(["serve", "--config", str(config)], log, env=clean_env(), base=base) as bot:
        import urllib.error
        import urllib.request

        try:
            urllib.request.urlopen(base + "/sandbox", timeout=10)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 404  # sandbox = false: no web chat in production
        wait_for(lambda: "getUpdates" in bot.output() or None, what="a failed poll logged")
        assert bot.stop() == 0, bot.output()
    output = log.read_text(encoding="utf-8")
    assert "config warning: server.public_url" in output
    assert "config warning: twilio.account_sid" in output
    for secret in (AUTH_TOKEN[:-1], "e2e-secret-0123456789abcdef", TG_TOKEN,
                   TG_TOKEN.split(":")[1]):
        assert secret not in output
