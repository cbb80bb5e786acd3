"""The words every layer shares, defined once: dispositions, severities, phases, finding kinds,
onsets, channels, the hour limit.

The knowledge base's validation, the rules' conditions, the report parser, the wording, the
CLI's choices, the web form, the API's pydantic models, the records store and the exports all
derive from these. Each is a StrEnum: a member is its text, so it compares, hashes and is
written (JSON, templates, f-strings) exactly as that text.
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


class Phase(enum.StrEnum):
    """Where a report's hours fall in a symptom's window (a window finding's `phase`, a rule's
    `phase` condition)."""

    WITHIN_EXPECTED = "within-expected"
    PAST_EXPECTED = "past-expected"
    PAST_MONITOR = "past-monitor"


class FindingKind(enum.StrEnum):
    """What kind of rule reached a finding (Finding.kind): a rule of rules.toml says its own
    `kind` (the first six), a symptom's own rule is a window or, with `always`, a red flag."""

    SEVERITY = "severity"
    WORSENING = "worsening"
    COMBINATION = "combination"
    EMERGENCY = "emergency"
    FACTOR = "factor"
    ESCALATION = "escalation"
    WINDOW = "window"
    RED_FLAG = "red flag"


class Onset(enum.StrEnum):
    """When an effect normally starts: on the day, or on day 2 to 5. A rule's `onset` condition
    may also name NONE, the symptoms with no usual start given."""

    IMMEDIATE = "immediate"
    DELAYED = "delayed"
    NONE = "none"


class OwnRule(enum.StrEnum):
    """What a symptom's own rule can conclude. Each names the conclusion's rule id
    (`<symptom>-<name>`) and, but for EXPECTED_SEVERE (whose words are the header's
    `severe_within_expected`), its reason texts (`reasons.<name>`, `nurse_reasons.<name>`)."""

    EXPECTED = "expected"
    EXPECTED_SEVERE = "expected-severe"
    MONITOR = "monitor"
    CONTACT = "contact"
    ALWAYS = "always"


class FindingSelector(enum.StrEnum):
    """Which findings a `for_each = "finding"` rule reads (its `finding`): those whose
    disposition is monitor, those past the expected time, those below contact clinician."""

    MONITOR = Disposition.MONITOR.value
    PAST_EXPECTED = Phase.PAST_EXPECTED.value
    BELOW_CONTACT = "below-contact"


class Channel(enum.StrEnum):
    """Where an assessment was made; stored with every record entry."""

    PATIENT_FORM = "patient-form"
    NURSE_CONSOLE = "nurse-console"
    API = "api"


DISPOSITIONS: tuple[str, ...] = tuple(d.value for d in Disposition)
DISPOSITION_KEYS: tuple[str, ...] = tuple(d.key for d in Disposition)  # "contact-clinician", ...
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
PHASES: tuple[str, ...] = tuple(p.value for p in Phase)
# the kinds a rule of rules.toml may say (a symptom's own rule's are WINDOW and RED_FLAG)
RULE_KINDS: tuple[str, ...] = tuple(k.value for k in FindingKind if k not in (FindingKind.WINDOW, FindingKind.RED_FLAG))
ONSETS: tuple[str, ...] = (Onset.IMMEDIATE.value, Onset.DELAYED.value)  # a symptom's (NONE is for rules)
REASON_KEYS: tuple[str, ...] = tuple(r.value for r in OwnRule if r is not OwnRule.EXPECTED_SEVERE)
FINDING_SELECTORS: tuple[str, ...] = tuple(f.value for f in FindingSelector)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
DEFAULT_SEVERITY = Severity.MODERATE.value  # the policy's default when none is given
MAX_HOURS = 8760.0  # one year: a report later than this is not about this session
