"""The precomputed wording (triage.answer.phrasebook, message.AdviceBook) says exactly what reading the
knowledge base straight says (issue 14: cheaper answers, the same answers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference_wording import ReferenceBook, reference_finding
from tests.support import shipped_kb
from triage import Assessor, InvalidReport, KnowledgeBase, load_knowledge
from triage.answer.languages import in_language
from triage.answer.message import AdviceBook, Piece, cut, once_per_meaning
from triage.answer.phrasebook import FINDING_MEMO_SIZE, Phrasebook, Template, field_names
from triage.engine.cache import BoundedMemo
from triage.engine.report import Report, parse_report
from triage.engine.rules import RawResult
from triage.knowledge.conditions import answer_change_hours
from triage.vocabulary import SEVERITIES, Disposition
from verification.reports import differential_reports, random_reports

LANGUAGES = shipped_kb().languages  # for parametrize; the tests read the `kb` fixture


@pytest.fixture(scope="module")
def assessors(kb: KnowledgeBase) -> dict[str, Assessor]:
    """One uncached assessor per language."""
    return {language: Assessor(kb.in_language(language), cache_size=0) for language in LANGUAGES}


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
            assert worded == reference_finding(assessor.kb, report, f, severity), (report, f)
            compared += 1
    assert compared > 10_000


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(shipped_kb().symptoms)), st.sampled_from(SEVERITIES)),
        min_size=1,
        max_size=5,
        unique_by=lambda entry: entry[0],
    ),
    st.sampled_from(answer_change_hours(shipped_kb())) | st.floats(0, 8760) | st.integers(0, 8760) | st.just(-0.0),
    st.lists(st.sampled_from(sorted(shipped_kb().factors)), unique=True, max_size=3),
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
            assert book.finding(report, f, severity, book.hours(report.hours)) == reference_finding(
                assessor.kb, report, f, severity
            )


def test_a_finding_the_phrasebook_has_no_words_for_is_refused_by_rule(kb: KnowledgeBase) -> None:
    """A conclusion the book has no parts for (not one of its knowledge base's) is an error
    naming the rule, not an answer with some other words."""
    assessor = Assessor(kb, cache_size=0)
    report = parse_report(kb, ["redness:severe"], 30, [], False)
    raw = assessor.engine.run(report)
    assessor.phrasebook.phases.clear()
    assessor.phrasebook.rules.clear()
    with pytest.raises(LookupError, match=f"no words for rule '{raw.findings[0].rule}'"):
        assessor.explain(report, raw)


def test_the_advice_is_the_same_when_every_text_is_cut_afresh(kb: KnowledgeBase) -> None:
    """The knowledge base's texts cut beforehand give the answers that cutting each text when
    it is given gives (re-check lines, made per answer, are always cut when given)."""
    assessor, afresh = Assessor(kb, cache_size=0), Assessor(kb, cache_size=0)
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


def test_zero_hours_are_never_taken_for_minus_zero(kb: KnowledgeBase) -> None:
    book = Phrasebook(kb)
    assert book.duration(0.0) == kb.words.duration(0.0)
    assert book.duration(-0.0) == kb.words.duration(-0.0) != kb.words.duration(0.0)
    assert book.duration(48) == book.duration(48.0) == kb.words.duration(48)


def test_memos_stay_bounded(kb: KnowledgeBase) -> None:
    calls: list[int] = []
    memo = BoundedMemo[int, int](lambda n: calls.append(n) or n * 2, maxsize=10)
    assert [memo(n) for n in range(100)] == [n * 2 for n in range(100)]
    assert len(memo) == 10
    assert memo(5) == 10 and memo(50) == 100
    assert calls.count(5) == 1 and calls.count(50) == 2  # the first keys are kept, later ones computed

    book = Phrasebook(kb)
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


# --- remembered findings (Phrasebook.worded) ------------------------------------------------


def test_a_text_names_the_placeholders_it_uses_even_in_a_format_spec() -> None:
    assert field_names("Within {expected_until} of {name}.") == {"expected_until", "name"}
    assert field_names("{hours.real} and {name:>{hours}}") == {"hours", "name"}
    assert field_names("Say {{hours}}.") == frozenset()
    assert field_names("broken {") is None
    assert not Template.read("Within {expected_until} of {name}.").needs_hours
    for says_hours in ("At {hours}.", "{name:>{hours}}", "{0}", "{unknown}", "broken {"):
        assert Template.read(says_hours).needs_hours, says_hours


def test_a_text_that_says_the_hours_is_worded_for_each_report(edit_kb: Callable[[str, str, str], Path]) -> None:
    """Findings are remembered without the report's hours only when no text of theirs says
    them: a symptom's own rule, a rule about a symptom and a combination rule, here edited to
    say the hours, follow every report's hours."""
    edit_kb("symptoms.toml", "of needling is the expected inflammatory response.", "of needling, at {hours}.")
    edit_kb("rules.toml", "severe within the first 24 h:", "severe at {hours}:")
    kb_dir = edit_kb("rules.toml", "Fever with purulence,", "Fever at {hours} with purulence,")
    kb = load_knowledge(kb_dir)
    assessor = Assessor(kb, cache_size=0)
    checked = set()
    for hours in (1, 1.5, 2.25, 3, 10.75):
        for symptoms in (["redness"], ["redness:severe"], ["fever", "pus"]):
            report = parse_report(kb, symptoms, hours, [], False)
            answer = assessor.explain(report, assessor.engine.run(report))
            for f in (*answer.findings, *answer.more_detail):
                if f.rule in ("redness-expected", "severe-first-day", "infection-fever-local-signs"):
                    assert f"at {kb.words.duration(hours)}" in f.nurse_reason, (hours, f.rule, f.nurse_reason)
                    checked.add(f.rule)
            severity = dict(report.symptoms)
            raw = assessor.engine.run(report)
            for f in raw.findings:
                assert assessor.phrasebook.finding(report, f, severity, assessor.phrasebook.hours(hours)) == (
                    reference_finding(kb, report, f, severity)
                )
    assert checked == {"redness-expected", "severe-first-day", "infection-fever-local-signs"}
    remembered = {key[0].rule for key in assessor.phrasebook.worded._memo}
    assert remembered and not remembered & checked  # a report's hours are not remembered


def test_equal_window_ends_that_print_differently_are_not_confused(kb: KnowledgeBase) -> None:
    """48 and 48.0, 0.0 and -0.0 are equal keys; the answer echoes each as it came."""
    book = Phrasebook(kb)
    report = parse_report(kb, ["redness"], 30, [], False)
    raw = next(f for f in Assessor(kb, cache_size=0).engine.run(report).findings if f.symptom == "redness")
    severity, hours = dict(report.symptoms), book.hours(30)
    for ends in ((48, 48.0), (48.0, 48), (0.0, -0.0), (-0.0, 0.0)):
        for until in ends:
            worded = book.finding(report, dataclasses.replace(raw, until=until), severity, hours)
            assert worded is not None and repr(worded.until_hours) == repr(until)


def test_answers_share_their_findings_and_the_memo_stays_bounded(kb: KnowledgeBase) -> None:
    assessor = Assessor(kb, cache_size=0)
    first, second = (parse_report(kb, ["redness:mild", "swelling"], h, [], False) for h in (2.5, 3.75))
    one = assessor.explain(first, assessor.engine.run(first))
    two = assessor.explain(second, assessor.engine.run(second))
    assert one.findings == two.findings and all(a is b for a, b in zip(one.findings, two.findings, strict=True))

    small = Assessor(kb, cache_size=0)
    small.phrasebook.worded.maxsize = 20
    for report, raw in decided(small, 300):
        assert small.explain(report, raw) == assessor.explain(report, raw)
    assert len(small.phrasebook.worded) == 20
    assert len(assessor.phrasebook.worded) <= FINDING_MEMO_SIZE


def test_a_finding_given_twice_is_two_findings(kb: KnowledgeBase) -> None:
    """The same conclusion twice in the engine's result is worded as one shared Finding;
    "why" and "more detail" tell the two apart by place, as for two separate objects."""
    assessor, straight = Assessor(kb, cache_size=0), Assessor(kb, cache_size=0)
    straight.phrasebook = ReferenceBook(kb)  # every finding read from the knowledge base, a new object each
    for symptoms, hours in ((["redness"], 30), (["redness:severe", "fever", "pus"], 60.5), (["hives"], 2)):
        report = parse_report(kb, symptoms, hours, [], False)
        raw = assessor.engine.run(report)
        twice = RawResult(raw.findings + raw.findings[:1], raw.boundaries)
        answer = assessor.explain(report, twice)
        assert answer == straight.explain(report, twice)
        assert len(answer.findings) + len(answer.more_detail) == len(twice.findings)


# --- advice: a text with no sentence said before is taken whole ---------------------------------


def reference_once_per_meaning(book: AdviceBook, items: list[tuple[str, str]]) -> tuple[str, ...]:
    """once_per_meaning as first written: every text cut and compared sentence by sentence."""
    given: set[str] = set()
    said: set[str] = set()
    out: list[str] = []
    for ref, text in items:
        group = book.meaning_of.get(ref)
        if group is not None:
            if group in given:
                continue
            given.add(group)
        fresh = [(s, key) for s, key in cut(text) if key not in said]
        said.update(key for _, key in fresh)
        if fresh:
            out.append(" ".join(s for s, _ in fresh))
    return tuple(out)


BOOK = AdviceBook.of(shipped_kb())  # its texts and meanings are the strategies' values
ADVICE_TEXTS = [
    *sorted(BOOK.pieces),
    "",
    "  ",
    "Check again in 12 hours.",
    "Check again in 12 hours. Check again in 12 hours!",  # a sentence twice in one text
    "check again  in 12 HOURS",
    "Keep it clean. " + sorted(BOOK.pieces)[0],
]
ADVICE_REFS = [*sorted(BOOK.meaning_of), "summary", "emergency", "rule:none", "general"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ADVICE_REFS), st.sampled_from(ADVICE_TEXTS)), max_size=12))
def test_advice_is_given_once_per_meaning_as_first_written(items: list[tuple[str, str]]) -> None:
    assert once_per_meaning(BOOK, items) == reference_once_per_meaning(BOOK, items)
    afresh = dataclasses.replace(BOOK, pieces={})
    assert once_per_meaning(afresh, items) == reference_once_per_meaning(BOOK, items)


