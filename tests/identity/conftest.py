"""The scenario world (real Twilio and Telegram adapters against the recording stand-ins)
for the identity tests: one person across WhatsApp, SMS and Telegram."""

from __future__ import annotations

from tests.scenarios.conftest import fake_api, fake_twilio, world_at

__all__ = ["fake_api", "fake_twilio", "world_at"]
