"""Twilio channels for werkbot: WhatsApp and SMS through one Twilio account.

`build(settings)` is the `werkbot.adapters` entry point: a `whatsapp` adapter when
`twilio.whatsapp_from` is set, an `sms` adapter when `twilio.sms_from` is set, both
sharing one REST client (opened at start-up, closed at shutdown).
"""

from __future__ import annotations

from adapters.twilio.adapter import TwilioAdapter
from adapters.twilio.client import TwilioApi
from bot.adapter import Adapter
from bot.settings import Settings

__all__ = ["TwilioAdapter", "TwilioApi", "build"]


def build(settings: Settings) -> list[Adapter]:
    twilio = settings.twilio
    if not (twilio.whatsapp_from or twilio.sms_from):
        return []
    api = TwilioApi(twilio)
    adapters: list[Adapter] = []
    for channel, sender in (("whatsapp", twilio.whatsapp_from), ("sms", twilio.sms_from)):
        if sender:
            adapters.append(TwilioAdapter(channel, twilio, settings.server.public_url, api))
    return adapters
