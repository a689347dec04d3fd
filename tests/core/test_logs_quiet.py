"""What `werkbot serve` logs: twilio-python's request lines (numbers, URLs) stay out."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient

from werkbot.bot.logs import setup_logging

NAMES = ("", "twilio", "twilio.http_client", "twilio.async_http_client")


@pytest.fixture
def logging_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, levels = list(root.handlers), {n: logging.getLogger(n).level for n in NAMES}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.usefixtures("logging_restored")
async def test_twilio_request_lines_are_not_logged_at_info() -> None:
    setup_logging("INFO")
    collect = Collect()
    logging.getLogger().addHandler(collect)
    client = AsyncTwilioHttpClient()
    try:
        client.log_request({"method": "GET", "url": "https://api.twilio.com/x",
                            "params": {"To": "whatsapp:+491701234567"},
                            "headers": {"Accept": "application/json"}})
        logging.getLogger("twilio.async_http_client").warning("still shown")
    finally:
        await client.close()
    assert collect.lines == ["still shown"]
