"""The nurse's worklist (/nurse/worklist): every open call-back request and every patient
self-check of the last WORKLIST_HOURS answered `contact clinician`, most urgent first, then
longest waiting. A nurse claims an item, calls, records the outcome and so closes it.

The page works without JavaScript; static/worklist.js polls /nurse/worklist.json and puts new
rows in without a reload. Each row shows the thumbnails of the record's photos (served and
audited by web.photos as on the record page); the JSON view gives only their count, so a poll
loads no photo and makes the nurse's browser fetch none (the script keeps the thumbnails already
shown while the count is the same). A phone number is decrypted only here, for the nurse who claimed the
item, and each time it is shown the audit trail says so. Every view and change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, get_template_attribute, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from triage import Disposition, KnowledgeBase
from web.assessor import current_knowledge
from web.auth import require_login, signed_in_nurse
from web.clock import now, zone
from web.data_key import decrypt_phone, shown
from web.db import database
from web.record_views import label, local_time
from web.records import active_nurse
from web.storage import followups, store
from web.storage.models import FollowUp, Nurse
from web.storage.photos import PhotoInfo, photo_counts, photos_for_records

bp = Blueprint("worklist", __name__, url_prefix="/nurse")
bp.before_request(require_login)

SHOWN = 50  # rows on the page, the most urgent; the count says how many are open
POLL_SECONDS = 5  # the script's interval: a new item is on screen within 10 seconds

WINDOW_WORDS = {
    followups.TimeWindow.ANY: "any time",
    followups.TimeWindow.MORNING: "morning (8-12)",
    followups.TimeWindow.AFTERNOON: "afternoon (12-17)",
    followups.TimeWindow.EVENING: "evening (17-20)",
}
OUTCOMES = tuple(o.value for o in followups.Outcome)  # the outcome form's choices


@dataclass(frozen=True)
class Row:
    """One worklist item as the row shows it (templates/_worklist.html `worklist_row`)."""

    id: int
    reference: str
    answer: str
    key: str  # the disposition's CSS key
    emergency: bool
    minutes: int
    requested: bool  # the patient asked for a call-back
    window: str | None
    claimed_by: str | None
    mine: bool
    phone: str | None  # decrypted only for the nurse who claimed it
    attempts: int
    outcome: str | None
    photo_count: int = 0  # the record's photos
    photos: tuple[PhotoInfo, ...] | None = None  # their thumbnails' data: on the page, not in the JSON


def _rows(session: Session, nurse: Nurse, at: datetime, *, thumbnails: bool) -> tuple[int, list[Row]]:
    """The open items as rows; with `thumbnails`, each row's photos (one query for all rows,
    never their bytes), else only their count (one grouped query)."""
    hours = int(current_app.config["WORKLIST_HOURS"])
    count = followups.open_count(session, at, hours)
    items = followups.open_items(session, at, hours, SHOWN)
    kb = current_knowledge()
    record_ids = {item.record_id for item in items}
    listed: dict[int, tuple[PhotoInfo, ...]] | None = None
    if thumbnails:
        by_record = photos_for_records(session, record_ids)
        listed = {rid: tuple(p for shown in by_seq.values() for p in shown) for rid, by_seq in by_record.items()}
        counts = {rid: len(photos) for rid, photos in listed.items()}
    else:
        counts = photo_counts(session, record_ids)
    rows = [
        _row(
            session,
            kb,
            item,
            nurse,
            at,
            photo_count=counts.get(item.record_id, 0),
            photos=None if listed is None else listed.get(item.record_id, ()),
        )
        for item in items
    ]
    return count, rows


def _row(
    session: Session,
    kb: KnowledgeBase,
    item: FollowUp,
    nurse: Nurse,
    at: datetime,
    photo_count: int,
    photos: tuple[PhotoInfo, ...] | None,
) -> Row:
    mine = item.claimed_by_id == nurse.id
    phone = None
    if mine and item.phone_cipher:
        number = decrypt_phone(item.phone_cipher)
        phone = shown(number) if number else "(cannot be read: the number was stored under another DATA_KEY)"
        actor = store.nurse_actor(nurse.username)
        store.audit(session, actor, "view-phone", item.record.reference, f"worklist item {item.id}")
    window = followups.TimeWindow(item.time_window) if item.time_window else None
    return Row(
        id=item.id,
        reference=item.record.reference,
        answer=label(kb, item.disposition).text,
        key=Disposition(item.disposition).key,
        emergency=item.emergency,
        minutes=max(int((at - item.created_at).total_seconds() // 60), 0),
        requested=item.requested_at is not None,
        window=WINDOW_WORDS[window] if window else None,
        claimed_by=item.claimed_by.username if item.claimed_by is not None else None,
        mine=mine,
        phone=phone,
        attempts=item.attempts,
        outcome=item.outcome,
        photo_count=photo_count,
        photos=photos,
    )


def _page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    with database().transaction() as session:
        nurse = active_nurse(session)
        count, rows = _rows(session, nurse, now(), thumbnails=True)
        store.audit(session, signed_in_nurse().actor, "view-worklist")
    g.worklist_count = count  # the nav's count: the page's own, read once
    tz = zone(None)  # the clinic's zone, as on the record page
    return (
        render_template(
            "worklist.html",
            count=count,
            rows=rows,
            error=error,
            hours=current_app.config["WORKLIST_HOURS"],
            outcomes=OUTCOMES,
            poll_seconds=POLL_SECONDS,
            when=lambda moment: local_time(moment, tz),
        ),
        status,
    )


@bp.get("/worklist")
def worklist() -> tuple[str, int]:
    return _page()


@bp.get("/worklist.json")
def worklist_json() -> dict[str, Any]:
    """The open items for the polling script: the count, each item, and the rows as the page
    renders them (one macro for both)."""
    with database().transaction() as session:
        nurse = active_nurse(session)
        count, rows = _rows(session, nurse, now(), thumbnails=False)
        store.audit(session, signed_in_nurse().actor, "view-worklist")
    row_macro = get_template_attribute("_worklist.html", "worklist_row")
    return {
        "count": count,
        "items": [
            {
                "id": r.id,
                "reference": r.reference,
                "answer": r.answer,
                "emergency": r.emergency,
                "minutes_waiting": r.minutes,
                "requested": r.requested,
                "window": r.window,
                "claimed_by": r.claimed_by,
                "attempts": r.attempts,
                "photos": r.photo_count,
            }
            for r in rows
        ],
        "rows_html": "".join(str(row_macro(r, OUTCOMES)) for r in rows),
    }


@bp.post("/worklist/<int:item_id>/claim")
def claim(item_id: int) -> ResponseReturnValue:
    try:
        with database().transaction() as session:
            followups.claim(session, item_id, active_nurse(session), now())
    except store.RecordError as exc:
        return _page(f"Item {item_id} not claimed: {exc}.", 409)
    return redirect(url_for("worklist.worklist", _anchor=f"item-{item_id}"), 303)


@bp.post("/worklist/<int:item_id>/outcome")
def outcome(item_id: int) -> ResponseReturnValue:
    """Reached or handed to a doctor closes the item; no answer or a message left keeps it open."""
    try:
        with database().transaction() as session:
            followups.record_outcome(
                session,
                item_id,
                active_nurse(session),
                request.form.get("outcome", ""),
                request.form.get("note", ""),
                now(),
            )
    except store.RecordError as exc:
        return _page(f"Item {item_id}: nothing recorded: {exc}.", 409)
    return redirect(url_for("worklist.worklist", _anchor=f"item-{item_id}"), 303)


@bp.post("/records/<code>/end-link")
def end_link(code: str) -> ResponseReturnValue:
    """A nurse ends a patient's private link (it stops working at once; the record stays)."""
    actor = signed_in_nurse().actor
    with database().transaction() as session:
        found = store.find_record(session, code, actor, audited_as="", entries=False)
        if found is None:
            return render_template("error.html", status=404, message="There is no record with that code."), 404
        followups.end_link(session, found, actor)
        reference = found.reference
    return redirect(url_for("records.record", code=reference, _anchor="private-link"), 303)


# The worklist's own pages count their items themselves (_page); its other routes redirect.
NURSE_PAGES = frozenset({"nurse", "records", "review"})


def _count_for_nav() -> None:
    """Before a nurse page: the count of open items its navigation shows. Read here, in its own
    short transaction, because the pages render inside theirs (SQLite allows one writer)."""
    if request.blueprint in NURSE_PAGES and current_user.is_authenticated:
        with database().transaction() as session:
            g.worklist_count = followups.open_count(session, now(), int(current_app.config["WORKLIST_HOURS"]))


def open_count() -> int | str:
    """The nav's count of open items (every nurse page shows it)."""
    found: int | None = g.get("worklist_count")
    return "?" if found is None else found


def _install(state: Any) -> None:
    state.app.jinja_env.globals["worklist_count"] = open_count
    state.app.before_request(_count_for_nav)


bp.record_once(_install)
