"""CDS Hooks (triage/cds_hooks.py): the response and discovery documents match the CDS Hooks 2.0
card and service shapes (pydantic models of the spec below), the indicator follows the engine's
answer, and every summary stays under the spec's 140 characters."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from triage import assess
from triage.exports.cds_hooks import SUMMARY_MAX, cds_hooks_response, discovery, indicator
from triage.exports.triage_codes import TRIAGE_CODE_SYSTEM


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Coding(_Spec):
    code: str
    system: str | None = None
    display: str | None = None


class Source(_Spec):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Link(_Spec):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(_Spec):
    """CDS Hooks 2.0 Card: summary, indicator and source required; summary under 140 characters."""

    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[dict[str, Any]] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None


class Response(_Spec):
    cards: list[Card]
    systemActions: list[dict[str, Any]] | None = None


class Service(_Spec):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(_Spec):
    services: list[Service]


def _card(answer: dict[str, Any], kb, reference: str | None = None) -> Card:  # type: ignore[no-untyped-def]
    response = Response.model_validate(cds_hooks_response(answer, kb, reference))
    assert len(response.cards) == 1
    return response.cards[0]


CASES = [
    (["redness:mild"], 6, "expected", False, "info"),
    (["redness"], 60, "monitor", False, "warning"),
    (["redness"], 200, "contact clinician", False, "critical"),
    (["pain:severe"], 30, "contact clinician", False, "critical"),
    (["lip-tongue-swelling"], 1, "contact clinician", True, "critical"),
    (["breathing-difficulty", "hives", "redness:mild"], 2, "contact clinician", True, "critical"),
]


@pytest.mark.parametrize(("symptoms", "hours", "disposition", "emergency", "expected"), CASES)
def test_indicator_follows_the_engine_answer(symptoms, hours, disposition, emergency, expected, kb) -> None:
    answer = assess(symptoms, hours).to_dict()
    assert (answer["disposition"], answer["emergency"]) == (disposition, emergency)
    card = _card(answer, kb, "K7M-4QX")
    assert card.indicator == expected == indicator(answer)
    assert card.source.label == f"Microneedling triage, knowledge base {kb.version}"
    assert card.source.topic is not None and card.source.topic.system == TRIAGE_CODE_SYSTEM
    assert card.source.topic.code == disposition.replace(" ", "-")
    assert card.detail is not None
    for finding in answer["findings"]:
        assert f"rule `{finding['rule']}`" in card.detail
    if emergency:
        assert card.summary.startswith("EMERGENCY")
        assert "**Emergency:**" in card.detail


def test_detail_names_rule_reason_and_source(kb) -> None:
    answer = assess(["redness:mild", "swelling"], 30, factors=["prp"]).to_dict()
    detail = _card(answer, kb).detail
    assert detail is not None
    for f in answer["findings"]:
        assert f"rule `{f['rule']}`" in detail
        assert f["source"].split(";")[0] in detail
        assert f["nurse_reason"].split(" (")[0].split(",")[0] in detail
    assert kb.version in detail and "Platelet-rich plasma" in detail


def test_markdown_in_knowledge_texts_is_escaped(kb) -> None:
    answer = assess(["redness:mild"], 6).to_dict()
    answer["findings"][0]["nurse_reason"] = "A *bold* claim with a [link](http://x) and <b>html</b> | pipe"
    detail = _card(answer, kb).detail
    assert detail is not None
    assert r"\*bold\*" in detail and r"\[link\]" in detail and r"\<b\>" in detail and r"\|" in detail


def test_every_card_gets_a_random_uuid(kb) -> None:
    """Two patients with the same report get two cards, so the EHR's feedback names one card."""
    answer = assess(["redness"], 60).to_dict()
    one, two = _card(answer, kb, "K7M-4QX"), _card(dict(answer), kb, "K7M-4QX")
    assert one.uuid != two.uuid
    assert uuid.UUID(one.uuid or "").version == 4


def test_the_detail_is_in_the_nurses_words(kb) -> None:
    answer = assess(["redness:mild", "fever"], 30).to_dict()
    detail = _card(answer, kb).detail or ""
    assert kb.header.disclaimer not in detail and "supports, and does not replace, clinical judgement" in detail
    for finding in answer["findings"]:
        assert finding["reason"] not in detail


@pytest.mark.parametrize("hours", [0.5, 30, 100, 500, 8760])
def test_summary_fits_for_every_symptom(hours: float, kb) -> None:
    for sid in kb.symptoms:
        for severity in ("mild", "severe"):
            answer = assess([f"{sid}:{severity}"], hours, worsening=True).to_dict()
            summary = _card(answer, kb).summary
            assert len(summary) <= SUMMARY_MAX < 140
            assert kb.symptoms[sid].name in summary


def test_summary_fits_with_every_symptom_at_once(kb) -> None:
    answer = assess([f"{sid}:severe" for sid in kb.symptoms], 1234.56, factors=list(kb.factors)).to_dict()
    summary = _card(answer, kb).summary
    assert len(summary) <= SUMMARY_MAX and "more" in summary and summary.startswith("EMERGENCY")


def test_discovery_lists_one_service() -> None:
    doc = Discovery.model_validate(discovery())
    assert [s.id for s in doc.services] == ["microneedling-triage"]
    service = doc.services[0]
    assert service.hook == "patient-view"
    assert service.prefetch == {
        "triageResponse": "QuestionnaireResponse?patient={{context.patientId}}&questionnaire="
        "urn:microneedling-triage:questionnaire&status=completed,amended&_sort=-authored&_count=1"
    }
    assert service.usageRequirements and "org.microneedling-triage.report" in service.usageRequirements


@pytest.mark.parametrize("module", ["cds_hooks", "fhir", "fhir_actors", "triage_codes", "questionnaire_response"])
def test_exports_import_no_flask_database_or_fhir_library(module: str) -> None:
    """The exports are pure: only the standard library and triage (read from the source, so
    whatever triage/__init__.py imports does not blur the check)."""
    import ast
    from pathlib import Path

    from tests.support import REPO

    tree = ast.parse(Path(REPO / "triage" / "exports" / f"{module}.py").read_text())
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert roots <= {"__future__", "collections", "dataclasses", "datetime", "json", "typing", "uuid", "triage"}


@pytest.mark.parametrize(
    ("symptoms", "hours", "factors", "worsening"),
    [
        (["redness:mild", "swelling:severe"], 30, ["prp"], False),
        (["fever", "pus", "pain:severe"], 72, [], True),
        (["rash", "burning:mild"], 5.5, ["isotretinoin", "prp"], False),
    ],
)
def test_a_report_reads_back_from_its_questionnaire_response(symptoms, hours, factors, worsening, kb) -> None:
    """What the CDS Hooks service reads from the prefetch is the report the export wrote."""
    from datetime import UTC, datetime

    from triage.exports.fhir import ExportEntry, record_bundle
    from triage.exports.questionnaire_response import latest_response, report_from_response

    answer = assess(symptoms, hours, factors=factors, worsening=worsening).to_dict()
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    bundle = record_bundle("K7M-4QX", [ExportEntry(1, at, "api", answer)], kb, at)
    qr = latest_response(bundle)
    assert qr is not None
    report = report_from_response(qr, kb)
    again = assess(
        [f"{s['id']}:{s['severity']}" for s in report["symptoms"]],
        report["hours"],
        factors=report["factors"],
        worsening=report["worsening"],
    ).to_dict()
    assert again == answer
