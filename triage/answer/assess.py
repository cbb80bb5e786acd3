"""assess(): validate a report, run the rule engine, and explain the answer in plain words."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from triage.answer import message
from triage.answer.model import Assessment
from triage.answer.phrasebook import Phrasebook
from triage.answer.safety_net import SafetyNetBook
from triage.engine.cache import BoundedCache
from triage.engine.no_hours import FindingsOverHours
from triage.engine.phase_cache import PhaseCache
from triage.engine.report import InvalidReport, Problem, Report, parse_report
from triage.engine.rules import RawFinding, RawResult, RuleEngine
from triage.knowledge.base import KnowledgeBase
from triage.knowledge.loader import load_knowledge
from triage.knowledge.words import ENGLISH_WORDS
from triage.vocabulary import DISPOSITION_RANKS, MAX_HOURS, Disposition

CONTACT_RANK = Disposition.CONTACT_CLINICIAN.rank
UNKNOWN_HOURS = ENGLISH_WORDS.unknown_hours  # {hours} in a reason when the report gives none


def duration(hours: float) -> str:
    """Hours as a patient reads them in English: '12 hours', '2 days (48 hours)'."""
    return ENGLISH_WORDS.duration(hours)


DEFAULT_CACHE_SIZE = 256  # answers, each kept from its report's second time (an answer is a few KB)
# Phase entries per answer: an entry is two ints, and 40 x 256 = 10,240 entries stay below the
# size at which the cache's dict would resize (10,922), so the memory is what it was planned as.
PHASE_CACHE_PER_ANSWER = 40
CACHE_SIZE_ENV = "TRIAGE_CACHE_SIZE"


def cache_size_from_env() -> int:
    """$TRIAGE_CACHE_SIZE (answers kept; 0 turns the cache off), else DEFAULT_CACHE_SIZE."""
    raw = os.environ.get(CACHE_SIZE_ENV, "").strip()
    if not raw:
        return DEFAULT_CACHE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if size < 0:
        raise ValueError(f"{CACHE_SIZE_ENV} must be a whole number of answers (0 turns the cache off), got {raw!r}")
    return size


class Assessor:
    """One knowledge base and its generated engine; safe to share between threads.

    The engine's conclusions are cached by phase (PHASE_CACHE_PER_ANSWER x `cache_size`
    entries, triage.engine.phase_cache), and answers (`cache_size` entries, LRU, each kept from the
    second time its report is asked; 0 turns both caches off) keyed by the knowledge-base
    version and the canonical Report, so an edited knowledge base with a bumped version
    never sees an old answer, and a new Assessor starts with an empty cache. The key also
    holds the exact type and repr of the hours and the type of `worsening`, because the
    answer echoes the report (-0.0 and 0.0, or 30 and 30.0, are equal Reports that print
    differently).
    """

    def __init__(
        self, kb: KnowledgeBase, cache_size: int = DEFAULT_CACHE_SIZE, decided_by: Assessor | None = None
    ) -> None:
        """`decided_by`: for a translation of its knowledge base (KnowledgeBase.in_language:
        the same rules and windows, other words), that Assessor's engine and phase cache
        decide, so a translated answer does not run the engine again nor keep a second one."""
        self.kb = kb
        self.cache: BoundedCache[Assessment] | None = (
            BoundedCache(cache_size, admit="second-offer") if cache_size > 0 else None
        )
        self.engine: RuleEngine
        self.phase_cache: PhaseCache | None
        self.bounds: PhaseCache
        self.over_hours: FindingsOverHours
        if decided_by is not None:
            self.engine, self.phase_cache = decided_by.engine, decided_by.phase_cache
            self.bounds, self.over_hours = decided_by.bounds, decided_by.over_hours
        else:
            self.engine = RuleEngine(kb)
            self.phase_cache = PhaseCache(kb, PHASE_CACHE_PER_ANSWER * cache_size) if cache_size > 0 else None
            # each report's own change hours (for a report without hours), from the phase cache's reading
            self.bounds = self.phase_cache or PhaseCache(kb, 0)
            self.over_hours = FindingsOverHours(kb)
        # the knowledge base's wording read once, not once per finding
        self.phrasebook = Phrasebook(kb)
        self.advice_book = message.AdviceBook.of(kb)
        self.safety_net = SafetyNetBook.of(kb)

    def assess(
        self,
        symptoms: Iterable[str] | str,
        hours: Any,
        factors: Iterable[str] = (),
        worsening: Any = False,
        worse: Iterable[str] = (),
    ) -> Assessment:
        """Assess a report; raises InvalidReport naming every bad value and the valid ones."""
        return self.assess_report(parse_report(self.kb, symptoms, hours, factors, worsening, worse))

    def assess_report(self, report: Report) -> Assessment:
        """The engine's answer for a validated report (from the cache when already given)."""
        if self.cache is None:
            return self.assess_uncached(report)
        key = (self.kb.version, report, type(report.hours), repr(report.hours), type(report.worsening))
        try:
            answer = self.cache.get(key)
        except TypeError:  # a hand-built Report holding a list: not hashable, not cached
            return self.assess_uncached(report)
        if answer is None:
            answer = self.explain(report, self.conclusions(report))
            self.cache.offer(key, answer)  # kept from its second time: most reports never recur
        return answer

    def conclusions(self, report: Report) -> RawResult:
        """The engine's conclusions: from the phase cache when a report in the same phase was
        decided before (triage.engine.phase_cache), else from the engine."""
        if report.hours is None:
            return self.run_at_every_hour(report, self._decided)
        return self._decided(report)

    def _decided(self, report: Report) -> RawResult:
        if self.phase_cache is None:
            return self.engine.run(report)
        return self.phase_cache.conclusions(report, self.engine.run)

    def assess_uncached(self, report: Report) -> Assessment:
        """Run the engine and explain its conclusions, bypassing the cache."""
        if report.hours is None:
            return self.explain(report, self.run_at_every_hour(report, self.engine.run))
        return self.explain(report, self.engine.run(report))

    def run_at_every_hour(self, report: Report, decide: Callable[[Report], RawResult]) -> RawResult:
        """The engine's conclusions for a report without hours, when no hour changes its answer.

        The answer is worked out from each hour at which this report's answer can change (its own
        bounds, triage.engine.phase_cache: the answer is the same until the next), so this is
        exact. Only an answer that is `contact clinician` at every hour, with the same emergency
        flag, for a reason found at every hour (an always-emergency symptom, for example), is
        given: it needs no re-check time. Its findings are those found at every hour (a symptom
        whose finding depends on the hours is left out of "why"). Otherwise the hours are
        required, as for any report.

        Cost (issue 34): the engine runs at hour 0, then at the last hour, then backwards, and
        stops as soon as the hours are shown to be needed, or as soon as every finding still in
        the running is one whose hours the knowledge base tells (triage.engine.no_hours) and the
        answer cannot change (it is an emergency, or no emergency is possible): those are then
        checked at the remaining hours without the engine. tests/test_no_hours.py compares this
        with running the engine at every change hour of the knowledge base.
        """
        hours = self.hours_to_check(report)
        over_hours = self.over_hours
        answer: tuple[int, bool] | None = None
        common: list[RawFinding] = []
        for i, at in enumerate([hours[0], *reversed(hours[1:])]):
            raw = decide(dataclasses.replace(report, hours=at))
            here = (max(Disposition(f.disposition).rank for f in raw.findings), any(f.emergency for f in raw.findings))
            if answer is None:
                answer, common = here, list(raw.findings)
            else:
                common = [f for f in common if f in raw.findings]
            if here != answer or not _gives(answer, common):
                raise _hours_needed()
            rest = hours[1 : len(hours) - i]  # the hours not run yet
            # every finding left tells its own hours, and no hour can change the answer
            if (
                rest
                and all(over_hours.known(f) for f in common)
                and (answer[1] or not over_hours.emergency_possible(report))
            ):
                common = [f for f in common if over_hours.found_at_all(f, report, rest)]
                if not _gives(answer, common):
                    raise _hours_needed()
                break
        return RawResult(tuple(common), ())

    def hours_to_check(self, report: Report) -> list[float]:
        """0, then every hour at which this report's answer can change (its phases' starts)."""
        return self.bounds.bounds(report)

    # --- putting the engine's conclusions into words ------------------------------------

    def explain(self, report: Report, raw: RawResult) -> Assessment:
        """The engine's findings as an answer: one message, from the most urgent (triage.answer.message)."""
        kb, book = self.kb, self.phrasebook
        severity = dict(report.symptoms)
        order = {sid: i for i, (sid, _) in enumerate(report.symptoms)}
        findings = []
        for f in raw.findings:  # (a loop: a comprehension is one more call per answer)
            findings.append(book.finding(report, f, severity))
        if not findings:  # cannot happen for a validated report: every symptom has its own rule
            raise RuntimeError(f"no rule recognised the report (knowledge base {kb.version})")
        if len(findings) > 1:
            findings.sort(
                key=lambda f: (-DISPOSITION_RANKS[f.disposition], -f.emergency, order.get(f.symptom or "", -1), f.rule)
            )
        disposition = findings[0].disposition  # the most urgent: findings are sorted by urgency
        emergency = any(f.emergency for f in findings)
        recheck = None if disposition is Disposition.CONTACT_CLINICIAN else self._recheck(report, raw)
        recheck_line = None
        if recheck is not None and report.hours is not None:
            recheck_line = kb.words.recheck_line(recheck, report.hours + recheck)
        why, more_detail = message.fold(findings, emergency)
        led = message.leads(kb, findings, disposition, report.hours)
        return Assessment(
            disposition=disposition,
            emergency=emergency,
            report=report,
            findings=why,
            advice=message.advice(self.advice_book, list(order), findings, disposition, emergency, recheck_line, led),
            recheck_in_hours=recheck,
            kb_version=kb.version,
            summary=message.summary(kb, disposition, emergency, led),
            more_detail=more_detail,
            kb_digest=kb.digest,
            safety_net=self.safety_net.lines(report, disposition, emergency),
        )

    def _recheck(self, report: Report, raw: RawResult) -> float | None:
        """Hours until the answer could next change: the nearest window end or rule boundary."""
        if report.hours is None:
            return None
        ends = [f.until for f in raw.findings if f.until is not None and f.until > report.hours]
        ends += [b for b in raw.boundaries if b > report.hours]
        waits = [end - report.hours for end in ends] + [f.cap for f in raw.findings if f.cap is not None]
        if not waits:
            return None
        # Shown to 0.01 h, rounded down (never after the change), and never 0 before it; the
        # rounding to 6 places first takes away float noise (0.29 * 100 = 28.999999999999996),
        # and with it any shortfall below 1e-8 h (36 microseconds). Never sooner than the
        # knowledge base's recheck_minimum (policy v3: 1 hour).
        return max(math.floor(round(min(waits) * 100, 6)) / 100, self.kb.header.recheck_minimum or 0.01)


