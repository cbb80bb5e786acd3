"""A report without hours, answered from its own change hours and stopped at the first that
shows the hours are needed (issue 34, finding 5), gives exactly the answer of the engine run at
every change hour of the knowledge base, as before: the answer (its findings, wording and
all) or the same refusal. Over every symptom at every severity with each factor, many random
reports, and every vignette without its hours; with the caches on and off."""

from __future__ import annotations

import contextlib
import dataclasses
import random
from typing import Any

import pytest

from triage import Assessor, InvalidReport, KnowledgeBase
from triage.engine.report import Problem, Report, parse_report
from triage.engine.rules import RawResult
from triage.knowledge.conditions import answer_change_hours, symptom_phases
from triage.vocabulary import MAX_HOURS, SEVERITIES, Disposition
from verification.vignettes import load_vignettes


def every_hour_answer(assessor: Assessor, report: Report) -> dict[str, Any] | str:
    """The answer as it was worked out before issue 34: the engine run at every change hour
    of the knowledge base, then compared (a copy of the replaced code)."""
    runs = [assessor.engine.run(dataclasses.replace(report, hours=h)) for h in answer_change_hours(assessor.kb)]
    answers = {
        (max(Disposition(f.disposition).rank for f in r.findings), any(f.emergency for f in r.findings)) for r in runs
    }
    common = [f for f in runs[0].findings if all(f in r.findings for r in runs[1:])]
    answer = next(iter(answers))
    same_reason = any((Disposition(f.disposition).rank, f.emergency) == answer for f in common)
    if len(answers) != 1 or answer[0] != Disposition.CONTACT_CLINICIAN.rank or not same_reason:
        return str(
            InvalidReport(
                [
                    Problem(
                        "hours",
                        f"hours not given: give the hours since the session ended (0 to {MAX_HOURS:g}); "
                        "the answer for these symptoms depends on them",
                    )
                ]
            )
        )
    return assessor.explain(report, RawResult(tuple(common), ())).to_dict()


def new_answer(assessor: Assessor, report: Report) -> dict[str, Any] | str:
    try:
        return assessor.assess_report(report).to_dict()
    except InvalidReport as exc:
        return str(exc)


def reports(kb: KnowledgeBase) -> list[Report]:
    symptoms, factors = list(kb.symptoms), list(kb.factors)
    found = [
        parse_report(kb, [f"{sid}:{severity}"], None, [factor] if factor else [], worsening, ())
        for sid in symptoms
        for severity in SEVERITIES
        for factor in [None, *factors]
        for worsening in (False, True)
    ]
    # symptoms that can give an emergency: reports with one are the ones answered without hours
    urgent = [sid for sid in symptoms if any(ph.emergency for ph in symptom_phases(kb, sid))]
    rng = random.Random(34)
    for i in range(600):
        chosen = rng.sample(symptoms, rng.randint(1, 6) if i % 4 else rng.randint(7, len(symptoms)))
        if rng.random() < 0.5:
            chosen = list(dict.fromkeys([*chosen, rng.choice(urgent)]))
        found.append(
            parse_report(
                kb,
                [f"{sid}:{rng.choice(SEVERITIES)}" for sid in chosen],
                None,
                rng.sample(factors, rng.randint(0, 3) if i % 5 else rng.randint(0, len(factors))),
                rng.random() < 0.3,
                rng.sample(chosen, rng.randint(0, 1)) if rng.random() < 0.2 else (),
            )
        )
    for severity in SEVERITIES:  # everything at once
        for worsening in (False, True):
            every = [f"{sid}:{severity}" for sid in symptoms]
            found += [parse_report(kb, every, None, chosen, worsening, ()) for chosen in ([], factors)]
    for case in load_vignettes():
        found.append(
            parse_report(kb, case["symptoms"], None, case.get("factors", []), case.get("worsening", False), ())
        )
    return found


@pytest.fixture(scope="module")
def expected(kb: KnowledgeBase) -> list[tuple[Report, dict[str, Any] | str]]:
    """Each report and its answer as worked out before (computed once for both cache settings)."""
    reference = Assessor(kb, cache_size=0)
    return [(report, every_hour_answer(reference, report)) for report in reports(kb)]


@pytest.mark.parametrize("cache_size", [0, 256], ids=["caches off", "caches on"])
def test_reports_without_hours_get_the_every_hour_answer(
    kb: KnowledgeBase, cache_size: int, expected: list[tuple[Report, dict[str, Any] | str]]
) -> None:
    assessor = Assessor(kb, cache_size=cache_size)
    checked = answered = 0
    for report, before in expected:
        assert new_answer(assessor, report) == before, report
        if cache_size:  # the second time (from the answer cache) too
            assert new_answer(assessor, report) == before, report
        checked += 1
        answered += isinstance(before, dict)
    assert checked > 2400
    assert answered > 300  # many are answered without hours (emergencies), not only refused


def test_the_report_hours_checked_are_among_the_knowledge_bases(kb: KnowledgeBase) -> None:
    """Each hour run is a change hour of the knowledge base, and hour 0 comes first (the
    findings of "why" keep hour 0's order)."""
    assessor = Assessor(kb, cache_size=0)
    every = set(answer_change_hours(kb))
    for report in reports(kb)[:500]:
        hours = assessor.hours_to_check(report)
        assert hours[0] == 0 and set(hours) <= every


def test_a_report_without_hours_runs_the_engine_at_most_five_times(kb: KnowledgeBase) -> None:
    """Its cost, counted in engine decisions: at most 5 (a report with hours: 1), where the
    engine ran at each of the knowledge base's change hours before (14 for every report)."""
    assessor = Assessor(kb, cache_size=0)
    decide = assessor.engine.run
    runs: list[int] = []

    def counted(report: Report) -> RawResult:
        runs[-1] += 1
        return decide(report)

    assessor.engine.run = counted  # type: ignore[method-assign]
    for report in reports(kb):
        runs.append(0)
        with contextlib.suppress(InvalidReport):
            assessor.assess_report(report)
    assert max(runs) <= 5, max(runs)
