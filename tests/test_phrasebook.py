"""The precomputed wording (triage.phrasebook, message.AdviceBook) says exactly what reading the
knowledge base straight says (issue 14: cheaper answers, the same answers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import Assessor, InvalidReport, load_knowledge
from triage.engine import RawResult
from triage.languages import in_language
from triage.message import cut
from triage.model import Disposition, Report
from triage.phrasebook import BoundedMemo, Phrasebook, Template
from triage.report import parse_report
from triage.vocabulary import SEVERITIES
from verification.reports import differential_reports, random_reports

KB = load_knowledge()
LANGUAGES = KB.languages


@pytest.fixture(scope="module")
def assessors() -> dict[str, Assessor]:
    """One uncached assessor per language."""
    return {language: Assessor(KB.in_language(language), cache_size=0) for language in LANGUAGES}


def decided(assessor: Assessor, n: int = 1500) -> Iterator[tuple[Report, RawResult]]:
    """Seeded random reports (hours with two decimals; hours at and beside every bound), and
    reports without hours (worded with "an unknown time" when answerable), with the engine's
    conclusions; a report the engine needs the hours for is left out."""
    kb = assessor.kb
    raws = [*random_reports(kb, n), *differential_reports(kb, n)]
    raws += [([f"{sid}:severe"], None, list(kb.factors)[:1], True) for sid in kb.symptoms]
    for raw in raws:
        report = parse_report(kb, *raw)
        try:
            yield report, assessor.conclusions(report)
        except InvalidReport:
            continue


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_finding_is_worded_as_the_knowledge_base_reads(assessors: dict[str, Assessor], language: str) -> None:
    assessor = assessors[language]
    book, compared = assessor.phrasebook, 0
    for report, raw in decided(assessor):
        severity = dict(report.symptoms)
        for f in raw.findings:
            worded = book.finding(report, f, severity, book.hours(report.hours))
            assert worded is not None, f"no phrasebook parts for {f.rule}"  # the fast path is taken
            assert worded == assessor._finding(report, f, severity), (report, f)
            compared += 1
    assert compared > 10_000


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(KB.symptoms)), st.sampled_from(SEVERITIES)),
        min_size=1,
        max_size=5,
        unique_by=lambda entry: entry[0],
    ),
    st.sampled_from(KB.answer_change_hours()) | st.floats(0, 8760) | st.integers(0, 8760) | st.just(-0.0),
    st.lists(st.sampled_from(sorted(KB.factors)), unique=True, max_size=3),
    st.booleans(),
)
def test_the_phrasebook_agrees_on_any_report(
    assessors: dict[str, Assessor],
    entries: list[tuple[str, str]],
    hours: float,
    factors: list[str],
    worsening: bool,
) -> None:
    for assessor in assessors.values():
        report = parse_report(assessor.kb, [f"{s}:{v}" for s, v in entries], hours, factors, worsening)
        raw = assessor.engine.run(report)
        severity = dict(report.symptoms)
        book = assessor.phrasebook
        for f in raw.findings:
            assert book.finding(report, f, severity, book.hours(report.hours)) == assessor._finding(report, f, severity)


def test_a_finding_the_phrasebook_has_no_parts_for_is_read_straight() -> None:
    """A rule id the book does not know (an engine newer than the book) falls back, unchanged."""
    assessor = Assessor(KB, cache_size=0)
    report = parse_report(KB, ["redness:severe"], 30, [], False)
    raw = assessor.engine.run(report)
    assessor.phrasebook.phases.clear()
    assessor.phrasebook.rules.clear()
    assert assessor.explain(report, raw) == Assessor(KB, cache_size=0).explain(report, raw)


def test_the_advice_is_the_same_when_every_text_is_cut_afresh() -> None:
    """The knowledge base's texts cut beforehand give the answers that cutting each text when
    it is given gives (re-check lines, made per answer, are always cut when given)."""
    assessor, afresh = Assessor(KB, cache_size=0), Assessor(KB, cache_size=0)
    assert assessor.advice_book.pieces, "the knowledge base's advice texts are cut once"
    afresh.advice_book = dataclasses.replace(afresh.advice_book, pieces={})
    for report, raw in decided(assessor, 1000):
        assert assessor.explain(report, raw) == afresh.explain(report, raw)


def test_a_sentence_cut_keeps_its_compare_form() -> None:
    assert cut("Keep it clean.  Keep it CLEAN!  Call us;") == (
        ("Keep it clean.", "keep it clean"),
        ("Keep it CLEAN!", "keep it clean"),
        ("Call us;", "call us"),
    )


def test_a_template_without_placeholders_is_formatted_once() -> None:
    assert Template.read("Say {{this}}.").fixed == "Say {this}."
    assert Template.read("For {hours}.").fixed is None
    assert Template.read("broken {").fixed is None  # fails when formatted, as it always did
    with pytest.raises(ValueError):
        Template.read("broken {").format(dict)


def test_zero_hours_are_never_taken_for_minus_zero() -> None:
    book = Phrasebook(KB)
    assert book.duration(0.0) == KB.words.duration(0.0)
    assert book.duration(-0.0) == KB.words.duration(-0.0) != KB.words.duration(0.0)
    assert book.duration(48) == book.duration(48.0) == KB.words.duration(48)


def test_memos_stay_bounded() -> None:
    calls: list[int] = []
    memo = BoundedMemo[int, int](lambda n: calls.append(n) or n * 2, maxsize=10)
    assert [memo(n) for n in range(100)] == [n * 2 for n in range(100)]
    assert len(memo) == 10
    assert memo(5) == 10 and memo(50) == 100
    assert calls.count(5) == 1 and calls.count(50) == 2  # the first keys are kept, later ones computed

    book = Phrasebook(KB)
    for hours in range(1, 5000):
        book.duration(hours + 0.5)
    assert len(book.bound) <= book.bound.maxsize


def test_rank_is_the_order_of_urgency() -> None:
    assert [d.rank for d in Disposition] == [0, 1, 2]
    assert Disposition.EXPECTED.rank < Disposition.MONITOR.rank < Disposition("contact clinician").rank


def test_spanish_answers_take_the_english_nurse_words_as_replace_gives_them(assessors: dict[str, Assessor]) -> None:
    """languages.in_language copies only the findings whose nurse words differ, and builds the
    copies itself: the same findings as dataclasses.replace gives."""
    english = assessors["en"]
    for language, local in assessors.items():
        for report, raw in decided(english, 500):
            mine, theirs = local.explain(report, raw), english.explain(report, raw)
            answer = in_language(mine, theirs)
            for got, shown, nurse in (
                (answer.findings, mine.findings, theirs.findings),
                (answer.more_detail, mine.more_detail, theirs.more_detail),
            ):
                want = tuple(
                    dataclasses.replace(f, nurse_reason=e.nurse_reason) for f, e in zip(shown, nurse, strict=True)
                )
                assert got == want, (language, report)
