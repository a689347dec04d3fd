"""Issue 21 in a real browser: the sandbox shows the office beside the customer, and the
office answers a forwarded message with its reply button.

`werkbot demo` as `make demo` runs it; headless Chromium from Debian, driven by
Playwright (a missing Chromium fails the test, it is never skipped).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.processes import clean_env, free_port, running
from tests.e2e.test_sandbox_browser import ARGS, CHROMIUM

ANSWER = "Gern, morgen um 8 Uhr kommt Ludwig vorbei."


@pytest.mark.browser
def test_the_office_answers_a_forward_with_the_reply_button(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    env = clean_env(WERKBOT_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
                    WERKBOT_MEDIA__DIR=str(tmp_path / "media"))
    url = f"http://127.0.0.1:{port}/sandbox"

    def printed_url(bot: object) -> bool:
        return f"open {url}" in log.read_text(errors="replace")

    with running(["demo", "--port", str(port)], log, env=env,
                 base=f"http://127.0.0.1:{port}", ready=printed_url, timeout=60) as demo:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url)
                page.select_option("#channel", "whatsapp")
                page.fill("#sender", "+49 170 1234567")
                for text in ("Hallo", "ja", "Können Sie morgen kommen?"):
                    page.fill("#text", text)
                    page.click("#send")
                    expect(page.locator("#transcript .msg.in").filter(has_text=text).first
                           ).to_be_visible(timeout=20_000)
                    time.sleep(0.5)  # one at a time, as a person types
                # the office pane plays Anna (office) and shows the forward, with the number
                forward = page.locator("#office-transcript .msg.out").filter(
                    has_text="Können Sie morgen kommen?")
                expect(forward.first).to_be_visible(timeout=20_000)
                expect(forward.first.locator("a[href='tel:+491701234567']")).to_be_visible()
                forward.first.locator("button.reply").click()
                expect(page.locator("#replying")).to_contain_text("Antwort auf:")
                page.fill("#office-text", ANSWER)
                page.click("#office-send")
                answer = page.locator("#transcript .msg.out").filter(has_text=ANSWER)
                expect(answer.first).to_be_visible(timeout=20_000)
                expect(page.locator("#office-transcript .msg.out").filter(
                    has_text="gesendet (WhatsApp)").first).to_be_visible(timeout=20_000)
            finally:
                browser.close()
        assert demo.stop() == 0, demo.output()
