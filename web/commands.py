"""The app's command-line commands, for whoever runs the clinic's server:

flask --app web db upgrade | downgrade REV | current
flask --app web nurse create USERNAME          # asks for the password twice
flask --app web nurse password USERNAME        # a new password; ends the nurse's open sessions
flask --app web nurse disable | enable USERNAME
flask --app web records purge [--days N]       # delete records past the retention period
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from web.db import database
from web.storage import followups, store
from web.storage.models import utcnow

db_cli = AppGroup("db", help="The records database schema (Alembic migrations).")
nurse_cli = AppGroup("nurse", help="Nurse accounts.")
records_cli = AppGroup("records", help="Triage records.")


def init_app(app: Flask) -> None:
    """Add the commands to `flask --app web`."""
    app.cli.add_command(db_cli)
    app.cli.add_command(nurse_cli)
    app.cli.add_command(records_cli)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up (also done at every start unless MIGRATE_ON_START is off)."""
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


def _ask_new_password(prompt: str) -> str:
    """A new password from the terminal: checked against the rules first, then confirmed."""
    password: str = click.prompt(prompt, hide_input=True, value_proc=_acceptable_password)
    if click.prompt("Repeat for confirmation", hide_input=True) != password:
        raise click.UsageError("the two passwords differ; nothing was changed")
    return password


@nurse_cli.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def nurse_create(username: str, password_stdin: bool) -> None:
    """Create a nurse account (the first one too); the password is asked for twice."""
    if problem := store.username_problem(username.strip().lower()):
        raise click.UsageError(problem)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else _ask_new_password("Password")
    try:
        with database().transaction() as session:
            store.create_nurse(session, username, password)
    except store.RecordError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"nurse account {username.strip().lower()!r} created")


@nurse_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def nurse_password(username: str, password_stdin: bool) -> None:
    """Set a new password; every session the nurse has open ends at its next request."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else _ask_new_password("New password")
    try:
        with database().transaction() as session:
            name = store.set_password(session, username, password).username
    except store.RecordError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"password of nurse account {name!r} changed; its open sessions are ended")


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
    phones_before = utcnow() - timedelta(days=followups.PHONE_KEPT_DAYS)
    with database().transaction() as session:
        count = store.purge(session, before)
        phones = followups.forget_phones(session, phones_before)
    noun = "record" if count == 1 else "records"
    click.echo(f"deleted {count} {noun} not updated in the last {keep} days (before {before:%Y-%m-%d %H:%M} UTC)")
    click.echo(
        f"deleted {phones} call-back phone number{'' if phones == 1 else 's'} of requests closed more than "
        f"{followups.PHONE_KEPT_DAYS} days ago"
    )
