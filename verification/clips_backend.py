"""A CLIPS rule base generated from the same knowledge base, for the benchmark only.

Not a product dependency: it needs `clipspy` (the `bench`/`test` extras). It turns
knowledge/*.toml into CLIPS deftemplates and defrules that conclude the same findings
(and boundary hours) as the experta engine, so the benchmark can time both on the same
reports and check that they agree. The findings come back as triage.engine.RawResult, so
the product's own `Assessor.explain` words both answers the same way.

Semantics mirrored from knowledge/README.md ("How an answer is worked out"):
window phases per combination of window-changing factors, `always` red flags, and the
rules of rules.toml per report, per symptom or per finding, with `after_hours` rules also
asserting a boundary while they wait.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import clips

from triage.engine.report import Report
from triage.engine.rules import RawFinding, RawResult, rule_finding
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import rule_symptoms, symptom_phases
from triage.knowledge.schema import Rule as KbRule

TEMPLATES = """
(deftemplate report (slot hours) (slot worsening))
(deftemplate symptom (slot id) (slot severity) (slot worsening))
(deftemplate factor (slot id))
(deftemplate finding (slot symptom) (slot rule) (slot disposition) (slot emergency) (slot phase)
  (slot until) (slot cap) (slot expected_until) (slot monitor_until) (multislot factors))
(deftemplate boundary (slot at) (slot rule))
"""

_FIELDS = tuple(RawFinding.__dataclass_fields__)


def _str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _num(value: float | None) -> str:
    return "nil" if value is None else repr(float(value))


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _one_of(var: str, values: Iterable[str]) -> str:
    """`?var&"a"|"b"`: bind the slot and require one of the values."""
    return f"{var}&" + "|".join(_str(v) for v in values)


def _finding(**slots: Any) -> str:
    parts = []
    for name in _FIELDS:
        value = slots[name]
        if name == "factors":
            parts.append(f"(factors {' '.join(_str(f) for f in value)})")
        elif name == "emergency":
            parts.append(f"(emergency {_bool(value)})")
        elif isinstance(value, str) and value.startswith("?"):
            parts.append(f"({name} {value})")
        elif isinstance(value, str):
            parts.append(f"({name} {_str(value)})")
        else:
            parts.append(f"({name} {_num(value)})")
    return f"(assert (finding {' '.join(parts)}))"


class _Rules:
    """Collects defrules under unique, CLIPS-safe names."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def add(self, name: str, lhs: Iterable[str], rhs: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
        self.text.append(f"(defrule r{len(self.text)}-{safe}\n  " + "\n  ".join(lhs) + f"\n  =>\n  {rhs})")


def _hours(low: float | None, high: float | None) -> str:
    tests = []
    if low is not None:
        tests.append(f"(>= ?h {_num(low)})")
    if high is not None:
        tests.append(f"(< ?h {_num(high)})")
    test = tests[0] if len(tests) == 1 else f"(and {' '.join(tests)})"
    return f"?h&:{test}"


def _window_rules(kb: KnowledgeBase, out: _Rules) -> None:
    """Each symptom's own rule: one defrule per phase the knowledge base plans for it."""
    severity = {True: ' (severity "severe")', False: ' (severity ~"severe")', None: ""}
    for sid in kb.symptoms:
        for ph in symptom_phases(kb, sid):
            lhs = [f"(symptom (id {_str(sid)}){severity[ph.severe]})"]
            if ph.start is not None or ph.end is not None:
                lhs.append(f"(report (hours {_hours(ph.start, ph.end)}))")
            lhs += [f"(factor (id {_str(f)}))" for f in ph.present]
            lhs += [f"(not (factor (id {_str(f)})))" for f in ph.absent]
            out.add(
                "+".join((ph.rule, *ph.present)),
                lhs,
                _finding(**ph.finding()),
            )


def _ref(ref: str) -> str:
    sid, _, severity = ref.partition(":")
    return f"(symptom (id {_str(sid)})" + (f" (severity {_str(severity)}))" if severity else ")")


def _kb_rule(kb: KnowledgeBase, rule: KbRule, out: _Rules) -> None:
    lhs: list[str] = []
    only = rule_symptoms(kb, rule)
    sid = _one_of("?sid", only) if only else "?sid"
    if rule.for_each == "symptom":
        severity = f" (severity {_one_of('?sev', rule.severity)})" if rule.severity else ""
        worse = " (worsening TRUE)" if rule.worsening else ""  # per symptom: a record may mark only some
        lhs.append(f"(symptom (id {sid}){severity}{worse})")
        if rule.phase:
            lhs.append(f"(finding (symptom ?sid) (phase {_one_of('?ph', rule.phase)}))")
    elif rule.for_each == "finding":
        selector = {
            "monitor": '(disposition "monitor")',
            "past-expected": '(phase "past-expected")',
            "below-contact": '(disposition ~"contact clinician")',
        }[rule.finding or ""]
        lhs.append(f"(finding {selector} (symptom {sid}))")
        if rule.with_emergency:
            lhs.append("(finding (emergency TRUE))")
    lhs += [_ref(ref) for ref in rule.symptoms_all]
    if rule.symptoms_any:
        lhs.append("(or " + " ".join(_ref(ref) for ref in rule.symptoms_any) + ")")
    lhs += [f"(factor (id {_str(f)}))" for f in rule.factors]

    def report(low: float | None, high: float | None) -> list[str]:
        slots = []
        if rule.worsening and rule.for_each != "symptom":
            slots.append("(worsening TRUE)")
        if low is not None or high is not None:
            slots.append(f"(hours {_hours(low, high)})")
        return [f"(report {' '.join(slots)})"] if slots else []

    finding = _finding(**rule_finding(kb, rule, "?sid" if rule.for_each else None))
    out.add(rule.id, [*lhs, *report(rule.after_hours, rule.before_hours)], finding)
    if rule.after_hours is not None:
        out.add(
            f"{rule.id}~boundary",
            [*lhs, *report(None, rule.after_hours)],
            f"(assert (boundary (at {_num(rule.after_hours)}) (rule {_str(rule.id)})))",
        )


