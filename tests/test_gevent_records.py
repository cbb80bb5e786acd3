"""The records database under gunicorn.conf.py's gevent workers (issue 34): patients posting the
form at once each get their own record, on SQLite and on PostgreSQL (psycopg 3 waits on gevent's
patched sockets, so one greenlet's query does not block or mix with another's)."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.gunicorn_server import start_gunicorn
from tests.web_helpers import patient_form
from web.storage.models import Record

CLIENTS = 6
POSTS = 4


def post_form(base: str, symptoms: dict[str, str], hours: str) -> tuple[int, str]:
    """One patient: the form (its token and cookie), then the report; the status and the page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(f"{base}/", timeout=30) as r:
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.read().decode())
    assert token, "no CSRF token on the form"
    data = patient_form(symptoms, hours=hours)
    data["csrf_token"] = token.group(1)
    body = urllib.parse.urlencode(data, doseq=True).encode()
    request = urllib.request.Request(f"{base}/", data=body, headers={"Referer": f"{base}/"}, method="POST")
    with opener.open(request, timeout=30) as r:
        return r.status, r.read().decode()


def test_patients_posting_at_once_each_get_a_record(records_db: Any, tmp_path: Path) -> None:
    server = start_gunicorn(tmp_path / "gunicorn.log", {"DATABASE_URL": str(records_db.url)}, args=())
    if server.proc.poll() is not None:
        pytest.fail(f"gunicorn exited with {server.proc.returncode}: {server.log.read_text()[-800:]}")
    pages: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(CLIENTS)

    def patient(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for j in range(POSTS):
                pages.append(post_form(server.base, {"redness": "mild", "swelling": "moderate"}, str(10 + i + j)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=patient, args=(i,)) for i in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        server.stop()
    assert errors == []
    assert [status for status, _ in pages] == [200] * CLIENTS * POSTS
    codes = [re.search(r'id="reference-code"[^>]*>\s*([^<\s]+)', page) for _, page in pages]
    assert all(codes), "a page without its reference code"
    assert len({c.group(1) for c in codes if c}) == CLIENTS * POSTS
    with records_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == CLIENTS * POSTS
    assert "Using worker: gevent" in server.log.read_text()
