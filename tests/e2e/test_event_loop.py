"""`server.event_loop`: `werkbot serve` answers the same on uvloop and on asyncio's own
loop, says in its log which one runs, and refuses a value it does not know."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.processes import (
    clean_env,
    free_port,
    get_json,
    post_json,
    running,
    wait_for,
    werkbot_command,
    write_config,
)

CUSTOMER = "+491701234599"


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_serve_answers_a_customer_on_either_event_loop(tmp_path: Path, loop: str) -> None:
    port = free_port()
    config = write_config(tmp_path / "werkbot.toml", tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "werkbot.log"
    env = clean_env(WERKBOT_SERVER__EVENT_LOOP=loop)
    with running(["serve", "--config", str(config)], log, env=env, base=base) as bot:
        status, body = post_json(base + "/sandbox/api/messages",
                                 {"channel": "whatsapp", "from": CUSTOMER, "text": "hilfe"})
        assert status == 200, body

        def replies() -> list[str] | None:
            messages = get_json(base + "/sandbox/api/transcript?after=0")["messages"]
            out = [m["text"] for m in messages
                   if m["direction"] == "out" and m["address"] == CUSTOMER]
            return out if len(out) >= 2 else None

        consent, menu = wait_for(replies, what="the consent request and the menu")
        assert "Einwilligung" in consent
        assert "Willkommen" in menu
        assert bot.stop() == 0, bot.output()
    assert f"({loop} event loop)" in log.read_text(encoding="utf-8")


def test_an_unknown_event_loop_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "werkbot.toml", tmp_path, free_port())
    done = subprocess.run([*werkbot_command(), "serve", "--config", str(config)],
                          env=clean_env(WERKBOT_SERVER__EVENT_LOOP="trio"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "server.event_loop" in done.stderr + done.stdout
