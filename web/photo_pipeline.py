"""A patient's photo made safe on arrival: decoded (never trusted by name or declared type),
turned upright, stripped of every piece of metadata by re-encoding to JPEG, shrunk to at most
2048 px on the long side. The original bytes are never kept. No Flask here.

The bounds, and why (benchmarks/photos.py measures them):
- MAX_PHOTO_BYTES (10 MB) is checked before anything is decoded: a phone's 12 MP JPEG is 2 to
  5 MB and its HEIC about half that, so 10 MB leaves room without inviting huge files.
- The pixel count is read from the header, before any pixel is decoded. A JPEG may have up to
  MAX_PIXELS (50 MP: phones' 48 and 50 MP modes fit), as it is decoded in draft mode: libjpeg
  scales it down while decoding (by 1/2, 1/4 or 1/8, to no less than DRAFT_LONG_SIDE px), so
  even 50 MP costs about 3 MP of time and memory. PNG, WebP and HEIC are decoded whole, so
  they may have up to MAX_FULL_DECODE_PIXELS (24 MP: every phone's normal setting; a 48 MP
  "max" HEIC is refused with "use your camera's normal photo setting"), which keeps one decode
  under about 200 MB. The 108 and 200 MP modes and every decompression bomb (a small file
  declaring a huge image) are refused. Pillow's own guard (Image.MAX_IMAGE_PIXELS, set to
  MAX_PIXELS for the process) stays on underneath, its warning turned into an error. Once
  decoded, such an image is first shrunk by a whole number (a box filter, to no less than
  DRAFT_LONG_SIDE px, as JPEG's draft), then resampled (LANCZOS) to the stored size.
- DECODERS_AT_ONCE (2) decodes at a time per process: the memory a burst of uploads can take is
  two decodes, not one per server thread. A decode waits at most DECODE_WAIT seconds for its turn,
  then the photo is refused as "busy" (try again), so a burst cannot queue threads forever.
Decoding time is then bounded by the pixel bounds (benchmarks/RESULTS.md: the slowest accepted
input, a 24 MP HEIC, takes a few seconds); no decode is interrupted mid-way, as Pillow cannot
stop one, so the bounds are on what is started.
"""

from __future__ import annotations

import enum
import io
import re
import threading
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
MAX_FULL_DECODE_PIXELS = 24_000_000
LONG_SIDE = 2048
DRAFT_LONG_SIDE = 1600
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 75
DECODERS_AT_ONCE = 2
DECODE_WAIT = 10.0
# What Pillow names the accepted formats after decoding the header (HEIF: HEIC and HEIF files).
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # the process-wide guard under ours
_decoders = threading.BoundedSemaphore(DECODERS_AT_ONCE)

# Markup or a document hidden in an image (a polyglot: a file that is an image and also a web
# page, script or PDF), in any case. The re-encoding would drop it anyway; refusing it tells the
# sender. The markers are long enough that a photo's compressed data holds one by chance about
# once in 10^6 photos or less. One pattern per marker, searched in the lowered bytes: each starts
# with a literal, which the regex engine finds fast; one case-insensitive alternation took a
# quarter of a second on a 7 MB photo.
_HIDDEN_CONTENT = tuple(
    re.compile(marker)
    for marker in (
        rb"<script",
        rb"<iframe",
        rb"<html[\s>]",
        rb"<!doctype html",
        rb"javascript:",
        rb"onerror\s*=",
        rb"onload\s*=",
        rb"%pdf-[12]\.",
    )
)


def _carries_markup(data: bytes) -> bool:
    lowered = data.lower()
    return any(marker.search(lowered) for marker in _HIDDEN_CONTENT)


class Refusal(enum.StrEnum):
    """Why a file was not kept (the web layer words each for the patient)."""

    EMPTY = "empty"
    TOO_LARGE = "too-large"
    NOT_A_PHOTO = "not-a-photo"
    DAMAGED = "damaged"
    TOO_MANY_PIXELS = "too-many-pixels"
    HIDDEN_CONTENT = "hidden-content"
    BUSY = "busy"
    TOO_MANY_PHOTOS = "too-many-photos"


class PhotoRefused(ValueError):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class SafePhoto:
    """What is stored: a fresh JPEG (no metadata) and its thumbnail, upright."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int


def _flatten(image: Image.Image) -> Image.Image:
    """RGB: transparency laid on white (a PNG's see-through parts would turn black in JPEG)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    """Encode with nothing but pixels: no EXIF, ICC profile, XMP or comment (Pillow would carry
    a comment over from `info` by default, so `info` is emptied first)."""
    image.info = {}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _decode(data: bytes) -> Image.Image:
    """The upright image at most LONG_SIDE px on its long side, in RGB."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                width, height = image.size  # from the header: nothing decoded yet
                bound = MAX_PIXELS if image.format == "JPEG" else MAX_FULL_DECODE_PIXELS
                if width * height > bound:
                    raise PhotoRefused(Refusal.TOO_MANY_PIXELS)
                if image.format == "JPEG":  # scaled while decoding, to no less than DRAFT_LONG_SIDE
                    ratio = DRAFT_LONG_SIDE / max(width, height)
                    image.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
                orientation = image.getexif().get(0x0112)
                image.load()
                # HEIC, PNG and WebP decode whole: shrink by a whole number first, to no less than
                # DRAFT_LONG_SIDE as JPEG's draft does (a box filter: a tenth of LANCZOS's time on
                # 12 MP), so what is left to resample is small.
                factor = max(image.size) // DRAFT_LONG_SIDE
                shrunk: Image.Image = image.reduce(factor) if factor > 1 else image
                shrunk.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
                if orientation:
                    shrunk.getexif()[0x0112] = orientation  # kept for exif_transpose after resizing
                upright = ImageOps.exif_transpose(shrunk)
                return _flatten(upright)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRefused(Refusal.TOO_MANY_PIXELS) from None
        except UnidentifiedImageError:
            raise PhotoRefused(Refusal.NOT_A_PHOTO) from None
        except PhotoRefused:  # a ValueError, not to be taken for a damaged file below
            raise
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError):
            # Pillow's ways of saying a file is truncated or malformed.
            raise PhotoRefused(Refusal.DAMAGED) from None


def _identified(data: bytes) -> bool:
    """Whether the header names an accepted image format (nothing decoded)."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS):
            return True
    except (OSError, SyntaxError, ValueError, EOFError):
        return False


def make_safe(data: bytes) -> SafePhoto:
    """The photo to store, or PhotoRefused saying why not."""
    if not data:
        raise PhotoRefused(Refusal.EMPTY)
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(Refusal.TOO_LARGE)
    if _carries_markup(data):
        # A web page or document named .jpg is "not a photo"; an image carrying one, a polyglot.
        raise PhotoRefused(Refusal.HIDDEN_CONTENT if _identified(data) else Refusal.NOT_A_PHOTO)
    if not _decoders.acquire(timeout=DECODE_WAIT):
        raise PhotoRefused(Refusal.BUSY)
    try:
        image = _decode(data)
        jpeg = _jpeg(image, JPEG_QUALITY)
        small = image.copy()
        small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
        return SafePhoto(jpeg, _jpeg(small, THUMBNAIL_QUALITY), image.width, image.height)
    finally:
        _decoders.release()
