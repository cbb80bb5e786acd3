"""Answers in the patient's language: the translated knowledge base's words for the patient,
the English words for the nurse, one decision.

The translated knowledge base (triage.knowledge.translation) differs from the English only in its patient
texts, so its engine reaches the same findings; `in_language` checks that rule for rule (and the
safety net line for line) and takes every nurse text (`nurse_reason`, a safety-net line's
`nurse_text`: clinical English) from the English answer. So the
disposition, emergency flag, rule ids, re-check, version and digest are the same in every
language, and exports built from nurse texts read the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from triage.answer.assess import Assessor
from triage.answer.model import Assessment, Finding, SafetyNetLine
from triage.engine.report import Report
from triage.knowledge.base import KnowledgeBase

ENGLISH_CODE = "en"  # the language code of the knowledge base as written (its translations are others)


def _with_nurse_reason(finding: Finding, nurse_reason: str) -> Finding:
    """`finding` with this nurse reason: itself when it already says it, else a copy. Built
    from its fields directly (all of a Finding's fields are init fields): dataclasses.replace
    looks the fields up again on every call, and this runs for every finding of every answer."""
    if finding.nurse_reason == nurse_reason:
        return finding
    return Finding(**{**vars(finding), "nurse_reason": nurse_reason})


def _nurse_words(local: tuple[Finding, ...], english: tuple[Finding, ...]) -> tuple[Finding, ...]:
    if [(f.rule, f.symptom) for f in local] != [(f.rule, f.symptom) for f in english]:
        raise RuntimeError("a translated knowledge base reached other findings than the English one")
    return tuple(_with_nurse_reason(f, e.nurse_reason) for f, e in zip(local, english, strict=True))


def _nurse_net(local: tuple[SafetyNetLine, ...], english: tuple[SafetyNetLine, ...]) -> tuple[SafetyNetLine, ...]:
    """The safety net in the patient's words with the English nurse's words, line for line: a
    translation merges its lines as the English does (the translation loader checks it)."""
    if [(x.level, x.symptoms) for x in local] != [(e.level, e.symptoms) for e in english]:
        raise RuntimeError("a translated knowledge base gave other safety-net lines than the English one")
    return tuple(
        x if x.nurse_text == e.nurse_text else dataclasses.replace(x, nurse_text=e.nurse_text)
        for x, e in zip(local, english, strict=True)
    )


def in_language(local: Assessment, english: Assessment) -> Assessment:
    """`local` (a translated knowledge base's answer) with the English answer's nurse words."""
    same = ("disposition", "emergency", "recheck_in_hours", "kb_version", "kb_digest", "report")
    if any(getattr(local, k) != getattr(english, k) for k in same):
        raise RuntimeError("a translated knowledge base gave another answer than the English one")
    return dataclasses.replace(
        local,
        findings=_nurse_words(local.findings, english.findings),
        more_detail=_nurse_words(local.more_detail, english.more_detail),
        safety_net=_nurse_net(local.safety_net, english.safety_net),
    )


class LanguageAssessor:
    """An Assessor that words its answers for patients in `language` (same interface)."""

    def __init__(self, english: Assessor, language: str, cache_size: int) -> None:
        self.english = english
        self.language = language
        self.local = (
            english
            if language == ENGLISH_CODE
            else Assessor(english.kb.in_language(language), cache_size, decided_by=english)
        )

    @property
    def kb(self) -> KnowledgeBase:
        return self.local.kb

    def assess(
        self,
        symptoms: Iterable[str] | str,
        hours: Any,
        factors: Iterable[str] = (),
        worsening: Any = False,
        worse: Iterable[str] = (),
    ) -> Assessment:
        """As Assessor.assess; the report is read against the English ids (ids are the same)."""
        answer = self.english.assess(symptoms, hours, factors, worsening, worse)
        return self.assess_report(answer.report, answer)

    def assess_report(self, report: Report, english: Assessment | None = None) -> Assessment:
        english = english if english is not None else self.english.assess_report(report)
        if self.local is self.english:
            return english
        return in_language(self.local.assess_report(report), english)
