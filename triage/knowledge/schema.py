"""The knowledge files' entries as typed, validated models (pydantic; unknown keys refused).

Each model checks one entry on its own; checks across entries and files are the loader's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from triage.knowledge.digest import DIGEST_PATTERN
from triage.vocabulary import (
    DISPOSITION_KEYS,
    FINDING_SELECTORS,
    MAX_HOURS,
    ONSETS,
    PHASES,
    RULE_KINDS,
    SEVERITIES,
    Disposition,
    FindingKind,
    FindingSelector,
    Onset,
    OwnRule,
    Phase,
    Severity,
)

LIKELIHOODS = ("very common", "common", "uncommon", "rare", "very rare")


def _among(values: Iterable[str]) -> BeforeValidator:
    """Refuse a value that is not one of `values` in pydantic's own words for a Literal ("Input
    should be 'a', 'b' or 'c'"), so a field typed by a vocabulary enum, or by part of one, is
    refused as when it was written out as a Literal."""
    allowed = tuple(values)
    quoted = [repr(str(v)) for v in allowed]
    listing = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def check(value: object) -> object:
        if isinstance(value, str) and value in allowed:
            return value
        raise ValueError(f"Input should be {listing}")

    return BeforeValidator(check)


# Fields of the vocabulary's enums (triage.vocabulary), given as their text in the files.
PhaseField = Annotated[Phase, Field(strict=False), _among(PHASES)]
RuleKind = Annotated[FindingKind, Field(strict=False), _among(RULE_KINDS)]
SymptomOnset = Annotated[Onset, Field(strict=False), _among(ONSETS)]
RuleOnset = Annotated[Onset, Field(strict=False), _among(Onset)]
Selector = Annotated[FindingSelector, Field(strict=False), _among(FINDING_SELECTORS)]
AlwaysContact = Annotated[Disposition, Field(strict=False), _among([Disposition.CONTACT_CLINICIAN])]
SeverityField = Annotated[Severity, Field(strict=False)]
DispositionKey = Annotated[str, _among(DISPOSITION_KEYS)]  # a disposition as a table key ("contact-clinician")

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=40)]
Text = Annotated[str, Field(min_length=1, max_length=600)]
Hours = Annotated[float, Field(gt=0, le=MAX_HOURS)]
Sources = Annotated[list[Id], Field(min_length=1)]


class KnowledgeError(Exception):
    """A knowledge file is malformed; the message names the file, entry and problem."""

    def __init__(self, file: str, entry: str, problem: str, line: int | None = None) -> None:
        self.file, self.entry, self.problem, self.line = file, entry, problem, line
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {entry}: {problem}")


# Its public name (a failed start-up prints it): `from triage.knowledge import KnowledgeError`.
KnowledgeError.__module__ = "triage.knowledge"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Window(_Model):
    expected_until: Hours | None = None
    monitor_until: Hours
    # A `monitor` finding from this window re-checks within this many hours at the latest
    # (default: kb.toml `monitor_recheck_within`), so no answer sits unchecked for weeks.
    recheck_within: Hours | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.expected_until is not None and self.expected_until > self.monitor_until:
            raise ValueError(
                f"expected_until ({self.expected_until:g}) must not be after monitor_until ({self.monitor_until:g})"
            )
        return self


class Reasons(_Model):
    expected: Text | None = None
    monitor: Text | None = None
    contact: Text | None = None
    always: Text | None = None


class Snomed(_Model):
    """A SNOMED CT concept for a symptom, so exports (FHIR) carry a code a receiving system
    understands; only concepts whose id and fully specified name were checked are given."""

    code: Annotated[str, Field(pattern=r"^[0-9]{6,18}$")]  # an SCTID: 6 to 18 digits
    display: Text


Likelihood = Literal["very common", "common", "uncommon", "rare", "very rare"]


class Symptom(_Model):
    id: Id
    name: Text
    description: Text
    group: Literal["common", "warning"]
    likelihood: Likelihood
    likelihood_note: Text | None = None
    # A band that replaces `likelihood` while a factor is present (darkening: common in darker skin).
    likelihood_with: dict[Id, Likelihood] = {}
    # When the effect normally starts: on the day (`immediate`) or on day 2 to 5 (`delayed`);
    # the getting-worse rules select symptoms by it. Left out for effects with no usual start.
    onset: SymptomOnset | None = None
    typical_duration: Text  # plain words; may use the window placeholders
    window: Window | None = None
    always: AlwaysContact | None = None
    emergency: bool = False
    reasons: Reasons  # the patient's words
    nurse_reasons: Reasons  # the same conclusions in clinical words, for the nurse
    care: Text
    # What would make it more urgent (policy "safety-netting"), in the patient's words and the
    # nurse's: when to contact the clinic, and each "call now if" line (its emergency signs).
    urgent_if: Text  # "contact the clinic if": shown with `expected` and `monitor` answers
    nurse_urgent_if: Text | None = None
    # Each line says one meaning; lines that mean the same (in any symptom or factor) have the
    # same words, so an answer says them once. Left out: the general line (kb.toml) only.
    call_now_if: list[Text] = []
    nurse_call_now_if: list[Text] = []
    source: Sources
    snomed: Snomed | None = None  # optional; without it exports give the symptom as text only

    @model_validator(mode="after")
    def _window_or_always(self) -> Symptom:
        if (self.window is None) == (self.always is None):
            raise ValueError("give exactly one of 'window' or 'always'")
        if self.emergency and self.always is None:
            raise ValueError("'emergency = true' needs 'always'")
        wanted = {p.value for p in self.phases()}  # plain text, as the messages list them
        for table, texts in (("reasons", self.reasons), ("nurse_reasons", self.nurse_reasons)):
            given = {k for k, v in texts.model_dump().items() if v is not None}
            if missing := wanted - given:
                raise ValueError(f"{table}: missing {sorted(missing)}")
            if extra := given - wanted:
                raise ValueError(f"{table}: {sorted(extra)} cannot happen for this symptom")
        if self.window is not None and self.window.recheck_within is not None and OwnRule.MONITOR not in wanted:
            raise ValueError("window.recheck_within needs a monitor phase (expected_until below monitor_until)")
        if self.emergency and self.call_now_if:
            raise ValueError("call_now_if: an emergency sign needs none (its answer is always an emergency)")
        if len(self.nurse_call_now_if) != len(self.call_now_if):
            raise ValueError(
                f"nurse_call_now_if: {len(self.nurse_call_now_if)} texts for {len(self.call_now_if)} in call_now_if "
                "(one nurse's wording for each line, in the same order)"
            )
        if len(set(self.call_now_if)) != len(self.call_now_if):
            raise ValueError("call_now_if: a line is given twice")
        return self

    def phases(self) -> tuple[OwnRule, ...]:
        """The reason texts this symptom can need: its window phases, or `always`."""
        if self.window is None:
            return (OwnRule.ALWAYS,)
        w = self.window
        if w.expected_until is None:
            return (OwnRule.MONITOR, OwnRule.CONTACT)
        if w.expected_until == w.monitor_until:
            return (OwnRule.EXPECTED, OwnRule.CONTACT)
        return (OwnRule.EXPECTED, OwnRule.MONITOR, OwnRule.CONTACT)


class WindowChange(_Model):
    symptom: Id
    note: Text | None = None  # why this window changes; default: the factor's window_note
    expected_until: Hours | None = None
    monitor_until: Hours | None = None
    scale: Annotated[float, Field(gt=0, le=10)] | None = None

    @model_validator(mode="after")
    def _does_something(self) -> WindowChange:
        if self.expected_until is None and self.monitor_until is None and self.scale is None:
            raise ValueError("give expected_until, monitor_until or scale")
        return self


class Factor(_Model):
    id: Id
    label: Text
    question: Text
    source: Sources
    window_note: Text | None = None
    windows: list[WindowChange] = []
    # A "call now if" line (patient's and nurse's words) this factor adds to answers that report
    # one of `call_now_symptoms` (policy "safety-netting": with recent-filler, ...).
    call_now_if: Text | None = None
    nurse_call_now_if: Text | None = None
    call_now_symptoms: list[Id] = []

    @model_validator(mode="after")
    def _note_with_windows(self) -> Factor:
        if any(c.note is None for c in self.windows) and self.window_note is None:
            raise ValueError("'windows' needs a 'window_note' (or a 'note' on each change) explaining the change")
        given = [self.call_now_if is not None, self.nurse_call_now_if is not None, bool(self.call_now_symptoms)]
        if any(given) and not all(given):
            raise ValueError("give all of call_now_if, nurse_call_now_if and call_now_symptoms, or none")
        return self

    def note_for(self, symptom: str) -> str | None:
        """Why this factor changes the symptom's window, in the patient's words."""
        for change in self.windows:
            if change.symptom == symptom:
                return change.note or self.window_note
        return None


class Rule(_Model):
    id: Id
    kind: RuleKind
    for_each: Literal["symptom", "finding"] | None = None
    symptoms_all: list[str] = []
    symptoms_any: list[str] = []
    symptoms: list[Id] = []
    onset: list[RuleOnset] = []
    phase: list[PhaseField] = []
    severity: list[SeverityField] = []
    finding: Selector | None = None
    window_only: Literal[True] | None = None  # for_each = "symptom": only symptoms with a window
    with_emergency: Literal[True] | None = None  # for_each = "finding": only when an emergency finding exists
    factors: list[Id] = []
    after_hours: Hours | None = None
    before_hours: Hours | None = None
    worsening: Literal[True] | None = None
    disposition: Annotated[Disposition, Field(strict=False)]
    emergency: bool = False
    recheck_within: Hours | None = None
    answers_without_symptoms: bool = False
    reason: Text  # the patient's words
    nurse_reason: Text  # clinical words: what it may be, what to ask, what to arrange
    advice: Text | None = None
    # The patient's instruction the answer leads with when this rule's finding is at its
    # disposition: its summary and first advice (after the emergency call in an emergency).
    # For a rule whose place to go is not the clinic (policy v3: shared equipment, PEP).
    lead: Text | None = None
    # The hour the lead's {hours_left} counts down to (whole hours left, rounded down).
    lead_until: Hours | None = None
    source: Sources
    note: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        each, report_level = self.for_each, self.symptoms_all or self.symptoms_any
        if each is not None and report_level:
            raise ValueError("symptoms_all/symptoms_any are for report rules; use 'symptoms'")
        if each is None and (self.symptoms or self.severity or self.onset):
            raise ValueError("'symptoms', 'onset' and 'severity' need for_each")
        if self.phase and each != "symptom":
            raise ValueError("'phase' goes with for_each = \"symptom\"")
        if self.answers_without_symptoms and (each is not None or report_level or self.worsening or not self.factors):
            raise ValueError(
                "'answers_without_symptoms' is for a report rule whose only conditions are factors and hours"
            )
        if (each == "finding") != (self.finding is not None):
            raise ValueError("'finding' goes with for_each = \"finding\" and is required there")
        if each == "finding" and self.severity:
            raise ValueError("'severity' goes with for_each = \"symptom\"")
        if self.window_only and each != "symptom":
            raise ValueError("'window_only' goes with for_each = \"symptom\"")
        if self.with_emergency and each != "finding":
            raise ValueError("'with_emergency' goes with for_each = \"finding\"")
        if self.symptoms_any and len(self.symptoms_any) < 2:
            raise ValueError("symptoms_any needs at least two symptoms (use symptoms_all)")
        if self.after_hours is not None and self.before_hours is not None and self.after_hours >= self.before_hours:
            raise ValueError("after_hours must be below before_hours")
        if self.emergency and self.disposition != Disposition.CONTACT_CLINICIAN:
            raise ValueError(f"an emergency rule must give '{Disposition.CONTACT_CLINICIAN}'")
        if each is None and not (report_level or self.factors):
            raise ValueError("a report rule needs symptoms_all, symptoms_any or factors")
        if self.lead_until is not None and self.lead is None:
            raise ValueError("'lead_until' goes with 'lead'")
        if self.lead_until is not None and self.before_hours is not None and self.before_hours > self.lead_until:
            raise ValueError("the rule must end by 'lead_until' (before_hours <= lead_until): no negative hours left")
        return self


class DispositionText(_Model):
    label: Text
    patient: Text
    nurse: Text


class EmergencyText(_Model):
    patient: Text
    nurse: Text


class SafetyNet(_Model):
    """What every answer that is not an emergency says would make it more urgent (policy
    "safety-netting"): the general emergency line, and the words the "call now if" and "contact
    the clinic if" texts name the emergency number and the clinic with (a page with a clinic
    profile puts the clinic's number, name and phone there)."""

    general: Text  # the one general "call now if" line, in the patient's words
    nurse_general: Text  # and in the nurse's
    emergency_number: Text  # in every "call now if" text: "your local emergency number"
    clinic: Text  # in every symptom's "contact the clinic if" text that an answer can show: "the clinic"


