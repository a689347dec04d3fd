"""The record of processing (Art. 30) from the configuration, as Markdown and PDF."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pypdf import PdfReader

from tests.rights.helpers import path_of
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers.rights import deep_links, flyer_link, qr_png, write_privacy_report


def test_report_names_providers_transfers_and_retention(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, twilio={"account_sid": "AC" + "0" * 32, "auth_token": "x" * 32,
                          "whatsapp_from": "whatsapp:+498912345", "sms_from": "+498912345"},
        telegram={"token": "123:ABC", "webhook_secret": "s" * 20},
        retention={"messages": "90d", "held": "72h"})
    md_path, pdf_path = write_privacy_report(settings, tmp_path / "out")
    markdown = md_path.read_text(encoding="utf-8")
    for expected in ("Art. 30", "Twilio", "Meta Platforms", "Telegram", "USA",
                     "Nachrichten: 90 Tage", "72 Stunden", "Sanitär Maier GmbH"):
        assert expected in markdown, expected
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert "Twilio" in text and "90 Tage" in text


def test_report_without_channels_names_no_providers(tmp_path: Path) -> None:
    md_path, _ = write_privacy_report(make_settings(tmp_path), tmp_path)
    markdown = md_path.read_text(encoding="utf-8")
    assert "Twilio" not in markdown.split("## Übermittlungen")[0].split("## Empfänger")[1]
    assert "Meta Platforms" not in markdown


async def test_flyer_links_and_qr_page_for_staff_tokens_only(tmp_path: Path) -> None:
    from tests.rights.conftest import rights_bundle

    settings = make_settings(
        tmp_path, twilio={"account_sid": "AC" + "0" * 32, "auth_token": "x" * 32,
                          "whatsapp_from": "whatsapp:+49 89 12345"},
        telegram={"token": "123:ABC", "bot_username": "maier_bot", "webhook_secret": "s" * 20})
    links = deep_links(settings)
    assert links["whatsapp"] == "https://wa.me/498912345"
    assert links["telegram"].startswith("https://t.me/maier_bot?start=")
    assert qr_png(links["whatsapp"]).startswith(b"\x89PNG")
    async with Harness(settings, rights_bundle()) as h:
        assert h.client is not None
        good = await h.client.get(path_of(flyer_link(h.services, "whatsapp")))
        assert good.status == 200 and good.headers["Content-Type"] == "image/png"
        export_token = h.services.signer.sign("export", {"p": 1}, timedelta(hours=1),
                                              h.clock.now())
        refused = await h.client.get(f"/consent/qr/{export_token}")
        assert refused.status == 404


def test_privacy_report_runs_as_a_command(tmp_path: Path) -> None:
    """`werkbot privacy-report` as an operator runs it: exit 0, both files, their paths
    printed; a bad config exits 1 naming the key and writes nothing."""
    from tests.core.test_settings import config_with, werkbot

    config = config_with(tmp_path, ('sms_from = ""', 'sms_from = "+4989123456780"'),
                         ('account_sid = ""', f'account_sid = "AC{"0" * 32}"'),
                         ('auth_token = ""', f'auth_token = "{"f" * 32}"'))
    out = tmp_path / "report"
    done = werkbot("privacy-report", "--config", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(out / "privacy-report.md"),
                                   str(out / "privacy-report.pdf")]
    markdown = (out / "privacy-report.md").read_text(encoding="utf-8")
    assert "Twilio" in markdown and "Sanitär Maier GmbH" in markdown
    text = "".join(p.extract_text() for p in PdfReader(out / "privacy-report.pdf").pages)
    assert "Art. 30" in text
    bad = config_with(tmp_path, ("port = 8080", "port = 0"))
    refused = werkbot("privacy-report", "--config", str(bad), "--out", str(tmp_path / "no"))
    assert refused.returncode == 1 and "server.port" in refused.stderr
    assert not (tmp_path / "no").exists()
