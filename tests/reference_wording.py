"""A finding in words read straight from the knowledge base: the reference the product's one
wording path, triage.answer.phrasebook, is compared with (tests/test_phrasebook.py).

It reads every text afresh for each finding, as the product first did (Assessor._finding),
so a shortcut in the phrasebook that changed a word would show as a difference here.
"""

from __future__ import annotations

from typing import Any

from triage.answer.model import Finding, shows_how_common
from triage.answer.phrasebook import Phrasebook
from triage.engine.report import Report
from triage.engine.rules import RawFinding
from triage.knowledge.base import KnowledgeBase
from triage.vocabulary import Disposition


def reference_finding(kb: KnowledgeBase, report: Report, raw: RawFinding, severity: dict[str, str]) -> Finding:
    """`raw` in words, every text read from the knowledge base for this finding alone."""
    symptom = kb.symptoms[raw.symptom] if raw.symptom else None
    words = kb.words
    values = {
        "name": symptom.name if symptom else "",
        "hours": words.duration(report.hours) if report.hours is not None else words.unknown_hours,
        "expected_until": words.duration(raw.expected_until) if raw.expected_until else "",
        "monitor_until": words.duration(raw.monitor_until) if raw.monitor_until else "",
    }
    about: dict[str, Any] = {}
    if symptom is not None and raw.symptom is not None:
        shown = shows_how_common(raw.disposition)  # how common and how long reassure (policy v3)
        about = {
            "likelihood": kb.likelihood(raw.symptom, report.factors) if shown else None,
            "typical_duration": (
                symptom.typical_duration.format(**window_values(kb, raw.symptom, report)) if shown else None
            ),
            "urgent_if": symptom.urgent_if,
        }
    if raw.rule in kb.rules:
        rule = kb.rules[raw.rule]
        involved = [ref.partition(":")[0] for ref in rule.symptoms_all]
        reported = [s for s in (ref.partition(":")[0] for ref in rule.symptoms_any) if s in severity]
        involved += reported
        names = [kb.symptoms[s].name for s in reported]
        values["reported"] = words.listed([n[:1].lower() + n[1:] for n in names])
        return Finding(
            symptom=raw.symptom,
            severity=severity.get(raw.symptom) if raw.symptom else None,
            disposition=Disposition(raw.disposition),
            rule=raw.rule,
            reason=rule.reason.format(**values),
            nurse_reason=rule.nurse_reason.format(**values),
            source=kb.citation(rule.source),
            emergency=raw.emergency,
            kind=rule.kind,
            symptoms=tuple([raw.symptom] if raw.symptom else involved),
            factors=tuple(rule.factors),
            until_hours=raw.until,
            advice=rule.advice,
            **about,
        )
    assert symptom is not None and raw.symptom is not None
    phase = raw.rule.removeprefix(f"{raw.symptom}-")
    if phase == "expected-severe":
        patient, nurse = kb.header.severe_within_expected, kb.header.severe_within_expected_nurse
    else:
        patient, nurse = getattr(symptom.reasons, phase), getattr(symptom.nurse_reasons, phase)
    notes = [n for n in (kb.factors[f].note_for(raw.symptom) for f in raw.factors) if n]
    return Finding(
        symptom=raw.symptom,
        severity=severity[raw.symptom],
        disposition=Disposition(raw.disposition),
        rule=raw.rule,
        reason=" ".join([patient.format(**values), *notes]),
        nurse_reason=" ".join([nurse.format(**values), *notes]),
        source=kb.citation(symptom.source),
        emergency=raw.emergency,
        kind="red flag" if phase == "always" else "window",
        symptoms=(raw.symptom,),
        factors=raw.factors,
        until_hours=raw.until,
        advice=None,
        **about,
    )


def window_values(kb: KnowledgeBase, sid: str, report: Report) -> dict[str, str]:
    """Placeholder values from the symptom's window in force for this report (for texts that
    describe the symptom rather than one rule's conclusion)."""
    words = kb.words
    hours = words.duration(report.hours) if report.hours is not None else words.unknown_hours
    values = {"name": kb.symptoms[sid].name, "hours": hours}
    if kb.symptoms[sid].window is None:
        return values | {"expected_until": "", "monitor_until": ""}
    w = kb.window(sid, report.factors)
    return values | {
        "expected_until": words.duration(w.expected_until) if w.expected_until else "",
        "monitor_until": words.duration(w.monitor_until),
    }


class ReferenceBook(Phrasebook):
    """A Phrasebook that words every finding by the reference, a new object each time: an
    Assessor given one (assessor.phrasebook = ReferenceBook(kb)) explains answers the straight way."""

    def finding(self, report: Report, raw: RawFinding, severity: dict[str, str], hours: str | None = None) -> Finding:
        return reference_finding(self.kb, report, raw, severity)