def test_a_piece_is_its_text_cut() -> None:
    piece = Piece.of("Keep it clean.  Keep it CLEAN!  Call us;")
    assert piece.cut == cut("Keep it clean.  Keep it CLEAN!  Call us;")
    assert piece.said == {"keep it clean", "call us"}
    assert piece.whole == "Keep it clean. Keep it CLEAN! Call us;"
    assert Piece.of("  ").whole is None


# --- parse_report: the knowledge base's symptom order ---------------------------------------


def test_a_report_lists_symptoms_in_the_knowledge_base_order(kb: KnowledgeBase) -> None:
    ids = list(kb.symptoms)
    assert kb.symptom_order == {sid: ids.index(sid) for sid in ids}
    for language in LANGUAGES:
        translated = kb.in_language(language)
        assert list(translated.symptom_order) == list(translated.symptoms)
    picked = [ids[7], ids[2], ids[5], ids[0]]
    report = parse_report(kb, picked, 10, [], False, worse=[ids[5], ids[0], ids[7]])
    assert [sid for sid, _ in report.symptoms] == sorted(picked, key=ids.index)
    assert list(report.worse) == sorted([ids[5], ids[0], ids[7]], key=ids.index)


def test_a_refused_report_still_lists_every_valid_symptom(kb: KnowledgeBase) -> None:
    listing = ", ".join(kb.symptoms)
    with pytest.raises(InvalidReport) as unknown:
        parse_report(kb, ["glowing-skin"], 10)
    assert str(unknown.value) == f"unknown symptom 'glowing-skin'; valid symptoms: {listing}"
    with pytest.raises(InvalidReport) as none:
        parse_report(kb, [], 10)
    assert str(none.value).endswith(f"; valid symptoms: {listing}")
    with pytest.raises(InvalidReport, match="factors must be a list"):
        parse_report(kb, ["redness"], 10, factors=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidReport, match="hours must be a number"):
        parse_report(kb, ["redness"], "10")
