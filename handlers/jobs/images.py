"""Checks and cleans one inbound file before anything is stored.

The content type comes from the bytes (`bot.media.sniff`), never from the name or the
provider's header. Images are opened with Pillow under a pixel limit (a small PNG can
declare a billion pixels), fully decoded once (a truncated or fake JPEG fails here), their
capture time read from EXIF, GPS removed where asked, and a thumbnail made. Failures raise
`Refused` with a text key, so the sender gets a clear reason and nothing is kept.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from werkbot.bot.media import kind_of, sniff

if TYPE_CHECKING:  # Pillow (~2 MB) is loaded when a file is checked, not at start-up
    from PIL import Image

log = logging.getLogger(__name__)

MAX_PIXELS = 80_000_000  # about a 10000 x 8000 photo; anything larger is refused, not decoded
THUMB_SIZE = (400, 400)
ALLOWED = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/webm", "audio/ogg", "audio/mpeg", "audio/mp4", "application/pdf",
})
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL, _DATETIME = 36867, 36881, 306
_SAVE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


class Refused(Exception):
    """A file werkbot will not take; `key` names the text under `jobs.refused`."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Checked:
    data: bytes
    content_type: str
    kind: str
    captured_at: datetime | None
    thumbnail: bytes | None
    gps_removed: bool = False


def check_name(filename: str) -> None:
    """A file name with path parts is refused: it says someone is probing, not sharing."""
    if any(sep in filename for sep in ("/", "\\", "\x00")) or filename.strip() in (".", ".."):
        raise Refused("bad_name")


def check_file(data: bytes, claimed: str, *, max_bytes: int, strip_gps: bool,
               local_tz: tzinfo) -> Checked:
    """Validate and clean one file; raise `Refused` if it must not be stored."""
    if len(data) > max_bytes:
        raise Refused("too_large")
    real = sniff(data)
    if real not in ALLOWED:
        raise Refused("fake_image" if claimed.startswith("image/") else "bad_type")
    if claimed.startswith("image/") and not real.startswith("image/"):
        raise Refused("fake_image")
    if not real.startswith("image/"):
        return Checked(data, real, kind_of(real), None, None)
    return _check_image(data, real, strip_gps=strip_gps, local_tz=local_tz)


def _check_image(data: bytes, content_type: str, *, strip_gps: bool,
                 local_tz: tzinfo) -> Checked:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise Refused("too_many_pixels")
                img.load()
                exif = img.getexif()
                captured = _capture_time(exif, local_tz)
                thumbnail = _thumbnail(img)
                has_gps = _GPS_IFD in exif or bool(img.info.get("xmp"))
                if strip_gps and has_gps and content_type in _SAVE_FORMATS:
                    cleaned = _without_gps(img, exif, _SAVE_FORMATS[content_type])
                    return Checked(cleaned, content_type, "image", captured, thumbnail, True)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Refused("too_many_pixels") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise Refused("fake_image") from None
    return Checked(data, content_type, "image", captured, thumbnail)


def without_gps(data: bytes, content_type: str) -> bytes | None:
    """A copy of an image without its position, or None when it carries none (or is no
    image this module can re-save). For staff photos on their way to a customer: the
    business keeps where a photo was taken, the customer's copy does not show it."""
    from PIL import Image

    if content_type not in _SAVE_FORMATS:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            exif = img.getexif()
            if _GPS_IFD not in exif and not img.info.get("xmp"):
                return None
            if _GPS_IFD not in exif:
                exif[_GPS_IFD] = {}  # XMP alone: the re-save below drops it all the same
            return _without_gps(img, exif, _SAVE_FORMATS[content_type])
    except (OSError, SyntaxError, ValueError, EOFError):
        return None


def _without_gps(img: Image.Image, exif: Image.Exif, fmt: str) -> bytes:
    """Re-save without the GPS block (and without XMP, which can repeat the position)."""
    del exif[_GPS_IFD]
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes()}
    if img.info.get("icc_profile"):
        options["icc_profile"] = img.info["icc_profile"]
    if fmt == "JPEG":
        options.update(quality="keep", subsampling="keep")  # no second round of loss
    elif fmt == "WEBP":
        options.update(quality=95)
    img.save(out, format=fmt, **options)
    return out.getvalue()


def _capture_time(exif: Image.Exif, local_tz: tzinfo) -> datetime | None:
    inner = exif.get_ifd(_EXIF_IFD)
    raw = inner.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = inner.get(_OFFSET_ORIGINAL)
    if isinstance(offset, str) and len(offset) >= 6 and offset[0] in "+-":
        try:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
        except ValueError:
            return when.replace(tzinfo=local_tz)
        sign = 1 if offset[0] == "+" else -1
        return when.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return when.replace(tzinfo=local_tz)  # cameras write local time without a zone


def _thumbnail(img: Image.Image) -> bytes | None:
    from PIL import ImageOps

    try:
        thumb = ImageOps.exif_transpose(img.copy()) or img.copy()
        thumb = thumb.convert("RGB")
        thumb.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        thumb.save(out, format="JPEG", quality=80)
        return out.getvalue()
    except (OSError, ValueError):
        log.warning("thumbnail failed; the file is kept without one")
        return None
