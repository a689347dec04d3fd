"""The consent (or signing) receipt as a PDF: what was shown, what was ticked, when, the
signature. Built with fpdf2's core fonts, so no font files are needed; text outside
Latin-1 is replaced by its nearest Latin-1 form.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from werkbot.bot.services import Services
from werkbot.bot.texts import Texts
from werkbot.handlers.consent.ledger import text_hash

if TYPE_CHECKING:
    from werkbot.handlers.rights.models import SigningRequest

_TYPOGRAPHY = str.maketrans({"–": "-", "—": "-", "„": '"', "“": '"', "”": '"', "‚": "'",
                             "‘": "'", "’": "'", "…": "...", "•": "-", "€": "EUR"})


def latin1(text: str) -> str:
    """Text the PDF core fonts can show: typography mapped, the rest decomposed or '?'."""
    mapped = text.translate(_TYPOGRAPHY)
    out = []
    for char in mapped:
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)


def flatten_png(png: bytes) -> bytes:
    """The signature on white, without transparency (readable in every PDF viewer)."""
    from PIL import Image  # loaded when a receipt is written

    with Image.open(io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        out = io.BytesIO()
        white.convert("RGB").save(out, format="PNG")
        return out.getvalue()


def receipt_pdf(services: Services, request: SigningRequest,
                ticked: Sequence[tuple[str, str]], signature_png: bytes,
                signed_at: datetime, *, withdrawn: Sequence[tuple[str, str]] = ()) -> bytes:
    """The receipt for a completed request, in the request's language: what was ticked
    and, on a consent page, which given consents the person withdrew there."""
    # fpdf costs ~20 MB once imported; most processes never write a receipt.
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    lang = request.language
    texts, business = services.texts, services.settings.business

    def t(key: str, **values: object) -> str:
        return latin1(texts.get(f"rights.receipt.{key}", lang, **values))

    local = signed_at.astimezone(ZoneInfo(business.timezone))
    title = t("title") if request.kind == "consent" else t("title_sign")
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("werkbot")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    facts = [
        t("business", business=business.name),
        t("request", id=request.id, kind=_kind(texts, request.kind, lang)),
        t("version", version=request.text_version),
        t("hash", sha256=text_hash(request.text)),
        t("signed_at", time=local.strftime("%d.%m.%Y %H:%M:%S %Z")),
    ]
    for line in facts:
        pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, latin1(request.title) or t("text_heading"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, latin1(request.text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for heading, line, pairs in (("choices", "choice", ticked),
                                 ("withdrawn", "withdrawn_choice", withdrawn)):
        if not pairs:
            continue
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        pdf.multi_cell(0, 6, t(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
        for channel, purpose in pairs:
            label = t(line, channel=texts.get(f"rights.channels.{channel}", lang),
                      purpose=texts.get(f"rights.purposes.{purpose}", lang))
            pdf.multi_cell(0, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, t("signature"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.image(io.BytesIO(flatten_png(signature_png)), w=80)
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 4.5, t("footer", business=business.name), new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    return bytes(pdf.output())


def _kind(texts: Texts, kind: str, lang: str) -> str:
    """The kind of request in words ("Einwilligung"), never its internal name."""
    try:
        return texts.get(f"rights.receipt.kinds.{kind}", lang)
    except KeyError:
        return texts.get("rights.receipt.kinds.other", lang)
