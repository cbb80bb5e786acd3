"""One message per answer: which findings explain it, and what the person is told to do.

The engine's findings can disagree in urgency: in one report a severe swelling on the first
day is "monitor, check again in 12 hours" while an emergency sign is "call now". What a person
reads follows the overall answer only. A finding's urgency is its disposition and, above that,
the emergency flag; the overall answer *outranks* every finding less urgent than itself.

- "Why" (`findings`) holds one finding per symptom, the strongest, and the findings about
  the whole report or a combination; in an emergency answer nothing below contact clinician.
  Everything else is `more_detail`, for the curious and the nurse. Where a person reads it
  (`as_told`), a symptom that a more urgent combination finding names is shown under that
  finding only (policy v3): its own finding goes to "more detail" too.
- Advice comes only from findings at the answer's own urgency, in order of urgency; an
  emergency answer gives the emergency call, then first aid for the emergency signs, and no
  routine aftercare or re-check. Advice is given once per meaning: sentences said twice are
  dropped, and the knowledge base's `same_advice` groups keep one wording per meaning.
- A rule's `lead` (rules.toml; for a place to go that is not the clinic, policy v3) leads the
  answer when its finding is at the answer's disposition: it is the summary and the first
  advice, before "contact your clinic" (which is left out when every finding at the answer's
  urgency has a lead); in an emergency it comes right after the emergency call.
Nothing here names a symptom: it reads dispositions, flags and the knowledge base's data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from triage.answer.model import Finding
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.schema import RECHECK_ADVICE
from triage.vocabulary import Disposition, FindingKind

# Among findings of equal urgency about one symptom, "why" shows the most specific kind.
# (An escalation only says that another finding became more urgent, so it comes last.)
KIND_ORDER = (
    FindingKind.EMERGENCY,
    FindingKind.COMBINATION,
    FindingKind.FACTOR,
    FindingKind.RED_FLAG,
    FindingKind.WORSENING,
    FindingKind.WINDOW,
    FindingKind.SEVERITY,
    FindingKind.ESCALATION,
)
_KIND_RANK: dict[str, int] = {kind: i for i, kind in enumerate(KIND_ORDER)}  # KIND_ORDER.index, looked up


def urgency(finding: Finding) -> tuple[int, bool]:
    """How urgent a finding is: its disposition, then the emergency flag."""
    return (finding.disposition.rank, finding.emergency)


def fold(findings: Sequence[Finding], emergency: bool) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """Split findings (most urgent first) into "why" and "more detail". Findings are told
    apart by their place in the list (equal findings are two findings)."""
    unranked = len(KIND_ORDER)
    strongest: dict[str, tuple[tuple[int, bool, int], int]] = {}  # symptom -> (strength, place)
    for i, f in enumerate(findings):
        if f.symptom is not None:
            strength = (*urgency(f), -_KIND_RANK.get(f.kind, unranked))
            best = strongest.get(f.symptom)
            if best is None or strength > best[0]:
                strongest[f.symptom] = (strength, i)
    kept = {i for i, f in enumerate(findings) if f.symptom is None or strongest[f.symptom][1] == i}
    if emergency:
        kept = {i for i in kept if findings[i].disposition is Disposition.CONTACT_CLINICIAN}
    why = tuple(f for i, f in enumerate(findings) if i in kept)
    return why, tuple(f for i, f in enumerate(findings) if i not in kept)


def as_told(why: Sequence[Finding], more_detail: Sequence[Finding]) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """ "Why" and "more detail" as a person reads them (pages, the CLI's text): a symptom that a
    more urgent finding about the report (a combination) names is told under that finding only,
    its own finding moves to "more detail" (policy v3). The answer's JSON keeps each symptom's own
    finding in `findings`, so a program reading it still finds every symptom explained there."""
    named: dict[str, tuple[int, bool]] = {}
    for f in why:
        if f.symptom is None:
            for sid in f.symptoms:
                named[sid] = max(named.get(sid, urgency(f)), urgency(f))
    moved = [f for f in why if f.symptom is not None and urgency(f) < named.get(f.symptom, (-1, False))]
    if not moved:
        return tuple(why), tuple(more_detail)
    detail = sorted((*moved, *more_detail), key=urgency, reverse=True)  # stable: most urgent first
    return tuple(f for f in why if f not in moved), tuple(detail)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _said(sentence: str) -> str:
    """A sentence as compared for repeats: case, spacing and end punctuation ignored."""
    return re.sub(r"\s+", " ", sentence.lower()).strip().rstrip(".!?;:")


Cut = tuple[tuple[str, str], ...]  # a text's sentences, each with its `_said` form


def cut(text: str) -> Cut:
    """A text's sentences, each with the form it is compared in for repeats."""
    return tuple((s, _said(s)) for s in _sentences(text))


@dataclass(frozen=True)
class Piece:
    """An advice text cut into sentences (`cut`), with the set of their compare forms and
    its sentences joined, as given when none of them was said before (None: no sentence)."""

    cut: Cut
    said: frozenset[str]
    whole: str | None

    @classmethod
    def of(cls, text: str) -> Piece:
        sentences = cut(text)
        return cls(sentences, frozenset(key for _, key in sentences), " ".join(s for s, _ in sentences) or None)


@dataclass(frozen=True)
class AdviceBook:
    """A knowledge base's advice as `once_per_meaning` reads it, worked out once (an Assessor
    makes one): each reference's `same_advice` meaning, each advice text already cut into
    sentences (a Piece), and the (reference, text) items `advice` gives, named once. A text
    made per answer (the re-check line) is cut when it comes."""

    kb: KnowledgeBase
    meaning_of: Mapping[str, str]  # advice reference -> its same_advice meaning
    pieces: Mapping[str, Piece]  # every advice text of the knowledge base -> Piece.of(text)
    care: Mapping[str, tuple[str, str]]  # symptom id -> ("care:<id>", its care text)
    general: tuple[tuple[str, str], ...]  # ("general:<id>", text) in the knowledge base's order
    rule_refs: Mapping[str, str]  # rule id -> "rule:<id>"

    @classmethod
    def of(cls, kb: KnowledgeBase) -> AdviceBook:
        h = kb.header
        texts = [h.emergency.patient, *(d.patient for d in h.dispositions.values())]
        texts += [r.advice for r in kb.rules.values() if r.advice]
        texts += [s.care for s in kb.symptoms.values()] + [a.text for a in h.general_advice]
        meaning_of = {ref: g.meaning for g in h.same_advice for ref in g.advice}
        return cls(
            kb,
            meaning_of,
            {text: Piece.of(text) for text in texts},
            {sid: (f"care:{sid}", s.care) for sid, s in kb.symptoms.items()},
            tuple((f"general:{a.id}" if a.id else "general", a.text) for a in h.general_advice),
            {rid: f"rule:{rid}" for rid in kb.rules},
        )

    def piece(self, text: str) -> Piece:
        found = self.pieces.get(text)
        return found if found is not None else Piece.of(text)


def once_per_meaning(book: AdviceBook, items: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Advice (reference, text) in order, each meaning once.

    A text whose `same_advice` group was already given is left out; so is each sentence
    already said word for word, and a text with nothing left.
    """
    given: set[str] = set()
    said: set[str] = set()
    out: list[str] = []
    for ref, text in items:
        group = book.meaning_of.get(ref)
        if group is not None:
            if group in given:
                continue
            given.add(group)
        piece = book.piece(text)
        if said.isdisjoint(piece.said):  # the usual case: every sentence is new
            said |= piece.said
            if piece.whole is not None:
                out.append(piece.whole)
            continue
        fresh = [(s, key) for s, key in piece.cut if key not in said]
        said.update(key for _, key in fresh)
        if fresh:
            out.append(" ".join(s for s, _ in fresh))
    return tuple(out)


Lead = tuple[str, str]  # ("lead:<rule id>", the rule's lead filled in for this answer)


def leads(kb: KnowledgeBase, findings: Sequence[Finding], disposition: Disposition, hours: float | None) -> list[Lead]:
    """The `lead` of each rule whose finding is at the answer's disposition, in the findings'
    order, with {hours_left} filled: the whole hours left before the rule's `lead_until`,
    rounded down (the rule ends by then, so never below 0)."""
    out: list[Lead] = []
    for f in findings:
        rule = kb.rules.get(f.rule)
        if rule is None or rule.lead is None or f.disposition is not disposition:
            continue
        left = kb.words.unknown_hours
        if hours is not None and rule.lead_until is not None:
            left = kb.words.whole_hours(max(math.floor(round(rule.lead_until - hours, 6)), 0))
        out.append((f"lead:{f.rule}", rule.lead.format(hours_left=left)))
    return out


def advice(
    book: AdviceBook,
    symptoms: Sequence[str],
    findings: Sequence[Finding],
    disposition: Disposition,
    emergency: bool,
    recheck_line: str | None,
    led: Sequence[Lead] = (),
) -> tuple[str, ...]:
    """What to do, most urgent first, from the overall answer and the findings at its urgency
    (`led`: the answer's leads, first; see `leads`)."""
    kb = book.kb
    top = (disposition.rank, emergency)
    # each symptom's care in the order of its most urgent finding (findings come most urgent first)
    symptoms = list(dict.fromkeys([*(f.symptom for f in findings if f.symptom in symptoms and f.symptom), *symptoms]))
    items: list[tuple[str, str]] = []
    if emergency:
        items.append(("emergency", kb.header.emergency.patient))
        items += led
    else:
        items += led
        with_lead = {ref.removeprefix("lead:") for ref, _ in led}
        if any(f.rule not in with_lead for f in findings if (f.disposition.rank, f.emergency) == top):
            items.append(("summary", kb.header.dispositions[disposition.key].patient))
    if recheck_line is not None and not emergency and disposition is not Disposition.CONTACT_CLINICIAN:
        items.append((RECHECK_ADVICE, recheck_line))
    at_top = [f for f in findings if (f.disposition.rank, f.emergency) == top]
    items += [(book.rule_refs.get(f.rule) or f"rule:{f.rule}", f.advice) for f in at_top if f.advice]
    if emergency:  # first aid for the emergency signs only: no routine aftercare
        cared = {f.symptom for f in at_top if f.symptom is not None}
        items += [book.care[s] for s in symptoms if s in cared]
    else:
        items += [book.care[s] for s in symptoms]
        items += book.general
    return once_per_meaning(book, items)


def summary(kb: KnowledgeBase, disposition: Disposition, emergency: bool, led: Sequence[Lead] = ()) -> str:
    """The answer in one line for the patient: the emergency call when there is one, else the
    first lead (see `leads`), else what the disposition means."""
    if emergency:
        return kb.header.emergency.patient
    if led:
        return led[0][1]
    return kb.header.dispositions[disposition.key].patient
