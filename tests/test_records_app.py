"""Records through the app: the patient gets a code (or a note when storing fails), the
console stores with the nurse, and the db / nurse / records CLI commands."""

from __future__ import annotations

import html
import stat
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.web_helpers import csrf_token, patient_form
from web.storage.codes import normalize_code
from web.storage.models import AuditEvent, Entry, Record, utcnow


def _db(app):  # type: ignore[no-untyped-def]
    return app.extensions["triage_db"]


def _post_patient(client, symptoms, hours="30"):  # type: ignore[no-untyped-def]
    data = patient_form(symptoms, hours=hours)
    data["csrf_token"] = csrf_token(client)
    return client.post("/", data=data)


def test_first_start_creates_the_database_with_no_manual_step(tmp_path, make_app) -> None:  # type: ignore[no-untyped-def]
    instance = tmp_path / "instance"
    app = make_app(DATABASE_URL=None, INSTANCE_PATH=str(instance))
    assert app.instance_path == str(instance)
    assert _db(app).url == f"sqlite:///{instance / 'triage.sqlite3'}"
    assert (instance / "triage.sqlite3").is_file()
    # Health data: the file (and SQLite's -wal and -shm beside it) for the owner only.
    assert stat.S_IMODE((instance / "triage.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for side in instance.glob("triage.sqlite3-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
    assert {"records", "entries", "overrides", "nurses", "audit_events"} <= _db(app).tables()
    assert _db(app).current() == "0007"


def test_patient_result_shows_the_reference_code_and_the_record_holds_what_they_saw(app, client) -> None:  # type: ignore[no-untyped-def]
    response = _post_patient(client, {"redness": "mild", "swelling": "moderate"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    code = page.split('id="reference-code"', 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
    assert normalize_code(code) == code
    assert "Give this code to the nurse if you call" in page
    with _db(app).transaction() as s:
        record = s.scalar(select(Record).where(Record.reference == code))
        (entry,) = record.entries
        assert entry.channel == "patient-form" and entry.nurse_id is None
        assert [x["id"] for x in entry.report["symptoms"]] == ["redness", "swelling"]
        assert entry.answer["disposition"] == "expected" and entry.hours == 30.0
        # The patient's private link is issued with the record (only its hash is kept).
        assert [(a.actor, a.action) for a in s.scalars(select(AuditEvent))] == [
            ("patient-form", "create"),
            ("patient-link", "issue-link"),
        ]


def test_a_failure_to_store_still_shows_the_answer_with_a_note(app, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("INSERT INTO records", {}, Exception("database is locked"))

    monkeypatch.setattr("web.storage.store.create_record", broken)
    response = _post_patient(client, {"pus": "moderate"}, hours="60")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Contact your clinic" in page or "Contact clinician" in page or "contact" in page.lower()
    assert "no reference code could be issued" in page
    assert 'id="reference-code"' not in page


def test_console_assessment_is_stored_with_the_nurse(app, nurse_client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(nurse_client, "/nurse")
    page = nurse_client.post("/nurse", data={"symptoms": "redness:mild", "hours": "6", "csrf_token": token})
    text = html.unescape(page.get_data(as_text=True))
    with _db(app).transaction() as s:
        entry = s.scalar(select(Entry))
        assert entry.channel == "nurse-console" and entry.nurse.username == "nurse.jones"
        code = entry.record.reference
    assert f"Reference: {code}" in text  # in the documentation note


def test_nurse_create_cli(app, runner) -> None:  # type: ignore[no-untyped-def]
    ok = runner.invoke(args=["nurse", "create", "Alice", "--password-stdin"], input="a long password here\n")
    assert ok.exit_code == 0 and "nurse account 'alice' created" in ok.output
    again = runner.invoke(args=["nurse", "create", "alice", "--password-stdin"], input="a long password here\n")
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(args=["nurse", "create", "bob", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    prompted = runner.invoke(args=["nurse", "create", "carol"], input="another long password\nanother long password\n")
    assert prompted.exit_code == 0, prompted.output
    # A short password is refused before the confirmation is asked for, and asked for again.
    retried = runner.invoke(
        args=["nurse", "create", "dave"], input="short\nlong enough password\nlong enough password\n"
    )
    assert retried.exit_code == 0, retried.output
    assert retried.output.index("at least 12 characters") < retried.output.index("Repeat for confirmation")
    differ = runner.invoke(args=["nurse", "create", "erin"], input="long enough password\nsomething else entirely\n")
    assert differ.exit_code == 2 and "differ" in differ.output
    bad_name = runner.invoke(args=["nurse", "create", "no spaces please"])
    assert bad_name.exit_code == 2 and "username" in bad_name.output and "Password" not in bad_name.output


def test_records_purge_cli_deletes_old_records_and_says_how_many(app, client, runner) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        _post_patient(client, {"redness": "mild"})
    with _db(app).transaction() as s:
        old = list(s.scalars(select(Record).order_by(Record.id)))[:2]
        for r in old:
            r.updated_at = utcnow() - timedelta(days=40)
    result = runner.invoke(args=["records", "purge", "--days", "60"])
    assert result.exit_code == 0 and "deleted 0 records" in result.output
    result = runner.invoke(args=["records", "purge", "--days", "30"])
    assert result.exit_code == 0 and "deleted 2 records not updated in the last 30 days" in result.output
    app.config["RETENTION_DAYS"] = 1
    result = runner.invoke(args=["records", "purge"])
    assert "deleted 0 records not updated in the last 1 days" in result.output
    with _db(app).transaction() as s:
        assert len(s.scalars(select(Record)).all()) == 1
    assert runner.invoke(args=["records", "purge", "--days", "0"]).exit_code == 2


def test_db_cli_downgrades_and_upgrades(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["db", "current"]).output.strip() == "0007"
    down = runner.invoke(args=["db", "downgrade", "base"])
    assert down.exit_code == 0 and "base" in down.output
    assert _db(app).tables() <= {"alembic_version"}
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0 and "0007" in up.output


MIGRATE = """
import sys
from web.storage.database import Database
Database(sys.argv[1]).upgrade()
"""


def test_several_processes_starting_at_once_migrate_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """gunicorn workers each migrate at start; on a new database they must not collide."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    from web.storage.database import Database

    db = Database(url)
    assert db.current() == "0007"
    db.dispose()


def test_a_second_start_waits_for_the_whole_migration_not_just_one_step(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The race behind the test above, made certain: a second process that reads the version
    between two of the first one's migrations plans steps the first has also planned. The
    first start here lets the second go at the moment it would begin a second transaction."""
    import threading

    from sqlalchemy import event

    from web.storage.database import Database

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    first, second = Database(url), Database(url)
    go, begins, errors = threading.Event(), [], []

    def pause_at_the_second_begin(_connection) -> None:  # type: ignore[no-untyped-def]
        begins.append(1)
        if len(begins) == 2:  # before this BEGIN takes the lock: let the second start in
            go.set()
            threading.Event().wait(0.5)

    event.listen(first.engine, "begin", pause_at_the_second_begin, insert=True)

    def run(db, wait_first: bool) -> None:  # type: ignore[no-untyped-def]
        try:
            if wait_first:
                go.wait(30)
            db.upgrade()
        except Exception as error:  # reported by the assertion below
            errors.append(repr(error))
        finally:
            go.set()

    threads = [threading.Thread(target=run, args=(first, False)), threading.Thread(target=run, args=(second, True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(begins) == 1, "the first start's migrations took more than one transaction"
    assert first.current() == second.current() == "0007"
    first.dispose()
    second.dispose()


def test_two_nurses_posting_call_backs_at_once_both_land_in_order(app, client) -> None:  # type: ignore[no-untyped-def]
    import threading

    from tests.web_helpers import sign_in
    from web.storage import store

    _post_patient(client, {"redness": "mild"})
    with _db(app).transaction() as s:
        code = s.scalar(select(Record.reference))
        for name in ("ann", "ben"):
            store.create_nurse(s, name, "a long enough password")
    nurses = []
    for name in ("ann", "ben"):
        c = app.test_client()
        sign_in(c, name, "a long enough password")
        nurses.append((c, csrf_token(c, f"/nurse/records/{code}")))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def call_back(c, token, hours):  # type: ignore[no-untyped-def]
        barrier.wait(timeout=10)
        data = {"symptoms": "redness:moderate", "hours": hours, "csrf_token": token}
        statuses.append(c.post(f"/nurse/records/{code}/entries", data=data).status_code)

    for round_ in range(3):
        threads = [
            threading.Thread(target=call_back, args=(c, t, str(40 + 2 * round_ + i))) for i, (c, t) in enumerate(nurses)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert statuses == [303] * 6
    with _db(app).transaction() as s:
        entries = s.scalar(select(Record).where(Record.reference == code)).entries
        assert [e.seq for e in entries] == list(range(1, 8))
        assert sorted(e.nurse.username for e in entries[1:]) == ["ann"] * 3 + ["ben"] * 3
        # each compared with the entry stored just before it: redness was worse only once (mild -> moderate)
        assert [bool(e.report["worse_symptoms"]) for e in entries] == [False, True, False, False, False, False, False]
