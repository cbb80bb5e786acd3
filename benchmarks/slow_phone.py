"""The patient form on a slow phone network: `python -m benchmarks.slow_phone` (see RESULTS.md).

Debian's chromium (/usr/bin/chromium, or $CHROMIUM) through Playwright, with the network
emulated by CDP `Network.emulateNetworkConditions`: 400 ms round trip, 400 kbit/s each way
(50,000 bytes/s). The app is served by gunicorn (one worker, as gunicorn.conf.py sets it up
otherwise; TRIAGE_ENV=development, so a knowledge base edited since its release still starts) on
127.0.0.1 from this repository, on a fresh records database.

It measures, each `--runs` times (the median is printed):
- the form, first visit (empty cache): when it is usable (DOMContentLoaded, after the deferred
  script ran), and the bytes transferred for the page and everything it loads;
- the form, repeat visit (the same browser profile, a new navigation);
- a result page: a report sent from the form, until the answer's DOMContentLoaded.

The floors beside each figure are what the link allows at best: two round trips (the page, then
its stylesheet and script) plus the bytes at the link speed; and the same with the round trips
this page must wait for (one once the files are cached: the page, or the POST's answer). The
page is usable at DOMContentLoaded, which may come before its last bytes (the icon). A benchmark, not a
test: nothing is asserted; the figures go in benchmarks/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.http import free_port, server_env, wait_healthy

REPO = Path(__file__).resolve().parent.parent
LATENCY_MS = 400
BYTES_PER_SECOND = 50_000  # 400 kbit/s
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def floor_seconds(transferred: int, round_trips: int = 2) -> float:
    """The best the emulated link allows: `round_trips` latencies plus the bytes at its speed."""
    return round_trips * LATENCY_MS / 1000 + transferred / BYTES_PER_SECOND


class _Bytes:
    """Bytes on the wire for a page's requests, as chromium's network layer counts them."""

    def __init__(self, cdp: Any) -> None:
        self.total = 0
        cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event: dict[str, Any]) -> None:
        self.total += int(event.get("encodedDataLength", 0))


def _slow_page(context: Any) -> tuple[Any, _Bytes]:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": BYTES_PER_SECOND,
            "uploadThroughput": BYTES_PER_SECOND,
        },
    )
    return page, _Bytes(cdp)


def _usable(page: Any) -> float:
    """Seconds from the navigation's start to the end of DOMContentLoaded (deferred script run)."""
    timing = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.domContentLoadedEventEnd - n.startTime; }"
    )
    return round(float(timing) / 1000, 3)


def _visit(page: Any, counter: _Bytes, url: str) -> tuple[float, int]:
    counter.total = 0
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)  # late loadingFinished events
    return _usable(page), counter.total


def run_once(browser: Any, url: str) -> dict[str, Any]:
    context = browser.new_context()
    try:
        page, counter = _slow_page(context)
        first, first_bytes = _visit(page, counter, f"{url}/")
        repeat, repeat_bytes = _visit(page, counter, f"{url}/")
        page.check("#symptom-redness")
        page.fill("#hours", "30")
        counter.total = 0
        with page.expect_navigation(wait_until="load"):
            page.click("button.primary[type=submit]")
        page.wait_for_timeout(200)
        result, result_bytes = _usable(page), counter.total
    finally:
        context.close()
    return {
        "form_first_s": first,
        "form_first_bytes": first_bytes,
        "form_repeat_s": repeat,
        "form_repeat_bytes": repeat_bytes,
        "result_s": result,
        "result_bytes": result_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(
            DATABASE_URL=f"sqlite:///{tmp}/records.sqlite3",
            INSTANCE_PATH=tmp,
            PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        # development: the same pages and headers, and it serves a knowledge base edited since its release
        env["TRIAGE_ENV"] = "development"
        log = open(Path(tmp) / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "web:create_app()"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(url, timeout=60)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
                run_once(browser, url)  # warm-up: the server's first requests
                runs = [run_once(browser, url) for _ in range(args.runs)]
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)
            log.close()
    figures = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    # Round trips each page must wait for: the form's HTML, then its stylesheet and script (in
    # parallel) on a first visit; only the HTML (or the POST's answer) once the files are cached.
    rows = [
        ("Form, first visit", "form_first", 2),
        ("Form, repeat visit", "form_repeat", 1),
        ("Result page", "result", 1),
    ]
    print(f"{LATENCY_MS} ms round trip, {BYTES_PER_SECOND * 8 // 1000} kbit/s; median of {args.runs}")
    print(
        "| page | usable (s) | transferred (KB) | floor: 2 round trips + bytes (s)"
        " | floor: its round trips + bytes (s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, key, trips in rows:
        transferred = int(figures[f"{key}_bytes"])
        print(
            f"| {label} | {figures[f'{key}_s']:.2f} | {transferred / 1000:.1f} | {floor_seconds(transferred):.2f}"
            f" | {floor_seconds(transferred, trips):.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "median": figures}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
