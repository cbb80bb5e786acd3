"""The product's own FHIR CodeSystem: the triage level (expected, monitor, contact clinician),
the emergency flag, and the two outcomes a RiskAssessment predicts.

Why our own: HL7's risk-probability scale (low, moderate, high) says how likely something is;
our answer is a rule-based triage level, not a probability, so an EHR reading "moderate" would
read a likelihood we never computed. No SNOMED CT concept was verified for "needs same-day
clinician review" or "needs emergency care" as outcomes (knowledge/README.md: a wrong code is
worse than none), so the outcomes are coded here too. The CodeSystem is exported in every
bundle, so a receiver has each code's definition without a terminology server.
"""

from __future__ import annotations

from typing import Any

from triage.vocabulary import Disposition

TRIAGE_CODE_SYSTEM = "urn:microneedling-triage:fhir:CodeSystem:triage"
TRIAGE_CODE_SYSTEM_VERSION = "1"

EMERGENCY = "emergency"
NO_EMERGENCY = "no-emergency-sign"
CLINICIAN_REVIEW = "clinician-review"
EMERGENCY_CARE = "emergency-care"

# code -> (display, definition); the dispositions' codes are their keys ("contact-clinician").
_CONCEPTS: dict[str, tuple[str, str]] = {
    Disposition.EXPECTED.key: ("Expected", "Triage level: a normal part of healing at this point; aftercare advice."),
    Disposition.MONITOR.key: ("Monitor", "Triage level: not urgent, but not the usual course; a planned re-check."),
    Disposition.CONTACT_CLINICIAN.key: ("Contact clinician", "Triage level: needs a clinician's review the same day."),
    EMERGENCY: ("Emergency", "Emergency flag: the patient is told to call emergency services now."),
    NO_EMERGENCY: ("No emergency sign", "Emergency flag not raised: no reported finding is an emergency sign."),
    CLINICIAN_REVIEW: ("Clinician review", "Outcome: same-day review of the patient by a clinician."),
    EMERGENCY_CARE: ("Emergency care", "Outcome: care by emergency services."),
}


def level_code(disposition: str) -> str:
    """'contact clinician' -> 'contact-clinician' (a Disposition value as a code)."""
    return Disposition(disposition).key


def coding(code: str) -> dict[str, str]:
    """A Coding of the product's CodeSystem (KeyError for a code it does not define)."""
    display = _CONCEPTS[code][0]
    return {"system": TRIAGE_CODE_SYSTEM, "version": TRIAGE_CODE_SYSTEM_VERSION, "code": code, "display": display}


def concept(code: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one of our codes, with its display as text unless `text` is given."""
    return {"coding": [coding(code)], "text": text or _CONCEPTS[code][0]}


def code_system() -> dict[str, Any]:
    """The CodeSystem resource (R4), complete: every code the exports use is defined here."""
    return {
        "resourceType": "CodeSystem",
        "url": TRIAGE_CODE_SYSTEM,
        "version": TRIAGE_CODE_SYSTEM_VERSION,
        "name": "MicroneedlingTriage",
        "title": "Microneedling side-effect triage: levels, emergency flag and outcomes",
        "status": "active",
        "experimental": False,
        "description": (
            "Rule-based triage levels (not probabilities), the emergency flag, and the outcomes a "
            "triage RiskAssessment predicts."
        ),
        "caseSensitive": True,
        "content": "complete",
        "count": len(_CONCEPTS),
        "concept": [{"code": c, "display": d, "definition": text} for c, (d, text) in _CONCEPTS.items()],
    }
