"""What can be done to a record, each in the caller's transaction, each leaving an audit event.

The web layer and the CLI call these; nothing here knows about HTTP. Every change and every
view of a record writes an AuditEvent in the same transaction, so an action and its trail
are stored together or not at all.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from triage import Assessment, Disposition, KnowledgeBase
from triage.vocabulary import CHANNELS, SEVERITIES, Onset
from web.storage.codes import new_code, normalize_code
from web.storage.models import AuditEvent, Entry, Nurse, Override, Record, utcnow
from web.storage.passwords import password_problem

E = TypeVar("E", bound=enum.Enum)

MAX_REASON = 2000
_CODE_ATTEMPTS = 20


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so timing does not tell (made
    once, at the first failed sign-in, not at import: scrypt takes about 70 ms)."""
    return generate_password_hash("not-a-real-password")


class RecordError(ValueError):
    """A request about a record that cannot be carried out, with a message for the person."""


def chosen(kind: type[E], value: str, noun: str) -> E:
    """`value` as a member of `kind`, or a RecordError naming it and the valid ones."""
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(str(member.value) for member in kind)
        raise RecordError(f"unknown {noun} {value!r}; valid {noun}s: {valid}") from None


def nurse_actor(username: str) -> str:
    """How the audit trail names a nurse."""
    return f"nurse:{username}"


def actor_name(nurse: Nurse | None, channel: str) -> str:
    return nurse_actor(nurse.username) if nurse is not None else channel


# PostgreSQL refuses NUL in text, and no database can encode a lone surrogate as UTF-8.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """The first character of `text` that no database here can store (as "U+0000"), or None."""
    found = _UNSTORABLE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def storable(text: str) -> str:
    """`text` with each such character replaced by U+FFFD, for the trail and for echoing back."""
    return _UNSTORABLE.sub("\ufffd", text)


def audit(session: Session, actor: str, action: str, reference: str | None = None, detail: str | None = None) -> None:
    """Append one event to the audit trail (no symptoms: who, what, which record, when).

    The details can quote what someone typed: characters the database refuses are replaced,
    so a hostile value is recorded instead of failing the request."""
    detail = storable(detail) if detail is not None else None
    session.add(AuditEvent(at=utcnow(), actor=actor, action=action, reference=reference, detail=detail))


# --- nurses -------------------------------------------------------------------------------


def username_problem(username: str) -> str | None:
    """What is wrong with a new account's username (already stripped and lower-cased), or None."""
    if not username or len(username) > 64 or not username.replace(".", "").replace("-", "").isalnum():
        return "username must be 1 to 64 letters, digits, dots or dashes"
    return None


def check_new_password(password: str, username: str) -> None:
    """Refuse a password too weak to set (account creation and password change), saying why."""
    if problem := password_problem(password, username):
        raise RecordError(problem)


def nurse_named(session: Session, username: str) -> Nurse:
    nurse = session.scalar(select(Nurse).where(Nurse.username == username.strip().lower()))
    if nurse is None:
        raise RecordError(f"no nurse account {username.strip().lower()!r}")
    return nurse


def create_nurse(session: Session, username: str, password: str, actor: str = "cli") -> Nurse:
    """A nurse account; the password is stored only as a salted scrypt hash."""
    username = username.strip().lower()
    if problem := username_problem(username):
        raise RecordError(problem)
    check_new_password(password, username)
    if session.scalar(select(Nurse).where(Nurse.username == username)) is not None:
        raise RecordError(f"a nurse account {username!r} already exists")
    nurse = Nurse(
        username=username,
        password_hash=generate_password_hash(password),
        active=True,
        created_at=utcnow(),
        session_version=1,
    )
    session.add(nurse)
    audit(session, actor, "create-nurse", detail=username)
    session.flush()
    return nurse


def set_nurse_active(session: Session, username: str, active: bool, actor: str = "cli") -> Nurse:
    """Disable (or enable again) an account; a disabled nurse cannot sign in, and every session
    open ends at its next request (enabling again does not revive them). Records keep the name
    of who did what."""
    nurse = nurse_named(session, username)
    nurse.active = active
    end_sessions(nurse)
    audit(session, actor, "enable-nurse" if active else "disable-nurse", detail=nurse.username)
    return nurse


