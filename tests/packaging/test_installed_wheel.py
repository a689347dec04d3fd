"""werkbot as a host bot installs it: the built wheel in a fresh virtual environment.

The wheel is built from this checkout (`python -m build`) and installed with the
`aiogram` and `ptb` extras into a new venv that has nothing else. Everything then runs
from a host project's directory that has its own `bot/`, `handlers/` and `adapters/`
packages first on `sys.path`, the layout that used to shadow werkbot's:

1. `werkbot demo` answers a sandbox message, with its database under `./var` there;
2. the aiogram example host bot, polling the fake Bot API, answers its own `/start`
   and lets werkbot answer `hilfe`;
3. the python-telegram-bot example host bot does the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import venv
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.services import free_port
from tests.telegram.conftest import SECRET, TOKEN
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.helpers import text_update

REPO = Path(__file__).resolve().parents[2]
HOST_PACKAGES = ("bot", "handlers", "adapters")

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (found,) = out.glob("werkbot-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its aiogram and ptb extras; returns its bin/."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True, clear=True)
    bin_dir = env_dir / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", f"{wheel}[aiogram,ptb]"],
                   check=True, capture_output=True, timeout=600)
    return bin_dir


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    """A host bot's project: its own `bot`, `handlers` and `adapters` packages."""
    host = tmp_path / "hostbot"
    for name in HOST_PACKAGES:
        package = host / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f'OWNER = "host {name}"\n', encoding="utf-8")
    for example in ("aiogram_host_bot.py", "ptb_host_bot.py"):
        shutil.copy(REPO / "examples" / example, host / example)
    return host


