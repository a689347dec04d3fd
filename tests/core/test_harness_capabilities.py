"""The test harness renders as the real channels do: its capabilities are the adapters'.

`bot/testing.py` may not import the adapters (`bot/` is channel-free), so it keeps its
own copy; this holds the copy equal to what the Twilio and Telegram adapters declare.
"""

from __future__ import annotations

from werkbot.adapters.telegram.capabilities import CAPABILITIES as TELEGRAM
from werkbot.adapters.twilio.capabilities import WHATSAPP_CAPABILITIES, sms_capabilities
from werkbot.bot.testing import CHANNEL_CAPS


def test_the_harness_channels_render_as_the_real_adapters() -> None:
    assert CHANNEL_CAPS["whatsapp"] == WHATSAPP_CAPABILITIES
    assert CHANNEL_CAPS["sms"] == sms_capabilities(mms=False)
    assert CHANNEL_CAPS["telegram"] == TELEGRAM
