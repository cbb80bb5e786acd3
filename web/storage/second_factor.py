"""A nurse's second factor: a TOTP app (RFC 6238, pyotp) and single-use recovery codes.

The secret is stored sealed (web.storage.sealed) and never logged. A code is accepted in its
30-second step or the one either side (phone clocks drift), and only once: the step of the last
code accepted is kept, and that code or any earlier one is refused after it (a code seen over a
shoulder or in a proxy log cannot be replayed). Recovery codes are kept as SHA-256 hashes and
each is marked used when it signs in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.storage.models import Nurse, RecoveryCode, utcnow
from web.storage.sealed import InvalidToken, seal, unseal
from web.storage.store import audit, end_sessions, nurse_actor

PURPOSE = "nurse totp secret"
ISSUER = "Microneedling triage"
RECOVERY_CODES = 10
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after is accepted too


class SecretUnreadable(Exception):
    """The stored secret was sealed under another SECRET_KEY: the nurse must enrol again."""


def _secret(nurse: Nurse, key: str | bytes) -> str:
    if nurse.totp_secret is None:
        raise SecretUnreadable("no second factor set up")
    try:
        return unseal(nurse.totp_secret, key, PURPOSE)
    except InvalidToken:
        raise SecretUnreadable("the second factor was set up under another SECRET_KEY") from None


def start_enrolment(nurse: Nurse, key: str | bytes) -> str:
    """The nurse's new secret (kept until a first code confirms it), as the otpauth:// address
    an authenticator app reads from the QR code. A started enrolment is shown again as it was."""
    if nurse.totp_enabled:
        raise ValueError("the second factor is already set up")
    try:
        secret = _secret(nurse, key)
    except SecretUnreadable:
        secret = pyotp.random_base32()
        nurse.totp_secret = seal(secret, key, PURPOSE)
    return pyotp.TOTP(secret).provisioning_uri(name=nurse.username, issuer_name=ISSUER)


def setup_key(nurse: Nurse, key: str | bytes) -> str:
    """The secret written out in groups of four, for typing into an app without a camera."""
    secret = _secret(nurse, key)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _matching_step(secret: str, code: str, at: datetime, after: int | None) -> int | None:
    """The step of `code` among the steps around `at` that come after `after`, or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def check_code(nurse: Nurse, code: str, key: str | bytes, at: datetime) -> bool:
    """True, and the code's step remembered, when `code` is the nurse's current code, not used before."""
    step = _matching_step(_secret(nurse, key), code, at, nurse.totp_last_step)
    if step is None:
        return False
    nurse.totp_last_step = step
    return True


def _digest(code: str) -> str:
    return hashlib.sha256("".join(code.split()).replace("-", "").upper().encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(16))  # 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def confirm_enrolment(session: Session, nurse: Nurse, code: str, key: str | bytes, at: datetime) -> list[str] | None:
    """Turn the second factor on when `code` is right; the new recovery codes (shown once), or None."""
    if nurse.totp_enabled or not check_code(nurse, code, key, at):
        return None
    nurse.totp_enabled = True
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    nurse.recovery_codes = [RecoveryCode(code_hash=_digest(c)) for c in codes]
    audit(session, nurse_actor(nurse.username), "enrol-second-factor", detail=nurse.username)
    return codes


def use_recovery_code(session: Session, nurse: Nurse, code: str) -> bool:
    """True, and the code spent, when it is one of the nurse's unused recovery codes."""
    found = session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.nurse_id == nurse.id, RecoveryCode.code_hash == _digest(code), RecoveryCode.used_at.is_(None)
        )
        .with_for_update()
    )
    if found is None:
        return False
    found.used_at = utcnow()
    left = sum(1 for c in nurse.recovery_codes if c.used_at is None)
    audit(session, nurse_actor(nurse.username), "recovery-code-used", detail=f"{left} left")
    return True


def reset(session: Session, nurse: Nurse, actor: str = "cli") -> None:
    """Remove the second factor (a lost phone and lost codes): the nurse enrols again at sign-in."""
    nurse.totp_secret = None
    nurse.totp_enabled = False
    nurse.totp_last_step = None
    nurse.recovery_codes = []
    end_sessions(nurse)
    audit(session, actor, "reset-second-factor", detail=nurse.username)
