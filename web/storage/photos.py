"""The photos a patient adds to a report: stored, listed, removed by the patient before a nurse
has seen them, and shown to nurses; each change and every nurse's view audited in the same
transaction (web.storage.store.audit). The bytes stored are already made safe
(web.photo_pipeline); nothing here decodes an image or knows about HTTP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sized
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from web.storage.models import Entry, Photo, Record, utcnow
from web.storage.store import RecordError, audit, lock_record

MAX_PHOTOS_PER_REPORT = 3
MAX_FILE_NAME = 120

# A worklist outcome (web.storage.followups.Outcome): the nurse asks the patient for a new photo
# (blurred, too dark, not the area). The item stays open, and the patient's private link says so.
# Worded like the other outcomes, as the nurse reads it on the worklist.
ASK_FOR_NEW_PHOTO = "ask for a new photo"


class PhotoLimitReached(RecordError):
    """The report already has MAX_PHOTOS_PER_REPORT photos."""


class PhotoSeen(RecordError):
    """A nurse has seen the photo: it stays with the record."""


@dataclass(frozen=True)
class PhotoInfo:
    """A photo without its bytes: what a list, a thumbnail or a link needs."""

    id: int
    seq: int  # the entry (report) it belongs to
    file_name: str
    at: datetime  # when it was uploaded (not the file's own date)
    width: int
    height: int
    seen: bool  # a nurse has looked at it


def file_name(name: str | None) -> str:
    """The name the patient's device gave, without any folder, shortened to what is stored."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(c for c in base if c.isprintable() and c not in "\x00")
    return cleaned[:MAX_FILE_NAME] or "photo"


def entry_for(session: Session, reference: str, seq: int) -> Entry | None:
    """Report `seq` of the record with this code, or None."""
    return session.scalar(select(Entry).join(Record).where(Record.reference == reference, Entry.seq == seq))


def _info(photo: Photo, seq: int) -> PhotoInfo:
    return PhotoInfo(
        photo.id, seq, photo.file_name, photo.created_at, photo.width, photo.height, photo.seen_at is not None
    )


def photos_of_entry(session: Session, entry: Entry) -> list[PhotoInfo]:
    """The report's photos, in the order they were added."""
    photos = session.scalars(select(Photo).where(Photo.entry_id == entry.id).order_by(Photo.id))
    return [_info(p, entry.seq) for p in photos]


def room_left(photos: Sized) -> int:
    """How many more photos a report with these may take."""
    return MAX_PHOTOS_PER_REPORT - len(photos)


def photos_for_record(session: Session, record_id: int) -> dict[int, list[PhotoInfo]]:
    """Every photo of a record, by report (entry seq), without the bytes: for the record page."""
    return photos_for_records(session, [record_id]).get(record_id, {})


def photos_for_records(session: Session, record_ids: Collection[int]) -> dict[int, dict[int, list[PhotoInfo]]]:
    """Every photo of these records, by record id then report (entry seq), without the bytes
    (the LargeBinary columns stay deferred): the worklist page's rows in one query."""
    if not record_ids:
        return {}
    rows = session.execute(
        select(Photo, Entry.record_id, Entry.seq)
        .join(Entry)
        .where(Entry.record_id.in_(record_ids))
        .order_by(Entry.record_id, Entry.seq, Photo.id)
    )
    found: dict[int, dict[int, list[PhotoInfo]]] = defaultdict(lambda: defaultdict(list))
    for photo, record_id, seq in rows:
        found[record_id][seq].append(_info(photo, seq))
    return {record_id: dict(by_seq) for record_id, by_seq in found.items()}


def photo_counts(session: Session, record_ids: Collection[int]) -> dict[int, int]:
    """How many photos each of these records has (records without any are left out): one query
    and no photo row loaded, for the worklist's JSON view polled every few seconds."""
    if not record_ids:
        return {}
    # Counted per report in a correlated subquery, so each is an index look-up on
    # photos.entry_id whatever the size of the table (a join may be planned as a scan of photos).
    per_entry = select(func.count(Photo.id)).where(Photo.entry_id == Entry.id).correlate(Entry).scalar_subquery()
    counts: dict[int, int] = defaultdict(int)
    for record_id, count in session.execute(select(Entry.record_id, per_entry).where(Entry.record_id.in_(record_ids))):
        if count:
            counts[int(record_id)] += int(count)
    return dict(counts)


def add_photo(
    session: Session, entry: Entry, name: str, jpeg: bytes, thumbnail: bytes, size: tuple[int, int], actor: str
) -> PhotoInfo:
    """Store one safe photo with the report, within MAX_PHOTOS_PER_REPORT (counted under the
    record's lock, so two uploads at once cannot make a fourth)."""
    if entry.emergency:
        raise RecordError("an emergency answer takes no photos: it says to call now")
    lock_record(session, entry.record)
    count = session.scalar(select(func.count(Photo.id)).where(Photo.entry_id == entry.id)) or 0
    if count >= MAX_PHOTOS_PER_REPORT:
        raise PhotoLimitReached(f"report {entry.seq} already has {MAX_PHOTOS_PER_REPORT} photos")
    width, height = size
    photo = Photo(
        entry=entry,
        created_at=utcnow(),
        file_name=file_name(name),
        width=width,
        height=height,
        jpeg=jpeg,
        thumbnail=thumbnail,
    )
    session.add(photo)
    session.flush()
    audit(session, actor, "add-photo", entry.record.reference, f"entry {entry.seq} photo {photo.id}")
    return _info(photo, entry.seq)


def remove_photo(session: Session, entry: Entry, photo_id: int, actor: str) -> None:
    """The patient takes a photo back; only one of this report, and only before a nurse saw it."""
    lock_record(session, entry.record)
    photo = session.scalar(select(Photo).where(Photo.id == photo_id, Photo.entry_id == entry.id))
    if photo is None:
        raise RecordError("there is no such photo with this report")
    if photo.seen_at is not None:
        raise PhotoSeen("a nurse has already seen this photo, so it stays with the record")
    session.delete(photo)
    audit(session, actor, "remove-photo", entry.record.reference, f"entry {entry.seq} photo {photo_id}")


def photo_for_nurse(session: Session, reference: str, photo_id: int, actor: str, *, thumbnail: bool) -> bytes | None:
    """A photo's JPEG (or thumbnail) for a nurse, marked seen, the view audited; None (the miss
    audited too) when the record has no such photo."""
    column = Photo.thumbnail if thumbnail else Photo.jpeg
    found = session.execute(
        select(Photo, Entry.seq)
        .join(Entry)
        .join(Record)
        .where(Record.reference == reference, Photo.id == photo_id)
        .options(undefer(column))
    ).first()
    if found is None:
        audit(session, actor, "photo-not-found", reference, f"photo {photo_id}")
        return None
    photo, seq = found
    if photo.seen_at is None:
        photo.seen_at = utcnow()
    kind = "thumbnail" if thumbnail else "full size"
    audit(session, actor, "view-photo", reference, f"entry {seq} photo {photo_id} ({kind})")
    return photo.thumbnail if thumbnail else photo.jpeg
