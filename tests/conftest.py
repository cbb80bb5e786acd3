"""Shared fixtures. Engine fixtures first; the Flask fixtures (app, client, runner) follow."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from tests.support import NURSE, MakeApp, build_app, shipped_kb, unavailable
from triage import Assessor, KnowledgeBase
from triage.knowledge.files import default_dir

if TYPE_CHECKING:
    from flask import Flask

# CI runs every property test on the same examples (a failure there is reproducible and a green
# run is not luck); a developer's run explores new ones. HYPOTHESIS_PROFILE picks one explicitly.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

# DATABASE_URL, when set, names a PostgreSQL server for the records tests (tests/test_records.py
# runs each test there too, in a schema of its own). Every app the tests build otherwise uses
# SQLite: a fresh file per test (the `app` fixture), or this session's shared file.
POSTGRES_URL = os.environ.pop("DATABASE_URL", None)
os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp(prefix='triage-tests-')) / 'shared.sqlite3'}"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The shipped knowledge base (loaded once: tests.support.shipped_kb)."""
    return shipped_kb()


@pytest.fixture(scope="session")
def assessor(kb: KnowledgeBase) -> Assessor:
    return Assessor(kb)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge directory."""
    target = tmp_path / "knowledge"
    shutil.copytree(default_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


@pytest.fixture
def edit_kb(kb_copy: Path) -> Callable[[str, str, str], Path]:
    """Replace text in one file of a knowledge copy; returns the directory."""

    def edit(file: str, old: str, new: str) -> Path:
        path = kb_copy / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))
        return kb_copy

    return edit


# --- Records database ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def records_db(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A migrated, empty records Database: SQLite always, PostgreSQL when DATABASE_URL names one."""
    from sqlalchemy.engine import make_url

    from web.storage.database import Database, normalize_url, scratch_database

    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'records.sqlite3'}")
        db.upgrade()
        yield db
        db.dispose()
        return
    if not POSTGRES_URL:
        unavailable("DATABASE_URL is not set: set it to a PostgreSQL server to run the records tests there too")
    url = make_url(normalize_url(POSTGRES_URL))
    if url.get_backend_name() != "postgresql":
        unavailable(f"DATABASE_URL is not PostgreSQL ({url.get_backend_name()})")
    with scratch_database(POSTGRES_URL) as db:
        db.upgrade()
        yield db


# --- Flask fixtures (flaskr style) -----------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite records database for one test."""
    return f"sqlite:///{tmp_path / 'records.sqlite3'}"


@pytest.fixture
def make_app(database_url: str) -> Iterator[MakeApp]:
    """Makes the web app in testing mode (tests.support.TESTING_CONFIG: the rate limit is off
    unless a test turns it on) on this test's own records database, with the test's overrides:
    `make_app(RATELIMIT_ENABLED=True)`. Every app made is closed after the test."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = build_app(**({"DATABASE_URL": database_url} | overrides))
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["triage_db"].dispose()


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    """The web app in testing mode, on its own records database."""
    return make_app()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def nurse_account(app):  # type: ignore[no-untyped-def]
    """A nurse account (username, password) made with the CLI command a clinic would use."""
    result = app.test_cli_runner().invoke(args=["nurse", "create", NURSE[0], "--password-stdin"], input=NURSE[1] + "\n")
    assert result.exit_code == 0, result.output
    return NURSE


@pytest.fixture
def nurse_client(app, nurse_account):  # type: ignore[no-untyped-def]
    """A test client signed in as a nurse."""
    client = app.test_client()
    from tests.web_helpers import sign_in

    sign_in(client, *nurse_account)
    return client


@pytest.fixture
def api_key(app):  # type: ignore[no-untyped-def]
    """Headers carrying an API key for the client "clinic-ehr" (made with `flask api-key create`),
    which the API needs to store a record."""
    result = app.test_cli_runner().invoke(args=["api-key", "create", "clinic-ehr"])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.splitlines()[-1]}"}
