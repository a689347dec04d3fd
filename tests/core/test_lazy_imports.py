"""Memory: a server process loads the heavy libraries only when it first needs them.

Pillow with qrcode (~4 MB), fpdf (~20 MB), Alembic (~11 MB, migrations run in a child
process), aiogram (~126 MB, Telegram only) and twilio-python's generated REST resources
(~7.5 MB) stay out of a process that has built its app and opened its Twilio client, and
so does the `holidays` package (9-17 MB) after the business calendar has named a holiday:
a child process computes the dates (bot/holiday_dates.py).
Checked in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("PIL", "qrcode", "fpdf", "alembic", "aiogram", "telegram", "twilio.rest.api",
         "holidays")


def test_building_the_server_loads_no_heavy_library(tmp_path: Path) -> None:
    config = tmp_path / "werkbot.toml"
    config.write_text(f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / 'w.db'}"
[media]
dir = "{tmp_path / 'media'}"
[twilio]
account_sid = "AC00000000000000000000000000000000"
auth_token = "token"
whatsapp_from = "whatsapp:+498912345678"
sms_from = "+498912345678"
""", encoding="utf-8")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.settings import load_settings\n"
        "from bot.server import create_app\n"
        f"app_settings = load_settings(Path({str(config)!r}))\n"
        "app = create_app(app_settings)\n"
        "import asyncio, handlers\n"
        "from adapters.twilio.client import TwilioApi\n"
        "async def open_twilio():\n"
        "    api = TwilioApi(app_settings.twilio)\n"
        "    await api.open()\n"
        "    await api.close()\n"
        "asyncio.run(open_twilio())\n"
        "from datetime import date\n"
        "from handlers.emergency.calendar import BusinessCalendar\n"
        "assert BusinessCalendar(app_settings.business).holiday(date(2026, 12, 25))\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "loaded |= {'twilio.rest.api'} if 'twilio.rest.api' in sys.modules else set()\n"
        f"print(sorted(loaded & set({HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
