"""Secrets the server must read back (a nurse's TOTP secret) are stored encrypted: Fernet
(AES-128-CBC and HMAC-SHA256, from `cryptography`) under a key derived from SECRET_KEY, so a
copy of the database alone, or a backup, does not give anyone the second factor."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "seal", "unseal"]


def _fernet(secret_key: str | bytes, purpose: str) -> Fernet:
    raw = secret_key.encode() if isinstance(secret_key, str) else secret_key
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose.encode()).derive(raw)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, secret_key: str | bytes, purpose: str) -> str:
    return _fernet(secret_key, purpose).encrypt(text.encode()).decode()


def unseal(token: str, secret_key: str | bytes, purpose: str) -> str:
    """The text sealed with this key and purpose; InvalidToken when the key is another one."""
    return _fernet(secret_key, purpose).decrypt(token.encode()).decode()
