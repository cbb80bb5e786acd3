"""The app as a process: it refuses to start on a broken knowledge base, and in production
everything it writes to stderr is one JSON object per line, with no health data.

(Request-log fields in-process are checked in tests/test_web_app.py; gunicorn itself in
tests/test_reliability_gunicorn.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from tests.kb_samples import BROKEN
from tests.support import DATA_KEY, REPO, MakeApp
from triage import KnowledgeError, default_assessor
from triage.knowledge.files import KNOWLEDGE_DIR_ENV

ASSESS_MODULE = sys.modules["triage.answer.assess"]  # `triage.assess` the name is the function
ACCESS_KEYS = {"time", "level", "logger", "method", "route", "status", "duration_ms"}


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget this process's default Assessor for one test, as a new worker process would start."""
    monkeypatch.setattr(ASSESS_MODULE, "_default", None)


# --- broken knowledge base: no start --------------------------------------------------------------

CASES = ["bad TOML", "unknown key", "missing field", "wrong type", "window order wrong", "unknown reference"]
CASES += ["duplicate id"]


@pytest.mark.parametrize("case", CASES)
def test_app_refuses_to_start_on_a_broken_knowledge_base(
    case: str, edit_kb: Any, monkeypatch: pytest.MonkeyPatch, fresh_default: None, make_app: MakeApp
) -> None:
    file, old, new, words = BROKEN[case]
    directory = edit_kb(file, old, new)
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(directory))
    with pytest.raises(KnowledgeError) as info:
        make_app()
    assert info.value.file == str(directory / file)
    assert info.value.entry and info.value.problem
    for word in words:
        assert word in str(info.value)


def test_app_serves_an_edited_but_valid_knowledge_base(
    edit_kb: Any, monkeypatch: pytest.MonkeyPatch, fresh_default: None, make_app: MakeApp
) -> None:
    """The control for the test above: the same mechanism with a valid edit does start, and uses it."""
    directory = edit_kb(
        "symptoms.toml",
        "window = { expected_until = 48, monitor_until = 168 }",
        "window = { expected_until = 10, monitor_until = 168 }",
    )
    monkeypatch.setenv(KNOWLEDGE_DIR_ENV, str(directory))
    client = make_app().test_client()
    assert client.get("/healthz").status_code == 200
    r = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness", "severity": "mild"}], "hours": 30})
    assert r.get_json()["disposition"] == "monitor"  # 30 h is past the edited 10 h window
    assert default_assessor().kb.source_dir == str(directory)


def run_python(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_", "RATELIMIT_", "LOG_"))}
    full_env.update(env, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


PRODUCTION = {
    "TRIAGE_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "DATA_KEY": DATA_KEY,
    "SESSION_COOKIE_SECURE": "false",
}


def test_fresh_process_refuses_to_start_on_a_broken_knowledge_base(edit_kb: Any) -> None:
    directory = edit_kb("rules.toml", 'id = "severe-after-24h"', 'id = "severe-first-day"')
    done = run_python(
        "from web import create_app\ncreate_app()\nprint('STARTED')",
        PRODUCTION | {KNOWLEDGE_DIR_ENV: str(directory)},
    )
    assert done.returncode != 0
    assert "STARTED" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("triage.knowledge.KnowledgeError: ")
    assert str(directory / "rules.toml") in last
    assert "rule 'severe-first-day'" in last and "duplicate id" in last


# --- production logs: JSON lines, no health data --------------------------------------------------

REQUESTS = """
    import io, json
    from web import create_app
    app = create_app()
    c = app.test_client()
    for body in (
        {"symptoms": [{"id": "hives"}, {"id": "fever", "severity": "severe"}], "hours": 31.4159,
         "factors": ["isotretinoin"], "worsening": True},
        {"symptoms": [{"id": "secret-glitter"}], "hours": 3},
        {"symptoms": [{"id": "pus", "severity": "nope-xyz"}], "hours": 3},
        {"symptoms": [{"id": "dent"}], "hours": -77.777},
    ):
        c.post("/api/v1/assess?symptom=lip-tongue-swelling", json=body)
    c.post("/api/v1/assess", data='{"symptoms": [{"id": "rash"', content_type="application/json")
    c.post("/api/v1/assess", data="blisters", content_type="text/plain")
    c.post("/api/v1/assess", data="x" * 20000, content_type="application/json")
    c.get("/api/v1/assess")
    c.get("/no-such-page?fever=1")
    c.get("/api/v1/knowledge")
    c.get("/healthz")
    c.post("/", data={"symptom": ["numbness"], "hours": "12", "worsening": "no"})
    c.post("/nurse", data={"symptoms": "cold-sores", "hours": "5"})
    for _ in range(3):
        c.post("/api/v1/assess", json={"symptoms": [{"id": "track-marks"}], "hours": 2})
"""
SECRETS = [
    "hives",
    "fever",
    "isotretinoin",
    "31.4159",
    "secret-glitter",
    "pus",
    "nope-xyz",
    "dent",
    "77.777",
    "lip-tongue",
    "rash",
    "blisters",
    "numbness",
    "cold-sores",
    "track-marks",
    "contact clinician",
    "monitor",
    "expected",
]


def json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
    return parsed


def test_production_stderr_is_json_request_lines_without_health_data() -> None:
    done = run_python(REQUESTS, PRODUCTION | {"RATELIMIT_API": "9 per minute"})
    assert done.returncode == 0, done.stderr[-2000:]
    entries = json_lines(done.stderr)
    assert len(entries) == 16  # one per request, nothing else
    assert all(set(e) == ACCESS_KEYS for e in entries), entries
    assert {e["status"] for e in entries} >= {200, 400, 404, 405, 413, 415, 422, 429}
    assert all(e["route"] is None or "?" not in e["route"] for e in entries)  # query strings are never logged
    for secret in SECRETS:
        assert secret not in done.stderr.lower(), secret
    assert done.stdout == ""


def test_production_error_log_is_json_without_the_message() -> None:
    """An unhandled error is one JSON line (type and frames), not the message, which can echo input."""
    code = """
        import json
        from flask import request
        from web import create_app
        app = create_app()

        def broken(*args, **kwargs):
            raise RuntimeError(json.dumps(request.get_json()))  # a message that echoes the report

        class Broken:
            def __getattr__(self, name):
                return broken

        app.extensions["triage_assessor"] = Broken()
        r = app.test_client().post("/api/v1/assess", json={"symptoms": [{"id": "hives"}], "hours": 2})
        assert r.status_code == 500
    """
    done = run_python(code, PRODUCTION)
    assert done.returncode == 0, done.stderr[-2000:]
    entries = json_lines(done.stderr)
    errors = [e for e in entries if e["level"] == "error"]
    assert len(errors) == 1 and errors[0]["error"] == "RuntimeError"
    assert [e["status"] for e in entries if e["logger"] == "web.access"] == [500]
    assert "hives" not in done.stderr  # the exception's message is never logged
