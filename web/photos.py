"""Photos for the nurse: the patient adds up to three to a stored, non-emergency report and can
remove one before a nurse has seen it; a signed-in nurse sees them beside the report.

Which record and report a patient may add to comes from `photo_target()`, never from the
reference code alone: either a signed, time-limited grant (itsdangerous with SECRET_KEY and a
salt of its own) that the result page embeds in its form, or the patient's private follow-up
link (web/follow_up.py), whose page sends its token: the link's latest report, for as long as
the link works. Both travel in POST bodies only. A forgotten or wrong link gets the one "this
link no longer works" page. Each file is made safe by web.photo_pipeline before anything is
stored; a refused file is named with its reason and the others are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import FileStorage

from triage.vocabulary import Channel
from web.auth import require_login, signed_in_nurse
from web.body import larger_body
from web.clock import clock, zone, zone_name
from web.db import database
from web.i18n import select_language
from web.photo_pipeline import MAX_PHOTO_BYTES, PhotoRefused, Refusal, SafePhoto, make_safe
from web.storage import followups
from web.storage import photos as photo_store
from web.storage.codes import normalize_code
from web.storage.store import RecordError, audit

bp = Blueprint("photos", __name__)
nurse_bp = Blueprint("nurse_photos", __name__, url_prefix="/nurse/records")
nurse_bp.before_request(require_login)


@bp.record_once
def _max_photos(state: BlueprintSetupState) -> None:
    """The pages that offer photos say the limit from here, not as a number of their own."""
    state.app.jinja_env.globals["max_photos"] = photo_store.MAX_PHOTOS_PER_REPORT


GRANT_SALT = "patient-photos-grant"
GRANT_DAYS = 7
DECODES_PER_UPLOAD = 2 * photo_store.MAX_PHOTOS_PER_REPORT
ACTOR = Channel.PATIENT_FORM.value  # how the audit trail names the patient adding or removing


@dataclass(frozen=True)
class PhotoTarget:
    """The record and report a request may add photos to (and the patient's time zone)."""

    reference: str
    seq: int
    timezone: str = "UTC"
    link: str | None = None  # the private link's token, when the link authorised it


def authority(target: PhotoTarget) -> dict[str, str]:
    """The hidden fields a page's photo forms send to say what authorises them (the same link,
    or a fresh grant for the same report)."""
    if target.link is not None:
        return {"link": target.link, "timezone": target.timezone}
    return {"grant": photo_grant(target.reference, target.seq, target.timezone)}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=GRANT_SALT)


def photo_grant(reference: str, seq: int, timezone: str) -> str:
    """A grant to add photos to report `seq` of this record, valid GRANT_DAYS days."""
    return _serializer().dumps({"c": reference, "s": seq, "z": timezone})


def granted_target() -> PhotoTarget | None:
    """The target of the grant in the form, if it is genuine and not expired."""
    token = request.form.get("grant", "")
    try:
        data = _serializer().loads(token, max_age=GRANT_DAYS * 24 * 3600)
        return PhotoTarget(str(data["c"]), int(data["s"]), str(data.get("z") or "UTC"))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def linked_target() -> PhotoTarget | None:
    """The latest report of the record whose private link the form sends, while the link works
    (a forgotten, ended or wrong link: None, as web.storage.followups.record_for_link audits)."""
    token = request.form.get("link", "")
    if not token:
        return None
    with database().transaction() as session:
        record = followups.record_for_link(session, token)
        if record is None or not record.entries:
            return None
        seq = record.entries[-1].seq
        reference = record.reference
    return PhotoTarget(reference, seq, zone_name(zone(request.form.get("timezone"))), link=token)


def photo_target() -> PhotoTarget | None:
    """The report the form's grant, else its private link, lets the request add photos to."""
    return granted_target() or linked_target()


