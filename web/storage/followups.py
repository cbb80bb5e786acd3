"""The follow-up loop's records, without Flask: the patient's private link (only its SHA-256 is
stored) and the nurse's worklist items (claim, outcome, close), each audited like a record view.

The phone number arrives here already encrypted (web/data_key.py); nothing here can read it.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from triage import Disposition
from web.storage.models import Entry, FollowUp, Nurse, Record
from web.storage.photos import ASK_FOR_NEW_PHOTO
from web.storage.store import RecordError, audit, nurse_actor
from web.storage.store import chosen as store_chosen

LINK_ACTOR = "patient-link"
TOKEN_BYTES = 32  # 256 bits: secrets.token_urlsafe(32), 43 characters
PHONE_KEPT_DAYS = 30  # after an item is closed, its phone number is deleted by `records purge`
MAX_NOTE = 2000


class Urgency(enum.IntEnum):
    """Worklist order: the emergency flag, then `contact clinician`, then `monitor` requests."""

    EMERGENCY = 0
    CONTACT_CLINICIAN = 1
    MONITOR = 2


class Outcome(enum.StrEnum):
    """What came of a nurse's call or look; REACHED and HANDED_TO_DOCTOR close the item. Asking
    for a new photo keeps it open (the patient still needs the clinic) and is no try to call."""

    REACHED = "reached"
    NO_ANSWER = "no answer"
    MESSAGE_LEFT = "message left"
    HANDED_TO_DOCTOR = "handed to a doctor"
    ASK_FOR_NEW_PHOTO = ASK_FOR_NEW_PHOTO

    @property
    def closes(self) -> bool:
        return self in (Outcome.REACHED, Outcome.HANDED_TO_DOCTOR)

    @property
    def call_try(self) -> bool:
        """It counts as a try to call the patient (what their link reports)."""
        return self is not Outcome.ASK_FOR_NEW_PHOTO


class TimeWindow(enum.StrEnum):
    """When the patient would like the call."""

    ANY = "any"
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


# --- the private link ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    """What the database keeps of a link token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_link(session: Session, record: Record, actor: str = LINK_ACTOR) -> str:
    """A fresh private link token for `record` (any earlier one stops working); only its hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    record.link_hash = hash_token(token)
    audit(session, actor, "issue-link", record.reference)
    return token


def record_for_link(session: Session, token: str) -> Record | None:
    """The record this token opens, with its entries, or None (wrong, expired or forgotten: the
    same None, and the same audit event without the token)."""
    record = None
    if 20 <= len(token) <= 100:
        record = session.scalar(
            select(Record)
            .where(Record.link_hash == hash_token(token))
            .options(selectinload(Record.entries))  # never the overrides: the patient does not see them
        )
    if record is None:
        audit(session, LINK_ACTOR, "link-not-found")
        return None
    audit(session, LINK_ACTOR, "view", record.reference)
    return record


def end_link(session: Session, record: Record, actor: str) -> None:
    """The patient's "forget this link", or a nurse ending it: the hash goes, the record stays."""
    record.link_hash = None
    audit(session, actor, "end-link", record.reference)


# --- worklist items -----------------------------------------------------------------------


def urgency(disposition: str, emergency: bool) -> Urgency | None:
    """Where an answer goes on the worklist (None: `expected`, no call needed)."""
    if emergency:
        return Urgency.EMERGENCY
    if disposition == Disposition.CONTACT_CLINICIAN:
        return Urgency.CONTACT_CLINICIAN
    if disposition == Disposition.MONITOR:
        return Urgency.MONITOR
    return None


def item_for(session: Session, record: Record, seq: int) -> FollowUp | None:
    return session.scalar(select(FollowUp).where(FollowUp.record_id == record.id, FollowUp.entry_seq == seq))


def _new_item(session: Session, record: Record, entry: Entry, at: datetime) -> FollowUp:
    """A worklist item about `entry` (an answer that needs a call: urgency is never None here)."""
    item = FollowUp(
        record=record,
        entry_seq=entry.seq,
        created_at=at,
        urgency=urgency(entry.disposition, entry.emergency),
        disposition=entry.disposition,
        emergency=entry.emergency,
        attempts=0,
    )
    session.add(item)
    return item


