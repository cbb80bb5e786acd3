"""The records database for the app: one Database per process, migrated at start-up.

flask --app web db upgrade | downgrade REV | current
flask --app web nurse create USERNAME          # asks for the password twice
flask --app web records purge [--days N]       # delete records past the retention period
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from records import store
from records.db import Database, sqlite_url
from records.models import Nurse, utcnow
from triage import Assessment
from web.logs import ERROR_LOGGER

EXTENSION = "triage_db"


def database_url(app: Flask) -> str:
    """DATABASE_URL, or an SQLite file in the instance folder (created if missing)."""
    url = app.config.get("DATABASE_URL")
    if url:
        return str(url)
    folder = Path(app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / "triage.sqlite3")


def init_app(app: Flask) -> None:
    db = Database(database_url(app))
    db.upgrade()  # idempotent; locked against other workers starting at the same time
    app.extensions[EXTENSION] = db
    app.cli.add_command(db_cli)
    app.cli.add_command(nurse_cli)
    app.cli.add_command(records_cli)


def database() -> Database:
    db: Database = current_app.extensions[EXTENSION]
    return db


def store_new_record(answer: Assessment, channel: str, nurse_id: int | None = None) -> str | None:
    """Store the report and its answer as a new record, in one transaction; its reference
    code, or None when it could not be stored (the caller still shows the answer). A report
    without hours (an emergency answered at once) is not stored: a record's course needs them."""
    if answer.report.hours is None:
        return None
    try:
        with database().transaction() as session:
            nurse = session.get(Nurse, nurse_id) if nurse_id is not None else None
            return store.create_record(session, answer, channel, nurse).reference
    except (SQLAlchemyError, OSError, store.RecordError) as exc:
        # The type only: the message could quote the report.
        logging.getLogger(ERROR_LOGGER).error(
            "record not stored",
            extra={"fields": {"event": "record not stored", "channel": channel, "error": type(exc).__name__}},
        )
        return None


db_cli = AppGroup("db", help="The records database schema (Alembic migrations).")
nurse_cli = AppGroup("nurse", help="Nurse accounts.")
records_cli = AppGroup("records", help="Triage records.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up (it also happens at every start)."""
    database().upgrade(revision)
    click.echo(f"database at revision {database().current()}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' removes every table)."""
    database().downgrade(revision)
    click.echo(f"database at revision {database().current() or 'base'}")


@db_cli.command("current")
def db_current() -> None:
    click.echo(database().current() or "base")


def _acceptable_password(password: str) -> str:
    """click asks again, saying why, until the password meets the rules (before the confirmation)."""
    if problem := store.password_problem(password):
        raise click.BadParameter(problem)
    return password


@nurse_cli.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def nurse_create(username: str, password_stdin: bool) -> None:
    """Create a nurse account (the first one too); the password is asked for twice."""
    if problem := store.username_problem(username.strip().lower()):
        raise click.UsageError(problem)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, value_proc=_acceptable_password)
        if click.prompt("Repeat for confirmation", hide_input=True) != password:
            raise click.UsageError("the two passwords differ; no account was created")
    try:
        with database().transaction() as session:
            store.create_nurse(session, username, password)
    except store.RecordError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"nurse account {username.strip().lower()!r} created")


@nurse_cli.command("disable")
@click.argument("username")
def nurse_disable(username: str) -> None:
    """Disable an account: no more sign-ins, and an open session ends at its next request."""
    _set_active(username, False)


@nurse_cli.command("enable")
@click.argument("username")
def nurse_enable(username: str) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    try:
        with database().transaction() as session:
            nurse = store.set_nurse_active(session, username, active)
            name = nurse.username
    except store.RecordError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"nurse account {name!r} {'enabled' if active else 'disabled'}")


@records_cli.command("purge")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Retention period in days (default: RETENTION_DAYS)."
)
def records_purge(days: int | None) -> None:
    """Delete records not added to within the retention period, and say how many."""
    keep = days if days is not None else int(current_app.config["RETENTION_DAYS"])
    if keep < 1:
        raise click.UsageError("RETENTION_DAYS must be at least 1")
    before = utcnow() - timedelta(days=keep)
    with database().transaction() as session:
        count = store.purge(session, before)
    noun = "record" if count == 1 else "records"
    click.echo(f"deleted {count} {noun} not updated in the last {keep} days (before {before:%Y-%m-%d %H:%M} UTC)")
