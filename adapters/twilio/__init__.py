"""Twilio channels for werkbot: WhatsApp and SMS through one Twilio account.

`plugin` is the `werkbot.plugins` entry point: its `build(settings)` makes a `whatsapp`
adapter when `twilio.whatsapp_from` is set, an `sms` adapter when `twilio.sms_from` is
set, both sharing one REST client (opened at start-up, closed at shutdown). twilio-python is
imported only then, so an installation without the `twilio` extra runs the other channels.
"""

from __future__ import annotations

from werkbot.bot.adapter import Adapter
from werkbot.bot.plugins import Plugin
from werkbot.bot.settings import Settings, SettingsError

__all__ = ["build", "plugin"]


def build(settings: Settings) -> list[Adapter]:
    twilio = settings.twilio
    if not (twilio.whatsapp_from or twilio.sms_from):
        return []
    try:
        from werkbot.adapters.twilio.adapter import TwilioAdapter
        from werkbot.adapters.twilio.client import TwilioApi
    except ModuleNotFoundError as exc:
        if exc.name != "twilio" and not (exc.name or "").startswith("twilio."):
            raise
        key = "twilio.whatsapp_from" if twilio.whatsapp_from else "twilio.sms_from"
        raise SettingsError(key, "WhatsApp and SMS need twilio-python: "
                                 "pip install 'werkbot[twilio]'") from exc
    api = TwilioApi(twilio)
    adapters: list[Adapter] = []
    for channel, sender in (("whatsapp", twilio.whatsapp_from), ("sms", twilio.sms_from)):
        if sender:
            adapters.append(TwilioAdapter(channel, twilio, settings.server.public_url, api))
    return adapters


plugin = Plugin(name="twilio", adapters=build)  # its section is the built-in [twilio]
