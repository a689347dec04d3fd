"""PDF documents for a job, built with fpdf2: the photo report and a signed statement.

Pure functions from plain data to bytes, so they are easy to test and hold no session.
The core PDF fonts speak Latin-1 only; German text fits, typographic quotes and dashes
are mapped and anything else becomes '?', rather than failing the whole report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

_MAP = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'",
                      "–": "-", "—": "-", "…": "...", "•": "-", "\u00a0": " "})
IMAGE_WIDTH = 120.0  # mm; photos keep their aspect ratio


def latin(text: str) -> str:
    return text.translate(_MAP).encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True, slots=True)
class ReportItem:
    """One entry of the photo report: the file (if an image), when, who, what it shows."""

    when: str
    sender: str
    caption: str
    kind_label: str
    image: bytes | None


@cache
def _doc_class() -> type[FPDF]:
    """fpdf costs ~20 MB once imported: only a process that writes a PDF loads it."""
    from fpdf import FPDF

    class Doc(FPDF):
        def __init__(self, footer_text: str) -> None:
            super().__init__(format="A4")
            self._footer_text = footer_text
            self.set_auto_page_break(auto=True, margin=18)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, latin(f"{self._footer_text} - {self.page_no()}"), align="C")

    return Doc


def _heading(pdf: FPDF, title: str, lines: list[str]) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for line in lines:
        pdf.multi_cell(0, 5.5, latin(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _image(pdf: FPDF, data: bytes, width: float) -> None:
    from PIL import Image  # loaded with the PDF writer, not at start-up

    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
    height = width * h / max(w, 1)
    if pdf.get_y() + height > pdf.h - 22:
        pdf.add_page()
    pdf.image(io.BytesIO(data), w=width, h=height)
    pdf.ln(2)


def photo_report(title: str, head: list[str], items: list[ReportItem], footer: str) -> bytes:
    """The Baustellendokumentation: a header, then every file with time, sender, caption."""
    pdf = _doc_class()(footer)
    _heading(pdf, title, head)
    for item in items:
        if pdf.get_y() > pdf.h - 60:
            pdf.add_page()
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(0, 5.5, latin(f"{item.when} - {item.sender} - {item.kind_label}"),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        if item.caption:
            pdf.multi_cell(0, 5.5, latin(item.caption), new_x="LMARGIN", new_y="NEXT")
        if item.image is not None:
            _image(pdf, item.image, IMAGE_WIDTH)
        pdf.ln(3)
    return bytes(pdf.output())


def signed_statement(title: str, head: list[str], text: str, signature_png: bytes,
                     signed_line: str, footer: str) -> bytes:
    """What the customer signed: the exact text, the signature, when and for which job."""
    pdf = _doc_class()(footer)
    _heading(pdf, title, head)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, latin(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _image(pdf, signature_png, 70.0)
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, latin(signed_line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
