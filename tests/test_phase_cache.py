"""The phase cache (triage.engine.phase_cache) gives exactly the engine's conclusions for a report's
phase: cached and uncached answers are compared in full on many seeded random reports, and
reports whose hours differ inside one phase really share an entry (else nothing is tested)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from triage import Assessor, KnowledgeBase
from triage.engine import phase_cache
from triage.engine.cache import Doorkeeper
from triage.engine.phase_cache import PhaseCache, _Conclusions
from triage.engine.report import Report, parse_report
from triage.engine.rules import RawResult, RuleEngine
from triage.knowledge.conditions import answer_change_hours, distinguished_severities
from triage.vocabulary import SEVERITIES
from verification.reports import differential_reports, random_reports


def test_cached_answers_are_the_engines_answers_on_seeded_random_reports(kb: KnowledgeBase) -> None:
    uncached = Assessor(kb, cache_size=0)
    cached = Assessor(kb, cache_size=64)  # small: entries are evicted and decided again
    rng = random.Random(5)
    bounds = answer_change_hours(kb)
    reports = []
    # Each report; half of them again just after, at other hours in the same phase (shared entries)
    # and at the start of the phases either side.
    for n, report in enumerate(parse_report(kb, *raw) for raw in differential_reports(kb, 3000, seed=77)):
        reports.append(report)
        if n % 2:
            assert report.hours is not None
            i = max(0, [b <= report.hours for b in bounds].count(True) - 1)
            high = bounds[i + 1] if i + 1 < len(bounds) else report.hours + 50
            reports.append(dataclasses.replace(report, hours=round(rng.uniform(bounds[i], high), 2)))
            # and in the phases either side: a key that merged phases would give their answers
            for j in (i - 1, i + 1):
                if 0 <= j < len(bounds):
                    reports.append(dataclasses.replace(report, hours=bounds[j]))
    for report in reports:
        assert cached.assess_report(report).to_dict() == uncached.assess_report(report).to_dict(), report
    assert cached.phase_cache is not None
    assert cached.phase_cache.cache.info().hits > 500  # the phase entries were used


def test_a_report_in_the_same_phase_shares_the_conclusions_but_not_the_recheck(kb: KnowledgeBase) -> None:
    assessor = Assessor(kb)
    first = assessor.assess(["redness:mild"], 10.25)
    second = assessor.assess(["redness:mild"], 11.5)
    assert assessor.phase_cache is not None and assessor.phase_cache.cache.info().hits == 1
    assert first.disposition == second.disposition
    assert first.recheck_in_hours is not None and second.recheck_in_hours is not None
    assert first.recheck_in_hours - second.recheck_in_hours == pytest.approx(1.25)
    assert first.to_dict() == Assessor(kb, cache_size=0).assess(["redness:mild"], 10.25).to_dict()
    assert second.to_dict() == Assessor(kb, cache_size=0).assess(["redness:mild"], 11.5).to_dict()


def test_equal_keys_have_the_engines_own_conclusions_at_every_phase(kb: KnowledgeBase) -> None:
    """The proof that the keys are exact. The engine's conclusions can change only at the
    knowledge base's answer-change hours, so running it from each of them (and at a random
    hour inside each interval) sees every answer a report can have. Wherever two of those
    hours get the same key, the conclusions must be the same."""
    cache, engine = PhaseCache(kb, 16), RuleEngine(kb)
    rng = random.Random(14)
    bounds = answer_change_hours(kb)
    order = kb.symptom_order
    merged = 0
    for raw in differential_reports(kb, 1200, seed=1414):
        report = parse_report(kb, *raw)
        if rng.random() < 0.25:  # a triage record's symptoms that are more severe than last time
            picked = rng.sample([sid for sid, _ in report.symptoms], 1)
            report = dataclasses.replace(report, worse=tuple(sorted(picked, key=order.__getitem__)))
        hours = list(bounds) + [
            round(rng.uniform(low, high), 2) for low, high in zip(bounds, (*bounds[1:], bounds[-1] + 100), strict=True)
        ]
        by_key: dict[object, tuple[float, object]] = {}
        for h in hours:
            at = dataclasses.replace(report, hours=h)
            key = cache.key(at)
            assert key is not None
            result = engine.run(at)
            if key in by_key:
                first_hours, first = by_key[key]
                assert result == first, (report, first_hours, h)
                merged += 1
            else:
                by_key[key] = (h, result)
    assert merged > 10_000  # the keys really merge phases of the knowledge base (else nothing is proved)


def test_each_of_the_reports_own_bounds_starts_a_new_phase(kb: KnowledgeBase) -> None:
    cache = PhaseCache(kb, 16)
    report = parse_report(kb, ["redness:severe"], 0)
    own = cache.bounds(report)
    assert 24.0 in own  # severe-first-day / severe-after-24h apply to a severe symptom
    assert set(own) <= set(answer_change_hours(kb))
    keys = [cache.key(dataclasses.replace(report, hours=h)) for h in own]
    assert len(set(keys)) == len(keys)
    just_before = [cache.key(dataclasses.replace(report, hours=h - 0.001)) for h in own[1:]]
    assert just_before == keys[:-1]  # just before a bound: still the phase that began at the one before
    # A bound that cannot touch this report (another symptom's window, a mild-only rule) does not split it.
    mild = parse_report(kb, ["redness:mild"], 0)
    assert 24.0 not in cache.bounds(mild)
    assert cache.key(dataclasses.replace(mild, hours=23.0)) == cache.key(dataclasses.replace(mild, hours=25.0))


def test_reports_it_cannot_key_are_decided_by_the_engine(kb: KnowledgeBase) -> None:
    cache = PhaseCache(kb, 16)
    report = parse_report(kb, ["redness"], 5)
    for hours in (None, float("nan"), -1.0, 1e9, True):
        assert cache.key(dataclasses.replace(report, hours=hours)) is None
    # a hand-built report with a factor or severity the knowledge base does not know
    assert cache.key(dataclasses.replace(report, factors=("no-such-factor",))) is None
    assert cache.key(dataclasses.replace(report, symptoms=(("redness", "extreme"),))) is None


def _read_alike(kb: KnowledgeBase, report: Report, rng: random.Random) -> Report:
    """The report with each severity swapped for another the cache reads alike (when there is
    one) and every factor that cannot matter to it swapped for another such, or dropped."""
    symptoms = []
    for sid, severity in report.symptoms:
        tested = distinguished_severities(kb, sid)
        alike = [s for s in SEVERITIES if s not in tested] if severity not in tested else [severity]
        symptoms.append((sid, rng.choice(alike)))
    cache = PhaseCache(kb, 1)
    kept = cache._factors_that_matter(report)
    idle = [
        f
        for f in kb.factors
        if f not in report.factors
        and cache._factors_that_matter(dataclasses.replace(report, factors=tuple(sorted((*kept, f)))))
        == tuple(sorted(kept))
    ]
    extra = rng.sample(idle, min(len(idle), rng.randint(0, 2)))
    return dataclasses.replace(
        report, symptoms=tuple(symptoms), factors=tuple(sorted({*kept, *extra}))
    )  # as parse_report


def test_reports_the_key_writes_alike_get_the_engines_own_conclusions(kb: KnowledgeBase) -> None:
    """Severities that no rule and no window phase tells apart share a code, and a factor that
    nothing reading it can apply to is left out of the key: the engine's conclusions for such
    reports must be the same, at every phase. Each report is compared with variants written
    alike (other severities, factors left out or added), from every answer-change hour."""
    cache, engine = PhaseCache(kb, 16), RuleEngine(kb)
    rng = random.Random(21)
    bounds = answer_change_hours(kb)
    severities_merged = factors_merged = 0
    for raw in differential_reports(kb, 700, seed=2121):
        report = parse_report(kb, *raw)
        for _ in range(2):
            other = _read_alike(kb, report, rng)
            if other == report:
                continue
            severities_merged += other.symptoms != report.symptoms
            factors_merged += other.factors != report.factors
            for h in bounds:
                at, other_at = dataclasses.replace(report, hours=h), dataclasses.replace(other, hours=h)
                assert cache.key(at) == cache.key(other_at), (at, other_at)
                assert engine.run(at) == engine.run(other_at), (at, other_at)
    assert severities_merged > 300 and factors_merged > 100  # else nothing is proved


def test_what_the_engine_reads_keeps_reports_apart(kb: KnowledgeBase) -> None:
    cache = PhaseCache(kb, 16)
    key = lambda *raw: cache.key(parse_report(kb, *raw))  # noqa: E731
    assert key(["redness:mild"], 30) == key(["redness:moderate"], 30)  # no rule tells them apart
    assert key(["redness:mild"], 30) != key(["redness:severe"], 30)  # a window phase and rules do
    assert key(["pain:moderate", "fever", "spreading-redness"], 30) != key(
        ["pain:severe", "fever", "spreading-redness"], 30
    )  # spreading-infection names pain:severe
    # rf-microneedling changes redness's window, not pinpoint bleeding's
    assert key(["redness:mild"], 30, ["rf-microneedling"]) != key(["redness:mild"], 30)
    assert key(["pinpoint-bleeding:mild"], 30, ["rf-microneedling"]) == key(["pinpoint-bleeding:mild"], 30)
    # immunosuppressed: a finding rule reads it, whatever the symptoms
    assert key(["pinpoint-bleeding:mild"], 30, ["immunosuppressed"]) != key(["pinpoint-bleeding:mild"], 30)


def test_the_issue_14_stream_agrees_cached_and_uncached(kb: KnowledgeBase) -> None:
    uncached = Assessor(kb, cache_size=0)
    cached = Assessor(kb)
    for raw in random_reports(kb, 1000):
        assert cached.assess(*raw).to_dict() == uncached.assess(*raw).to_dict(), raw


def test_conclusions_are_stored_as_ints_that_give_back_the_engines_own(kb: KnowledgeBase) -> None:
    engine = RuleEngine(kb)
    table = _Conclusions()
    for raw in random_reports(kb, 300, seed=41):
        conclusions = engine.run(parse_report(kb, *raw))
        packed = table.pack(conclusions)
        assert isinstance(packed, int) and table.unpack(packed) == conclusions, raw


def test_past_the_tables_room_conclusions_are_decided_not_cached(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(phase_cache, "_ITEM_BITS", 3)  # room for 7 findings and boundaries
    cached, engine = Assessor(kb, cache_size=64), RuleEngine(kb)
    reports = [parse_report(kb, *raw) for raw in random_reports(kb, 200, seed=43)]
    for report in reports + reports:  # twice: each phase offered a second time
        assert cached.conclusions(report) == engine.run(report), report
    assert cached.phase_cache is not None
    assert len(cached.phase_cache._conclusions._items) == 7
    assert 0 < cached.phase_cache.cache.info().size < len(reports)  # the first few kept, no more


def test_the_doorkeeper_lets_a_key_in_from_its_second_offer_within_its_window() -> None:
    door = Doorkeeper(100)
    bits = {hash((7,)) % 800, hash((8,)) % 800}  # the bits taken (a window of 100 offers has 800)

    def others(n: int) -> list[int]:
        """`n` keys that share no bit with 7, 8 or each other (two keys can: see Doorkeeper)."""
        found: list[int] = []
        key = 1000
        while len(found) < n:
            key += 1
            if hash((key,)) % 800 not in bits:
                bits.add(hash((key,)) % 800)
                found.append(key)
        return found

    assert not door.seen_before(7)  # first offer: noted
    assert door.seen_before(7)  # second: let in, and forgotten
    assert not door.seen_before(7)
    for key in others(99):  # 99 other offers: 7 is still remembered (within one window)
        assert not door.seen_before(key)
    assert door.seen_before(7)
    assert not door.seen_before(8)
    for key in others(200):  # two windows of other offers later: forgotten
        assert not door.seen_before(key)
    assert not door.seen_before(8)


def test_the_doorkeeper_remembers_offers_in_bits_not_keys() -> None:
    door = Doorkeeper(10_240)
    for key in range(50_000):
        door.seen_before(key * 1_000_003)
    tables = door._current, door._previous
    assert all(isinstance(t, bytearray) and len(t) == 10_240 for t in tables)  # 20 KB, however many keys


def test_a_full_phase_cache_keeps_a_phase_from_its_second_report(kb: KnowledgeBase) -> None:
    cache, runs = PhaseCache(kb, 2), []

    def run(report: Report) -> RawResult:
        runs.append(report)
        return RuleEngine(kb).run(report)

    first, second, third = (parse_report(kb, [sid], 10) for sid in ("redness", "swelling", "bruising"))
    for report in (first, second, first, second):  # kept at once while there is room
        cache.conclusions(report, run)
    assert runs == [first, second]
    cache.conclusions(third, run)  # full: a new phase is decided, not kept ...
    cache.conclusions(third, run)  # ... nor at once at its second report, which lets it in
    cache.conclusions(third, run)
    assert runs == [first, second, third, third] and cache.cache.info().size == 2
    cache.conclusions(first, run)  # the least recently used entry made room for it
    assert runs[-1] == first
