"""The benchmark's CLIPS rule base, generated from the same knowledge base, agrees with the
experta engine on every benchmark report and every public vignette.

This is the benchmark's correctness check (issue 5): the speed comparison with CLIPS only
means something if both evaluate the same rules. No timing is asserted here.
"""

from __future__ import annotations

import pytest

pytest.importorskip("clips", reason="clipspy is not installed (it is in the 'test' and 'bench' extras)")

from triage import Assessor, KnowledgeBase
from triage.report import parse_report
from verification.clips_backend import ClipsEngine, clips_source
from verification.reports import parsed_mix
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


@pytest.mark.parametrize("case", load_vignettes(), ids=lambda c: c["id"])
def test_clips_agrees_with_experta_on_the_vignettes(
    kb: KnowledgeBase, clips_engine: ClipsEngine, uncached: Assessor, case: dict
) -> None:
    report = parse_report(kb, case["symptoms"], case["hours"], case.get("factors", []), case.get("worsening", False))
    via_clips = uncached.explain(report, clips_engine.run(report))
    assert via_clips.to_dict() == uncached.assess_uncached(report).to_dict()
    assert via_clips.disposition.value == case["expect"]
