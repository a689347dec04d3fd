"""A third-party channel installed beside werkbot: werkbot_echo_channel (in this folder).

The package is installed as a user would (`pip install`, here `--target` a directory put
on `PYTHONPATH`), with no change to werkbot. Then `werkbot serve` runs with its `[echo]`
section (the token from `WERKBOT_ECHO__TOKEN`), a message posted to the package's own
webhook gets werkbot's consent question at the package's outbound URL, the package's own
handler answers only once the customer agreed, a bad key in the section stops start-up
naming it, and `werkbot check` lists the channel and its webhook.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import (
    REPO,
    clean_env,
    free_port,
    post,
    running,
    werkbot_command,
    write_config,
)

PACKAGE = Path(__file__).with_name("werkbot_echo_channel")
TOKEN = "echo-secret-0123456789"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed into a directory of its own (built from a copy, so the build
    leaves nothing in the repository)."""
    source = tmp_path_factory.mktemp("src") / "werkbot_echo_channel"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                    "__pycache__"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--no-deps", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=300)
    return target


class Outbound:
    """The echo service's outbound URL: a local HTTP server keeping what werkbot posts."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.put(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/outbound"

    def next(self, timeout: float = 60.0) -> dict[str, Any]:
        return self.received.get(timeout=timeout)


@pytest.fixture
def outbound() -> Iterator[Outbound]:
    service = Outbound()
    thread = threading.Thread(target=service.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.server.shutdown()
        service.server.server_close()


def echo_config(tmp_path: Path, port: int, section: str) -> Path:
    return write_config(tmp_path / "werkbot.toml", tmp_path, port, extra=f"[echo]\n{section}")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*werkbot_command(), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_message_on_the_new_channel_gets_the_consent_question(
        site: Path, outbound: Outbound, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = echo_config(tmp_path, port, f'outbound_url = "{outbound.url}"\n')
    env = clean_env(PYTHONPATH=str(site), WERKBOT_ECHO__TOKEN=TOKEN)
    with running(["serve", "--config", str(config)], tmp_path / "werkbot.log", env=env,
                 base=base):
        message = json.dumps({"id": "m1", "from": "alice", "text": "Hallo, die Heizung "
                              "ist kalt"}).encode()
        status, _ = post(f"{base}/webhooks/echo", message, "application/json",
                         {"X-Echo-Token": "wrong"})
        assert status == 403
        status, body = post(f"{base}/webhooks/echo", message, "application/json",
                            {"X-Echo-Token": TOKEN})
        assert status == 200, body
        sent = outbound.next()
    assert sent["to"] == "alice"
    assert "Sanitär Maier GmbH" in sent["text"]
    assert "Einwilligung" in sent["text"]
    assert "JA" in sent["text"]


PRICES = "Anfahrt 45 EUR, jede Stunde 68 EUR"


def test_the_packages_own_handler_answers_only_after_consent(
        site: Path, outbound: Outbound, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = echo_config(tmp_path, port,
                         f'outbound_url = "{outbound.url}"\nprice_list = "{PRICES}"\n')
    env = clean_env(PYTHONPATH=str(site), WERKBOT_ECHO__TOKEN=TOKEN)

    def say(message_id: str, text: str) -> None:
        body = json.dumps({"id": message_id, "from": "bob", "text": text}).encode()
        status, answer = post(f"{base}/webhooks/echo", body, "application/json",
                              {"X-Echo-Token": TOKEN})
        assert status == 200, answer

    with running(["serve", "--config", str(config)], tmp_path / "werkbot.log", env=env,
                 base=base):
        say("p1", "Preise?")  # before consent: held by werkbot's gate, never seen by the handler
        question = outbound.next()
        assert "Einwilligung" in question["text"] and PRICES not in question["text"]
        say("p2", "ja")
        after_yes = [outbound.next()]
        while PRICES not in after_yes[-1]["text"]:  # the held question, answered now
            after_yes.append(outbound.next())
        assert len(after_yes) >= 2  # werkbot's confirmation came first
        say("p3", "preise")
        answer = outbound.next()
    assert answer == {"to": "bob", "text": PRICES, "kind": "echo_prices"}


def test_a_bad_key_in_the_new_section_stops_start_up_naming_it(
        site: Path, tmp_path: Path) -> None:
    config = echo_config(tmp_path, free_port(), 'tokn = "x"\ntimeout = "soon"\n')
    done = run_cli("serve", "--config", str(config), env=clean_env(PYTHONPATH=str(site)))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "werkbot: config error: echo.tokn: unknown key",
        "werkbot: config error: echo.timeout: expected a duration such as '30s', '10m', "
        "'2h' or '3d', got 'soon'",
    ]
    bad_env = clean_env(PYTHONPATH=str(site), WERKBOT_ECHO__TIMEOUT="later")
    config = echo_config(tmp_path, free_port(), "")
    done = run_cli("check", "--config", str(config), env=bad_env)
    assert done.returncode == 1
    assert "werkbot: config error: echo.timeout: " in done.stderr


def test_without_the_package_the_section_is_unknown(tmp_path: Path) -> None:
    config = echo_config(tmp_path, free_port(), f'token = "{TOKEN}"\n')
    done = run_cli("check", "--config", str(config), env=clean_env())
    assert done.returncode == 1
    assert done.stderr.strip() == "werkbot: config error: echo: unknown key"


def test_check_lists_the_channel_and_its_webhook(site: Path, outbound: Outbound,
                                                 tmp_path: Path) -> None:
    port = free_port()
    config = echo_config(tmp_path, port, f'token = "{TOKEN}"\noutbound_url = "{outbound.url}"\n')
    done = run_cli("check", "--config", str(config), env=clean_env(PYTHONPATH=str(site)))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"echo: http://127.0.0.1:{port}/webhooks/echo" in lines
    plugins = next(line for line in lines if line.startswith("plug-ins: "))
    assert re.search(r"\becho \(werkbot[-_]echo[-_]channel 0\.1\.0\)", plugins), plugins
    assert "handlers (werkbot " in plugins
