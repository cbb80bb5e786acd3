"""What would make an answer more urgent, and what to do then (triage-policy.md "What would make
it more urgent (safety-netting)"): the answer's `safety_net`.

Every answer that is not an emergency carries, in this order:

- each reported symptom's "call now if" lines (symptoms.toml `call_now_if`) and the lines a
  reported factor adds for it (factors.toml `call_now_if`), symptoms in the report's order;
- the one general "call now if" line (kb.toml `safety_net.general`), whatever the report;
- on an `expected` or `monitor` answer only, each reported symptom's "contact the clinic if"
  (`urgent_if`): a `contact clinician` answer already says to contact the clinic.

So the emergency lines come first. Each meaning is said once: lines with the same words are one
line, naming every symptom it is said for (the knowledge base words a meaning the same way
wherever it belongs, and its loader checks that each wording has one nurse's wording). An
emergency answer carries none: it says one thing, call now.

Nothing here names a symptom or a factor: it reads the knowledge base's data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from triage.answer.model import SafetyNetLine
from triage.engine.report import Report
from triage.knowledge.base import KnowledgeBase
from triage.vocabulary import Disposition

EMERGENCY = "emergency"  # call the emergency number now
CLINIC = "clinic"  # contact the clinic sooner
LEVELS = (EMERGENCY, CLINIC)

Words = tuple[str, str]  # a line's (patient's words, nurse's words)


@dataclass(frozen=True)
class SafetyNetBook:
    """A knowledge base's safety-net lines, read once (an Assessor keeps one)."""

    general: Words | None  # None: a knowledge base without kb.toml [safety_net]
    call_now: Mapping[str, tuple[Words, ...]]  # symptom -> its own "call now if" lines
    added: Mapping[str, Mapping[str, Words]]  # factor -> symptom -> the "call now if" line it adds
    clinic: Mapping[str, Words]  # symptom -> its "contact the clinic if"

    @classmethod
    def of(cls, kb: KnowledgeBase) -> SafetyNetBook:
        net = kb.header.safety_net
        return cls(
            general=(net.general, net.nurse_general) if net is not None else None,
            call_now={
                sid: tuple(zip(s.call_now_if, s.nurse_call_now_if, strict=True))
                for sid, s in kb.symptoms.items()
                if s.call_now_if
            },
            added={
                fid: dict.fromkeys(f.call_now_symptoms, (f.call_now_if, f.nurse_call_now_if))
                for fid, f in kb.factors.items()
                if f.call_now_if is not None and f.nurse_call_now_if is not None
            },
            clinic={sid: (s.urgent_if, s.nurse_urgent_if or s.urgent_if) for sid, s in kb.symptoms.items()},
        )

    def lines(self, report: Report, disposition: Disposition, emergency: bool) -> tuple[SafetyNetLine, ...]:
        """The answer's safety net (see the module docstring)."""
        if emergency:
            return ()
        symptoms = [sid for sid, _ in report.symptoms]
        adding = [self.added[f] for f in report.factors if f in self.added]
        call_now = _merged(
            EMERGENCY,
            (
                (sid, words)
                for sid in symptoms
                for words in (*self.call_now.get(sid, ()), *(a[sid] for a in adding if sid in a))
            ),
        )
        general = [SafetyNetLine(EMERGENCY, *self.general)] if self.general is not None else []
        clinic: list[SafetyNetLine] = []
        if disposition is not Disposition.CONTACT_CLINICIAN:
            clinic = _merged(CLINIC, ((sid, self.clinic[sid]) for sid in symptoms if sid in self.clinic))
        return (*call_now, *general, *clinic)


def _merged(level: str, said: Iterable[tuple[str, Words]]) -> list[SafetyNetLine]:
    """One line per wording, in the order first said, naming every symptom it is said for."""
    by_words: dict[str, tuple[str, list[str]]] = {}
    for sid, (text, nurse) in said:
        _, symptoms = by_words.setdefault(text, (nurse, []))
        if sid not in symptoms:
            symptoms.append(sid)
    return [SafetyNetLine(level, text, nurse, tuple(symptoms)) for text, (nurse, symptoms) in by_words.items()]