class Advice(_Model):
    id: Id | None = None  # names it in `same_advice`
    text: Text
    source: Sources


RECHECK_ADVICE = "recheck"  # the answer's own "Check again in ..." line, in `same_advice`


class SameAdvice(_Model):
    """Advice texts that say the same thing in other words: a person reads the meaning once."""

    meaning: Text
    advice: Annotated[
        list[Annotated[str, Field(pattern=r"^(recheck|(rule|care|general):[a-z0-9-]+)$")]], Field(min_length=2)
    ]


class Reference(_Model):
    short: Text
    full: Annotated[str, Field(min_length=1, max_length=1000)]


class RecordWorsening(_Model):
    """When a record's repeat report marks a symptom as getting worse without the tick box."""

    more_severe: bool  # more severe than in the previous report
    # a symptom not in the previous report, of these onsets ("none": no onset given),
    new_with_onset: list[RuleOnset]
    new_from_hours: Hours  # in a report at this hour or later
    more_severe_why: Text  # the record's words for each case
    new_why: Text


class Header(_Model):
    version: Annotated[str, Field(min_length=1, max_length=40)]
    digest: Annotated[str, Field(pattern=DIGEST_PATTERN)] | None = None  # set by `triage release`
    title: Text
    disclaimer: Text
    severe_within_expected: Text
    severe_within_expected_nurse: Text
    monitor_recheck_within: Hours  # every monitor finding re-checks within this, unless it says sooner
    # a re-check is never sooner than this (None: the 0.01 h answers are given to)
    recheck_minimum: Hours | None = None
    likelihood: dict[Likelihood, Text]  # each band in plain words
    record_worsening: RecordWorsening
    # SNOMED CT qualifier values for the severities, so exports code them (FHIR)
    severity_snomed: dict[SeverityField, Snomed] = {}
    dispositions: dict[DispositionKey, DispositionText]
    emergency: EmergencyText
    safety_net: SafetyNet | None = None  # None: answers carry only the symptoms' own lines
    general_advice: Annotated[list[Advice], Field(min_length=1)]
    same_advice: list[SameAdvice] = []
    reference: dict[Id, Reference]

    @model_validator(mode="after")
    def _all_dispositions(self) -> Header:
        if missing := set(DISPOSITION_KEYS) - set(self.dispositions):
            raise ValueError(f"dispositions: missing {sorted(missing)}")
        if missing := set(LIKELIHOODS) - set(self.likelihood):
            raise ValueError(f"likelihood: missing {sorted(missing)}")
        if self.severity_snomed and (missing := set(SEVERITIES) - set(self.severity_snomed)):
            raise ValueError(f"severity_snomed: missing {sorted(missing)}")
        return self
