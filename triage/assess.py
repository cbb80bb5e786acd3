"""assess(): validate a report, run the rule engine, and explain the answer in plain words."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from triage.engine import RawFinding, RawResult, RuleEngine
from triage.knowledge import KnowledgeBase, load_knowledge
from triage.model import Assessment, Disposition, Finding, Report
from triage.report import parse_report


def duration(hours: float) -> str:
    """Hours as a patient reads them: '12 hours', '2 days (48 hours)'."""
    if hours == 1:
        return "1 hour"
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days ({hours:g} hours)"
    return f"{hours:g} hours"


class Assessor:
    """One knowledge base and its generated engine; safe to share between threads."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.engine = RuleEngine(kb)

    def assess(
        self,
        symptoms: Iterable[str] | str,
        hours: Any,
        factors: Iterable[str] = (),
        worsening: Any = False,
    ) -> Assessment:
        """Assess a report; raises InvalidReport naming every bad value and the valid ones."""
        return self.assess_report(parse_report(self.kb, symptoms, hours, factors, worsening))

    def assess_report(self, report: Report) -> Assessment:
        return self.explain(report, self.engine.run(report))

    # --- putting the engine's conclusions into words ------------------------------------

    def explain(self, report: Report, raw: RawResult) -> Assessment:
        kb = self.kb
        severity = dict(report.symptoms)
        order = {sid: i for i, (sid, _) in enumerate(report.symptoms)}
        findings = sorted(
            (self._finding(report, f, severity) for f in raw.findings),
            key=lambda f: (-f.disposition.rank, -f.emergency, order.get(f.symptom or "", -1), f.rule),
        )
        disposition = max((f.disposition for f in findings), key=lambda d: d.rank)
        emergency = any(f.emergency for f in findings)
        recheck = None if disposition is Disposition.CONTACT_CLINICIAN else self._recheck(report, raw)

        advice: list[str] = []
        if emergency:
            advice.append(kb.header.emergency.patient)
        summary = kb.header.dispositions[disposition.key].patient  # type: ignore[index]
        advice.append(summary)
        if recheck is not None:
            advice.append(
                f"Check again in {duration(recheck)}, at {duration(report.hours + recheck)} after your session."
            )
        advice += [f.advice for f in findings if f.advice]
        advice += [kb.symptoms[sid].care for sid, _ in report.symptoms]
        advice += [a.text for a in kb.header.general_advice]
        return Assessment(
            disposition=disposition,
            emergency=emergency,
            report=report,
            findings=tuple(findings),
            advice=tuple(dict.fromkeys(advice)),
            recheck_in_hours=recheck,
            kb_version=kb.version,
            summary=summary,
        )

    def _recheck(self, report: Report, raw: RawResult) -> float | None:
        """Hours until the answer could next change: the nearest window end or rule boundary."""
        ends = [f.until for f in raw.findings if f.until is not None and f.until > report.hours]
        ends += [b for b in raw.boundaries if b > report.hours]
        waits = [end - report.hours for end in ends] + [f.cap for f in raw.findings if f.cap is not None]
        return round(min(waits), 2) if waits else None

    def _finding(self, report: Report, raw: RawFinding, severity: dict[str, str]) -> Finding:
        kb = self.kb
        symptom = kb.symptoms[raw.symptom] if raw.symptom else None
        name = symptom.name if symptom else ""
        values = {
            "name": name,
            "hours": duration(report.hours),
            "expected_until": duration(raw.expected_until) if raw.expected_until else "",
            "monitor_until": duration(raw.monitor_until) if raw.monitor_until else "",
        }
        if raw.rule in kb.rules:
            rule = kb.rules[raw.rule]
            reason = rule.reason.format(**values)
            involved = [ref.partition(":")[0] for ref in rule.symptoms_all]
            involved += [s for s in (ref.partition(":")[0] for ref in rule.symptoms_any) if s in severity]
            return Finding(
                symptom=raw.symptom,
                severity=severity.get(raw.symptom) if raw.symptom else None,
                disposition=Disposition(raw.disposition),
                rule=raw.rule,
                reason=reason,
                source=kb.citation(rule.source),
                emergency=raw.emergency,
                kind=rule.kind,
                symptoms=tuple([raw.symptom] if raw.symptom else involved),
                factors=tuple(rule.factors),
                until_hours=raw.until,
                advice=rule.advice,
                urgent_if=symptom.urgent_if if symptom else None,
            )
        assert symptom is not None and raw.symptom is not None
        phase = raw.rule.rsplit("-", 1)[1]
        reason = getattr(symptom.reasons, phase).format(**values)
        notes = [kb.factors[f].window_note for f in raw.factors]
        reason = " ".join([reason, *(n for n in notes if n)])
        return Finding(
            symptom=raw.symptom,
            severity=severity[raw.symptom],
            disposition=Disposition(raw.disposition),
            rule=raw.rule,
            reason=reason,
            source=kb.citation(symptom.source),
            emergency=raw.emergency,
            kind="red flag" if phase == "always" else "window",
            symptoms=(raw.symptom,),
            factors=raw.factors,
            until_hours=raw.until,
            advice=None,
            urgent_if=symptom.urgent_if,
        )


_default: Assessor | None = None
_default_lock = threading.Lock()


def default_assessor() -> Assessor:
    """The assessor for the default knowledge base, built once per process."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Assessor(load_knowledge())
    return _default


def assess(
    symptoms: Iterable[str] | str,
    hours: Any,
    factors: Iterable[str] = (),
    worsening: Any = False,
) -> Assessment:
    """Assess a report against the default knowledge base.

    `symptoms`: ids or "id:severity" (mild, moderate, severe; default moderate);
    `hours`: hours since the session ended (0 to 8760); `factors`: risk-factor ids.
    Raises InvalidReport (a ValueError) naming every bad value and the valid ones.
    """
    return default_assessor().assess(symptoms, hours, factors, worsening)
