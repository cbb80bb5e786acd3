"""Nurse sign-in (Flask-Login). The nurse console and the records need it; the patient form does not.

Passwords are checked against salted scrypt hashes (web.storage.store); failed and successful
sign-ins are audited. Then, when NURSE_MFA asks for it, a code from the nurse's TOTP app or a
recovery code (web.storage.second_factor), or the set-up of one at the first sign-in.

The session lasts one shift (NURSE_SESSION_HOURS) counted from sign-in: the sign-in time is in
the session and every request checks it, so a session used every hour still ends. It can be
ended sooner from the server: the cookie holds the nurse's session version, which every request
checks against the database and which sign-out, disabling and a new password raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.clock import now
from web.db import database
from web.sign_in_limits import PENDING, remember_browser
from web.storage import second_factor, store
from web.storage.models import Nurse

SIGNED_IN_AT = "signed_in_at"  # session key: when the nurse signed in (seconds since the epoch)
PENDING_SECONDS = 300  # the second step must follow the password within this
WRONG_ENROLMENT_CODE = "That code is not right. Type the 6 digits your app shows now for this account."

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


def _shift_over() -> bool:
    """True when the session was signed in longer ago than one shift (or before sign-in times)."""
    started = session.get(SIGNED_IN_AT)
    if not isinstance(started, int | float):
        return True
    if now().timestamp() - started < current_app.permanent_session_lifetime.total_seconds():
        return False
    session.pop(SIGNED_IN_AT)
    hours = current_app.permanent_session_lifetime.total_seconds() / 3600
    flash(f"Your sign-in lasts one shift ({hours:g} hours). Sign in again.")
    return True


def _load(user_id: str) -> NurseUser | None:
    """The nurse of a session cookie, if the account is active, the cookie's version current and
    the shift not over."""
    account, _, version = user_id.partition(".")
    if not account.isdigit() or not version.isdigit():
        return None  # also a cookie from before session versions: sign in again
    if _shift_over():
        return None
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
        nurse = store.check_login(db_session, username, password, current_app.config["NURSE_MFA"])
        user = _user(nurse) if nurse else None
        step = store.second_step(nurse, current_app.config["NURSE_MFA"]) if nurse else None
    if user is None:
        error = "The username or password is not right. Check them and try again."
        return render_template("login.html", username=username, error=error, next=target), 401
    if step is None:
        return _signed_in(user, _safe_next(target))
    session.clear()
    session[PENDING] = {"id": user.id, "username": user.username, "at": now().timestamp(), "next": target, "step": step}
    return redirect(url_for("auth.code" if step == "code" else "auth.enrol"))


def _signed_in(user: NurseUser, target: str, page: str | None = None) -> ResponseReturnValue:
    """A fresh session for the nurse (no fixation), its shift counted from now; this browser is
    known to the account from now on (web.sign_in_limits)."""
    session.clear()
    session.permanent = True
    login_user(user)
    session[SIGNED_IN_AT] = now().timestamp()
    return remember_browser(current_app.make_response(page if page is not None else redirect(target)), user.username)


def _pending_nurse(db_session: Session, step: str) -> Nurse:
    """The active nurse whose password was right a moment ago, awaiting this second step
    ("code" for a nurse with the app set up, "enrol" for one setting it up)."""
    pending = session.get(PENDING)
    fresh = (
        isinstance(pending, dict)
        and pending.get("step") == step
        and now().timestamp() - float(pending.get("at", 0)) < PENDING_SECONDS
    )
    nurse = db_session.get(Nurse, int(pending["id"])) if fresh and isinstance(pending, dict) else None
    if nurse is None or not nurse.active or nurse.totp_enabled != (step == "code"):
        session.pop(PENDING, None)
        flash("Sign in again: the code must follow the password within five minutes.")
        abort(redirect(url_for("auth.login")))
    return nurse


def _key() -> str | bytes:
    """What the second factor's secret is sealed under (web.storage.sealed derives the key)."""
    key: str | bytes = current_app.config["SECRET_KEY"]
    return key


@bp.get("/login/code")
def code() -> ResponseReturnValue:
    with database().transaction() as db_session:
        _pending_nurse(db_session, "code")
    return render_template("login_code.html", error=None)


@bp.post("/login/code")
def code_post() -> ResponseReturnValue:
    """A code from the nurse's app, or one of the recovery codes."""
    typed = request.form.get("code", "")
    with database().transaction() as db_session:
        nurse = _pending_nurse(db_session, "code")
        try:
            ok = second_factor.check_code(nurse, typed, _key(), now())
        except second_factor.SecretUnreadable:
            ok = False
        recovery = not ok and second_factor.use_recovery_code(db_session, nurse, typed)
        if ok or recovery:
            detail = "with a recovery code" if recovery else "with the app's code"
            store.audit(db_session, store.nurse_actor(nurse.username), "login", detail=detail)
        else:
            store.login_failed(db_session, nurse.username, "login-code-failed")
        user, target = _user(nurse), str(session[PENDING].get("next", ""))
    if not (ok or recovery):
        error = "That code is not right, or was used already. Type the 6 digits your app shows now, or a recovery code."
        return render_template("login_code.html", error=error), 401
    return _signed_in(user, _safe_next(target))


def _enrol_page(nurse: Nurse, action: str, error: str | None = None) -> str:
    uri = second_factor.start_enrolment(nurse, _key())
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    return render_template(
        "second_factor.html", qr=qr, setup_key=second_factor.setup_key(nurse, _key()), action=action, error=error
    )


@bp.get("/login/enrol")
def enrol() -> ResponseReturnValue:
    """The first sign-in when NURSE_MFA=required: set up the app before the console opens."""
    with database().transaction() as db_session:
        return _enrol_page(_pending_nurse(db_session, "enrol"), url_for("auth.enrol_post"))


@bp.post("/login/enrol")
def enrol_post() -> ResponseReturnValue:
    with database().transaction() as db_session:
        nurse = _pending_nurse(db_session, "enrol")
        codes = second_factor.confirm_enrolment(db_session, nurse, request.form.get("code", ""), _key(), now())
        if codes is None:
            store.login_failed(db_session, nurse.username, "login-code-failed")
            return _enrol_page(nurse, url_for("auth.enrol_post"), WRONG_ENROLMENT_CODE), 401
        store.audit(db_session, store.nurse_actor(nurse.username), "login", detail="second factor set up")
        user, target = _user(nurse), _safe_next(str(session[PENDING].get("next", "")))
    page = render_template("recovery_codes.html", codes=codes, target=target)
    return _signed_in(user, target, page)


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor_page() -> ResponseReturnValue:
    """A signed-in nurse sets up the second factor (NURSE_MFA=optional or required)."""
    if (refused := require_login()) is not None:
        return refused
    if current_app.config["NURSE_MFA"] == "off":
        abort(404)
    with database().transaction() as db_session:
        nurse = db_session.get(Nurse, signed_in_nurse().id)
        assert nurse is not None  # the session was checked against the database just now
        if nurse.totp_enabled:
            return render_template("second_factor.html", enabled=True)
        if request.method == "GET":
            return _enrol_page(nurse, url_for("auth.second_factor_page"))
        codes = second_factor.confirm_enrolment(db_session, nurse, request.form.get("code", ""), _key(), now())
        if codes is None:
            return _enrol_page(nurse, url_for("auth.second_factor_page"), WRONG_ENROLMENT_CODE), 401
    return render_template("recovery_codes.html", codes=codes, target=url_for("nurse.console"))


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
