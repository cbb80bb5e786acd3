"""API keys: the clients allowed to store records through the API (`flask api-key ...`).

A key is 32 random bytes (secrets.token_urlsafe), shown once when it is made; only its SHA-256
is stored (a key has far too much entropy for a slow hash to matter), so a copy of the database
gives no usable key. Revoking keeps the row, so the audit trail's "api:NAME" keeps its meaning
and a name is never given to another client.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.storage.models import ApiKey, utcnow
from web.storage.store import RecordError, audit, username_problem


def api_actor(name: str) -> str:
    """How the audit trail names an API client."""
    return f"api:{name}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, actor: str = "cli") -> str:
    """A new key for the client `name`; the key itself, which is not stored and cannot be shown again."""
    name = name.strip().lower()
    if problem := username_problem(name):
        raise RecordError(problem.replace("username", "the client's name"))
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise RecordError(f"an API key named {name!r} already exists (revoked keys keep their names)")
    key = secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=digest(key), created_at=utcnow()))
    audit(session, actor, "create-api-key", detail=name)
    return key


def revoke_key(session: Session, name: str, actor: str = "cli") -> None:
    """Refuse the key from now on (its next request is a 401)."""
    found = session.scalar(select(ApiKey).where(ApiKey.name == name.strip().lower()))
    if found is None:
        raise RecordError(f"no API key named {name.strip().lower()!r}")
    if found.revoked_at is None:
        found.revoked_at = utcnow()
        audit(session, actor, "revoke-api-key", detail=found.name)


def client_named_by(session: Session, key: str) -> str | None:
    """The name of the active client whose key this is, or None (unknown or revoked)."""
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(key), ApiKey.revoked_at.is_(None)))
    return found.name if found else None


@dataclass(frozen=True)
class KeyRow:
    name: str
    created_at: datetime
    revoked_at: datetime | None


def list_keys(session: Session) -> list[KeyRow]:
    return [KeyRow(k.name, k.created_at, k.revoked_at) for k in session.scalars(select(ApiKey).order_by(ApiKey.name))]
