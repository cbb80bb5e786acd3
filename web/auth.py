"""Nurse sign-in (Flask-Login). The nurse console and the records need it; the patient form does not.

Passwords are checked against salted scrypt hashes (web.storage.store); failed and successful
sign-ins are audited. The session lasts one shift (PERMANENT_SESSION_LIFETIME), and it can be
ended from the server: the cookie holds the nurse's session version, which every request
checks against the database and which sign-out, disabling and a new password raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select

from web.db import database
from web.storage import store
from web.storage.models import Nurse

bp = Blueprint("auth", __name__, url_prefix="/nurse")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to use the nurse console and the records."
login_manager.session_protection = "strong"


@dataclass(frozen=True)
class NurseUser(UserMixin):  # type: ignore[misc]
    """The signed-in nurse: only what requests need, not a live database object."""

    id: int
    username: str
    session_version: int

    def get_id(self) -> str:
        """What the session cookie holds: the account and the session version it was signed in at."""
        return f"{self.id}.{self.session_version}"

    @property
    def actor(self) -> str:
        return store.nurse_actor(self.username)


def _user(nurse: Nurse) -> NurseUser:
    return NurseUser(nurse.id, nurse.username, nurse.session_version)


def _load(user_id: str) -> NurseUser | None:
    """The nurse of a session cookie, if the account is active and the cookie's version current."""
    account, _, version = user_id.partition(".")
    if not account.isdigit() or not version.isdigit():
        return None  # also a cookie from before session versions: sign in again
    with database().sessions() as db_session:
        nurse = db_session.scalar(
            select(Nurse).where(Nurse.id == int(account), Nurse.active.is_(True), Nurse.session_version == int(version))
        )
        return _user(nurse) if nurse else None


login_manager.user_loader(_load)


def signed_in_nurse() -> NurseUser:
    """The current nurse (only call behind require_login)."""
    user: NurseUser = current_user._get_current_object()
    return user


def require_login() -> ResponseReturnValue | None:
    """A before_request hook for blueprints that only nurses may use."""
    if not current_user.is_authenticated:
        response: ResponseReturnValue = login_manager.unauthorized()
        return response
    return None


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send a nurse to another host after sign-in."""
    target = target or ""
    # Browsers read "/\\host" as "//host": refuse backslashes and control characters too.
    plain = not any(c == "\\" or ord(c) < 32 for c in target)
    if plain and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("nurse.console")


@bp.get("/login")
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="", error=None, next=request.args.get("next", ""))


@bp.post("/login")
def login_post() -> ResponseReturnValue:
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    with database().transaction() as db_session:
        nurse = store.check_login(db_session, username, password)
        user = _user(nurse) if nurse else None
    if user is None:
        error = "The username or password is not right. Check them and try again."
        return render_template("login.html", username=username, error=error, next=target), 401
    session.clear()  # a fresh session on sign-in: no fixation
    session.permanent = True
    login_user(user)
    return redirect(_safe_next(target))


def refuse_sign_in(message: str) -> ResponseReturnValue:
    """A sign-in the database could not even look up (web.storable_text): audited, and said why."""
    username = request.form.get("username", "")
    with database().transaction() as db_session:
        store.login_failed(db_session, username)
    shown, target = store.storable(username), store.storable(request.form.get("next", ""))
    return render_template("login.html", username=shown, error=message, next=target), 400


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        with database().transaction() as db_session:
            store.sign_out(db_session, signed_in_nurse().id)
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