def note_self_check(session: Session, record: Record, entry: Entry) -> FollowUp | None:
    """A patient's self-check answered `contact clinician` goes on the worklist at once."""
    if entry.disposition != Disposition.CONTACT_CLINICIAN or item_for(session, record, entry.seq) is not None:
        return None
    item = _new_item(session, record, entry, entry.created_at)
    audit(session, LINK_ACTOR, "worklist-add", record.reference, f"entry {entry.seq}")
    session.flush()
    return item


def callback_refusal(disposition: str, emergency: bool) -> str | None:
    """Why this answer cannot carry a call-back request, or None: an emergency says to call now,
    and an `expected` answer needs no call."""
    if emergency:
        return "an emergency answer says to call the emergency number now; it offers no call-back"
    if urgency(disposition, emergency) is None:
        return f"a call-back is offered with a '{Disposition.CONTACT_CLINICIAN}' or '{Disposition.MONITOR}' answer"
    return None


def request_call_back(
    session: Session, record: Record, phone_cipher: str, window: TimeWindow, at: datetime
) -> FollowUp:
    """The patient asks the clinic to call, about the record's latest answer; asking again
    replaces the number and window of the open request."""
    entry = record.entries[-1]
    if refusal := callback_refusal(entry.disposition, entry.emergency):
        raise RecordError(refusal)
    item = item_for(session, record, entry.seq)
    if item is None:
        item = _new_item(session, record, entry, at)
    elif item.closed_at is not None:
        raise RecordError("the clinic has already closed the request about this answer")
    item.requested_at = at
    item.phone_cipher = phone_cipher
    item.time_window = window.value
    audit(session, LINK_ACTOR, "call-back-request", record.reference, f"entry {entry.seq}, window {window.value}")
    session.flush()
    return item


def _open(now: datetime, hours: int):  # type: ignore[no-untyped-def]
    """Open items on the list: every call-back request, and self-checks of the last `hours`."""
    cutoff = now - timedelta(hours=hours)
    return (FollowUp.closed_at.is_(None), or_(FollowUp.requested_at.is_not(None), FollowUp.created_at >= cutoff))


def open_count(session: Session, now: datetime, hours: int) -> int:
    return int(session.scalar(select(func.count()).select_from(FollowUp).where(*_open(now, hours))) or 0)


def open_items(session: Session, now: datetime, hours: int, limit: int) -> list[FollowUp]:
    """The worklist, most urgent first, then longest waiting (read on the partial index of open items)."""
    query = (
        select(FollowUp)
        .where(*_open(now, hours))
        .order_by(FollowUp.urgency, FollowUp.created_at, FollowUp.id)
        .limit(limit)
        # One round trip: each row's code and claimer joined in (many-to-one, at most SHOWN rows).
        .options(joinedload(FollowUp.record).load_only(Record.reference), joinedload(FollowUp.claimed_by))
    )
    return list(session.scalars(query))


def _item(session: Session, item_id: int) -> FollowUp:
    item = session.get(FollowUp, item_id, populate_existing=True)
    if item is None:
        raise RecordError(f"there is no worklist item {item_id}")
    return item


def _name(nurse: Nurse | None) -> str:
    return nurse.username if nurse is not None else "someone"


def _closed_by(item: FollowUp) -> str:
    return f"{_name(item.closed_by)} already closed it ({item.outcome})"


