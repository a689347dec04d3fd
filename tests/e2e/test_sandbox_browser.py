"""`make demo`'s promise, in a real browser: `werkbot demo` serves within a minute, and in
the sandbox a WhatsApp customer typing `hilfe` sees the bot's German menu.

Headless Chromium from Debian (`/usr/bin/chromium`), driven by Playwright. The demo runs
from the repo root as `make demo` runs it, with its database and media redirected into
the test's temporary directory so nothing is written to `./var`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.processes import clean_env, free_port, get_json, running

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
def test_whatsapp_customer_typing_hilfe_sees_the_german_menu(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    env = clean_env(WERKBOT_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
                    WERKBOT_MEDIA__DIR=str(tmp_path / "media"))
    url = f"http://127.0.0.1:{port}/sandbox"
    started = time.monotonic()

    def printed_url(bot: object) -> bool:
        return f"open {url}" in log.read_text(errors="replace")

    with running(["demo", "--port", str(port)], log, env=env,
                 base=f"http://127.0.0.1:{port}", ready=printed_url, timeout=60) as demo:
        assert time.monotonic() - started < 60  # serves within a minute
        assert get_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page()
                page.goto(url)
                # A fresh demo has no message yet: the pickers are filled as the page
                # loads, not after the transcript's 20-second long poll runs out.
                page.select_option("#channel", "whatsapp", timeout=5_000)
                page.fill("#sender", "+49 170 1234567")
                page.fill("#text", "hilfe")
                page.click("#send")
                menu = page.locator("#transcript .msg.out").filter(
                    has_text="Willkommen bei Sanitär Maier GmbH")
                expect(menu.first).to_be_visible(timeout=20_000)
                assert re.search(r"Notfall", menu.first.inner_text())
            finally:
                browser.close()
        assert demo.stop() == 0, demo.output()
    assert (tmp_path / "demo.db").exists()  # the demo wrote where it was told, not ./var
