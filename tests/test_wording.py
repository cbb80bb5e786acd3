"""Every text a patient reads is plain English: school grade 8 or below (Flesch-Kincaid, for
texts of 10 words or more) and none of the policy's listed medical terms (triage-policy.md
"Words a patient reads"). Measured with textstat 0.7.4 (pinned: later versions download a
dictionary at run time). On failure the worst offenders are listed, hardest first.

The texts are the knowledge base's patient texts (placeholders filled as an answer fills
them) and every text in the answers to the public vignettes; the nurse's wording
(`nurse_reasons`, `nurse_reason`, labels) may be clinical and is not measured.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

import pytest

from triage import Assessor, KnowledgeBase
from verification.vignettes import load_vignettes

textstat = pytest.importorskip("textstat", reason="textstat 0.7.4 is in the 'test' extra")

MAX_GRADE = 8.0
MIN_WORDS = 10  # the policy measures texts of 10 words or more
# The policy's list; "milia" is allowed when the same sentence explains it.
JARGON = ("anaphylaxis", "dermatitis", "granuloma", "biopsy", "post-inflammatory", "fitzpatrick", "antiviral")
JARGON_PHRASES = ("eczema herpeticum",)
EXPLAINED = {"milia": "tiny white bumps"}

SAMPLE = {
    "name": "Redness",
    "hours": "30 hours",
    "expected_until": "2 days (48 hours)",
    "monitor_until": "7 days (168 hours)",
}


def _filled(text: str) -> str:
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    return text.format(**{f: SAMPLE[f] for f in fields})


def knowledge_texts(kb: KnowledgeBase) -> Iterator[tuple[str, str]]:
    """(where, text) for every patient text the knowledge base holds."""
    h = kb.header
    yield "kb.toml disclaimer", h.disclaimer
    yield "kb.toml severe_within_expected", _filled(h.severe_within_expected)
    yield "kb.toml emergency.patient", h.emergency.patient
    for key, d in h.dispositions.items():
        yield f"kb.toml dispositions.{key}.patient", d.patient
    for i, a in enumerate(h.general_advice, 1):
        yield f"kb.toml general_advice {i}", a.text
    for band, words in h.likelihood.items():
        yield f"kb.toml likelihood {band}", words
    for s in kb.symptoms.values():
        where = f"symptoms.toml {s.id}"
        yield f"{where} name", s.name
        yield f"{where} description", s.description
        yield f"{where} care", s.care
        yield f"{where} urgent_if", s.urgent_if
        yield f"{where} typical_duration", _filled(s.typical_duration)
        if s.likelihood_note:
            yield f"{where} likelihood_note", s.likelihood_note
        for phase, text in s.reasons.model_dump().items():
            if text:
                yield f"{where} reasons.{phase}", _filled(text)
    for f in kb.factors.values():
        yield f"factors.toml {f.id} question", f.question
        yield f"factors.toml {f.id} label", f.label  # shown when a finding is about the factor
        for note in [f.window_note, *(c.note for c in f.windows)]:
            if note:
                yield f"factors.toml {f.id} window note", note
    for r in kb.rules.values():
        yield f"rules.toml {r.id} reason", _filled(r.reason)
        if r.advice:
            yield f"rules.toml {r.id} advice", r.advice


def answer_texts(assessor: Assessor) -> Iterator[tuple[str, str]]:
    """(where, text) for every patient text in the answers to the public vignettes."""
    for case in load_vignettes():
        answer = assessor.assess(case["symptoms"], case["hours"], case.get("factors", []), case.get("worsening", False))
        for text in answer.advice:
            yield f"answer {case['id']} advice", text
        yield f"answer {case['id']} summary", answer.summary
        for f in answer.findings:
            for field in ("reason", "advice", "urgent_if", "likelihood", "typical_duration"):
                if text := getattr(f, field):
                    yield f"answer {case['id']} {f.rule} {field}", text


def _all_texts(kb: KnowledgeBase, assessor: Assessor) -> dict[str, str]:
    """Distinct texts, each with the first place it was found."""
    texts: dict[str, str] = {}
    for where, text in [*knowledge_texts(kb), *answer_texts(assessor)]:
        texts.setdefault(text, where)
    return texts


def _words(text: str) -> int:
    return int(textstat.lexicon_count(text))


def grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(text))


def test_textstat_is_the_pinned_version() -> None:
    from importlib.metadata import version

    assert version("textstat") == "0.7.4"


def test_every_patient_text_is_grade_8_or_below(kb: KnowledgeBase, assessor: Assessor) -> None:
    measured = [(grade(t), where, t) for t, where in _all_texts(kb, assessor).items() if _words(t) >= MIN_WORDS]
    assert len(measured) > 150  # guards against measuring nothing
    worst = sorted((m for m in measured if m[0] > MAX_GRADE), reverse=True)
    listing = "\n".join(f"  grade {g:4.1f}  {where}: {text}" for g, where, text in worst[:25])
    assert not worst, f"{len(worst)} of {len(measured)} patient texts are above grade {MAX_GRADE:g}:\n{listing}"


def _jargon(text: str) -> list[str]:
    lower = text.lower()
    found = [w for w in JARGON if re.search(rf"\b{re.escape(w)}\b", lower)]
    found += [p for p in JARGON_PHRASES if p in lower]
    for sentence in re.split(r"(?<=[.!?])\s+", lower):
        found += [w for w, plain in EXPLAINED.items() if re.search(rf"\b{w}\b", sentence) and plain not in sentence]
    return found


def test_no_patient_text_uses_a_listed_medical_term(kb: KnowledgeBase, assessor: Assessor) -> None:
    bad = [(where, words, text) for text, where in _all_texts(kb, assessor).items() if (words := _jargon(text))]
    listing = "\n".join(f"  {where}: {words}: {text}" for where, words, text in bad)
    assert not bad, f"medical terms in patient texts:\n{listing}"


def test_the_jargon_check_can_fail() -> None:
    assert _jargon("Hives can be a sign of anaphylaxis.") == ["anaphylaxis"]
    assert _jargon("Spots or milia may appear.") == ["milia"]
    assert _jargon("Tiny white bumps under the skin (milia) may appear.") == []
    assert grade("Erythematous desquamation necessitates dermatological consultation immediately.") > MAX_GRADE


def test_nurse_wording_exists_for_every_finding(assessor: Assessor) -> None:
    for case in load_vignettes():
        answer = assessor.assess(case["symptoms"], case["hours"], case.get("factors", []), case.get("worsening", False))
        for f in answer.findings:
            assert f.nurse_reason and f.nurse_reason != f.reason, (case["id"], f.rule)
