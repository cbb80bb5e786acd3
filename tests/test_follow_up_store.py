"""The follow-up loop's store (web/storage/followups.py) and migration 0004: link tokens kept
only as hashes, worklist order, atomic claims, outcomes, the phone purge. On SQLite, and on
PostgreSQL when DATABASE_URL names one."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from triage import assess
from web.storage import followups, photos, store
from web.storage.followups import Outcome, TimeWindow, Urgency
from web.storage.models import AuditEvent, FollowUp, Nurse, Record

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
PASSWORD = "correct horse battery"


def _record(s, symptoms, hours=30.0, at=T0):  # type: ignore[no-untyped-def]
    return store.create_record(s, assess(list(symptoms), hours), "patient-form", at=at)


def _contact(s, at=T0):  # type: ignore[no-untyped-def]
    record = _record(s, ["fever:moderate", "redness:severe"], 72, at)
    followups.note_self_check(s, record, record.entries[0])
    return record


def test_migration_0004_adds_the_link_hash_and_worklist_and_removes_them_keeping_the_records(records_db) -> None:  # type: ignore[no-untyped-def]
    db = records_db
    with db.transaction() as s:
        record = _contact(s)
        followups.new_link(s, record)
        code = record.reference
    db.downgrade("0003")
    assert "follow_ups" not in db.tables()
    with db.engine.connect() as c:
        assert "link_hash" not in set(c.execute(text("SELECT * FROM records")).keys())
        assert c.execute(text("SELECT reference FROM records")).scalars().all() == [code]
    db.upgrade()
    assert db.current() == db.head()
    with db.transaction() as s:
        assert s.scalar(select(Record.link_hash)) is None  # links issued before a downgrade are gone
        assert s.scalar(select(FollowUp.id)) is None


def test_only_the_hash_of_a_link_is_stored_and_random_tokens_find_nothing(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        record = _record(s, ["redness:mild"])
        token = followups.new_link(s, record)
    assert len(token) >= 43  # 32 random bytes (256 bits), URL-safe base64
    with records_db.engine.connect() as c:
        stored = c.execute(text("SELECT link_hash FROM records")).scalar_one()
        assert stored == followups.hash_token(token) and token not in stored
        for table in ("records", "audit_events", "entries"):
            dump = " ".join(str(row) for row in c.execute(text(f"SELECT * FROM {table}")))
            assert token not in dump, table
    with records_db.transaction() as s:
        assert followups.record_for_link(s, token) is not None
        misses = sum(followups.record_for_link(s, secrets.token_urlsafe(32)) is None for _ in range(10_000))
    assert misses == 10_000


def test_a_forgotten_link_finds_nothing_and_the_record_stays(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        record = _record(s, ["redness:mild"])
        token = followups.new_link(s, record)
        followups.end_link(s, record, "nurse:alice")
    with records_db.transaction() as s:
        assert followups.record_for_link(s, token) is None
        assert s.scalar(select(Record.reference)) == record.reference
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
        assert actions[-2:] == ["end-link", "link-not-found"]


def test_worklist_order_is_emergency_then_contact_then_monitor_then_longest_waiting(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        late_contact = _contact(s, T0 + timedelta(minutes=30))
        early_contact = _contact(s, T0)
        monitor = _record(s, ["swelling:moderate"], 60, T0 - timedelta(hours=1))
        assert monitor.entries[0].disposition == "monitor"
        followups.request_call_back(s, monitor, "cipher", TimeWindow.MORNING, T0 - timedelta(hours=1))
        emergency = _record(s, ["breathing-difficulty"], 2, T0 + timedelta(hours=1))
        assert emergency.entries[0].emergency
        followups.note_self_check(s, emergency, emergency.entries[0])
        expected = _record(s, ["redness:mild"], 30)
        assert followups.note_self_check(s, expected, expected.entries[0]) is None
    with records_db.transaction() as s:
        items = followups.open_items(s, T0 + timedelta(hours=2), 72, 10)
        assert [i.record.reference for i in items] == [
            emergency.reference,
            early_contact.reference,
            late_contact.reference,
            monitor.reference,
        ]
        assert [i.urgency for i in items] == [Urgency.EMERGENCY, Urgency.CONTACT_CLINICIAN, 1, Urgency.MONITOR]
        # After WORKLIST_HOURS a self-check leaves the list; a call-back request stays until closed.
        later = followups.open_items(s, T0 + timedelta(hours=80), 72, 10)
        assert [i.record.reference for i in later] == [monitor.reference]
        assert followups.open_count(s, T0 + timedelta(hours=80), 72) == 1


def test_no_call_back_on_an_emergency_or_an_expected_answer(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        emergency = _record(s, ["breathing-difficulty"], 2)
        with pytest.raises(store.RecordError, match="emergency"):
            followups.request_call_back(s, emergency, "cipher", TimeWindow.ANY, T0)
        expected = _record(s, ["redness:mild"], 30)
        with pytest.raises(store.RecordError, match="contact clinician"):
            followups.request_call_back(s, expected, "cipher", TimeWindow.ANY, T0)


def test_a_second_claim_names_who_has_it_and_outcomes_close_or_keep_open(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        alice = store.create_nurse(s, "alice", PASSWORD)
        bob = store.create_nurse(s, "bob", PASSWORD)
        item = followups.note_self_check(s, (r := _record(s, ["fever:moderate"], 72)), r.entries[0])
        assert item is not None
        item_id = item.id
    with records_db.transaction() as s:
        alice, bob = s.get(Nurse, alice.id), s.get(Nurse, bob.id)
        with pytest.raises(store.RecordError, match="claim the item first"):
            followups.record_outcome(s, item_id, alice, "reached", "", T0)
        followups.claim(s, item_id, alice, T0)
        with pytest.raises(store.RecordError, match="alice has already claimed it"):
            followups.claim(s, item_id, bob, T0)
        with pytest.raises(store.RecordError, match="you have already claimed"):
            followups.claim(s, item_id, alice, T0)
        with pytest.raises(store.RecordError, match="alice has claimed this item"):
            followups.record_outcome(s, item_id, bob, "reached", "", T0)
        with pytest.raises(store.RecordError, match="valid outcomes: reached, no answer"):
            followups.record_outcome(s, item_id, alice, "gone fishing", "", T0)
        followups.record_outcome(s, item_id, alice, Outcome.NO_ANSWER, "", T0)
        assert followups.open_count(s, T0, 72) == 1  # unreached: still open
        followups.record_outcome(s, item_id, alice, Outcome.REACHED, "advised to come in", T0)
        assert followups.open_count(s, T0, 72) == 0
        with pytest.raises(store.RecordError, match="alice already closed it \\(reached\\)"):
            followups.record_outcome(s, item_id, alice, Outcome.REACHED, "", T0)
        with pytest.raises(store.RecordError, match="alice already closed it"):
            followups.claim(s, item_id, bob, T0)
        stored = s.get(FollowUp, item_id)
        assert stored is not None and stored.attempts == 2 and stored.closed_by_id == alice.id
        actions = [a for (a,) in s.execute(select(AuditEvent.action).where(AuditEvent.actor == "nurse:alice"))]
        assert actions == ["claim", "call-outcome", "close"]


def test_asking_for_a_new_photo_keeps_the_item_open_is_no_try_and_the_patient_is_told(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        alice = store.create_nurse(s, "alice", PASSWORD)
        record = _contact(s)
        item = followups.item_for(s, record, 1)
        assert item is not None and followups.patient_status(s, record) is None  # no request, no ask
        item_id, record_id = item.id, record.id
        followups.claim(s, item_id, alice, T0)
        followups.record_outcome(s, item_id, alice, Outcome.ASK_FOR_NEW_PHOTO, "too dark", T0)
    assert Outcome.ASK_FOR_NEW_PHOTO == photos.ASK_FOR_NEW_PHOTO == "ask for a new photo"
    with records_db.transaction() as s:
        record = s.get(Record, record_id)
        stored = s.get(FollowUp, item_id)
        assert stored is not None and stored.closed_at is None and stored.attempts == 0
        assert followups.open_count(s, T0, 72) == 1  # the patient still needs the clinic
        assert followups.patient_status(s, record) == followups.PatientStatus(
            asked=False, tries=0, reached=False, new_photo=True
        )
        followups.record_outcome(s, item_id, s.get(Nurse, alice.id), Outcome.REACHED, "", T0)
        assert followups.patient_status(s, record) is None  # closed: the ask is over
        actions = [a for (a,) in s.execute(select(AuditEvent.action).where(AuditEvent.actor == "nurse:alice"))]
        assert actions == ["claim", "call-outcome", "close"]


def test_two_nurses_claiming_at_once_one_wins(records_db) -> None:  # type: ignore[no-untyped-def]
    """The claim is one UPDATE ... WHERE claimed_by_id IS NULL: of two claims racing, exactly one
    succeeds, whatever the interleaving."""
    with records_db.transaction() as s:
        ids = [store.create_nurse(s, f"nurse{i}", PASSWORD).id for i in range(2)]
        item_id = followups.note_self_check(s, (r := _record(s, ["fever:moderate"], 72)), r.entries[0]).id  # type: ignore[union-attr]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def try_claim(nurse_id: int) -> None:
        barrier.wait()
        try:
            with records_db.transaction() as s:
                followups.claim(s, item_id, s.get(Nurse, nurse_id), T0)  # type: ignore[arg-type]
            results.append("won")
        except store.RecordError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=try_claim, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results)[-1] == "won" and results.count("won") == 1, results
    assert any("has already claimed it" in r for r in results)


def test_purge_deletes_phone_numbers_30_days_after_closing(records_db) -> None:  # type: ignore[no-untyped-def]
    with records_db.transaction() as s:
        nurse = store.create_nurse(s, "alice", PASSWORD)
        old, recent, open_ = (_record(s, ["swelling:moderate"], 60) for _ in range(3))
        items = [
            followups.request_call_back(s, r, f"cipher-{i}", TimeWindow.ANY, T0)
            for i, r in enumerate((old, recent, open_))
        ]
        for item, closed in ((items[0], T0), (items[1], T0 + timedelta(days=29))):
            followups.claim(s, item.id, nurse, closed)
            followups.record_outcome(s, item.id, nurse, Outcome.REACHED, "", closed)
    with records_db.transaction() as s:
        # The purge command passes "now - 30 days"; here now is T0 + 30 days + 1 hour.
        now = T0 + timedelta(days=30, hours=1)
        assert followups.forget_phones(s, now - timedelta(days=followups.PHONE_KEPT_DAYS)) == 1
    with records_db.transaction() as s:
        phones = dict(s.execute(select(FollowUp.record_id, FollowUp.phone_cipher)).all())
        assert phones == {old.id: None, recent.id: "cipher-1", open_.id: "cipher-2"}