def refusal_text(reason: Refusal) -> str:
    """Why a file was not kept, in the patient's words."""
    texts: dict[Refusal, str] = {
        Refusal.EMPTY: _("The file is empty."),
        Refusal.TOO_LARGE: _("The file is larger than %(mb)s MB.", mb=MAX_PHOTO_BYTES // (1024 * 1024)),
        Refusal.NOT_A_PHOTO: _("It is not a photo we can use. Send a JPEG, PNG, WebP or HEIC photo."),
        Refusal.DAMAGED: _("The photo is damaged or incomplete. Take it again."),
        Refusal.TOO_MANY_PIXELS: _("The picture is too big. Use your camera's normal photo setting."),
        Refusal.HIDDEN_CONTENT: _("The file holds more than a photo, so it was not kept. Take the photo again."),
        Refusal.BUSY: _("We are busy right now. Try this photo again in a minute."),
        Refusal.TOO_MANY_PHOTOS: _(
            "You can add up to %(count)s photos to one check.", count=photo_store.MAX_PHOTOS_PER_REPORT
        ),
    }
    return texts[reason]


@dataclass(frozen=True)
class Problem:
    file_name: str
    reason: str


def _photos_page(
    target: PhotoTarget,
    problems: list[Problem] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The patient's photos for this report, with the form to add more while there is room."""
    tz = zone(target.timezone)
    with database().transaction() as session:
        entry = photo_store.entry_for(session, target.reference, target.seq)
        shown = photo_store.photos_of_entry(session, entry) if entry is not None else []
    return (
        render_template(
            "patient_photos.html",
            photos=shown,
            when=lambda moment: clock(moment, tz, select_language()),
            auth=authority(target),
            back=url_for("follow_up.link", token=target.link, timezone=target.timezone) if target.link else None,
            reference=target.reference,
            room=photo_store.room_left(shown),
            problems=problems or [],
            notice=notice,
        ),
        status,
    )


def _no_access() -> tuple[str, int]:
    if request.form.get("link"):  # as web.follow_up.gone(): nothing says whether a record exists
        return render_template("link_gone.html"), 404
    message = _("This page has expired. Photos can be added for %(days)s days after a check.", days=GRANT_DAYS)
    return render_template("error.html", status=403, message=message), 403


def _chosen_files() -> list[FileStorage]:
    """The files sent (a file input left empty sends a part with no name and no bytes)."""
    return [f for f in request.files.getlist("photo") if f.filename or f.content_length]


@bp.post("/photos")
@larger_body("MAX_PHOTO_UPLOAD_LENGTH", "PHOTO_UPLOAD_TIMEOUT")
def add() -> ResponseReturnValue:
    """Add the chosen photos: each made safe, then stored while the report has room."""
    target = photo_target()
    if target is None:
        return _no_access()
    with database().transaction() as session:
        entry = photo_store.entry_for(session, target.reference, target.seq)
        if entry is None:
            return _no_access()
        if entry.emergency:  # no page offers it: an emergency says to call now, nothing else
            message = _("This answer is an emergency: call your emergency number now. Photos cannot be added to it.")
            return render_template("error.html", status=409, message=message), 409
        room = photo_store.room_left(photo_store.photos_of_entry(session, entry))
    files = _chosen_files()
    if not files:
        return _photos_page(target, notice=_("Choose a photo first."), status=400)
    problems: list[Problem] = []
    safe: list[tuple[str, SafePhoto]] = []
    for index, upload in enumerate(files):
        name = photo_store.file_name(upload.filename)
        # Decoded only while the report has room, and at most DECODES_PER_UPLOAD files a request
        # (a request of many small hostile files costs no more than a few decodes).
        if len(safe) >= room or index >= DECODES_PER_UPLOAD:
            problems.append(Problem(name, refusal_text(Refusal.TOO_MANY_PHOTOS)))
            continue
        try:
            safe.append((name, make_safe(upload.stream.read(MAX_PHOTO_BYTES + 1))))
        except PhotoRefused as exc:
            problems.append(Problem(name, refusal_text(exc.reason)))
    added = 0
    with database().transaction() as session:
        entry = photo_store.entry_for(session, target.reference, target.seq)
        for name, photo in safe:
            if entry is None:
                break
            try:
                photo_store.add_photo(
                    session, entry, name, photo.jpeg, photo.thumbnail, (photo.width, photo.height), ACTOR
                )
                added += 1
            except photo_store.PhotoLimitReached:
                problems.append(Problem(name, refusal_text(Refusal.TOO_MANY_PHOTOS)))
    notice = _("Thank you. The nurse can now see your photos.") if added else None
    return _photos_page(target, problems, notice, 200 if added or not problems else 400)


@bp.post("/photos/remove")
def remove() -> ResponseReturnValue:
    """Remove one photo of this report, before a nurse has seen it."""
    target = photo_target()
    if target is None:
        return _no_access()
    photo_id = request.form.get("photo", "")
    with database().transaction() as session:
        entry = photo_store.entry_for(session, target.reference, target.seq)
        if entry is None:
            return _no_access()
        try:
            photo_store.remove_photo(session, entry, int(photo_id) if photo_id.isdigit() else -1, ACTOR)
            notice, status = _("The photo was removed."), 200
        except photo_store.PhotoSeen:
            notice, status = _("That photo cannot be removed now: a nurse has already seen it."), 400
        except RecordError:
            notice, status = _("That photo is not with this report any more."), 400
    return _photos_page(target, notice=notice, status=status)


# --- the nurse's view ---------------------------------------------------------------------


def _image(code: str, photo_id: int, *, thumbnail: bool) -> ResponseReturnValue:
    actor = signed_in_nurse().actor
    reference = normalize_code(code)
    with database().transaction() as session:
        if reference is None:
            audit(session, actor, "photo-not-found", None, f"photo {photo_id}")
            data = None
        else:
            data = photo_store.photo_for_nurse(session, reference, photo_id, actor, thumbnail=thumbnail)
    if data is None:
        return render_template("error.html", status=404, message="There is no such photo."), 404
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = 'inline; filename="photo.jpg"'
    return response


@nurse_bp.get("/<code>/photos/<int:photo_id>")
def full_size(code: str, photo_id: int) -> ResponseReturnValue:
    return _image(code, photo_id, thumbnail=False)


@nurse_bp.get("/<code>/photos/<int:photo_id>/thumbnail")
def thumbnail(code: str, photo_id: int) -> ResponseReturnValue:
    return _image(code, photo_id, thumbnail=True)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(nurse_bp)
