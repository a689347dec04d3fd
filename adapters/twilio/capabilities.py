"""What WhatsApp and SMS through Twilio render: needs no credentials and no twilio-python,
so the sandbox imitates exactly these (`adapters.sandbox`)."""

from __future__ import annotations

from werkbot.bot.capabilities import Capabilities

MB = 1024 * 1024

# Free-form WhatsApp buttons need a Content template per message, so choices travel as
# numbered text (the core renders them); Twilio caps `Body` at 1600 characters on every
# channel (error 21617), WhatsApp included, so the core splits there.
WHATSAPP_CAPABILITIES = Capabilities(
    buttons=False, max_text=1600,
    media_kinds=frozenset({"image", "document", "audio", "voice", "video"}),
    max_media_bytes=16 * MB, media_group=False, templates=True, window_hours=24,
)


def sms_capabilities(mms: bool) -> Capabilities:
    """SMS: text up to 1600 characters; with MMS, images (the only type Twilio fully
    supports on MMS; others are capped at 500 KB), up to ten in one message. Text in
    GSM-7, so a message costs 160 characters a segment, not 70."""
    if not mms:
        return Capabilities(max_text=1600, gsm7=True)
    return Capabilities(max_text=1600, media_kinds=frozenset({"image"}),
                        max_media_bytes=5 * MB, media_group=True, gsm7=True)
