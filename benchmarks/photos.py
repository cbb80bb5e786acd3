"""A patient's photo through web.photo_pipeline: time and peak memory per photo (issue 32:
a 12 MP phone photo in under 1 s and under 200 MB peak).

`python -m benchmarks.photos` writes each input once (generated: tests/photo_samples.py), then
measures each kind in a fresh subprocess (`python -m benchmarks.photos KIND FILE RUNS`), so one
kind's memory does not hide another's. Peak memory is the process's high-water mark (VmHWM, all
of Pillow's and libheif's C allocations included, which tracemalloc does not see) minus its
resident size just before the first photo (interpreter, Pillow and pillow-heif loaded, the file
read). Time is per make_safe call: decode, orientation, resize, JPEG and thumbnail encoding.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
TWELVE_MP = (4032, 3024)
FIFTY_MP = (8160, 6120)  # just under the pipeline's 50 MP bound for a JPEG
TWENTY_FOUR_MP = (5656, 4242)  # just under its 24 MP bound for what is decoded whole


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _smooth(size: tuple[int, int]) -> Image.Image:
    """A smooth picture (a screenshot, a drawing, a soft photo): small enough files at any size."""
    gradient = Image.radial_gradient("L").resize(size)
    flipped = gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM), flipped))


def _encoded(size: tuple[int, int], fmt: str) -> Callable[[], bytes]:
    def make() -> bytes:
        import pillow_heif

        out = io.BytesIO()
        image = _smooth(size)
        if fmt == "HEIF":
            pillow_heif.from_pillow(image).save(out, quality=80)
        else:
            image.save(out, fmt, quality=85)
        return out.getvalue()

    return make


def _phone(kind: str, heic_quality: int = 80) -> Callable[[], bytes]:
    def make() -> bytes:
        from tests.photo_samples import heic, phone_jpeg

        return phone_jpeg(TWELVE_MP) if kind == "jpeg" else heic(TWELVE_MP, heic_quality)

    return make


# kind -> (what it is, how to make it)
KINDS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "jpeg-12mp": ("12 MP phone JPEG, EXIF with GPS, orientation 6", _phone("jpeg")),
    "heic-12mp": ("12 MP HEIC (iPhone's format), grain-heavy: larger than a phone's", _phone("heic")),
    "heic-12mp-usual": ("12 MP HEIC at a phone's usual size (2 to 3 MB)", _phone("heic", heic_quality=50)),
    "png-12mp": ("12 MP PNG (smooth: a noisy one is over 10 MB)", _encoded(TWELVE_MP, "PNG")),
    "jpeg-50mp": ("50 MP JPEG (smooth), the largest accepted", _encoded(FIFTY_MP, "JPEG")),
    "heic-24mp": ("24 MP HEIC (smooth), the largest accepted: decoded whole", _encoded(TWENTY_FOUR_MP, "HEIF")),
    "png-24mp": ("24 MP PNG (smooth), the largest accepted: decoded whole", _encoded(TWENTY_FOUR_MP, "PNG")),
}


def measure(path: Path, runs: int) -> dict[str, object]:
    """In this (fresh) process: time each make_safe call, and the memory it peaked at."""
    from web.photo_pipeline import make_safe

    data = path.read_bytes()
    before = _status_kb("VmRSS")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        make_safe(data)
        times.append(time.perf_counter() - started)
    peak = _status_kb("VmHWM")
    return {
        "bytes": len(data),
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "peak_over_start_mb": round((peak - before) / 1024, 1),
        "process_peak_mb": round(peak / 1024, 1),
    }


def run(runs: int = 3, kinds: tuple[str, ...] = tuple(KINDS)) -> list[dict[str, object]]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            label, make = KINDS[kind]
            path = Path(folder) / kind
            path.write_bytes(make())
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.photos", kind, str(path), str(runs)],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append({"kind": kind, "what": label, **json.loads(out.stdout.strip().splitlines()[-1])})
    return rows


def main() -> None:
    if len(sys.argv) == 4:
        print(json.dumps(measure(Path(sys.argv[2]), int(sys.argv[3]))))
        return
    print("| input | file | median | slowest | peak over start | process peak |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in run():
        print(
            f"| {row['what']} | {float(str(row['bytes'])) / 1e6:.1f} MB | {row['median_s']} s | {row['max_s']} s "
            f"| {row['peak_over_start_mb']} MB | {row['process_peak_mb']} MB |"
        )


if __name__ == "__main__":
    main()