def claim(session: Session, item_id: int, nurse: Nurse, at: datetime) -> FollowUp:
    """Claim an item. One statement decides between two nurses claiming at once
    (UPDATE ... WHERE claimed_by_id IS NULL): the second is refused, naming who has it."""
    done = session.execute(
        update(FollowUp)
        .where(FollowUp.id == item_id, FollowUp.claimed_by_id.is_(None), FollowUp.closed_at.is_(None))
        .values(claimed_by_id=nurse.id, claimed_at=at)
        .execution_options(synchronize_session=False)
    )
    item = _item(session, item_id)
    if int(getattr(done, "rowcount", 0) or 0) != 1:
        if item.closed_at is not None:
            raise RecordError(f"this item is closed: {_closed_by(item)}")
        holder = _name(item.claimed_by)
        raise RecordError(
            "you have already claimed this item" if holder == nurse.username else f"{holder} has already claimed it"
        )
    audit(session, nurse_actor(nurse.username), "claim", item.record.reference, f"worklist item {item.id}")
    return item


def record_outcome(session: Session, item_id: int, nurse: Nurse, outcome: str, note: str, at: datetime) -> FollowUp:
    """The outcome of a call by the nurse who claimed the item; reached or handed to a doctor
    closes it, no answer or a message left keeps it open (and counts as a try), and so does
    asking for a new photo (not a try)."""
    chosen = store_chosen(Outcome, outcome, "outcome")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise RecordError(f"the note must be at most {MAX_NOTE} characters, got {len(note)}")
    item = _item(session, item_id)
    if item.closed_at is not None:
        raise RecordError(f"this item is closed: {_closed_by(item)}")
    if item.claimed_by_id is None:
        raise RecordError("claim the item first, so no one else calls the patient at the same time")
    if item.claimed_by_id != nurse.id:
        raise RecordError(f"{_name(item.claimed_by)} has claimed this item; only they can record its outcome")
    attempts = item.attempts + (1 if chosen.call_try else 0)
    values: dict[str, object] = {"outcome": chosen.value, "note": note or None, "attempts": attempts}
    if chosen.closes:
        values |= {"closed_at": at, "closed_by_id": nurse.id}
    # Still open and still this nurse's: a close by anyone else meanwhile makes this refuse.
    done = session.execute(
        update(FollowUp)
        .where(FollowUp.id == item_id, FollowUp.closed_at.is_(None), FollowUp.claimed_by_id == nurse.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    item = _item(session, item_id)
    if int(getattr(done, "rowcount", 0) or 0) != 1:
        raise RecordError(f"this item is closed: {_closed_by(item)}")
    action = "close" if chosen.closes else "call-outcome"
    audit(session, nurse_actor(nurse.username), action, item.record.reference, f"worklist item {item.id}: {chosen}")
    return item


@dataclass(frozen=True)
class PatientStatus:
    """What the patient's link says of the clinic's work on their record (never the nurse's note)."""

    asked: bool  # the clinic has a call-back request from them
    tries: int  # how many times the clinic has tried to call
    reached: bool  # a nurse recorded that they reached the patient (or handed it to a doctor)
    new_photo: bool = False  # an open item's last outcome: the nurse asked for a new photo


def patient_status(session: Session, record: Record) -> PatientStatus | None:
    """The newest call-back request of this record as the patient may see it, and whether a
    nurse asked for a new photo on an item still open; None when there is neither."""
    items = session.scalars(select(FollowUp).where(FollowUp.record_id == record.id)).all()  # a few per record
    request = max((i for i in items if i.requested_at is not None), key=lambda i: (i.requested_at, i.id), default=None)
    new_photo = any(i.closed_at is None and i.outcome == Outcome.ASK_FOR_NEW_PHOTO for i in items)
    if request is None and not new_photo:
        return None
    return PatientStatus(
        asked=request is not None,
        tries=request.attempts if request is not None else 0,
        reached=request is not None and request.closed_at is not None,
        new_photo=new_photo,
    )


def forget_phones(session: Session, before: datetime, actor: str = "cli") -> int:
    """Delete the phone number of every item closed before `before` (the purge command)."""
    done = session.execute(
        update(FollowUp)
        .where(FollowUp.closed_at < before, FollowUp.phone_cipher.is_not(None))
        .values(phone_cipher=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(done, "rowcount", 0) or 0)
    audit(session, actor, "purge-phones", None, f"{count} phone numbers of items closed before {before.isoformat()}")
    return count
