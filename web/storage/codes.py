"""Reference codes: short, random, read aloud over the phone without confusion.

No 0/O, 1/I/L, 2/Z, 5/S or 8/B, and no vowels but A and E (so no accidental words); 6
characters from 24 give 191 million codes, drawn with `secrets` so they cannot be guessed
from one another. A code is only a handle: the record behind it holds no name or contact.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ACDEFGHJKMNPQRTUVWXY3467"
LENGTH = 6
_VALID = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_code() -> str:
    """A fresh random code, formatted for reading: K7M-4QX."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:3]}-{raw[3:]}"


def normalize_code(text: str) -> str | None:
    """The canonical form of a typed code (any case, spaces or dashes), or None if it is not one."""
    compact = _SEPARATORS.sub("", text or "").upper()
    if not _VALID.match(compact):
        return None
    return f"{compact[:3]}-{compact[3:]}"
