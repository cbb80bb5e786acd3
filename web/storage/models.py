"""The record's tables: who may see it (Nurse, with RecoveryCode for the second factor), the
record (Record), each assessment in it (Entry), a nurse's different disposition (Override), the
append-only trail (AuditEvent) and the API clients that may store records (ApiKey).

No table holds a name, birth date or contact detail: a record is found by its reference code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Nurse(Base):
    __tablename__ = "nurses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session cookie of this nurse; raising it (sign-out, disable, new password)
    # makes every cookie issued before refused at its next request.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The second factor (web.mfa): the TOTP secret, encrypted with a key derived from SECRET_KEY
    # (web.storage.sealed); set at enrolment, in use once a first code confirmed it.
    totp_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The time step of the last code accepted: that code, and any earlier one, is refused after.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class RecoveryCode(Base):
    """A single-use code that stands in for the second factor when the phone is lost: only its
    SHA-256 is kept (80 random bits, so no slow hash is needed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("nurses.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(Base):
    """A client allowed to store records through the API: its name (the audit trail's actor,
    "api:NAME") and the SHA-256 of its key (32 random bytes; the key itself is shown once)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (Index("uq_records_link_hash", "link_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(7), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the last assessment was added: retention counts from here.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # SHA-256 (hex) of the patient's private link token; the token itself is never stored.
    # None: no link, or the patient or a nurse ended it (migration 0004).
    link_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entries: Mapped[list[Entry]] = relationship(
        back_populates="record", order_by="Entry.seq", cascade="all, delete-orphan", passive_deletes=True
    )


class Entry(Base):
    """One assessment in a record: the report and the engine's full answer, stored together."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("record_id", "seq", name="uq_entries_record_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in the order they were added
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))
    nurse_id: Mapped[int | None] = mapped_column(ForeignKey("nurses.id"), nullable=True)
    hours: Mapped[float] = mapped_column(Float)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)  # Report.to_dict()
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)  # Assessment.to_dict(), as the person saw it
    disposition: Mapped[str] = mapped_column(String(32))
    emergency: Mapped[bool] = mapped_column(Boolean)
    kb_version: Mapped[str] = mapped_column(String(64))
    # What the person read with this answer: its language, and the clinic's numbers at the time
    # (None: no clinic profile, so the neutral "your local emergency number"; all None before 0003).
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    emergency_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    clinic_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    record: Mapped[Record] = relationship(back_populates="entries")
    nurse: Mapped[Nurse | None] = relationship()
    overrides: Mapped[list[Override]] = relationship(
        back_populates="entry", order_by="Override.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Override(Base):
    """A nurse's disposition that differs from the engine's; the engine's answer stays in Entry."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("nurses.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disposition: Mapped[str] = mapped_column(String(32))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)

    entry: Mapped[Entry] = relationship(back_populates="overrides")
    nurse: Mapped[Nurse] = relationship()


class Photo(Base):
    """A photo the patient added to one report, as made safe on arrival (web.photo_pipeline): a
    re-encoded JPEG without metadata and its thumbnail; the file as sent is never stored. Goes
    with its entry (and so with the record under the retention purge)."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the upload's time
    file_name: Mapped[str] = mapped_column(String(120))  # as the patient's device named it, shortened
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # When a nurse first saw it (a thumbnail or the full size): after that the patient cannot remove it.
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    entry: Mapped[Entry] = relationship()


class FollowUp(Base):
    """One item of the nurse's worklist: a patient self-check answered `contact clinician`, or a
    call-back the patient asked for (then with the phone number, Fernet-encrypted), until a nurse
    closes it. The nurse's note stays here and in the audit trail, never on the patient's page."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        # The worklist reads only open items, most urgent and longest waiting first.
        Index(
            "ix_follow_ups_open",
            "urgency",
            "created_at",
            "id",
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        UniqueConstraint("record_id", "entry_seq", name="uq_follow_ups_record_entry"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    entry_seq: Mapped[int] = mapped_column(Integer)  # the entry whose answer put it on the list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    urgency: Mapped[int] = mapped_column(Integer)  # 0 emergency, 1 contact clinician, 2 monitor
    disposition: Mapped[str] = mapped_column(String(32))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    # The call-back request: when asked, the number (Fernet token, never plain), the time window.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    phone_cipher: Mapped[str | None] = mapped_column(Text, nullable=True)
    time_window: Mapped[str | None] = mapped_column(String(16), nullable=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("nurses.id"), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("nurses.id"), nullable=True)

    record: Mapped[Record] = relationship()
    claimed_by: Mapped[Nurse | None] = relationship(foreign_keys=[claimed_by_id])
    closed_by: Mapped[Nurse | None] = relationship(foreign_keys=[closed_by_id])


class AuditEvent(Base):
    """Who did what to which record, when. Append-only: the database refuses UPDATE and DELETE.

    It names the record by reference code, not by key, so it outlives the record's deletion
    under the retention period; it holds no symptoms.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # "nurse:alice", "patient-form", "api", "cli"
    action: Mapped[str] = mapped_column(String(40))  # create, view, add-entry, override, export ...
    reference: Mapped[str | None] = mapped_column(String(7), index=True, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The client's address for events from a web request (behind PROXY_COUNT proxies, the one
    # they forwarded); None for the command line.
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CdsFeedback(Base):
    """What an EHR's user did with one of our CDS Hooks cards (accepted or overridden, and why),
    as the EHR reported it to /cds-services/{id}/feedback: kept for clinical review.

    It names the card by its uuid only: a card is not stored, and no patient is named here."""

    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    card_uuid: Mapped[str] = mapped_column(String(36), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | overridden
    outcome_at: Mapped[str | None] = mapped_column(String(40), nullable=True)  # as the EHR wrote it
    override_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    override_system: Mapped[str | None] = mapped_column(String(255), nullable=True)
    override_display: Mapped[str | None] = mapped_column(String(255), nullable=True)
    user_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    issuer: Mapped[str | None] = mapped_column(String(255), nullable=True)  # the JWT's iss, when checked
