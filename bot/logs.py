"""Logging set-up: correlation ids, and no personal data in clear.

Every record passes `RedactingFilter`, which masks phone numbers, long digit runs
(chat ids), e-mail addresses and URL tokens, whatever the call site forgot. Message
texts and names are never logged by werkbot's own code in the first place.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_TOKEN_URL = re.compile(r"(/(?:media|consent|export|sign|office/login)/)[\w.-]+")
_BOT_TOKEN = re.compile(r"(bot)\d+:[\w-]+")
_DIGITS = re.compile(r"\+?\d[\d \-/]{5,}\d")


def _mask_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return f"{digits[:3]}***{digits[-2:]}" if len(digits) > 5 else "***"


def redact(text: str) -> str:
    """`text` with e-mail addresses, token URLs, bot tokens and digit runs masked.

    A pattern runs only on text that holds what every match of it needs (an `@`, a `/`,
    `bot`): scanning every word for an e-mail address cost most of a log line."""
    if "@" in text:
        text = _EMAIL.sub("***@***", text)
    if "/" in text:
        text = _TOKEN_URL.sub(r"\1***", text)
    if "bot" in text:
        text = _BOT_TOKEN.sub(r"\1***", text)
    return _DIGITS.sub(lambda m: _mask_digits(m.group(0)), text)


class RedactingFilter(logging.Filter):
    """Masks personal data in the final message and adds the correlation id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):  # the handler before this one did it
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.correlation = _correlation.get()
        record.redacted = True
        return True


@contextmanager
def correlation(value: str) -> Iterator[None]:
    token = _correlation.set(value)
    try:
        yield
    finally:
        _correlation.reset(token)


def setup_logging(level: str = "INFO", log_file: str = "") -> None:
    """Log to standard error (and `log_file`), every handler redacting."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation)s] %(message)s")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # twilio-python's HTTP clients ("twilio.http_client", "twilio.async_http_client") log
    # every API request (URL, query parameters, headers) at INFO: personal data, and a
    # share of the CPU a message costs. Their warnings and errors still show.
    for noisy in ("aiohttp.access", "sqlalchemy.engine", "alembic", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
