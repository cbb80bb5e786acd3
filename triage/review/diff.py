"""What an edit to the knowledge base changes: both engines over the same reports, side by side.

Both knowledge bases are used only through the public assess API (Assessor.assess), so the
comparison keeps working whatever the engine does inside. The reports come from
triage.review.probes; the wordings are compared entry by entry (triage.review.text_changes).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from triage.answer.assess import Assessor
from triage.answer.model import Assessment
from triage.engine.report import InvalidReport
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.digest import short
from triage.review.probes import Case, Probe, boundary_probes
from triage.review.text_changes import WordingChange, wording_changes
from triage.vocabulary import Disposition

MORE_URGENT = "more urgent"
LESS_URGENT = "less urgent"
NEWLY_ANSWERED = "newly answered"
SAME_URGENCY = "same urgency"
DIRECTIONS = (LESS_URGENT, MORE_URGENT, NEWLY_ANSWERED, SAME_URGENCY)  # the order they are listed in
# Why a change needs sign-off, most serious first.
SIGN_OFF_REASONS = ("emergency removed", "no longer answered", "less urgent disposition", "later re-check")


@dataclass(frozen=True)
class Outcome:
    """One engine's answer to a probe, reduced to what a reviewer compares."""

    disposition: str | None  # None: the knowledge base refused the report
    emergency: bool = False
    recheck_in_hours: float | None = None
    rules: tuple[str, ...] = ()
    refused: str | None = None  # why the report was refused (InvalidReport's message)
    reasons: tuple[str, ...] = ()  # each finding's reason, most urgent first
    advice: tuple[str, ...] = ()

    @classmethod
    def of(cls, answer: Assessment) -> Outcome:
        return cls(
            disposition=answer.disposition.value,
            emergency=answer.emergency,
            recheck_in_hours=answer.recheck_in_hours,
            rules=tuple(sorted({f.rule for f in (*answer.findings, *answer.more_detail)})),  # every rule that fired
            reasons=tuple(f.reason for f in answer.findings),
            advice=answer.advice,
        )

    @property
    def rank(self) -> int:
        return Disposition(self.disposition).rank if self.disposition else -1

    def decision(self) -> tuple[Any, ...]:
        """What the diff compares: disposition, emergency, re-check, rules fired, or refused (why
        does not count: a refusal lists the vocabulary, which an added symptom changes)."""
        return (self.disposition, self.emergency, self.recheck_in_hours, self.rules, self.refused is not None)

    def headline(self) -> str:
        """'monitor, re-check in 12 h' / 'contact clinician, EMERGENCY' / 'refused: ...'."""
        if self.disposition is None:
            return f"refused: {self.refused}"
        text = self.disposition + (", EMERGENCY" if self.emergency else "")
        if self.recheck_in_hours is not None:
            text += f", re-check in {self.recheck_in_hours:g} h"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "disposition": self.disposition,
            "emergency": self.emergency,
            "recheck_in_hours": self.recheck_in_hours,
            "rules": list(self.rules),
            "refused": self.refused,
            "reasons": list(self.reasons),
            "advice": list(self.advice),
        }


def _recheck(o: Outcome) -> float:
    return math.inf if o.recheck_in_hours is None else o.recheck_in_hours


def direction(old: Outcome, new: Outcome) -> tuple[str, tuple[str, ...]]:
    """Whether the new answer is more or less urgent, and why it needs sign-off (empty: it does not).

    Urgency is judged in order: refused or answered, the emergency flag, the disposition, then
    the re-check time (a later re-check at the same disposition is less urgent).
    """
    if old.disposition is None and new.disposition is None:
        return SAME_URGENCY, ()
    if old.disposition is None:
        return NEWLY_ANSWERED, ()
    if new.disposition is None:
        return LESS_URGENT, ("no longer answered",)
    if old.emergency != new.emergency:
        return (MORE_URGENT, ()) if new.emergency else (LESS_URGENT, ("emergency removed",))
    if old.rank != new.rank:
        return (MORE_URGENT, ()) if new.rank > old.rank else (LESS_URGENT, ("less urgent disposition",))
    if _recheck(old) != _recheck(new):
        return (MORE_URGENT, ()) if _recheck(new) < _recheck(old) else (LESS_URGENT, ("later re-check",))
    return SAME_URGENCY, ()


