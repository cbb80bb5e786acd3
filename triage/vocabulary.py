"""The words every layer shares, defined once: dispositions, severities, channels, the hour limit.

The knowledge base's validation, the report parser, the CLI's choices, the web form, the API's
pydantic models, the records store and the exports all derive from these.
"""

from __future__ import annotations

import enum


class Disposition(enum.StrEnum):
    """What the person should do; ordered by urgency."""

    EXPECTED = "expected"
    MONITOR = "monitor"
    CONTACT_CLINICIAN = "contact clinician"

    @property
    def rank(self) -> int:
        """Position in urgency order (0: least urgent); read from a table made once, as
        ordering findings asks for it many times per answer."""
        return DISPOSITION_RANKS[self]

    @property
    def key(self) -> str:
        """Identifier-style key ("contact-clinician"), used for CSS classes and KB tables."""
        return self.value.replace(" ", "-")


# Disposition.rank as a table, for sorts that look it up many times per answer.
DISPOSITION_RANKS: dict[Disposition, int] = {d: i for i, d in enumerate(Disposition)}


class Severity(enum.StrEnum):
    """How bad a symptom is, as the person reports it; ordered mildest first."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Channel(enum.StrEnum):
    """Where an assessment was made; stored with every record entry."""

    PATIENT_FORM = "patient-form"
    NURSE_CONSOLE = "nurse-console"
    API = "api"


DISPOSITIONS: tuple[str, ...] = tuple(d.value for d in Disposition)
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
DEFAULT_SEVERITY = Severity.MODERATE.value  # the policy's default when none is given
MAX_HOURS = 8760.0  # one year: a report later than this is not about this session
