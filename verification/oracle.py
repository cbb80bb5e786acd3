"""An independent, plain-Python evaluator of the knowledge base: the engine's test oracle.

Written from triage-policy.md and knowledge/README.md ("How an answer is worked out") and the
comments at the top of the knowledge files only, without looking at triage/engine.py or
triage/assess.py. It uses the validated KnowledgeBase (data types and `kb.window`) but does
the decision itself, without experta. The benchmarks also use it as the speed floor, so it
imports only the standard library and triage.knowledge / triage.model.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.engine.report import Report
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.schema import Rule
from triage.vocabulary import DISPOSITIONS

RANK = {d: i for i, d in enumerate(DISPOSITIONS)}  # expected < monitor < contact clinician
CONTACT = "contact clinician"


@dataclass(frozen=True)
class OracleFinding:
    symptom: str | None  # None for report-level rules
    rule: str
    disposition: str
    emergency: bool = False
    until: float | None = None  # when this finding's current window ends (hours since session)
    past_expected: bool = False  # a window finding past its expected window
    recheck_within: float | None = None
    phase: str | None = None  # a window finding: within-expected, past-expected or past-monitor


@dataclass(frozen=True)
class OracleAnswer:
    disposition: str
    emergency: bool
    recheck_in_hours: float | None
    findings: frozenset[tuple[str | None, str, str]]  # (symptom or None, rule id, disposition)


def _own_rule(kb: KnowledgeBase, sid: str, severity: str, report: Report) -> OracleFinding:
    """A symptom's own rule from symptoms.toml: `always`, or its (factor-adjusted) window."""
    sym, h = kb.symptoms[sid], report.hours
    if sym.always is not None:
        return OracleFinding(sid, f"{sid}-always", sym.always, emergency=sym.emergency)
    assert sym.window is not None
    # every monitor finding re-checks within its window's cap, else the knowledge base's default
    cap = sym.window.recheck_within or kb.header.monitor_recheck_within
    w = kb.window(sid, report.factors)
    if w.expected_until is not None and h < w.expected_until:
        if severity == "severe":  # expected only when mild or moderate (kb.toml severe_within_expected)
            return OracleFinding(
                sid,
                f"{sid}-expected-severe",
                "monitor",
                until=w.expected_until,
                recheck_within=cap,
                phase="within-expected",
            )
        return OracleFinding(sid, f"{sid}-expected", "expected", until=w.expected_until, phase="within-expected")
    if h < w.monitor_until:
        return OracleFinding(
            sid,
            f"{sid}-monitor",
            "monitor",
            until=w.monitor_until,
            past_expected=True,
            recheck_within=cap,
            phase="past-expected",
        )
    return OracleFinding(sid, f"{sid}-contact", CONTACT, past_expected=True, phase="past-monitor")


def _matches(ref: str, reported: dict[str, str]) -> bool:
    sid, _, severity = ref.partition(":")
    return sid in reported and (not severity or reported[sid] == severity)


def _holds(rule: Rule, report: Report, reported: dict[str, str], *, timed: bool = True) -> bool:
    """The rule's report-wide conditions; with timed=False, ignoring after_hours."""
    h = report.hours
    return (
        all(_matches(r, reported) for r in rule.symptoms_all)
        and (not rule.symptoms_any or any(_matches(r, reported) for r in rule.symptoms_any))
        and set(rule.factors) <= set(report.factors)
        and (not rule.worsening or report.worsening or bool(report.worse))
        and (rule.before_hours is None or h < rule.before_hours)
        and (not timed or rule.after_hours is None or h >= rule.after_hours)
    )


def _subjects(
    kb: KnowledgeBase, rule: Rule, report: Report, reported: dict[str, str], findings: set[OracleFinding]
) -> list[str | None]:
    """What a rule fires for: the report (None), each matching symptom, or each matching finding's symptom."""
    if rule.for_each == "symptom":
        own_phase = {f.symptom: f.phase for f in findings if f.phase is not None}
        return [
            s
            for s, sev in reported.items()
            if (not rule.symptoms or s in rule.symptoms)
            and (not rule.window_only or kb.symptoms[s].window is not None)
            and (not rule.onset or (kb.symptoms[s].onset or "none") in rule.onset)
            and (not rule.phase or own_phase.get(s) in rule.phase)
            and (not rule.severity or sev in rule.severity)
            and (not rule.worsening or report.is_worse(s))
        ]
    if rule.for_each == "finding":
        if rule.with_emergency and not any(f.emergency for f in findings):
            return []
        selected = {
            "monitor": lambda f: f.disposition == "monitor",
            "past-expected": lambda f: f.past_expected,
            "below-contact": lambda f: f.disposition != CONTACT,
        }[rule.finding or ""]
        # an escalation acts on the findings it makes more urgent
        return [f.symptom for f in findings if selected(f) and RANK[rule.disposition] > RANK[f.disposition]]
    return [None]


def _cap(kb: KnowledgeBase, rule: Rule) -> float | None:
    """A rule's re-check cap: its own, else the default every monitor finding has (policy v2)."""
    if rule.recheck_within is not None:
        return rule.recheck_within
    return kb.header.monitor_recheck_within if rule.disposition == "monitor" else None


def evaluate(kb: KnowledgeBase, report: Report) -> OracleAnswer:
    reported = dict(report.symptoms)
    findings = {_own_rule(kb, sid, sev, report) for sid, sev in report.symptoms}
    # Rules fire until nothing new appears (escalations act on findings, including other rules').
    while True:
        new = {
            OracleFinding(s, r.id, r.disposition, r.emergency, r.before_hours, recheck_within=_cap(kb, r))
            for r in kb.rules.values()
            if _holds(r, report, reported)
            for s in _subjects(kb, r, report, reported, findings)
        } - findings
        if not new:
            break
        findings |= new
    if not findings:  # nothing is ever `expected` by default
        raise ValueError(f"no rule recognises {report}")

    disposition = max((f.disposition for f in findings), key=RANK.__getitem__)
    emergency = any(f.emergency for f in findings)
    recheck = None
    if disposition != CONTACT:
        h = report.hours
        ends = [f.until for f in findings if f.until is not None]
        # a rule that will fire at after_hours because all its other conditions already hold
        ends += [
            r.after_hours
            for r in kb.rules.values()
            if r.after_hours is not None
            and h < r.after_hours
            and _holds(r, report, reported, timed=False)
            and _subjects(kb, r, report, reported, findings)
        ]
        caps = [f.recheck_within for f in findings if f.recheck_within is not None]
        # never sooner than kb.toml's recheck_minimum (policy v3: "never less than 1 hour")
        recheck = max(min([e - h for e in ends] + caps), kb.header.recheck_minimum or 0.0)
    return OracleAnswer(
        disposition, emergency, recheck, frozenset((f.symptom, f.rule, f.disposition) for f in findings)
    )