def set_password(session: Session, username: str, password: str, actor: str = "cli") -> Nurse:
    """A new password; every session opened with the old one ends at its next request."""
    nurse = nurse_named(session, username)
    check_new_password(password, nurse.username)
    nurse.password_hash = generate_password_hash(password)
    end_sessions(nurse)
    audit(session, actor, "change-password", detail=nurse.username)
    return nurse


def end_sessions(nurse: Nurse) -> None:
    """Refuse every session cookie issued to this nurse so far (they carry the old version)."""
    nurse.session_version = (nurse.session_version or 1) + 1


def sign_out(session: Session, nurse_id: int) -> None:
    """Sign-out ends the nurse's sessions on the server too, not only the cookie in this browser."""
    nurse = session.get(Nurse, nurse_id)
    if nurse is not None:
        end_sessions(nurse)
        audit(session, nurse_actor(nurse.username), "logout")


# Refused sign-ins, each audited with the username typed: a wrong password (or unknown or
# disabled account), a wrong second-factor code, and an attempt over the account's rate limit.
REFUSED_SIGN_INS = ("login-failed", "login-code-failed", "login-limited")


def login_failed(session: Session, username: str, action: str = "login-failed") -> None:
    audit(session, "anonymous", action, detail=username.strip().lower()[:64])


