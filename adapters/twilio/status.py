"""Status callbacks (form fields) to `DeliveryStatus` events, and 21610 to `Unreachable`.

Each (message, status) pair is one event id, so a repeated callback is stored once while
the sequence queued, sent, delivered, read is kept. Ordering is the core's job: it never
moves an outbox row backwards (`bot.outbox.apply_status`), so a late `sent` after `read`
changes nothing. The event's sender is the recipient of the outbound message.
"""

from __future__ import annotations

from datetime import datetime

from multidict import MultiDict

from werkbot.adapters.twilio.inbound import InboundError, address_of, message_sid, raw_of
from werkbot.bot.events import DeliveryStatus, Event, Unreachable

OPTED_OUT = "21610"  # the SMS recipient sent STOP
WINDOW_CLOSED = "63016"  # WhatsApp free-form message outside the 24-hour window


def parse_status(channel: str, form: MultiDict[str], *, now: datetime,
                 token: str = "") -> list[Event]:
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    recipient = form.get("To", "")
    if not sid or not status or not recipient:
        raise InboundError("status callback without MessageSid, MessageStatus or To")
    sid = message_sid(sid)
    if not status.isalpha() or len(status) > 20:
        raise InboundError("unreadable MessageStatus")
    sender = address_of(channel, recipient)
    error_code = form.get("ErrorCode", "").strip()[:32]
    raw = raw_of(form, token)
    events: list[Event] = [DeliveryStatus(
        id=f"{channel}:status:{sid}:{status}", sender=sender, received_at=now,
        provider_message_id=sid, status=status, error_code=error_code,
        window_closed=error_code == WINDOW_CLOSED, raw=raw)]  # the core closes the window
    if error_code == OPTED_OUT:
        events.append(Unreachable(id=f"{channel}:unreachable:{sid}", sender=sender,
                                  received_at=now, reason=OPTED_OUT, raw=raw))
    return events