@dataclass(frozen=True)
class Change:
    """A report whose answer differs between the two knowledge bases."""

    probe: Probe
    cases: tuple[str, ...]  # vignette ids that are this report
    old: Outcome
    new: Outcome
    direction: str
    sign_off: tuple[str, ...]  # why a clinical lead must sign this change off

    @property
    def group(self) -> str:
        """The symptoms it is about, without severities: 'redness', 'fever + pus', 'no symptoms'."""
        return " + ".join(dict.fromkeys(s.partition(":")[0] for s in self.probe.symptoms)) or "no symptoms"

    def changed(self) -> list[str]:
        """Which parts of the answer changed."""
        parts = []
        o, n = self.old, self.new
        if (o.disposition is None) != (n.disposition is None):
            parts.append("accepted")
        if o.disposition != n.disposition:
            parts.append("disposition")
        if o.emergency != n.emergency:
            parts.append("emergency")
        if o.recheck_in_hours != n.recheck_in_hours:
            parts.append("re-check")
        if o.rules != n.rules:
            parts.append("rules")
        return parts

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.probe.to_dict(),
            "cases": list(self.cases),
            "group": self.group,
            "direction": self.direction,
            "changed": self.changed(),
            "sign_off": list(self.sign_off),
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
        }


@dataclass(frozen=True)
class Side:
    """One of the two knowledge bases compared."""

    directory: str
    version: str
    digest: str
    unreleased: str | None

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Side:
        return cls(kb.source_dir, kb.version, kb.digest, kb.unreleased)

    def label(self) -> str:
        state = "not released" if self.unreleased else "released"
        return f"{self.version} (digest {short(self.digest)}, {state}) from {self.directory}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "version": self.version,
            "digest": self.digest,
            "released": self.unreleased is None,
        }


@dataclass(frozen=True)
class KnowledgeDiff:
    """Everything a change report says."""

    old: Side
    new: Side
    compared: int  # distinct reports put to both engines
    case_count: int  # of which named vignette cases
    changes: tuple[Change, ...]
    wordings: tuple[WordingChange, ...]
    notes: tuple[str, ...] = field(default=())  # e.g. a default vignette file that was missing

    def count(self, direction: str) -> int:
        return sum(1 for c in self.changes if c.direction == direction)

    @property
    def sign_off(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.sign_off)

    @property
    def less_urgent(self) -> bool:
        return self.count(LESS_URGENT) > 0

    def groups(self) -> dict[str, Counter[str]]:
        """Per symptom group, how many changed reports go in each direction (sign-off first)."""
        out: dict[str, Counter[str]] = {}
        for c in self.changes:
            out.setdefault(c.group, Counter())[c.direction] += 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1][LESS_URGENT], kv[0])))

    def summary(self) -> str:
        """The one-line summary the report ends with."""
        if not self.changes and not self.wordings:
            return f"No change: {self.compared} reports give the same answers and no patient wording changed."
        parts = [f"{self.count(d)} {d}" for d in DIRECTIONS if self.count(d)]
        return (
            f"{len(self.changes)} of {self.compared} reports changed"
            + (f" ({', '.join(parts)})" if parts else "")
            + f"; {len(self.sign_off)} need clinical sign-off; {len(self.wordings)} patient wordings changed."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "reports_compared": self.compared,
            "cases_compared": self.case_count,
            "counts": {d: self.count(d) for d in DIRECTIONS},
            "needs_sign_off": len(self.sign_off),
            "groups": {g: dict(c) for g, c in self.groups().items()},
            "changes": [c.to_dict() for c in self.changes],
            "wordings": [w.to_dict() for w in self.wordings],
            "notes": list(self.notes),
            "summary": self.summary(),
        }


def _outcome(assessor: Assessor, probe: Probe) -> Outcome:
    try:
        answer = assessor.assess(list(probe.symptoms), probe.hours, list(probe.factors), probe.worsening)
    except InvalidReport as exc:
        return Outcome(None, refused=str(exc))
    return Outcome.of(answer)


def compare(
    old: KnowledgeBase, new: KnowledgeBase, cases: Sequence[Case] = (), notes: Iterable[str] = ()
) -> KnowledgeDiff:
    """Put every boundary report of both knowledge bases, and the cases, to both engines."""
    names: dict[Probe, list[str]] = {p: [] for p in boundary_probes(old, new)}
    for case in cases:
        names.setdefault(case.probe, []).append(case.id)
    before, after = Assessor(old, cache_size=0), Assessor(new, cache_size=0)
    changes = []
    for probe, ids in names.items():
        o, n = _outcome(before, probe), _outcome(after, probe)
        if o.decision() == n.decision():
            continue
        way, why = direction(o, n)
        changes.append(Change(probe, tuple(ids), o, n, way, why))
    return KnowledgeDiff(
        old=Side.of(old),
        new=Side.of(new),
        compared=len(names),
        case_count=len(cases),
        changes=tuple(changes),
        wordings=tuple(wording_changes(old, new)),
        notes=tuple(notes),
    )
