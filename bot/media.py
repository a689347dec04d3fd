"""The media store: files under `media.dir`, rows in `media`, public links signed.

Files are content-addressed (sha256), so the same photo sent twice is stored once.
Content types are sniffed from the bytes, never taken from a file name or a header
alone. Links are `/media/{token}` with an expiring signed token.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.adapter import StoredMedia
from werkbot.bot.clock import Clock
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.models import MediaRow
from werkbot.bot.tokens import Signer

log = logging.getLogger(__name__)

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1aE\xdf\xa3", 0, "video/webm"),
)


def sniff(data: bytes) -> str:
    """The content type the bytes really have ('application/octet-stream' if unknown)."""
    for magic, offset, content_type in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        return "audio/mp4" if brand == b"M4A " else "video/mp4"
    return "application/octet-stream"


def kind_of(content_type: str) -> str:
    """The media kind werkbot uses in replies and capabilities."""
    major = content_type.split("/", 1)[0]
    if content_type == "audio/ogg":
        return "voice"
    return {"image": "image", "audio": "audio", "video": "video"}.get(major, "document")


def safe_filename(name: str) -> str:
    """A file name without path parts or odd characters (never used as a path here)."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    return cleaned[:100] or "file"


@dataclass(frozen=True, slots=True)
class SavedMedia:
    id: int
    sha256: str
    content_type: str
    kind: str
    size: int
    duplicate: bool


class MediaStore:
    """Stores bytes and hands out links; implements adapters' `MediaAccess`."""

    def __init__(self, directory: Path, db: Database, signer: Signer, public_url: str,
                 clock: Clock, link_ttl: timedelta) -> None:
        self.directory = directory
        self._db = db
        self._signer = signer
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self._ttl = link_ttl

    def path_for(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / sha256

    async def save(
        self,
        session: AsyncSession,
        data: bytes,
        *,
        filename: str = "",
        person_id: int | None = None,
        now: datetime,
    ) -> SavedMedia:
        """Store bytes (once per content and person) and return the row's facts."""
        digest = hashlib.sha256(data).hexdigest()
        existing = await session.scalar(
            select(MediaRow).where(MediaRow.sha256 == digest, MediaRow.person_id == person_id)
        )
        content_type = sniff(data)
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: a crash never leaves half a file under the name
        if existing is not None:
            return SavedMedia(existing.id, digest, existing.content_type, existing.kind,
                              existing.size, duplicate=True)
        row = MediaRow(sha256=digest, content_type=content_type, kind=kind_of(content_type),
                       size=len(data), path=str(path.relative_to(self.directory)),
                       filename=safe_filename(filename) if filename else "",
                       person_id=person_id, created_at=now)
        session.add(row)
        await session.flush()
        return SavedMedia(row.id, digest, content_type, row.kind, row.size, duplicate=False)

    def link(self, media_id: int) -> str:
        token = self._signer.sign("media", {"m": media_id}, self._ttl, self._clock.now())
        return f"{self._public_url}/media/{token}"

    def resolve(self, token: str) -> int | None:
        data = self._signer.verify("media", token, self._clock.now())
        media_id = data.get("m") if data else None
        return media_id if isinstance(media_id, int) else None

    async def read(self, media_id: int) -> StoredMedia:
        async with self._db.engine.connect() as conn:
            row = (await conn.execute(select(MediaRow).where(MediaRow.id == media_id))).first()
        if row is None:
            raise FileNotFoundError(f"media {media_id} not stored")
        data = (self.directory / row.path).read_bytes()
        return StoredMedia(row.id, data, row.content_type, row.filename or f"media-{row.id}",
                           row.kind)

    async def delete_unreferenced(self, session: AsyncSession, sha256: str) -> None:
        """Remove a file once no row refers to its content any more."""
        still = await session.scalar(select(MediaRow.id).where(MediaRow.sha256 == sha256))
        if still is None:
            self.path_for(sha256).unlink(missing_ok=True)
