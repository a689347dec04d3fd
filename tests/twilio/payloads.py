"""Inbound Twilio webhook forms, shaped like the ones Twilio posts (WhatsApp and SMS).

Each builder returns the full field set Twilio posts (every value a string), so the
signature covers the same parameters as in production, including ones werkbot ignores.
"""

from __future__ import annotations

import itertools
import json

from tests.twilio.fake_twilio import ACCOUNT_SID

BUSINESS_WA = "whatsapp:+498912345678"
BUSINESS_SMS = "+498912345679"
CUSTOMER = "+491701234567"
_seq = itertools.count(1)


def sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_seq):032x}"


def whatsapp(body: str = "", *, sender: str = CUSTOMER, message_type: str = "text",
             message_sid: str | None = None, **extra: str) -> dict[str, str]:
    """A WhatsApp inbound webhook; `sender` is a phone number or a business-scoped id."""
    message_sid = message_sid or sid()
    form = {
        "SmsMessageSid": message_sid, "NumMedia": "0", "ProfileName": "Erika M.",
        "MessageType": message_type, "SmsSid": message_sid, "SmsStatus": "received",
        "Body": body, "To": BUSINESS_WA, "NumSegments": "1", "ReferralNumMedia": "0",
        "MessageSid": message_sid, "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01",
        "ChannelMetadata": json.dumps({"type": "whatsapp",
                                       "data": {"context": {"ProfileName": "Erika M."}}}),
    }
    if sender.startswith("+"):
        form["WaId"] = sender.lstrip("+")
    form.update(extra)
    return form


def whatsapp_media(url: str, content_type: str, *, message_type: str = "image",
                   caption: str = "", **extra: str) -> dict[str, str]:
    return whatsapp(caption, message_type=message_type, NumMedia="1", MediaUrl0=url,
                    MediaContentType0=content_type, **extra)


def whatsapp_location(lat: str = "48.1371", lon: str = "11.5754", *, address: str = "",
                      label: str = "") -> dict[str, str]:
    extra = {"Latitude": lat, "Longitude": lon}
    if address:
        extra["Address"] = address
    if label:
        extra["Label"] = label
    return whatsapp("", message_type="location", **extra)


def whatsapp_button(payload: str, text: str) -> dict[str, str]:
    return whatsapp(text, message_type="button", ButtonPayload=payload, ButtonText=text)


def sms(body: str = "", *, sender: str = CUSTOMER, message_sid: str | None = None,
        media: tuple[tuple[str, str], ...] = (), **extra: str) -> dict[str, str]:
    """An SMS/MMS inbound webhook; `media` holds (url, content type) pairs."""
    message_sid = message_sid or sid("MM" if media else "SM")
    form = {
        "ToCountry": "DE", "ToState": "", "SmsMessageSid": message_sid,
        "NumMedia": str(len(media)), "ToCity": "", "FromZip": "", "SmsSid": message_sid,
        "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": body,
        "FromCountry": "DE", "To": BUSINESS_SMS, "ToZip": "", "NumSegments": "1",
        "MessageSid": message_sid, "AccountSid": ACCOUNT_SID, "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for i, (url, content_type) in enumerate(media):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = content_type
    form.update(extra)
    return form


def status(message_sid: str, message_status: str, *, to: str = f"whatsapp:{CUSTOMER}",
           sender: str = BUSINESS_WA, error_code: str = "") -> dict[str, str]:
    """A status callback for an outbound message."""
    form = {
        "SmsSid": message_sid, "SmsStatus": message_status, "MessageStatus": message_status,
        "To": to, "MessageSid": message_sid, "AccountSid": ACCOUNT_SID, "From": sender,
        "ApiVersion": "2010-04-01",
    }
    if to.startswith("whatsapp:"):
        form["ChannelPrefix"] = "whatsapp"
        form["ChannelToAddress"] = to.removeprefix("whatsapp:")
    if error_code:
        form["ErrorCode"] = error_code
        form["ErrorMessage"] = "error"
    return form
