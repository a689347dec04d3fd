"""Message kinds and what the consent gate makes of them: the one table to look up.

Every `Reply` carries a `kind`. The gate (`handlers.consent.policy`) decides by it:

- `EXEMPT_KINDS` reach a customer without consent, each on its own lawful basis (the
  consent dialogue itself, emergency safety advice, answers to data-subject requests).
- Every other kind needs the customer's current consent, on the channel it goes out on,
  for the purpose `purpose_of(kind)` names (default: requests).
- `STAFF_DATA_KINDS` carry a customer's personal data to staff: they reach staff only
  for a purpose that customer agreed to (on any channel). The customer is the person of
  the event being handled; outside a customer's event call `may_share` first.
- `NO_FALLBACK_KINDS` belong to one channel: when they fail there they are not re-sent
  elsewhere (a consent request for WhatsApp makes no sense on SMS).

Other handlers use these names; add a kind here rather than inventing one elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from werkbot.handlers.consent.ledger import EMERGENCY, PHOTOS, REQUESTS

# The consent dialogue (Art. 7 GDPR: asking, proving, withdrawing).
CONSENT_REQUEST = "consent_request"
CONSENT_CONFIRMATION = "consent_confirmation"
CONSENT_LINK = "consent_link"  # the signed web consent page, sent on request
CONSENT_RECEIPT = "consent_receipt"  # the receipt PDF after a web consent signature
ALTERNATIVES = "alternatives"  # the other ways to reach the business
IDENTITY = "identity"  # a Telegram chat joined (or could not join) the person's other chats
IDENTITY_NOTICE = "identity_notice"  # on the person's other chats: a chat joined by link
WITHDRAWAL_CONFIRMATION = "withdrawal_confirmation"
# Emergencies (Art. 6(1)(d) GDPR: vital interests).
SAFETY = "safety"
ONCALL_NUMBER = "oncall_number"
# Data-subject rights (Art. 6(1)(c), Art. 12 GDPR: the controller must answer); every
# kind starting with `rights_` counts as one (`RIGHTS_PREFIX`).
RIGHTS = "rights"
RIGHTS_PREFIX = "rights_"
EXPORT_LINK = "rights_export"
ERASURE_CONFIRM = "rights_erase_confirm"
ERASURE_CANCELLED = "rights_erase_cancelled"
ERASURE_DONE = "rights_erased"
SIGNING_RECEIPT = "signing_receipt"  # the receipt of a signed web page (consent or job)
PHOTO_CONSENT = "photo_consent"  # the jobs feature asking for consent to job photos
# Messages to staff.
OFFICE_NOTICE = "office_notice"  # content-free notes to the office (failed deliveries, ...)
FORWARD = "forward"  # a customer's message forwarded to staff
CUSTOMER_MESSAGE = "customer_message"
JOB_PHOTOS = "job_photos"
ALERT = "alert"  # an emergency alert; to staff it must not carry the customer's details
ALERT_DETAILS = "alert_details"  # the customer's details for the on-call fitter
EMERGENCY_UPDATE = "emergency_update"  # to the customer: "the fitter is on the way"
EMERGENCY_REPLY = "emergency_reply"  # the on-call fitter answering the customer

_ART7 = "Art. 7 GDPR (consent dialogue)"
_VITAL = "Art. 6(1)(d) GDPR (vital interests)"
_RIGHTS = "Art. 6(1)(c), Art. 12 GDPR (data-subject rights)"

MENU = "menu"
FLOOD_NOTICE = "flood_notice"  # the core's one notice to a sender it throttles
GROUP_NOTICE = "group_notice"  # once per foreign Telegram group: "I answer in private chats"

EXEMPT_KINDS: Mapping[str, str] = MappingProxyType({
    CONSENT_REQUEST: _ART7,
    CONSENT_CONFIRMATION: _ART7,
    CONSENT_LINK: _ART7,
    CONSENT_RECEIPT: _ART7,
    SIGNING_RECEIPT: _ART7,
    PHOTO_CONSENT: _ART7,
    ALTERNATIVES: _ART7,
    IDENTITY: "Art. 6(1)(b) GDPR (answering the person's own request to join a chat)",
    WITHDRAWAL_CONFIRMATION: "Art. 7(3) GDPR (withdrawal)",
    SAFETY: _VITAL,
    ONCALL_NUMBER: _VITAL,
    EMERGENCY_UPDATE: _VITAL,  # who is coming to the burst pipe
    MENU: "Art. 6(1)(b) GDPR (answering the person's own request; the menu holds no data)",
    FLOOD_NOTICE: "Art. 6(1)(f) GDPR (keeping the service usable; the notice holds no data)",
    GROUP_NOTICE: "Art. 6(1)(f) GDPR (saying where werkbot answers; the notice holds no data)",
    RIGHTS: _RIGHTS,
    EXPORT_LINK: _RIGHTS,
    ERASURE_CONFIRM: _RIGHTS,
    ERASURE_CANCELLED: _RIGHTS,
    ERASURE_DONE: _RIGHTS,
})
"""Kinds a customer receives without consent, with the lawful basis for each."""

KIND_PURPOSES: Mapping[str, str] = MappingProxyType({
    ALERT: EMERGENCY,
    ALERT_DETAILS: EMERGENCY,
    EMERGENCY_UPDATE: EMERGENCY,
    EMERGENCY_REPLY: EMERGENCY,
    JOB_PHOTOS: PHOTOS,
    "photos": PHOTOS,
})
"""The purpose a kind needs consent for; every kind not listed needs `requests`."""

STAFF_DATA_KINDS = frozenset({FORWARD, CUSTOMER_MESSAGE, JOB_PHOTOS, ALERT_DETAILS})
"""Kinds that carry a customer's personal data to staff (checked with `may_share`)."""

NO_FALLBACK_KINDS = frozenset({CONSENT_REQUEST, CONSENT_CONFIRMATION, ALTERNATIVES, IDENTITY,
                               WITHDRAWAL_CONFIRMATION, OFFICE_NOTICE})
"""Kinds that are not re-sent on another channel when they fail."""


def purpose_of(kind: str) -> str:
    """The consent purpose a message of `kind` needs."""
    return KIND_PURPOSES.get(kind, REQUESTS)


def is_exempt(kind: str) -> bool:
    """May a message of `kind` reach a customer who has not consented?"""
    return kind in EXEMPT_KINDS or kind.startswith(RIGHTS_PREFIX)


def lawful_basis(kind: str) -> str:
    """Why a message of `kind` may go out: its exemption, or consent for its purpose."""
    if kind.startswith(RIGHTS_PREFIX):
        return EXEMPT_KINDS.get(kind, _RIGHTS)
    return EXEMPT_KINDS.get(kind, f"Art. 6(1)(a) GDPR (consent: {purpose_of(kind)})")
