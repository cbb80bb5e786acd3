"""Browser fixtures: the app on a local port, Debian's chromium through Playwright, axe-core.

Without chromium, Playwright or axe-core the tests skip and say why on a developer's machine,
and fail in CI, where .ci/run installs all three; they never pass silently.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pages import read_axe
from tests.support import NURSE, PROFILE, build_app, unavailable

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """$CHROMIUM when set (only it), else Debian's /usr/bin/chromium or chromium on PATH."""
    if "CHROMIUM" in os.environ:
        candidates = [os.environ["CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium") or ""]
    return next((c for c in candidates if c and Path(c).exists()), None)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by werkzeug on a free local port, in a background thread, on its own
    records database with one nurse account (NURSE)."""
    from web.storage import store

    database = tmp_path_factory.mktemp("records") / "records.sqlite3"
    app = build_app(LOG_REQUESTS=False, DATABASE_URL=f"sqlite:///{database}")
    with app.extensions["triage_db"].transaction() as session:
        store.create_nurse(session, *NURSE)
    yield from serve(app)


def serve(app: Any) -> Iterator[str]:
    """`app` served by werkzeug on a free local port in a background thread, until the fixture
    that yields from this ends (then the server stops and the app's database is closed)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["triage_db"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        unavailable(
            "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
            + (f"; $CHROMIUM={os.environ['CHROMIUM']} does not exist" if "CHROMIUM" in os.environ else "")
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright (Python) is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def axe_source() -> str:
    return read_axe()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the e2e tests save their screenshots: docs/screenshots with UPDATE_SCREENSHOTS=1
    (the README shows them), else a temporary folder, so a test run leaves the tree clean."""
    target = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture(scope="session")
def clinic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with a clinic profile, served by werkzeug on a free local port."""
    folder = tmp_path_factory.mktemp("clinic")
    profile = folder / "clinic.toml"
    profile.write_text(PROFILE, encoding="utf-8")
    app = build_app(
        LOG_REQUESTS=False, DATABASE_URL=f"sqlite:///{Path(folder) / 'records.sqlite3'}", CLINIC_PROFILE=str(profile)
    )
    yield from serve(app)
