"""Every text a patient reads is plain English: school grade 8 or below (Flesch-Kincaid, for
texts of 10 words or more) and none of the policy's listed medical terms (triage-policy.md
"Words a patient reads"). Measured with textstat 0.7.4 (pinned: later versions download a
dictionary at run time). On failure the worst offenders are listed, hardest first.

The Spanish (knowledge/i18n/es.toml) is held to the same rule: Fernández-Huerta reading ease
of 60 or more (textstat's Spanish measure; 60-70 is "normal", about school grade 7 to 8) for
texts of 10 words or more, and none of the same medical terms in Spanish.

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
from triage.answer.languages import LanguageAssessor
from verification.vignettes import load_vignettes

textstat = pytest.importorskip("textstat", reason="textstat 0.7.4 is in the 'test' extra")

MAX_GRADE = 8.0
MIN_WORDS = 10  # the policy measures texts of 10 words or more
# The policy's list; "milia" is allowed when the same sentence explains it.
JARGON = ("anaphylaxis", "dermatitis", "granuloma", "biopsy", "post-inflammatory", "fitzpatrick", "antiviral")
JARGON_PHRASES = ("eczema herpeticum",)
EXPLAINED = {"milia": "tiny white bumps"}

SAMPLE = {
    "hours_left": "9 hours",
    "name": "Redness",
    "hours": "30 hours",
    "expected_until": "2 days (48 hours)",
    "monitor_until": "7 days (168 hours)",
}


SAMPLE_ES = {
    "hours_left": "9 horas",
    "name": "Rojez",
    "hours": "30 horas",
    "expected_until": "2 días (48 horas)",
    "monitor_until": "7 días (168 horas)",
}
MIN_READING_EASE_ES = 60.0  # Fernández-Huerta
JARGON_ES = (
    "anafilaxia",
    "dermatitis",
    "granuloma",
    "biopsia",
    "posinflamatoria",
    "postinflamatoria",
    "fitzpatrick",
    "antiviral",
    "antivírico",
    "eritema",
    "edema",
    "prurito",
    "hiperpigmentación",
)
JARGON_PHRASES_ES = ("eccema herpético", "eczema herpético")
EXPLAINED_ES = {"milia": "bultitos blancos"}


def knowledge_texts(kb: KnowledgeBase) -> Iterator[tuple[str, str]]:
    """(where, text) for every patient text the knowledge base holds (in its language)."""
    sample = SAMPLE_ES if kb.language == "es" else SAMPLE

    def _filled(text: str, reported: tuple[str, ...] = ()) -> str:
        """`text` filled in; {reported} (a rule's alternatives reported) with all of `reported`."""
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        names = [kb.symptoms[ref.partition(":")[0]].name for ref in reported]
        values = sample | {"reported": kb.words.listed([n[:1].lower() + n[1:] for n in names])}
        return text.format(**{f: values[f] for f in fields})

    h = kb.header
    yield "kb.toml disclaimer", h.disclaimer
    yield "kb.toml severe_within_expected", _filled(h.severe_within_expected)
    yield "kb.toml emergency.patient", h.emergency.patient
    if h.safety_net is not None:
        yield "kb.toml safety_net.general", h.safety_net.general
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
        for i, line in enumerate(s.call_now_if, 1):
            yield f"{where} call_now_if {i}", line
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
        if f.call_now_if:
            yield f"factors.toml {f.id} call_now_if", f.call_now_if
    for r in kb.rules.values():
        yield f"rules.toml {r.id} reason", _filled(r.reason, tuple(r.symptoms_any))  # every alternative at once
        if r.advice:
            yield f"rules.toml {r.id} advice", r.advice
        if r.lead:
            yield f"rules.toml {r.id} lead", _filled(r.lead)


def answer_texts(assessor: Assessor | LanguageAssessor) -> Iterator[tuple[str, str]]:
    """(where, text) for every patient text in the answers to the public vignettes."""
    for case in load_vignettes():
        answer = assessor.assess(case["symptoms"], case["hours"], case.get("factors", []), case.get("worsening", False))
        for text in answer.advice:
            yield f"answer {case['id']} advice", text
        yield f"answer {case['id']} summary", answer.summary
        for line in answer.safety_net:
            yield f"answer {case['id']} safety_net {line.level}", line.text
        for f in answer.findings:
            for field in ("reason", "advice", "urgent_if", "likelihood", "typical_duration"):
                if text := getattr(f, field):
                    yield f"answer {case['id']} {f.rule} {field}", text


def _all_texts(kb: KnowledgeBase, assessor: Assessor | LanguageAssessor) -> dict[str, str]:
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


# --- Spanish ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spanish(assessor: Assessor) -> LanguageAssessor:
    return LanguageAssessor(assessor, "es", cache_size=0)


def reading_ease_es(text: str) -> float:
    textstat.set_lang("es")
    try:
        return float(textstat.fernandez_huerta(text))
    finally:
        textstat.set_lang("en_US")


def _jargon_es(text: str) -> list[str]:
    lower = text.lower()
    found = [w for w in JARGON_ES if re.search(rf"\b{re.escape(w)}\b", lower)]
    found += [p for p in JARGON_PHRASES_ES if p in lower]
    for sentence in re.split(r"(?<=[.!?])\s+", lower):
        found += [w for w, plain in EXPLAINED_ES.items() if re.search(rf"\b{w}\b", sentence) and plain not in sentence]
    return found


def test_every_spanish_patient_text_is_plain(spanish: LanguageAssessor) -> None:
    texts = _all_texts(spanish.kb, spanish)
    measured = [(reading_ease_es(t), where, t) for t, where in texts.items() if _words(t) >= MIN_WORDS]
    assert len(measured) > 150  # guards against measuring nothing
    hardest = sorted(m for m in measured if m[0] < MIN_READING_EASE_ES)
    listing = "\n".join(f"  ease {e:5.1f}  {where}: {text}" for e, where, text in hardest[:25])
    assert not hardest, (
        f"{len(hardest)} of {len(measured)} Spanish patient texts read harder than Fernández-Huerta "
        f"{MIN_READING_EASE_ES:g}:\n{listing}"
    )


def test_no_spanish_patient_text_uses_a_listed_medical_term(spanish: LanguageAssessor) -> None:
    texts = _all_texts(spanish.kb, spanish)
    bad = [(where, words, text) for text, where in texts.items() if (words := _jargon_es(text))]
    listing = "\n".join(f"  {where}: {words}: {text}" for where, words, text in bad)
    assert not bad, f"medical terms in Spanish patient texts:\n{listing}"


def test_the_spanish_checks_can_fail() -> None:
    assert _jargon_es("Las ronchas pueden ser una anafilaxia.") == ["anafilaxia"]
    assert _jargon_es("Pueden salir milia.") == ["milia"]
    assert _jargon_es("Bultitos blancos muy pequeños (milia).") == []
    hard = "La descamación eritematosa persistente requiere una valoración dermatológica especializada inmediatamente."
    assert reading_ease_es(hard) < MIN_READING_EASE_ES
    assert reading_ease_es("Llame ahora a emergencias. Si tiene una pluma, úsela ya.") > MIN_READING_EASE_ES