def host_env(host: Path) -> dict[str, str]:
    """The host's directory first on the path, as `python bot.py` in it would have it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WERKBOT_")}
    env["PYTHONPATH"] = str(host)
    return env


def test_the_wheel_holds_werkbot_alone(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    outside = [n for n in names if not n.startswith(("werkbot/", "werkbot-"))]
    assert outside == []
    top = {n.split("/", 1)[0] for n in names if not n.startswith("werkbot-")}
    assert top == {"werkbot"}
    for shipped in ("werkbot/config/demo.toml", "werkbot/config/texts/de.toml",
                    "werkbot/config/texts/en/consent.toml", "werkbot/py.typed",
                    "werkbot/adapters/static/sandbox.html",
                    "werkbot/bot/storage/migrations/env.py"):
        assert shipped in names
    with zipfile.ZipFile(wheel) as archive:
        meta = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "License-Expression: MIT" in meta
    for extra in ("aiogram", "ptb", "postgres", "all", "dev"):
        assert f"Provides-Extra: {extra}" in meta


def test_version_and_import_from_a_host_directory(installed: Path, host_dir: Path) -> None:
    shown = subprocess.run([str(installed / "werkbot"), "--version"], capture_output=True,
                           text=True, check=True, cwd=host_dir, env=host_env(host_dir))
    assert shown.stdout.startswith("werkbot 0.")
    probe = ("import bot, handlers, adapters, werkbot\n"
             "from werkbot import EmbeddedWerkbot, Settings, attach, werkbot_router\n"
             "print(bot.OWNER, handlers.OWNER, adapters.OWNER, werkbot.__version__)\n")
    done = subprocess.run([str(installed / "python"), "-c", probe], capture_output=True,
                          text=True, check=True, cwd=host_dir, env=host_env(host_dir))
    assert done.stdout.split()[:6] == ["host", "bot", "host", "handlers", "host", "adapters"]


@pytest.fixture(params=["--port", "WERKBOT_SERVER__PORT"])
def demo(request: pytest.FixtureRequest, installed: Path,
         host_dir: Path) -> Iterator[tuple[str, Path]]:
    """`werkbot demo` in the host directory, its port chosen by the flag (which wins over
    the variable, set to another port) or by the variable alone (which wins over 8080)."""
    port = free_port()
    command = [str(installed / "werkbot"), "demo"]
    env = host_env(host_dir)
    if request.param == "--port":
        command += ["--port", str(port)]
        env["WERKBOT_SERVER__PORT"] = str(free_port())
    else:
        env["WERKBOT_SERVER__PORT"] = str(port)
    proc = subprocess.Popen(command, cwd=host_dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        banner = ""
        for line in proc.stdout:
            if "open http" in line:
                banner = line
                break
        assert f"http://127.0.0.1:{port}/sandbox" in banner, "the demo did not start"
        yield f"http://127.0.0.1:{port}", host_dir
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def transcript_until(http: aiohttp.ClientSession, base: str, found: Any,
                           seconds: float = 40.0) -> list[dict[str, Any]]:
    """The sandbox transcript, read until `found(messages)` holds or time runs out."""
    messages: list[dict[str, Any]] = []
    for _ in range(int(seconds * 10)):
        async with http.get(f"{base}/sandbox/api/transcript?after=0") as resp:
            messages = (await resp.json())["messages"]
        if found(messages):
            break
        await asyncio.sleep(0.1)
    return messages


async def test_demo_from_a_host_directory_answers_in_the_sandbox(
        demo: tuple[str, Path]) -> None:
    base, host = demo
    customer = "+491701234567"
    async with aiohttp.ClientSession() as http:
        async def say(text: str) -> None:
            async with http.post(f"{base}/sandbox/api/messages", data=json.dumps(
                    {"channel": "whatsapp", "from": customer, "text": text})) as resp:
                assert resp.status == 200, await resp.text()

        await say("hilfe")
        messages = await transcript_until(http, base, lambda ms: any(
            "Einwilligung" in m.get("text", "") for m in ms))
        assert any("Einwilligung" in m.get("text", "") and "Sanitär Maier GmbH" in m["text"]
                   for m in messages), messages
        await say("ja")
        # A photo needs the imaging library: a plain install has it, the office gets it.
        form = aiohttp.FormData({"channel": "whatsapp", "from": customer,
                                 "caption": "Rohr kaputt"})
        form.add_field("file", PNG, filename="rohr.png", content_type="image/png")
        async with http.post(f"{base}/sandbox/api/media", data=form) as resp:
            assert resp.status == 200, await resp.text()

        def at_staff(ms: list[dict[str, Any]]) -> bool:
            return any(m["direction"] == "out" and m["address"] != customer
                       and "Rohr kaputt" in m.get("text", "") for m in ms)

        messages = await transcript_until(http, base, at_staff)
    assert at_staff(messages), messages
    assert (host / "var" / "demo.db").is_file()  # ./var of the directory it ran in


def _png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\xc0\x40\x30" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PNG = _png(24, 16)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    fake = FakeBotAPI(TOKEN)
    await fake.start()
    yield fake
    await fake.close()


def host_config(host: Path, fake_api: FakeBotAPI) -> Path:
    config = host / "werkbot.toml"
    config.write_text(f"""
[server]
port = {free_port()}
public_url = "https://bot.example.de"
secret = "example-secret-0123456789"
[database]
url = "sqlite+aiosqlite:///{host / 'werkbot.db'}"
[media]
dir = "{host / 'media'}"
[business]
holidays = ""
[telegram]
token = "{TOKEN}"
api_base = "{fake_api.url}"
webhook_secret = "{SECRET}"
""", encoding="utf-8")
    return config


@pytest.mark.parametrize("example", ["aiogram_host_bot.py", "ptb_host_bot.py"])
async def test_example_host_bot_answers_its_own_command_and_lets_werkbot_answer(
        example: str, installed: Path, host_dir: Path, fake_api: FakeBotAPI) -> None:
    config = host_config(host_dir, fake_api)
    proc = await asyncio.create_subprocess_exec(
        str(installed / "python"), example, "--config", str(config), cwd=host_dir,
        env=host_env(host_dir), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        await fake_api.push_update(text_update(31, "/start"), text_update(32, "hilfe"))
        sent = await fake_api.wait_for("sendMessage", 3, timeout=60)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        except TimeoutError:
            proc.kill()
            _, err = await proc.communicate()
    replies = [str(c.params["text"]) for c in sent]
    assert any(r.startswith("Hallo! Ich bin der Bot der Firma") for r in replies), (
        replies, err.decode(errors="replace")[-2000:])
    assert any("brauchen wir Ihre Einwilligung" in r for r in replies), replies
    assert not any(r.startswith("Der Host-Bot hat gelesen") for r in replies), replies
