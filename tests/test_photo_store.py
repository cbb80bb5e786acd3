"""Photos in the records database (web.storage.photos): migration 0005 both ways, the limit of
three per report, removal before a nurse saw it, the purge taking them with the record, every
nurse's view audited. SQLite always, PostgreSQL when DATABASE_URL names one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from tests.photo_samples import small_jpeg
from triage import assess
from web.storage import photos, store
from web.storage.models import AuditEvent, Photo, Record, utcnow

JPEG = small_jpeg()


def _record(db, symptoms=("redness:moderate",)) -> str:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return store.create_record(s, assess(list(symptoms), 30), "patient-form").reference


def _add(db, reference: str, name: str = "IMG_0001.HEIC") -> photos.PhotoInfo:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        entry = photos.entry_for(s, reference, 1)
        assert entry is not None
        return photos.add_photo(s, entry, name, JPEG, b"thumb", (640, 480), "patient-form")


def _trail(db) -> list[tuple[str, str, str | None, str | None]]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return [
            (a.actor, a.action, a.reference, a.detail) for a in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_migration_0005_adds_the_photos_table_and_removes_it_keeping_the_records(records_db) -> None:  # type: ignore[no-untyped-def]
    db = records_db
    code = _record(db)
    _add(db, code)
    assert "photos" in db.tables()
    db.downgrade("0004")
    assert "photos" not in db.tables()
    with db.engine.connect() as c:
        assert c.execute(text("SELECT reference FROM records")).scalars().all() == [code]
    db.upgrade()
    assert db.current() == db.head()
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 0
    _add(db, code)  # usable again


def test_a_report_takes_three_photos_and_refuses_a_fourth(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db)
    added = [_add(records_db, code, f"IMG_{i}.jpg") for i in range(3)]
    with pytest.raises(photos.PhotoLimitReached):
        _add(records_db, code, "IMG_4.jpg")
    with records_db.transaction() as s:
        record = s.scalar(select(Record).where(Record.reference == code))
        listed = photos.photos_for_record(s, record.id)
    assert list(listed) == [1]
    assert [p.file_name for p in listed[1]] == ["IMG_0.jpg", "IMG_1.jpg", "IMG_2.jpg"]
    assert [p.id for p in listed[1]] == [a.id for a in added]
    assert [a[1] for a in _trail(records_db)].count("add-photo") == 3


def test_an_emergency_report_takes_no_photo(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db, ("breathing-difficulty:severe",))
    with records_db.transaction() as s:
        entry = photos.entry_for(s, code, 1)
        assert entry is not None and entry.emergency
        with pytest.raises(store.RecordError, match="emergency"):
            photos.add_photo(s, entry, "a.jpg", JPEG, b"t", (1, 1), "patient-form")


def test_the_patient_removes_a_photo_only_before_a_nurse_has_seen_it(records_db) -> None:  # type: ignore[no-untyped-def]
    code = _record(records_db)
    first, second = _add(records_db, code), _add(records_db, code)
    with records_db.transaction() as s:
        photos.remove_photo(s, photos.entry_for(s, code, 1), first.id, "patient-form")  # type: ignore[arg-type]
    with records_db.transaction() as s:
        assert photos.photo_for_nurse(s, code, second.id, "nurse:ann", thumbnail=True) == b"thumb"
    with records_db.transaction() as s, pytest.raises(photos.PhotoSeen):
        photos.remove_photo(s, photos.entry_for(s, code, 1), second.id, "patient-form")  # type: ignore[arg-type]
    with records_db.transaction() as s:
        assert [p.seen for p in photos.photos_of_entry(s, photos.entry_for(s, code, 1))] == [True]  # type: ignore[arg-type]
    trail = _trail(records_db)
    assert ("patient-form", "remove-photo", code, f"entry 1 photo {first.id}") in trail
    assert ("nurse:ann", "view-photo", code, f"entry 1 photo {second.id} (thumbnail)") in trail


def test_a_photo_of_another_record_is_not_found_and_the_miss_is_audited(records_db) -> None:  # type: ignore[no-untyped-def]
    mine, other = _record(records_db), _record(records_db)
    photo = _add(records_db, mine)
    with records_db.transaction() as s:
        assert photos.photo_for_nurse(s, other, photo.id, "nurse:ann", thumbnail=False) is None
        entry = photos.entry_for(s, other, 1)
        with pytest.raises(store.RecordError):
            photos.remove_photo(s, entry, photo.id, "patient-form")  # type: ignore[arg-type]
    assert ("nurse:ann", "photo-not-found", other, f"photo {photo.id}") in _trail(records_db)
    with records_db.transaction() as s:
        assert photos.photo_for_nurse(s, mine, photo.id, "nurse:ann", thumbnail=False) == JPEG


def test_the_retention_purge_deletes_the_photos_with_the_record(records_db) -> None:  # type: ignore[no-untyped-def]
    old, recent = _record(records_db), _record(records_db)
    _add(records_db, old)
    _add(records_db, old)
    kept = _add(records_db, recent)
    with records_db.transaction() as s:
        s.scalar(select(Record).where(Record.reference == old)).updated_at = utcnow() - timedelta(days=800)
    with records_db.transaction() as s:
        assert store.purge(s, utcnow() - timedelta(days=730)) == 1
    with records_db.transaction() as s:
        assert s.scalars(select(Photo.id)).all() == [kept.id]


def test_the_file_name_is_kept_without_folders_or_control_characters() -> None:
    assert photos.file_name("C:\\Users\\ana\\IMG_1.HEIC") == "IMG_1.HEIC"
    assert photos.file_name("../../etc/passwd\x00\n") == "passwd"
    assert photos.file_name("") == "photo"
    assert len(photos.file_name("x" * 500)) == photos.MAX_FILE_NAME


def test_the_photos_and_counts_of_many_records_in_one_query_without_their_bytes(records_db) -> None:  # type: ignore[no-untyped-def]
    one, two, none = _record(records_db), _record(records_db), _record(records_db)
    first = [_add(records_db, one, "a.jpg"), _add(records_db, one, "b.jpg")]
    second = _add(records_db, two, "c.jpg")
    statements: list[str] = []
    listen = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    event.listen(records_db.engine, "before_cursor_execute", listen)
    with records_db.transaction() as s:
        ids = {r.reference: r.id for r in s.scalars(select(Record))}
        listed = photos.photos_for_records(s, [ids[one], ids[two], ids[none]])
        assert listed == {ids[one]: {1: first}, ids[two]: {1: [second]}}
        assert photos.photos_for_record(s, ids[one]) == {1: first}
        assert photos.photos_for_record(s, ids[none]) == {}
        assert photos.photo_counts(s, [ids[one], ids[two], ids[none]]) == {ids[one]: 2, ids[two]: 1}
        assert photos.photo_counts(s, []) == {} and photos.photos_for_records(s, []) == {}
    event.remove(records_db.engine, "before_cursor_execute", listen)
    reads = [q for q in statements if "FROM photos" in q or "JOIN photos" in q]
    assert len(reads) == 4  # one query a call with records to read (none for an empty list)
    assert not [q for q in reads if "photos.jpeg" in q or "photos.thumbnail" in q]