@dataclass(frozen=True)
class RefusedSignIns:
    """How often sign-in was refused for one username (an account or not) since a time."""

    username: str
    counts: Mapping[str, int]  # action (REFUSED_SIGN_INS) -> count
    last: datetime

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def refused_sign_ins(session: Session, since: datetime) -> list[RefusedSignIns]:
    """Refused sign-ins per username typed, most refused first (`flask nurse sign-ins`)."""
    rows = session.execute(
        select(AuditEvent.detail, AuditEvent.action, func.count(), func.max(AuditEvent.at))
        .where(AuditEvent.action.in_(REFUSED_SIGN_INS), AuditEvent.at >= since)
        .group_by(AuditEvent.detail, AuditEvent.action)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    latest: dict[str, datetime] = {}
    for username, action, count, last in rows:
        name = str(username or "")
        counts.setdefault(name, {})[action] = int(count)
        latest[name] = max(latest.get(name, last), last)
    out = [RefusedSignIns(name, by_action, latest[name]) for name, by_action in counts.items()]
    return sorted(out, key=lambda r: (-r.total, r.username))


def second_step(nurse: Nurse, mfa_mode: str) -> str | None:
    """What sign-in asks for after the password (NURSE_MFA): "code" from a nurse with a second
    factor (unless the setting is off), "enrol" to set one up when it is required, else None."""
    if mfa_mode != "off" and nurse.totp_enabled:
        return "code"
    if mfa_mode == "required":
        return "enrol"
    return None


def check_login(session: Session, username: str, password: str, mfa_mode: str = "off") -> Nurse | None:
    """The active nurse with these credentials, or None; audited either way ("password-ok"
    while a second step is still to come, which then audits the sign-in)."""
    nurse = session.scalar(select(Nurse).where(Nurse.username == username.strip().lower()))
    ok = check_password_hash(nurse.password_hash if nurse else _dummy_hash(), password)
    if nurse is None or not ok or not nurse.active:
        login_failed(session, username)
        return None
    audit(session, nurse_actor(nurse.username), "password-ok" if second_step(nurse, mfa_mode) else "login")
    return nurse


# --- records and entries ------------------------------------------------------------------


@dataclass(frozen=True)
class Told:
    """What the person read with an answer besides the answer itself: the language of the page
    and the clinic's numbers on it (None: no clinic profile, the neutral wording)."""

    language: str = "en"
    emergency_number: str | None = None
    clinic_phone: str | None = None


def _entry(
    record: Record,
    seq: int,
    answer: Assessment,
    channel: str,
    nurse: Nurse | None,
    told: Told | None = None,
    at: datetime | None = None,
) -> Entry:
    told = told or Told()
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; valid channels: {', '.join(CHANNELS)}")
    return Entry(
        record=record,
        seq=seq,
        created_at=at or utcnow(),
        channel=channel,
        nurse=nurse,
        hours=answer.report.hours,
        report=answer.report.to_dict(),
        answer=answer.to_dict(),
        disposition=answer.disposition.value,
        emergency=answer.emergency,
        kb_version=answer.kb_version,
        language=told.language[:16],
        emergency_number=told.emergency_number,
        clinic_phone=told.clinic_phone[:64] if told.clinic_phone else None,
    )


def create_record(
    session: Session,
    answer: Assessment,
    channel: str,
    nurse: Nurse | None = None,
    told: Told | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> Record:
    """A new record holding this first assessment, under a fresh unique reference code; the
    audit names `actor` (an API client, "api:NAME"), else the nurse or the channel; `at`: when
    (the app's clock, which tests move), else now."""
    for _ in range(_CODE_ATTEMPTS):
        code = new_code()
        if session.scalar(select(Record.id).where(Record.reference == code)) is not None:
            continue
        now = at or utcnow()
        record = Record(reference=code, created_at=now, updated_at=now)
        try:
            with session.begin_nested():  # a code taken meanwhile by another process: try another
                session.add(record)
                session.add(_entry(record, 1, answer, channel, nurse, told, now))
        except IntegrityError:
            continue
        audit(session, actor or actor_name(nurse, channel), "create", code, f"entry 1 via {channel}")
        return record
    raise RecordError("could not find a free reference code")  # 1 in 10^50 with 24^6 codes


def find_record(
    session: Session, reference: str, actor: str, *, audited_as: str = "view", entries: bool = True
) -> Record | None:
    """The record with this code (typed in any case, with or without the dash), or None.

    The look-up is audited whether or not the code exists, so guessing shows in the trail.
    `entries=False` skips loading every entry up front (adding a call-back needs none of them).
    """
    code = normalize_code(reference)
    record = None
    if code is not None:
        query = select(Record).where(Record.reference == code)
        if entries:
            query = query.options(
                selectinload(Record.entries).selectinload(Entry.overrides).selectinload(Override.nurse)
            )
        record = session.scalar(query)
    if record is None:
        audit(session, actor, "not-found", None, (reference or "")[:20])
        return None
    if audited_as:
        audit(session, actor, audited_as, record.reference)
    return record


def lock_record(session: Session, record: Record) -> None:
    """Serialise writers to one record (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE does it)."""
    session.execute(select(Record.id).where(Record.id == record.id).with_for_update())


def add_entry(
    session: Session,
    record: Record,
    answer: Assessment,
    channel: str,
    nurse: Nurse | None,
    told: Told | None = None,
    at: datetime | None = None,
) -> Entry:
    """Add a call-back assessment; entries are numbered in the order they are stored."""
    lock_record(session, record)
    last = session.scalar(select(func.max(Entry.seq)).where(Entry.record_id == record.id)) or 0
    entry = _entry(record, last + 1, answer, channel, nurse, told, at)
    session.add(entry)
    record.updated_at = entry.created_at
    audit(session, actor_name(nurse, channel), "add-entry", record.reference, f"entry {entry.seq} via {channel}")
    session.flush()
    return entry


def latest_symptoms(session: Session, record: Record) -> dict[str, str]:
    """Symptom -> severity at the record's latest stored entry (read under the record lock)."""
    report = session.scalar(select(Entry.report).where(Entry.record_id == record.id).order_by(Entry.seq.desc()))
    if not report:
        return {}
    return {s["id"]: s["severity"] for s in report.get("symptoms", [])}


def worse_than_before(
    kb: KnowledgeBase, before: Mapping[str, str], now: Iterable[tuple[str, str]], hours: float | None
) -> tuple[str, ...]:
    """What the record itself says got worse since the report before (kb.toml `record_worsening`):
    a symptom more severe than then, or a new one of a listed onset (`immediate`: a late start
    points to infection or a cold-sore flare; "none": no usual start) in a report at
    `new_from_hours` or later."""
    rule = kb.header.record_worsening
    rank = {severity: i for i, severity in enumerate(SEVERITIES)}

    def worse(sid: str, severity: str) -> bool:
        if sid in before:
            return rule.more_severe and rank[severity] > rank.get(before[sid], 99)
        symptom = kb.symptoms.get(sid)
        onset = (symptom.onset if symptom is not None else None) or Onset.NONE
        late = hours is None or hours >= rule.new_from_hours  # hours not given: the more urgent reading
        return onset in rule.new_with_onset and late

    return tuple(sid for sid, severity in now if worse(sid, severity))


def why_worse(kb: KnowledgeBase, before: Mapping[str, str], sid: str) -> str:
    """Why the record marked a symptom as getting worse, in the knowledge base's words."""
    rule = kb.header.record_worsening
    return rule.more_severe_why if sid in before else rule.new_why


# --- overrides ----------------------------------------------------------------------------


CONFIRM_LOWERING = "I confirm this patient does not need emergency care"


def lowers_emergency(entry: Entry, emergency: bool) -> bool:
    """An override without the emergency flag of an answer the engine gave as an emergency."""
    return entry.emergency and not emergency


def add_override(
    session: Session,
    entry: Entry,
    nurse: Nurse,
    disposition: str,
    reason: str,
    emergency: bool = False,
    confirmed: bool = False,
) -> Override:
    """Record the nurse's disposition beside the engine's; a reason is required. Lowering an
    emergency answer also needs `confirmed`: the nurse ticked CONFIRM_LOWERING."""
    choice = chosen(Disposition, disposition, "disposition")
    reason = (reason or "").strip()
    if not reason:
        raise RecordError("give the reason for the override; it is reviewed to improve the knowledge base")
    if len(reason) > MAX_REASON:
        raise RecordError(f"the reason must be at most {MAX_REASON} characters, got {len(reason)}")
    if emergency and choice is not Disposition.CONTACT_CLINICIAN:
        raise RecordError(f"the emergency flag goes only with '{Disposition.CONTACT_CLINICIAN}'")
    if choice.value == entry.disposition and emergency == entry.emergency:
        raise RecordError(f"the engine already answered {choice.value!r}; an override must differ from it")
    if lowers_emergency(entry, emergency) and not confirmed:
        raise RecordError(f"the engine answered this as an emergency: to lower it, tick '{CONFIRM_LOWERING}'")
    override = Override(
        entry=entry, nurse=nurse, created_at=utcnow(), disposition=choice.value, emergency=emergency, reason=reason
    )
    session.add(override)
    audit(
        session,
        nurse_actor(nurse.username),
        "override",
        entry.record.reference,
        f"entry {entry.seq}: {entry.disposition} -> {choice.value}"
        + (" (lowered an emergency, confirmed)" if lowers_emergency(entry, emergency) else ""),
    )
    session.flush()
    return override


@dataclass(frozen=True)
class OverrideRow:
    """One override as clinical review sees it: what the engine said, what the nurse chose, why."""

    at: datetime
    reference: str
    seq: int
    nurse: str
    hours: float
    symptoms: str  # "redness:severe, fever:moderate"
    factors: str
    engine: str
    engine_emergency: bool
    override: str
    override_emergency: bool
    reason: str
    rules: str  # the engine's rule ids
    kb_version: str
    kb_digest: str  # the knowledge content's digest, from the stored answer ("" before digests)
    lowered_emergency: bool  # the engine said emergency, the nurse did not (confirmed twice)


def override_rows(session: Session, limit: int | None = None) -> list[OverrideRow]:
    """Every override, newest first."""
    query = (
        select(Override)
        .options(selectinload(Override.entry).selectinload(Entry.record), selectinload(Override.nurse))
        .order_by(Override.created_at.desc(), Override.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for o in session.scalars(query):
        report, answer = o.entry.report, o.entry.answer
        rows.append(
            OverrideRow(
                at=o.created_at,
                reference=o.entry.record.reference,
                seq=o.entry.seq,
                nurse=o.nurse.username,
                hours=o.entry.hours,
                symptoms=", ".join(f"{s['id']}:{s['severity']}" for s in report.get("symptoms", [])),
                factors=", ".join(report.get("factors", [])),
                engine=o.entry.disposition,
                engine_emergency=o.entry.emergency,
                override=o.disposition,
                override_emergency=o.emergency,
                reason=o.reason,
                rules=", ".join(dict.fromkeys(f["rule"] for f in answer.get("findings", []))),
                kb_version=o.entry.kb_version,
                kb_digest=str(answer.get("kb_digest") or ""),
                lowered_emergency=lowers_emergency(o.entry, o.emergency),
            )
        )
    return rows


CSV_COLUMNS = (
    "at",
    "reference",
    "seq",
    "nurse",
    "hours",
    "symptoms",
    "factors",
    "engine",
    "engine_emergency",
    "override",
    "override_emergency",
    "reason",
    "rules",
    "kb_version",
    "kb_digest",
    "lowered_emergency",
)


def _cell(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula: keep it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def overrides_csv(rows: Sequence[OverrideRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(_cell(getattr(row, c)) for c in CSV_COLUMNS)
    return out.getvalue()


# --- timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineCell:
    severity: str
    disposition: str  # the most urgent finding about this symptom in that entry
    worse: bool  # more severe than at the entry before (as the engine was told when it was stored)


@dataclass(frozen=True)
class TimelinePoint:
    seq: int
    hours: float
    at: datetime
    channel: str
    disposition: str  # the entry's overall answer
    emergency: bool
    override: str | None
    override_emergency: bool  # the latest override's emergency flag
    cells: Mapping[str, TimelineCell]  # symptom id -> cell; absent symptoms are not keys


@dataclass(frozen=True)
class Timeline:
    symptoms: tuple[str, ...]  # in order of first appearance
    points: tuple[TimelinePoint, ...]  # in the order the entries were added


def timeline(record: Record) -> Timeline:
    """The course: per entry, hours since treatment and each symptom's severity and disposition."""
    order: dict[str, None] = {}
    points = []
    for e in record.entries:
        by_symptom: dict[str, Disposition] = {}
        for f in e.answer.get("findings", []):
            for sid in [f["symptom"]] if f.get("symptom") else f.get("symptoms", []):
                d = Disposition(f["disposition"])
                if sid not in by_symptom or d.rank > by_symptom[sid].rank:
                    by_symptom[sid] = d
        current = {s["id"]: s["severity"] for s in e.report.get("symptoms", [])}
        worse = set(e.report.get("worse_symptoms", []))  # what the engine was told, when it was added
        cells = {}
        for sid, severity in current.items():
            order.setdefault(sid)
            shown = by_symptom.get(sid, Disposition(e.disposition))
            cells[sid] = TimelineCell(severity=severity, disposition=shown.value, worse=sid in worse)
        last = e.overrides[-1] if e.overrides else None
        points.append(
            TimelinePoint(
                seq=e.seq,
                hours=e.hours,
                at=e.created_at,
                channel=e.channel,
                disposition=e.disposition,
                emergency=e.emergency,
                override=last.disposition if last else None,
                override_emergency=bool(last and last.emergency),
                cells=cells,
            )
        )
    return Timeline(symptoms=tuple(order), points=tuple(points))


# --- retention ----------------------------------------------------------------------------


def purge(session: Session, before: datetime, actor: str = "cli") -> int:
    """Delete every record not added to since `before` (entries and overrides go with it)."""
    # One statement; the foreign keys' ON DELETE CASCADE takes the entries and overrides with
    # it, so a record added to meanwhile is either kept whole or deleted whole.
    deleted = session.execute(delete(Record).where(Record.updated_at < before))
    count = int(getattr(deleted, "rowcount", 0) or 0)
    audit(session, actor, "purge", None, f"{count} records not updated since {before.isoformat()}")
    return count
