"""The records store: migrations, reference codes, entries, overrides, audit, retention,
concurrency. Every test runs on SQLite, and on PostgreSQL when DATABASE_URL names one."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from triage import assess, default_assessor, load_knowledge
from web.storage import codes, store
from web.storage.models import AuditEvent, Base, Entry, Nurse, Override, Record, utcnow

PASSWORD = "correct horse battery"


def _nurse(db, name: str = "alice") -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return store.create_nurse(s, name, PASSWORD).id


def _record(db, symptoms=("redness:mild",), hours=30.0, channel="patient-form") -> str:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return store.create_record(s, assess(list(symptoms), hours), channel).reference


def _audit(db) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return [(a.actor, a.action, a.reference) for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- migrations ---------------------------------------------------------------------------


def test_upgrade_from_empty_matches_the_models_and_downgrade_removes_everything(records_db) -> None:  # type: ignore[no-untyped-def]
    db = records_db
    assert db.current() == "0004"
    assert {"records", "entries", "overrides", "nurses", "audit_events"} <= db.tables()
    with db.engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
    db.downgrade("base")
    assert db.current() is None
    assert db.tables() <= {"alembic_version"}
    db.upgrade()
    assert db.current() == "0004"
    _record(db)  # usable again after a round trip


def test_migration_0002_keeps_the_nurses_and_the_audit_trail(records_db) -> None:  # type: ignore[no-untyped-def]
    """0002 adds the session version and the audit client without rebuilding a table, both ways:
    the rows stay, and the append-only triggers never see a delete."""
    db = records_db
    db.downgrade("0001")
    at = datetime(2026, 11, 30, 8, tzinfo=UTC)
    with db.engine.begin() as c:
        c.execute(
            text("INSERT INTO nurses (username, password_hash, active, created_at) VALUES ('ann', 'h', :yes, :at)"),
            {"yes": True, "at": at},
        )
        c.execute(text("INSERT INTO audit_events (at, actor, action) VALUES (:at, 'cli', 'create-nurse')"), {"at": at})
    db.upgrade()
    with db.engine.connect() as c:
        assert c.execute(text("SELECT username, session_version FROM nurses")).all() == [("ann", 1)]
        assert c.execute(text("SELECT action, client FROM audit_events")).all() == [("create-nurse", None)]
    db.downgrade("0001")
    with db.engine.connect() as c:
        assert c.execute(text("SELECT action FROM audit_events")).all() == [("create-nurse",)]
        assert c.execute(text("SELECT username FROM nurses")).all() == [("ann",)]


def test_migration_0003_adds_what_the_patient_read_and_removes_it_keeping_the_entries(records_db) -> None:  # type: ignore[no-untyped-def]
    """0003 adds the entry's language and the clinic's numbers (empty for entries stored before)
    and drops them again, both ways without losing an entry."""
    db = records_db
    with db.transaction() as s:
        told = store.Told("es", "112", "+34 910 123 456")
        code = store.create_record(s, assess(["redness:mild"], 30), "patient-form", told=told).reference
    db.downgrade("0002")
    with db.engine.connect() as c:
        names = set(c.execute(text("SELECT * FROM entries")).keys())
        assert not {"language", "emergency_number", "clinic_phone"} & names
        assert c.execute(text("SELECT seq, disposition FROM entries")).all() == [(1, "expected")]
    db.upgrade()
    with db.transaction() as s:
        entry = s.scalars(select(Entry)).one()
        assert (entry.language, entry.emergency_number, entry.clinic_phone) == (None, None, None)
        assert entry.record.reference == code
        store.add_entry(s, entry.record, assess(["redness:moderate"], 40), "patient-form", None, told)
    with db.transaction() as s:
        stored = s.scalars(select(Entry).order_by(Entry.seq)).all()
        assert [(e.language, e.emergency_number, e.clinic_phone) for e in stored] == [
            (None, None, None),
            ("es", "112", "+34 910 123 456"),
        ]


def test_upgrade_twice_is_a_no_op(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db)
    records_db.upgrade()
    with records_db.transaction() as s:
        assert s.scalar(select(Record.reference)) == code


# --- reference codes ----------------------------------------------------------------------


def test_codes_are_short_and_unambiguous() -> None:
    for _ in range(2000):
        code = codes.new_code()
        assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", code)
        assert not set(code) & set("0O1IL2Z5S8B")
    assert len(codes.ALPHABET) ** codes.LENGTH > 10**8


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("k7m-4qx", "K7M-4QX"), (" K7M 4QX ", "K7M-4QX"), ("k7m4qx", "K7M-4QX"), ("K7M_4QX", "K7M-4QX")],
)
def test_typed_codes_normalise(typed: str, canonical: str) -> None:
    assert codes.normalize_code(typed) == canonical


@pytest.mark.parametrize("typed", ["", "K7M-4Q", "K7M-4QXX", "K0M-4QX", "K7M-4Q!", "'; drop table records; --"])
def test_non_codes_are_refused(typed: str) -> None:
    assert codes.normalize_code(typed) is None


def test_reference_codes_are_unique_in_the_database(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db)
    with pytest.raises(IntegrityError), records_db.transaction() as s:
        s.add(Record(reference=code, created_at=utcnow(), updated_at=utcnow()))


def test_a_taken_code_is_drawn_again(records_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    taken = _record(records_db)
    draws = iter([taken, taken, "K7M-4QX"])
    monkeypatch.setattr(store, "new_code", lambda: next(draws))
    assert _record(records_db) == "K7M-4QX"


# --- records and entries ------------------------------------------------------------------


def test_record_stores_report_answer_channel_and_audit_together(records_db) -> None:  # type: ignore[no-untyped-def]
    answer = assess(["redness:mild", "swelling"], 30, ["prp"])
    with records_db.transaction() as s:
        code = store.create_record(s, answer, "patient-form").reference
    with records_db.transaction() as s:
        record = store.find_record(s, code.lower(), "nurse:alice")
        assert record is not None
        (entry,) = record.entries
        assert (entry.seq, entry.channel, entry.hours, entry.nurse_id) == (1, "patient-form", 30.0, None)
        assert entry.report == answer.report.to_dict()
        assert entry.answer == answer.to_dict()
        assert (entry.disposition, entry.emergency, entry.kb_version) == ("expected", False, answer.kb_version)
    assert _audit(records_db) == [("patient-form", "create", code), ("nurse:alice", "view", code)]


def test_a_failed_store_leaves_nothing(records_db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken_audit(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(store, "audit", broken_audit)
    with pytest.raises(RuntimeError), records_db.transaction() as s:
        store.create_record(s, assess(["redness"], 3), "api")
    with records_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Record)) == 0
        assert s.scalar(select(func.count()).select_from(Entry)) == 0


def test_unknown_code_look_up_is_audited(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        assert store.find_record(s, "ZZZ-ZZZ", "nurse:bob") is None
        assert store.find_record(s, "not a code", "nurse:bob") is None
    assert [a[:2] for a in _audit(records_db)] == [("nurse:bob", "not-found")] * 2


def test_entries_are_numbered_in_order_and_worsening_is_derived(records_db) -> None:  # type: ignore[no-untyped-def]
    nurse_id = _nurse(records_db)
    code = _record(records_db, ("redness:mild", "swelling:moderate"), 30)
    with records_db.transaction() as s:
        nurse = s.get(Nurse, nurse_id)
        record = store.find_record(s, code, "nurse:alice", audited_as="")
        assert record is not None
        store.lock_record(s, record)
        before = store.latest_symptoms(s, record)
        assert before == {"redness": "mild", "swelling": "moderate"}
        now = [("redness", "severe"), ("swelling", "mild"), ("itching", "moderate")]
        worse = store.worse_than_before(default_assessor().kb, before, now, 60)
        assert worse == ("redness",)  # swelling eased, itching is new but normally starts late
        answer = assess([f"{sid}:{sev}" for sid, sev in now[:2]], 60, worse=worse)
        entry = store.add_entry(s, record, answer, "nurse-console", nurse)
        assert entry.seq == 2
    assert any(f["rule"] == "worsening-after-48h" and f["symptom"] == "redness" for f in entry.answer["findings"])
    assert not any(f["rule"] == "worsening-after-48h" and f["symptom"] == "swelling" for f in entry.answer["findings"])
    with records_db.transaction() as s:
        record = store.find_record(s, code, "nurse:alice")
        assert record is not None
        course = store.timeline(record)
    assert course.symptoms == ("redness", "swelling")
    assert [(p.seq, p.hours, p.channel) for p in course.points] == [
        (1, 30.0, "patient-form"),
        (2, 60.0, "nurse-console"),
    ]
    first, second = course.points
    assert first.cells["redness"].disposition == "expected" and not first.cells["redness"].worse
    assert second.cells["redness"].severity == "severe" and second.cells["redness"].worse
    assert second.cells["redness"].disposition == "contact clinician"
    assert second.cells["swelling"].severity == "mild" and not second.cells["swelling"].worse
    assert second.disposition == "contact clinician"
    assert ("nurse:alice", "add-entry", code) in _audit(records_db)


def test_two_nurses_adding_at_once_both_succeed_in_order(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db)
    ids = [_nurse(records_db, "alice"), _nurse(records_db, "bob")]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def call_back(nurse_id: int, hours: float) -> None:
        try:
            barrier.wait(timeout=10)
            with records_db.transaction() as s:
                record = s.scalar(select(Record).where(Record.reference == code))
                store.add_entry(s, record, assess(["redness:mild"], hours), "nurse-console", s.get(Nurse, nurse_id))
        except BaseException as exc:
            errors.append(exc)

    for _ in range(5):
        threads = [threading.Thread(target=call_back, args=(n, 40.0 + n)) for n in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    with records_db.transaction() as s:
        seqs = list(s.scalars(select(Entry.seq).order_by(Entry.id)))
    assert seqs == list(range(1, 12))


# --- overrides ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "reason", "emergency", "message"),
    [
        ("contact clinician", "", False, "give the reason"),
        ("contact clinician", "   \n ", False, "give the reason"),
        ("expected", "the patient says so", False, "already answered"),
        ("urgent", "x", False, "unknown disposition 'urgent'"),
        ("monitor", "x", True, "emergency flag goes only with 'contact clinician'"),
        ("monitor", "x" * 2001, False, "at most 2000"),
    ],
)
def test_override_is_refused_without_a_valid_reason_and_choice(
    records_db, disposition, reason, emergency, message
) -> None:  # type: ignore[no-untyped-def]
    _record(records_db)
    nurse_id = _nurse(records_db)
    with records_db.transaction() as s, pytest.raises(store.RecordError, match=message):
        store.add_override(s, s.scalar(select(Entry)), s.get(Nurse, nurse_id), disposition, reason, emergency)
    with records_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Override)) == 0


def test_override_is_stored_beside_the_engine_answer_and_listed_for_review(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db, ("redness:mild", "pain:moderate"), 30)
    nurse_id = _nurse(records_db)
    with records_db.transaction() as s:
        reason = '=HYPERLINK("x") pain out of proportion'
        store.add_override(s, s.scalar(select(Entry)), s.get(Nurse, nurse_id), "contact clinician", reason)
    with records_db.transaction() as s:
        entry = s.scalar(select(Entry))
        assert entry.disposition == "monitor"  # the engine's answer is kept
        assert entry.answer["disposition"] == "monitor"
        assert [(o.disposition, o.nurse.username) for o in entry.overrides] == [("contact clinician", "alice")]
        rows = store.override_rows(s)
    (row,) = rows
    assert (row.reference, row.seq, row.engine, row.override) == (code, 1, "monitor", "contact clinician")
    assert row.nurse == "alice"
    assert row.symptoms == "redness:mild, pain:moderate" and "redness-expected" in row.rules
    import csv
    import io

    table = list(csv.DictReader(io.StringIO(store.overrides_csv(rows))))
    assert table[0]["reason"].startswith("'=HYPERLINK")  # a spreadsheet shows it, does not run it
    assert table[0]["engine"] == "monitor" and table[0]["override"] == "contact clinician"
    assert table[0]["kb_digest"] == load_knowledge().digest
    assert ("nurse:alice", "override", code) in _audit(records_db)


def test_lowering_an_emergency_needs_the_confirmation_and_is_marked_for_review(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db, ("lip-tongue-swelling:moderate",), 30)
    nurse_id = _nurse(records_db)
    with records_db.transaction() as s:
        entry = s.scalar(select(Entry))
        assert entry.emergency
        with pytest.raises(store.RecordError, match="I confirm this patient does not need emergency care"):
            store.add_override(s, entry, s.get(Nurse, nurse_id), "expected", "seen on video: mild")
        # Contact clinician without the emergency flag lowers it too.
        with pytest.raises(store.RecordError, match="tick 'I confirm"):
            store.add_override(s, entry, s.get(Nurse, nurse_id), "contact clinician", "seen on video: mild")
    with records_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Override)) == 0
        entry = s.scalar(select(Entry))
        store.add_override(s, entry, s.get(Nurse, nurse_id), "expected", "seen on video: mild", confirmed=True)
    with records_db.transaction() as s:
        (row,) = store.override_rows(s)
    assert row.lowered_emergency and (row.engine, row.override) == ("contact clinician", "expected")
    import csv
    import io

    (line,) = csv.DictReader(io.StringIO(store.overrides_csv([row])))
    assert line["lowered_emergency"] == "True"
    with records_db.transaction() as s:
        details = list(s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "override")))
    assert details == ["entry 1: contact clinician -> expected (lowered an emergency, confirmed)"]
    assert ("nurse:alice", "override", code) in _audit(records_db)


def test_an_override_that_keeps_the_emergency_is_not_a_lowering(records_db) -> None:  # type: ignore[no-untyped-def]
    _record(records_db, ("redness:mild",), 30)
    nurse_id = _nurse(records_db)
    with records_db.transaction() as s:
        store.add_override(s, s.scalar(select(Entry)), s.get(Nurse, nurse_id), "contact clinician", "x", True)
    with records_db.transaction() as s:
        (row,) = store.override_rows(s)
    assert not row.lowered_emergency
    assert store.overrides_csv([row]).splitlines()[1].endswith(",False")


# --- audit --------------------------------------------------------------------------------


def test_audit_trail_is_append_only_in_the_database(records_db) -> None:  # type: ignore[no-untyped-def]
    _record(records_db)
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), records_db.transaction() as s:
            s.execute(text(statement))
    assert len(_audit(records_db)) == 1


# --- nurses -------------------------------------------------------------------------------


def test_passwords_are_hashed_and_checked(records_db) -> None:  # type: ignore[no-untyped-def]
    _nurse(records_db)
    with records_db.transaction() as s:
        stored = s.scalar(select(Nurse.password_hash))
        assert PASSWORD not in stored and stored.startswith("scrypt:")
        assert store.check_login(s, "Alice", PASSWORD) is not None
        assert store.check_login(s, "alice", "wrong password!") is None
        assert store.check_login(s, "nobody", PASSWORD) is None
        with pytest.raises(store.RecordError, match="at least 12"):
            store.create_nurse(s, "bob", "short")
        with pytest.raises(store.RecordError, match="already exists"):
            store.create_nurse(s, "ALICE", PASSWORD)
    actions = [a[1] for a in _audit(records_db)]
    assert actions == ["create-nurse", "login", "login-failed", "login-failed"]


# --- retention ----------------------------------------------------------------------------


def test_purge_deletes_old_records_whole_and_keeps_recent_ones(records_db) -> None:  # type: ignore[no-untyped-def]
    nurse_id = _nurse(records_db)
    old, recent = _record(records_db), _record(records_db)
    long_ago = utcnow() - timedelta(days=800)
    with records_db.transaction() as s:
        record = s.scalar(select(Record).where(Record.reference == old))
        record.updated_at = long_ago
        store.add_override(s, record.entries[0], s.get(Nurse, nurse_id), "monitor", "check at 3 days")
    with records_db.transaction() as s:
        assert store.purge(s, utcnow() - timedelta(days=730)) == 1
    with records_db.transaction() as s:
        assert list(s.scalars(select(Record.reference))) == [recent]
        assert s.scalar(select(func.count()).select_from(Entry)) == 1
        assert s.scalar(select(func.count()).select_from(Override)) == 0
        assert store.purge(s, utcnow() - timedelta(days=730)) == 0
    trail = _audit(records_db)
    assert ("patient-form", "create", old) in trail  # the trail outlives the record
    assert [a for a in trail if a[1] == "purge"] == [("cli", "purge", None)] * 2


def test_a_new_immediate_onset_symptom_at_48_hours_or_later_counts_as_getting_worse() -> None:
    """Policy v2: a late start points to infection or a cold-sore flare; delayed effects start late anyway."""
    kb = default_assessor().kb
    before = {"redness": "mild"}
    now = [("redness", "mild"), ("pain", "mild"), ("itching", "mild"), ("bruising", "mild")]
    assert store.worse_than_before(kb, before, now, 48) == ("pain", "bruising")  # bruising: immediate (v3)
    # policy v3: a new darker patch (delayed onset, like spots, lighter patches, glands) is not getting worse
    late = [("darkening", "mild"), ("breakout", "mild"), ("lighter-patches", "mild"), ("swollen-glands", "mild")]
    assert store.worse_than_before(kb, before, late, 100) == ()
    assert store.worse_than_before(kb, before, now, 47.9) == ()
    assert store.worse_than_before(kb, {}, [("burning", "mild")], 72) == ("burning",)  # before: no symptoms
    assert store.why_worse(kb, before, "pain") == kb.header.record_worsening.new_why
    assert store.why_worse(kb, before, "redness") == kb.header.record_worsening.more_severe_why
