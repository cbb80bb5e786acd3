"""The benchmark's CLIPS rule base, generated from the same knowledge base, agrees with the
experta engine on every benchmark report and every public vignette.

This is the benchmark's correctness check (issue 5): the speed comparison with CLIPS only
means something if both evaluate the same rules. No timing is asserted here.
"""

from __future__ import annotations

import pytest

pytest.importorskip("clips", reason="clipspy is not installed (it is in the 'test' and 'bench' extras)")

from triage import Assessor, KnowledgeBase
from triage.engine.report import parse_report
from verification.clips_backend import ClipsEngine, clips_source
from verification.reports import differential_reports, parsed_mix
from verification.vignettes import load_vignettes

pytestmark = pytest.mark.clips


@pytest.fixture(scope="module")
def clips_engine(kb: KnowledgeBase) -> ClipsEngine:
    return ClipsEngine(kb)


@pytest.fixture(scope="module")
def uncached(kb: KnowledgeBase) -> Assessor:
    return Assessor(kb, cache_size=0)


def test_every_rule_is_generated(kb: KnowledgeBase) -> None:
    source = clips_source(kb)
    for rule_id in kb.rules:
        assert f'(rule "{rule_id}")' in source or f"-{rule_id}\n" in source


def test_clips_agrees_with_experta_on_every_benchmark_report(
    kb: KnowledgeBase, clips_engine: ClipsEngine, uncached: Assessor
) -> None:
    reports = parsed_mix(kb)
    assert len(reports) == 2000
    for report in reports:
        experta = uncached.assess_uncached(report)
        via_clips = uncached.explain(report, clips_engine.run(report))
        assert (via_clips.disposition, via_clips.emergency, via_clips.recheck_in_hours) == (
            experta.disposition,
            experta.emergency,
            experta.recheck_in_hours,
        ), report
        assert via_clips.to_dict() == experta.to_dict(), report


def test_clips_agrees_with_experta_on_6000_seeded_random_reports(
    kb: KnowledgeBase, clips_engine: ClipsEngine, uncached: Assessor
) -> None:
    """Issue 14: the full answer, on 6,000 seeded reports with hours random or at and either
    side of the bounds (verification.reports.differential_reports), experta with no cache."""
    reports = [parse_report(kb, *raw) for raw in differential_reports(kb, 6000)]
    assert len(reports) == 6000
    for report in reports:
        assert (
            uncached.explain(report, clips_engine.run(report)).to_dict() == uncached.assess_report(report).to_dict()
        ), report


@pytest.mark.parametrize("case", load_vignettes(), ids=lambda c: c["id"])
def test_clips_agrees_with_experta_on_the_vignettes(
    kb: KnowledgeBase, clips_engine: ClipsEngine, uncached: Assessor, case: dict
) -> None:
    report = parse_report(kb, case["symptoms"], case["hours"], case.get("factors", []), case.get("worsening", False))
    via_clips = uncached.explain(report, clips_engine.run(report))
    assert via_clips.to_dict() == uncached.assess_uncached(report).to_dict()
    assert via_clips.disposition.value == case["expect"]


@pytest.mark.parametrize(
    ("symptoms", "hours", "worse"),
    [
        (["redness:severe", "flaking:mild"], 60, ["redness"]),  # a record marks only redness
        (["redness", "pain"], 30, ["pain"]),  # day 2: only the marked symptom is monitor
        (["crusting", "bruising"], 100, ["crusting", "bruising"]),
        ([], 10, []),  # no symptoms, answered on a factor alone (below)
    ],
)
def test_clips_agrees_when_a_record_marks_single_symptoms_worse(
    kb: KnowledgeBase,
    clips_engine: ClipsEngine,
    uncached: Assessor,
    symptoms: list[str],
    hours: float,
    worse: list[str],
) -> None:
    factors = [] if symptoms else ["shared-equipment"]
    report = parse_report(kb, symptoms, hours, factors, False, worse)
    via_clips = uncached.explain(report, clips_engine.run(report))
    assert via_clips.to_dict() == uncached.assess_uncached(report).to_dict()
