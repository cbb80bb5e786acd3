"""The clinic's own profile (CLINIC_PROFILE): its name and numbers on every answer.

A patient told "contact your clinic" must be told how, and an emergency page must give the
number to call in the clinic's country. The profile is a TOML file validated at start-up like
the knowledge base: a bad file stops the start naming the file, the key and the problem.
Without a profile the pages keep their neutral wording ("your clinic", "your local emergency
number"). The engine knows nothing of clinics; only the web layer and the exports use this.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

from flask import Flask, current_app
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from triage.exports.organization import Organization
from web.config import ConfigError

EXTENSION = "triage_clinic"
ENV = "CLINIC_PROFILE"

_PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]*")
_MIN_PHONE_DIGITS = 3


def _phone(value: str) -> str:
    value = value.strip()
    if not _PHONE.fullmatch(value) or len(dial(value)) < _MIN_PHONE_DIGITS:
        raise ValueError(
            f"{value!r} is not a phone number: use digits, spaces, dashes, dots or brackets, "
            "optionally starting with +, e.g. '+34 910 123 456'"
        )
    return value


def _out_of_hours(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("give a phone number or a sentence saying whom to call out of hours")
    return value


def _emergency(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{2,6}", value):
        raise ValueError(f"{value!r} is not an emergency number: give its 2 to 6 digits, e.g. '112', '911' or '999'")
    return value


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"{value!r} is not a two-letter ISO 3166-1 country code in capitals, e.g. 'ES', 'GB', 'US'")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name, e.g. 'Europe/Madrid'") from None
    return value


def _languages(value: list[str]) -> list[str]:
    if bad := [v for v in value if not re.fullmatch(r"[a-z]{2}", v)]:
        raise ValueError(f"{bad[0]!r} is not a two-letter ISO 639-1 language code in lower case, e.g. 'es'")
    if len(set(value)) != len(value):
        raise ValueError("a language is listed twice")
    return value


class ClinicProfile(BaseModel):
    """What the patient pages, the API's `contact`, the nurse note and the exports say about the clinic."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    phone: Annotated[str, AfterValidator(_phone)]
    out_of_hours: Annotated[str, Field(max_length=300), AfterValidator(_out_of_hours)]
    emergency_number: Annotated[str, AfterValidator(_emergency)]
    country: Annotated[str, AfterValidator(_country)]
    timezone: Annotated[str, AfterValidator(_timezone)]
    languages: Annotated[list[str], Field(min_length=1), AfterValidator(_languages)]

    @property
    def out_of_hours_is_phone(self) -> bool:
        """Out of hours may be a number (shown as a link to call) or a sentence (shown as it is)."""
        return bool(_PHONE.fullmatch(self.out_of_hours)) and len(dial(self.out_of_hours)) >= _MIN_PHONE_DIGITS

    def contact(self) -> dict[str, Any]:
        """The API answer's `contact` object (web.schemas.ContactOut)."""
        return {
            "clinic": self.name,
            "phone": self.phone,
            "out_of_hours": self.out_of_hours,
            "emergency_number": self.emergency_number,
            "country": self.country,
        }

    def organization(self) -> Organization:
        """The clinic as the exports name it (FHIR Organization, CDS Hooks card, nurse note)."""
        return Organization(self.name, self.phone, self.out_of_hours, self.out_of_hours_is_phone, self.country)


def dial(number: str) -> str:
    """The number as a `tel:` link dials it: digits, and a leading + kept."""
    digits = re.sub(r"[^0-9]", "", number)
    return ("+" + digits) if number.strip().startswith("+") else digits


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def load_profile(path: str | Path) -> ClinicProfile:
    """Read and check a profile; ConfigError names the file, the key and the problem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{ENV} {path}: cannot read the clinic profile: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{ENV} {path}: not valid TOML: {exc}") from None
    try:
        return ClinicProfile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _where(tuple(err["loc"]))
            if err["type"] == "extra_forbidden":
                message = f"unknown key; valid keys: {', '.join(ClinicProfile.model_fields)}"
            elif err["type"] == "missing":
                message = "this key is required"
            else:
                message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{key}: {message}")
        raise ConfigError(f"{ENV} {path}: " + "; ".join(problems)) from None


def init_app(app: Flask) -> ClinicProfile | None:
    """Load the profile named by CLINIC_PROFILE (None: the neutral wording). Its time zone is
    the form's default, as the clinic's patients are where the clinic is."""
    path = app.config.get(ENV)
    profile = load_profile(path) if path else None
    app.extensions[EXTENSION] = profile
    app.jinja_env.globals["clinic"] = profile
    app.jinja_env.filters["dial"] = dial
    if profile is not None:
        app.config["DEFAULT_TIMEZONE"] = profile.timezone
    return profile


def current_clinic() -> ClinicProfile | None:
    """The current app's clinic profile, or None."""
    found: ClinicProfile | None = current_app.extensions.get(EXTENSION)
    return found


def current_organization() -> Organization | None:
    """The current app's clinic as the exports name it, or None."""
    clinic = current_clinic()
    return clinic.organization() if clinic is not None else None