def clips_source(kb: KnowledgeBase) -> str:
    """The knowledge base as CLIPS constructs (templates, then one defrule each)."""
    out = _Rules()
    _window_rules(kb, out)
    for rule in kb.rules.values():
        _kb_rule(kb, rule, out)
    return TEMPLATES + "\n".join(out.text) + "\n"


# Facts go in, and conclusions come out, through one deffunction call each. clipspy's
# Template.assert_fact leaves CLIPS garbage behind at the top level (each later run and
# reset gets slower, ~+90 us per 2,000 decisions here), and holding clipspy Fact objects
# across a reset keeps CLIPS from freeing them; calling deffunctions avoids both.
IO = """
(deffunction put-report (?hours ?worsening ?symptoms $?items)
  (assert (report (hours ?hours) (worsening ?worsening)))
  (loop-for-count (?i 1 ?symptoms)
    (assert (symptom (id (nth$ (- (* 3 ?i) 2) ?items)) (severity (nth$ (- (* 3 ?i) 1) ?items))
                     (worsening (nth$ (* 3 ?i) ?items)))))
  (loop-for-count (?i (+ (* 3 ?symptoms) 1) (length$ ?items))
    (assert (factor (id (nth$ ?i ?items))))))

(deffunction collect ()
  (bind ?out "")
  (do-for-all-facts ((?f finding)) TRUE
    (bind ?out (str-cat ?out "F|" ?f:symptom "|" ?f:rule "|" ?f:disposition "|" ?f:emergency "|" ?f:phase "|"
                        ?f:until "|" ?f:cap "|" ?f:expected_until "|" ?f:monitor_until "|" (implode$ ?f:factors) "~")))
  (do-for-all-facts ((?f boundary)) TRUE (bind ?out (str-cat ?out "B|" ?f:at "~")))
  ?out)
"""


def _parse(text: str) -> RawResult:
    def value(v: str) -> Any:
        return None if v == "nil" else v

    def number(v: str) -> float | None:
        return None if v == "nil" else float(v)

    findings: list[RawFinding] = []
    boundaries: list[float] = []
    for line in text.split("~"):
        if line.startswith("F|"):
            _, symptom, rule, disposition, emergency, phase, until, cap, expected, monitor, factors = line.split("|")
            findings.append(
                RawFinding(
                    symptom=value(symptom),
                    rule=rule,
                    disposition=disposition,
                    emergency=emergency == "TRUE",
                    phase=value(phase),
                    until=number(until),
                    cap=number(cap),
                    expected_until=number(expected),
                    monitor_until=number(monitor),
                    factors=tuple(f.strip('"') for f in factors.split()),
                )
            )
        elif line.startswith("B|"):
            boundaries.append(float(line[2:]))
    return RawResult(tuple(findings), tuple(sorted(set(boundaries))))


class ClipsEngine:
    """One CLIPS environment holding the generated rules; not thread-safe (benchmark use).

    Like the experta engine, it is reset once per decision, after it, so it is clean when
    the next decision starts.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.env = clips.Environment()
        for construct in _constructs(clips_source(kb) + IO):
            self.env.build(construct)
        self._put = self.env.find_function("put-report")
        self._collect = self.env.find_function("collect")
        self._bool = {True: clips.Symbol("TRUE"), False: clips.Symbol("FALSE")}
        self.env.reset()

    def run(self, report: Report) -> RawResult:
        try:
            worse = self._bool
            items = [v for sid, sev in report.symptoms for v in (sid, sev, worse[report.is_worse(sid)])]
            any_worse = worse[report.worsening or bool(report.worse)]
            self._put(float(report.hours), any_worse, len(report.symptoms), *items, *report.factors)
            self.env.run()
            return _parse(str(self._collect()))
        finally:
            self.env.reset()


def _constructs(source: str) -> list[str]:
    """Split CLIPS source into top-level constructs (balanced parentheses, strings respected)."""
    out, depth, start, in_string, escape = [], 0, 0, False, False
    for i, ch in enumerate(source):
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                out.append(source[start : i + 1])
    return out