def _gives(answer: tuple[int, bool], findings: list[RawFinding]) -> bool:
    """Whether one of the findings gives this answer (disposition rank, emergency) by itself,
    and it is `contact clinician` (the only answer given without hours)."""
    return answer[0] == CONTACT_RANK and any((Disposition(f.disposition).rank, f.emergency) == answer for f in findings)


def _hours_needed() -> InvalidReport:
    return InvalidReport(
        [
            Problem(
                "hours",
                f"hours not given: give the hours since the session ended (0 to {MAX_HOURS:g}); "
                "the answer for these symptoms depends on them",
            )
        ]
    )


_default: Assessor | None = None
_default_lock = threading.Lock()


def default_assessor() -> Assessor:
    """The assessor for the default knowledge base, built once per process (cache size from the environment)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Assessor(load_knowledge(), cache_size_from_env())
    return _default


def assess(
    symptoms: Iterable[str] | str,
    hours: Any,
    factors: Iterable[str] = (),
    worsening: Any = False,
    worse: Iterable[str] = (),
) -> Assessment:
    """Assess a report against the default knowledge base.

    `symptoms`: ids or "id:severity" (mild, moderate, severe; default moderate);
    `hours`: hours since the session ended (0 to MAX_HOURS, one year); `factors`: risk-factor ids.
    Raises InvalidReport (a ValueError) naming every bad value and the valid ones.
    """
    return default_assessor().assess(symptoms, hours, factors, worsening, worse)
