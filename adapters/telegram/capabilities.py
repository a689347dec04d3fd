"""What the Telegram channel renders: needs no token and no aiogram, so the sandbox
imitates exactly this (`adapters.sandbox`)."""

from __future__ import annotations

from werkbot.bot.capabilities import Capabilities

CAPABILITIES = Capabilities(
    buttons=True, max_buttons=8, max_text=4096,
    media_kinds=frozenset({"image", "document", "audio", "voice", "video"}),
    max_media_bytes=50 * 1024 * 1024,  # the Bot API's upload limit
    media_group=True, share_contact=True,
)
