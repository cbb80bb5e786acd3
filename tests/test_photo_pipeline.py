"""The photo pipeline (web.photo_pipeline): phone-like files come out upright, small and with no
metadata; hostile ones are refused with their reason."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from tests import photo_samples as samples
from web import photo_pipeline
from web.photo_pipeline import PhotoRefused, Refusal, make_safe


def _segments(jpeg: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the image data (SOS)."""
    assert jpeg[:2] == b"\xff\xd8"
    markers, at = [], 2
    while at < len(jpeg):
        assert jpeg[at] == 0xFF, at
        marker = jpeg[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the rest is image data
            return markers
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")
    return markers


def _no_metadata(jpeg: bytes) -> None:
    markers = _segments(jpeg)
    # APP0 (JFIF) only: no APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC) or COM (comment).
    assert [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE] == [], [hex(m) for m in markers]
    image = Image.open(io.BytesIO(jpeg))
    assert not {"exif", "icc_profile", "comment", "xmp", "photoshop"} & set(image.info)
    assert dict(image.getexif()) == {}


def test_a_12_mp_phone_jpeg_is_stored_upright_small_and_without_gps_or_any_metadata() -> None:
    original = samples.phone_jpeg()
    assert b"PhoneMaker" in original and Image.open(io.BytesIO(original)).getexif()[0x0112] == 6
    safe = make_safe(original)
    _no_metadata(safe.jpeg)
    _no_metadata(safe.thumbnail)
    stored = Image.open(io.BytesIO(safe.jpeg))
    assert stored.format == "JPEG" and stored.mode == "RGB"
    # Orientation 6 applied: the 4032 x 3024 landscape sensor image is a portrait, halved while
    # decoded (draft mode) to 1512 x 2016: at most 2048 px on the long side.
    assert stored.size == (safe.width, safe.height) == (1512, 2016)
    red = stored.getpixel((stored.width - 30, 30))
    assert red[0] > 180 and red[1] < 60, red  # the stored top-left's red block is now top-right
    assert stored.getpixel((30, 30))[0] < 180 or stored.getpixel((30, 30))[1] > 60
    assert b"PhoneMaker" not in safe.jpeg and b"taken at home" not in safe.jpeg
    assert max(Image.open(io.BytesIO(safe.thumbnail)).size) == photo_pipeline.THUMBNAIL_SIDE


@pytest.mark.parametrize(
    ("make", "size"),
    [
        (samples.transparent_png, (800, 600)),
        (samples.webp, (1200, 900)),
        (samples.heic, (1600, 1200)),
        (lambda: samples.phone_jpeg((3000, 2400), orientation=1), (2048, 1638)),
    ],
    ids=["png-transparent", "webp", "heic", "jpeg-upright"],
)
def test_each_accepted_format_becomes_a_jpeg_without_metadata(make, size) -> None:  # type: ignore[no-untyped-def]
    safe = make_safe(make())
    _no_metadata(safe.jpeg)
    assert Image.open(io.BytesIO(safe.jpeg)).size == size


def test_a_30_mp_jpeg_is_accepted_as_it_is_scaled_while_decoded() -> None:
    out = io.BytesIO()
    Image.new("RGB", (6400, 4800), (120, 80, 60)).save(out, "JPEG")
    safe = make_safe(out.getvalue())
    assert (safe.width, safe.height) == (1600, 1200)  # decoded at a quarter, never at 30 MP


def test_transparency_is_laid_on_white_not_black() -> None:
    stored = Image.open(io.BytesIO(make_safe(samples.transparent_png()).jpeg))
    assert min(stored.getpixel((10, 10))) > 240  # was transparent
    green = stored.getpixel((200, 200))
    assert green[1] > 100 and green[0] < 30


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (samples.png_bomb(), Refusal.TOO_MANY_PIXELS),
        (samples.png_bomb(8_000, 7_000), Refusal.TOO_MANY_PIXELS),  # 56 MP: ours, below Pillow's own
        (samples.png_bomb(5_000, 5_000), Refusal.TOO_MANY_PIXELS),  # 25 MP: over what is decoded whole
        (samples.truncated_jpeg(), Refusal.DAMAGED),
        (samples.html_named_jpg(), Refusal.NOT_A_PHOTO),
        (samples.pdf_named_jpg(), Refusal.NOT_A_PHOTO),
        (samples.jpeg_with_script_comment(), Refusal.HIDDEN_CONTENT),
        (samples.oversize(30), Refusal.TOO_LARGE),
        (b"", Refusal.EMPTY),
        (b"GIF89a" + b"\x00" * 100, Refusal.NOT_A_PHOTO),
    ],
    ids=["bomb-900mp", "bomb-56mp", "png-25mp", "truncated", "html", "pdf", "script-comment", "30mb", "empty", "gif"],
)
def test_hostile_files_are_refused_with_their_reason(data: bytes, reason: Refusal) -> None:
    with pytest.raises(PhotoRefused) as refused:
        make_safe(data)
    assert refused.value.reason is reason


def test_a_gif_that_decodes_is_still_refused_judged_by_decoding() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(PhotoRefused) as refused:
        make_safe(out.getvalue())
    assert refused.value.reason is Refusal.NOT_A_PHOTO


def test_a_bomb_is_refused_from_its_header_fast() -> None:
    bomb = samples.png_bomb()
    started = time.perf_counter()
    with pytest.raises(PhotoRefused):
        make_safe(bomb)
    assert time.perf_counter() - started < 0.5  # nothing decoded


def test_when_every_decoder_is_busy_a_photo_is_refused_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photo_pipeline, "DECODE_WAIT", 0.01)
    held = [photo_pipeline._decoders.acquire() for _ in range(photo_pipeline.DECODERS_AT_ONCE)]
    try:
        with pytest.raises(PhotoRefused) as refused:
            make_safe(samples.small_jpeg())
        assert refused.value.reason is Refusal.BUSY
    finally:
        for _ in held:
            photo_pipeline._decoders.release()
    assert make_safe(samples.small_jpeg()).width == 640
