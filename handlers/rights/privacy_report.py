"""The record of processing activities (GDPR Art. 30), written from the configuration.

`write_privacy_report(settings, out_dir)` needs nothing but `Settings`: it reads the
texts from `settings.texts_dir`, decides recipients and third-country transfers from the
enabled channels (Twilio for WhatsApp and SMS, Meta for WhatsApp, Telegram) and the
retention per data class from `[retention]`, and writes `privacy-report.md` and
`privacy-report.pdf`. `register_cli` adds `werkbot privacy-report [--config] [--out]`.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from werkbot.bot.plugins import SubCommands
from werkbot.bot.settings import Settings, load_settings
from werkbot.bot.texts import Texts
from werkbot.handlers.rights.receipt import latin1

MARKDOWN_NAME = "privacy-report.md"
PDF_NAME = "privacy-report.pdf"


def _duration(texts: Texts, lang: str, value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 86400 == 0 and seconds >= 7 * 86400:
        return texts.get("rights.report.days", lang, n=seconds // 86400)
    if seconds % 3600 == 0:
        return texts.get("rights.report.hours", lang, n=seconds // 3600)
    return texts.get("rights.report.minutes", lang, n=max(1, seconds // 60))


def report_markdown(settings: Settings, texts: Texts, now: datetime | None = None) -> str:
    """The report as Markdown, in the business's language."""
    lang = settings.business.language

    def t(key: str, **values: Any) -> str:
        return texts.get(f"rights.report.{key}", lang, **values)

    business, twilio = settings.business, settings.twilio
    whatsapp, sms = bool(twilio.whatsapp_from), bool(twilio.sms_from)
    telegram = bool(settings.telegram.token)
    now = now or datetime.now(ZoneInfo(business.timezone))
    channels = [name for name, on in (("whatsapp", whatsapp), ("sms", sms),
                                      ("telegram", telegram), ("sandbox", settings.server.sandbox))
                if on]
    twilio_channels = ", ".join(texts.get(f"rights.channels.{c}", lang)
                                for c in channels if c in ("whatsapp", "sms"))
    recipients = [t("recipient_staff")]
    transfers = []
    if whatsapp or sms:
        recipients.append(t("recipient_twilio", channels=twilio_channels))
        transfers.append(t("transfer_twilio"))
    if whatsapp:
        recipients.append(t("recipient_meta"))
        transfers.append(t("transfer_meta"))
    if telegram:
        recipients.append(t("recipient_telegram"))
        transfers.append(t("transfer_telegram"))
    if len(recipients) == 1:
        recipients.append(t("recipient_none"))
    retention = settings.retention
    database = "PostgreSQL" if settings.database.url.startswith("postgres") else "SQLite"
    sections: list[tuple[str, list[str]]] = [
        (t("controller"), [t("controller_line", business=business.name,
                                 phone=business.phone or "-", email=business.email or "-",
                                 privacy_url=business.privacy_url or "-")]),
        (t("channels_enabled"), [texts.get(f"rights.channels.{c}", lang) for c in channels]
         or [t("recipient_none")]),
        (t("purposes"), [t(f"purpose_{p}") for p in
                         ("requests", "photos", "emergency", "consent", "staff")]),
        (t("subjects"), [t("subjects_line", staff=len(settings.staff))]),
        (t("categories"), [t(f"category_{c}") for c in
                           ("contact", "content", "consent", "jobs")]),
        (t("recipients"), recipients),
        (t("transfers"), transfers or [t("transfer_none")]),
        (t("retention"), [
            t("retention_messages", duration=_duration(texts, lang, retention.messages)),
            t("retention_media", duration=_duration(texts, lang, retention.media)),
            t("retention_held", duration=_duration(texts, lang, retention.held)),
            t("retention_evidence",
              duration=_duration(texts, lang, retention.consent_evidence)),
            t("retention_links", media=_duration(texts, lang, settings.media.link_ttl)),
        ]),
        (t("measures"), [
            t("measure_signatures"), t("measure_links"), t("measure_gate"),
            t("measure_storage", database=database), t("measure_logs"), t("measure_roles"),
            t("measure_rights"), t("measure_transport", public_url=settings.server.public_url),
        ]),
    ]
    lines = [f"# {t('title')}", "", t("generated", date=now.strftime("%Y-%m-%d")), ""]
    for heading, items in sections:
        lines += [f"## {heading}", "", *[f"- {item}" for item in items], ""]
    return "\n".join(lines)


def markdown_pdf(markdown: str) -> bytes:
    """A plain PDF of the report's Markdown (headings, bullets, paragraphs)."""
    from fpdf import FPDF  # ~20 MB: loaded only when a report is written
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_creator("werkbot")
    pdf.add_page()
    for line in markdown.splitlines():
        text = latin1(line)
        if text.startswith("# "):
            pdf.set_font("Helvetica", "B", 15)
            pdf.multi_cell(0, 8, text[2:], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif text.startswith("## "):
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 7, text[3:], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif text.startswith("- "):
            pdf.set_font("Helvetica", "", 10)
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(0, 5, "- " + text[2:], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif text:
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def write_privacy_report(settings: Settings, out_dir: Path) -> tuple[Path, Path]:
    """Write the Markdown and PDF record of processing into `out_dir`; return both paths."""
    texts = Texts.load(Path(settings.texts_dir))
    markdown = report_markdown(settings, texts)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, pdf_path = out_dir / MARKDOWN_NAME, out_dir / PDF_NAME
    md_path.write_text(markdown, encoding="utf-8")
    pdf_path.write_bytes(markdown_pdf(markdown))
    return md_path, pdf_path


def register_cli(subparsers: SubCommands) -> None:
    """Adds `werkbot privacy-report` (`Plugin.cli` of werkbot's handlers plug-in)."""
    parser = subparsers.add_parser("privacy-report",
                                   help="write the record of processing (Markdown and PDF)")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    md_path, pdf_path = write_privacy_report(load_settings(args.config), args.out)
    print(md_path)
    print(pdf_path)
    return 0
