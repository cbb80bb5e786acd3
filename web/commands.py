"""The app's command-line commands, for whoever runs the clinic's server:

flask --app web db upgrade | downgrade REV | current
flask --app web nurse create USERNAME          # asks for the password twice
flask --app web nurse password USERNAME        # a new password; ends the nurse's open sessions
flask --app web nurse disable | enable USERNAME
flask --app web nurse mfa-reset USERNAME       # a lost phone: the nurse sets the second factor up again
flask --app web nurse sign-ins [--days N]      # refused sign-ins per username typed
flask --app web api-key create NAME            # prints the key once; the API stores records with it
flask --app web api-key revoke NAME | list
flask --app web records purge [--days N]       # delete records past the retention period
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from web.db import database
from web.storage import api_keys, followups, second_factor, store
from web.storage.models import utcnow
from web.storage.passwords import password_problem

db_cli = AppGroup("db", help="The records database schema (Alembic migrations).")
nurse_cli = AppGroup("nurse", help="Nurse accounts.")
records_cli = AppGroup("records", help="Triage records.")
api_key_cli = AppGroup("api-key", help="The API clients that may store records (Authorization: Bearer KEY).")


def init_app(app: Flask) -> None:
    """Add the commands to `flask --app web`."""
    app.cli.add_command(db_cli)
    app.cli.add_command(nurse_cli)
    app.cli.add_command(records_cli)
    app.cli.add_command(api_key_cli)


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


@contextmanager
def _changing() -> Iterator[Session]:
    """A transaction for a command that changes something: a RecordError in it (no such
    account, a password refused) is the command's usage error, and nothing is changed."""
    try:
        with database().transaction() as session:
            yield session
    except store.RecordError as exc:
        raise click.UsageError(str(exc)) from None


def _new_password(prompt: str, username: str, from_stdin: bool) -> str:
    """One line of standard input (for scripts), else asked for at the terminal."""
    return sys.stdin.readline().rstrip("\n") if from_stdin else _ask_new_password(prompt, username)


def _ask_new_password(prompt: str, username: str) -> str:
    """A new password from the terminal: checked against the rules first (click asks again,
    saying why, until it meets them), then confirmed."""

    def acceptable(password: str) -> str:
        if problem := password_problem(password, username):
            raise click.BadParameter(problem)
        return password

    password: str = click.prompt(prompt, hide_input=True, value_proc=acceptable)
    if click.prompt("Repeat for confirmation", hide_input=True) != password:
        raise click.UsageError("the two passwords differ; nothing was changed")
    return password


@nurse_cli.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def nurse_create(username: str, password_stdin: bool) -> None:
    """Create a nurse account (the first one too); the password is asked for twice."""
    name = username.strip().lower()
    if problem := store.username_problem(name):
        raise click.UsageError(problem)
    password = _new_password("Password", name, password_stdin)
    with _changing() as session:
        store.create_nurse(session, username, password)
    click.echo(f"nurse account {name!r} created")


@nurse_cli.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def nurse_password(username: str, password_stdin: bool) -> None:
    """Set a new password; every session the nurse has open ends at its next request."""
    password = _new_password("New password", username.strip().lower(), password_stdin)
    with _changing() as session:
        name = store.set_password(session, username, password).username
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
    with _changing() as session:
        name = store.set_nurse_active(session, username, active).username
    click.echo(f"nurse account {name!r} {'enabled' if active else 'disabled'}")


@nurse_cli.command("mfa-reset")
@click.argument("username")
def nurse_mfa_reset(username: str) -> None:
    """Remove the nurse's second factor and recovery codes (a lost phone); open sessions end."""
    with _changing() as session:
        nurse = store.nurse_named(session, username)
        second_factor.reset(session, nurse)
        name = nurse.username
    click.echo(f"second factor of nurse account {name!r} removed; it is set up again at the next sign-in")


@nurse_cli.command("sign-ins")
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True, help="How many days back.")
def nurse_sign_ins(days: int) -> None:
    """Refused sign-ins per username typed (an account or not): wrong password, wrong code, over the limit."""
    since = utcnow() - timedelta(days=days)
    with database().transaction() as session:
        rows = store.refused_sign_ins(session, since)
    if not rows:
        click.echo(f"no refused sign-ins in the last {days} days")
        return
    click.echo(f"refused sign-ins in the last {days} days (since {since:%Y-%m-%d %H:%M} UTC):")
    click.echo(f"{'username':<24} {'total':>6} {'password':>9} {'code':>5} {'limited':>8}  last (UTC)")
    for r in rows:
        c = r.counts
        name = r.username or "(empty)"
        click.echo(
            f"{name:<24} {r.total:>6} {c.get('login-failed', 0):>9} {c.get('login-code-failed', 0):>5} "
            f"{c.get('login-limited', 0):>8}  {r.last:%Y-%m-%d %H:%M}"
        )


@api_key_cli.command("create")
@click.argument("name")
def api_key_create(name: str) -> None:
    """Make a key for the API client NAME and print it, once: it is stored only as a hash."""
    with _changing() as session:
        key = api_keys.create_key(session, name)
    click.echo(f"API key for {name.strip().lower()!r} (shown only now; send it as 'Authorization: Bearer KEY'):")
    click.echo(key)


@api_key_cli.command("revoke")
@click.argument("name")
def api_key_revoke(name: str) -> None:
    """Refuse the client's key from its next request on (401)."""
    with _changing() as session:
        api_keys.revoke_key(session, name)
    click.echo(f"API key {name.strip().lower()!r} revoked")


@api_key_cli.command("list")
def api_key_list() -> None:
    """Every key's name, when it was made and whether it is revoked (never the key)."""
    with database().transaction() as session:
        rows = api_keys.list_keys(session)
    if not rows:
        click.echo("no API keys")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M} UTC" if row.revoked_at else "active"
        click.echo(f"{row.name}\tcreated {row.created_at:%Y-%m-%d %H:%M} UTC\t{state}")


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
