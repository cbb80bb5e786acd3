"""The rules a new nurse password must meet: long enough, and not a common or breached one.

The list (data/common-passwords.txt.gz, 30,000 passwords; data/COMMON-PASSWORDS.md names its
source and licence) is read once per process. A password is refused when it is on the list
as typed or in lower case, or when it is a listed password with only digits and symbols
added around it ("Dragon123456!"): guessing tools try those first.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import re

MIN_PASSWORD = 12
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")  # digits and symbols before or after a word


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, lower case."""
    packed = importlib.resources.files("web.storage").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(packed).decode().splitlines() if line.strip())


def is_common(password: str) -> bool:
    """On the list, in any case, or a listed password with digits and symbols around it."""
    lowered = password.strip().lower()
    listed = common_passwords()
    word = _PADDING.sub("", lowered)
    return lowered in listed or (word != lowered and len(word) >= 4 and word in listed)


def password_problem(password: str, username: str = "") -> str | None:
    """What is wrong with a new password, said so the person can choose another, or None."""
    if len(password) < MIN_PASSWORD:
        return f"password must be at least {MIN_PASSWORD} characters"
    if is_common(password):
        return (
            "this password is on a list of common passwords leaked in breaches, which attackers try first; "
            "choose another, for example three or four unrelated words"
        )
    if username and username.strip().lower() in password.lower():
        return "the password must not contain the username"
    return None
