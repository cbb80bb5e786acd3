"""The records database for the app: one Database per process, migrated at start-up.

Its command-line commands (flask --app web db | nurse | records) are in web.commands.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from triage import Assessment
from triage.vocabulary import Channel
from web.clinic import current_clinic
from web.clock import now
from web.config import ConfigError
from web.logs import ERROR_LOGGER
from web.storage import followups, store
from web.storage.database import Database, sqlite_files, sqlite_url
from web.storage.models import AuditEvent, Nurse

EXTENSION = "triage_db"
T = TypeVar("T")


def database_url(app: Flask) -> str:
    """DATABASE_URL, or an SQLite file in the instance folder (created if missing)."""
    url = app.config.get("DATABASE_URL")
    if url:
        return str(url)
    folder = Path(app.instance_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return sqlite_url(folder / "triage.sqlite3")


PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def tighten(path: Path, private: int) -> None:
    """Take from an existing file or folder every permission beyond `private` (the group's and
    others', never adding one): one made by an older version, or by hand, may be open to other
    users, and it holds health data. One that cannot be changed (another user's) stops the
    start-up with the command that fixes it."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & ~private:
        return
    try:
        os.chmod(path, mode & private)
    except OSError as exc:
        raise ConfigError(
            f"{path} has mode {mode:04o}, open to other users, and could not be changed to {mode & private:04o} "
            f"({exc.strerror}): run `chmod {mode & private:o} {path}` as its owner, then start again"
        ) from None


def tighten_private_files(app: Flask, url: str) -> None:
    """The instance folder (it holds the default database) to 0700, SQLite's files to 0600."""
    tighten(Path(app.instance_path), PRIVATE_FOLDER)
    for path in sqlite_files(url):
        tighten(path, PRIVATE_FILE)


def _stamp_client(session: Session, _context: Any, _instances: Any) -> None:
    """Audit events written while serving a request record the client's address (the one the
    trusted proxies forwarded, when PROXY_COUNT is set: ProxyFix has put it in remote_addr)."""
    if not has_request_context():
        return
    for obj in session.new:
        if isinstance(obj, AuditEvent) and obj.client is None:
            obj.client = (request.remote_addr or "")[:64] or None


def init_app(app: Flask) -> None:
    url = database_url(app)
    tighten_private_files(app, url)
    db = Database(url)
    event.listen(db.sessions, "before_flush", _stamp_client)
    if app.config["MIGRATE_ON_START"]:
        db.upgrade()  # idempotent; locked against other workers starting at the same time
    elif (current := db.current()) != (head := db.head()):
        db.dispose()
        raise ConfigError(
            f"the records database is at revision {current or 'base'}, not {head}, and MIGRATE_ON_START "
            "is off: run `flask --app web db upgrade` first (or set MIGRATE_ON_START=true)"
        )
    app.extensions[EXTENSION] = db


def database() -> Database:
    db: Database = current_app.extensions[EXTENSION]
    return db


def told(language: str = "en") -> store.Told:
    """What a person reads with an answer now: `language`, and the clinic profile's numbers."""
    clinic = current_clinic()
    if clinic is None:
        return store.Told(language)
    return store.Told(language, clinic.emergency_number, clinic.phone)


def store_new_record(
    answer: Assessment, channel: str, nurse_id: int | None = None, language: str = "en", actor: str | None = None
) -> str | None:
    """Store the report and its answer as a new record, in one transaction; its reference
    code, or None when it could not be stored (the caller still shows the answer). A report
    without hours (an emergency answered at once) is not stored: a record's course needs them.
    The entry keeps what the person read: `language` and the clinic's numbers (web.db.told);
    the audit names `actor` (an API client) when given."""

    def create(session: Session) -> str:
        nurse = session.get(Nurse, nurse_id) if nurse_id is not None else None
        return store.create_record(session, answer, channel, nurse, told(language), actor=actor, at=now()).reference

    return _stored(answer, channel, create)


def store_self_check(answer: Assessment, language: str) -> tuple[str, str] | None:
    """A patient's self-check stored as a new record with its private link, and put on the
    nurse's worklist when it says `contact clinician`: (reference code, link token), or None."""

    def create(session: Session) -> tuple[str, str]:
        record = store.create_record(session, answer, Channel.PATIENT_FORM, None, told(language), at=now())
        followups.note_self_check(session, record, record.entries[0])
        return record.reference, followups.new_link(session, record)

    return _stored(answer, Channel.PATIENT_FORM, create)


def _stored(answer: Assessment, channel: str, create: Callable[[Session], T]) -> T | None:
    """`create` in one transaction; None (and an error log naming only the failure's type) when
    the database refuses. A report without hours is never stored."""
    if answer.report.hours is None:
        return None
    try:
        with database().transaction() as session:
            return create(session)
    except (SQLAlchemyError, OSError, store.RecordError) as exc:
        # The type only: the message could quote the report.
        logging.getLogger(ERROR_LOGGER).error(
            "record not stored",
            extra={"fields": {"event": "record not stored", "channel": channel, "error": type(exc).__name__}},
        )
        return None
