"""The answer's JSON shape is defined once (triage.answer.schema): every answer the engine gives
validates against it with no field left over, and the schema names no field the answer lacks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from triage import Assessor
from triage.answer.schema import AnswerOut, FindingOut, ReportOut, SafetyNetOut
from verification.reports import report_mix
from verification.vignettes import VIGNETTE_FILES, load_vignettes


def _answers(assessor: Assessor) -> list[dict[str, Any]]:
    """Answers to every public vignette and a seeded mix of random reports."""
    answers = []
    for case in load_vignettes(*VIGNETTE_FILES):
        try:
            answer = assessor.assess(
                case["symptoms"], case["hours"], case.get("factors", []), case.get("worsening", False)
            )
        except ValueError:
            continue  # a case the knowledge base cannot read yet is the vignette tests' business
        answers.append(answer.to_dict())
    answers += [assessor.assess(*report).to_dict() for report in report_mix(assessor.kb, 300, seed=11)]
    return answers


def test_every_answer_validates_against_the_schema(assessor: Assessor) -> None:
    for answer in _answers(assessor):
        AnswerOut.model_validate(answer)  # extra="forbid": a field the schema lacks fails here


@pytest.mark.parametrize(
    ("model", "pick"),
    [
        (AnswerOut, lambda a: [a]),
        (FindingOut, lambda a: a["findings"]),
        (ReportOut, lambda a: [a["report"]]),
        (SafetyNetOut, lambda a: a["safety_net"]),
    ],
)
def test_the_schema_names_no_field_the_answer_lacks(assessor: Assessor, model: type[BaseModel], pick: Any) -> None:
    seen: set[str] = set()
    for answer in _answers(assessor)[:60]:
        for part in pick(answer):
            seen |= set(part)
    assert set(model.model_fields) == seen
