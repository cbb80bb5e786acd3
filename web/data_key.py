"""Call-back phone numbers: checked and normalised with `phonenumbers`, encrypted at rest with
Fernet under DATA_KEY (web/config.py), decrypted only for a nurse's page.

A number is never logged; the exports never read it.
"""

from __future__ import annotations

import phonenumbers
from cryptography.fernet import Fernet
from flask import current_app
from flask_babel import gettext as _

MAX_PHONE_TEXT = 40


def _fernet() -> Fernet:
    return Fernet(current_app.config["DATA_KEY"])


def encrypt_phone(e164: str) -> str:
    return _fernet().encrypt(e164.encode()).decode("ascii")


def decrypt_phone(cipher: str | None) -> str | None:
    """The number for a nurse's page (None: deleted after the item closed, or unreadable under
    this DATA_KEY, e.g. a development process's key)."""
    if not cipher:
        return None
    try:
        return _fernet().decrypt(cipher.encode("ascii")).decode()
    except Exception:
        return None


def read_phone(text: str, region: str | None) -> tuple[str | None, str | None]:
    """(the number in E.164, None) or (None, why it is refused, for the patient). `region`: the
    clinic profile's country, for numbers typed without +; without a profile a number must
    start with + and its country code."""
    text = text.strip()
    if not text:
        return None, _("Enter your phone number.")
    if len(text) > MAX_PHONE_TEXT:
        return None, _("That is too long for a phone number. Enter just the number.")
    if region is None and not text.startswith(("+", "00")):
        return None, _("Start the number with + and your country code, like +44 7911 123456.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, _('"%(text)s" is not a phone number. Use only digits, spaces and +.', text=text)
    if not phonenumbers.is_valid_number(number):
        return None, _('"%(text)s" is not a working phone number. Check the digits and the country code.', text=text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def shown(e164: str) -> str:
    """The number as a nurse reads it aloud: international format, spaced."""
    return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
