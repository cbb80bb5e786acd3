"""Phone-like photos and hostile files, generated (never downloaded) for the photo tests:
what a phone sends (a 12 MP JPEG with GPS and a rotated orientation, a PNG with transparency,
a WebP, an HEIC) and what an attacker sends instead."""

from __future__ import annotations

import io
import struct
import zlib

import piexif
import pillow_heif
from PIL import Image

PHONE_SIZE = (4032, 3024)  # 12 MP, landscape as the sensor stores it
RED_CORNER = (0, 0, 400, 300)  # top-left as stored; orientation 6 turns it to the top-right


def _scene(size: tuple[int, int]) -> Image.Image:
    """A picture with detail (so JPEG sizes are realistic) and a red block in the stored top-left."""
    width, height = size
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image, noise, 0.12)  # about a phone sensor's grain: files of phone-like size
    image.paste((230, 0, 0), (0, 0, width // 10, height // 10))
    return image


def phone_jpeg(size: tuple[int, int] = PHONE_SIZE, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS, the camera's make and an orientation, and a comment."""
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Orientation: orientation, piexif.ImageIFD.Make: b"PhoneMaker"},
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((40, 1), (25, 1), (1234, 100)),
                piexif.GPSIFD.GPSLongitudeRef: b"W",
                piexif.GPSIFD.GPSLongitude: ((3, 1), (42, 1), (5678, 100)),
            },
        }
    )
    out = io.BytesIO()
    _scene(size).save(out, "JPEG", quality=92, exif=exif, comment=b"taken at home")
    return out.getvalue()


def transparent_png(size: tuple[int, int] = (800, 600)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste((0, 120, 0, 255), (100, 100, 400, 400))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp(size: tuple[int, int] = (1200, 900)) -> bytes:
    out = io.BytesIO()
    _scene(size).save(out, "WEBP", quality=80)
    return out.getvalue()


def heic(size: tuple[int, int] = (1600, 1200), quality: int = 80) -> bytes:
    out = io.BytesIO()
    pillow_heif.from_pillow(_scene(size)).save(out, quality=quality)
    return out.getvalue()


def small_jpeg(size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (200, 120, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


# --- hostile ------------------------------------------------------------------------------


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG declaring 900 megapixels of one colour (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    whole = phone_jpeg((1200, 900))
    return whole[: len(whole) // 2]


def html_named_jpg() -> bytes:
    return b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def pdf_named_jpg() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def jpeg_with_script_comment() -> bytes:
    """A valid JPEG that is also a web page: markup in its comment (a polyglot)."""
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(out, "JPEG", comment=b"<script>alert(1)</script>")
    return out.getvalue()


def oversize(megabytes: int = 30) -> bytes:
    """A file of `megabytes` MB that starts like a JPEG."""
    head = small_jpeg()
    return head + b"\x00" * (megabytes * 1024 * 1024 - len(head))
