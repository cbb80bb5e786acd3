"""The API's answer check in parts (web.answer_check) is the whole schema check: on many
random answers, and on answers broken one field at a time, it passes exactly when the bytes
sent pass AssessmentOut; each distinct finding is checked once; and a request whose answer
passed is not checked again by spectree."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from flask import Response, jsonify
from pydantic import ValidationError

import web.answer_check
from triage import Assessor, KnowledgeBase
from triage.answer.model import Assessment
from triage.vocabulary import Disposition, Severity
from verification.reports import random_reports
from web.answer_check import AnswerCheck
from web.schemas import AssessmentOut

CONTACT = {"clinic": "C", "phone": "1", "out_of_hours": "2", "emergency_number": "112", "country": "GB"}


def _whole_check_passes(body: bytes) -> bool:
    try:
        AssessmentOut.model_validate_json(body)
    except ValidationError:
        return False
    return True


def _broken(answer: Assessment, rng: random.Random) -> tuple[Assessment, dict[str, Any]]:
    """The answer with one field of the wrong kind: at the top, in the report, or in a finding."""
    bad = rng.choice([None, "soon", 3, ["x"], {"x": 1}, float("inf")])
    where = rng.choice(["top", "report", "finding", "data", "contact"])
    if where == "top":
        field = rng.choice(["summary", "disposition", "emergency", "advice", "kb_version", "recheck_in_hours"])
        answer = dataclasses.replace(answer, **{field: (bad,) if field == "advice" else bad})
    elif where == "report":
        answer = dataclasses.replace(answer, report=dataclasses.replace(answer.report, symptoms=(("redness", bad),)))
    elif where == "finding" and answer.findings:
        field = rng.choice(["rule", "reason", "disposition", "until_hours", "symptoms", "severity", "kind"])
        value = (bad,) if field == "symptoms" else bad
        findings = (dataclasses.replace(answer.findings[0], **{field: value}), *answer.findings[1:])
        answer = dataclasses.replace(answer, findings=findings)
    data = answer.to_dict()
    if where == "data":
        data[rng.choice(["reference", "record_error", "unknown"])] = bad
    elif where == "contact":
        data["contact"] = {**CONTACT, rng.choice([*CONTACT, "x"]): bad}
    return answer, data


def test_the_check_in_parts_agrees_with_the_whole_check(app, kb: KnowledgeBase) -> None:  # type: ignore[no-untyped-def]
    check, assessor, rng = AnswerCheck(AssessmentOut), Assessor(kb), random.Random(8)
    broken = stricter = 0
    with app.app_context():
        for raw in random_reports(kb, 600, seed=88):
            answer = assessor.assess(*raw)
            data = {**answer.to_dict(), "contact": CONTACT}
            response = jsonify(data)
            assert check.passes(response, answer, data) and _whole_check_passes(response.get_data()), raw
            bad_answer, bad_data = _broken(answer, rng)
            try:
                bad_response = jsonify(bad_data)
            except TypeError:  # not even written (then never sent)
                continue
            whole = _whole_check_passes(bad_response.get_data())
            broken += not whole
            if check.passes(bad_response, bad_answer, bad_data):  # else spectree checks the bytes
                assert whole, (raw, bad_data)
            else:
                stricter += whole
    assert broken > 300  # most changes really break the schema (else nothing is tested)
    assert stricter < 30  # the parts pass nearly everything the whole check passes


def test_each_distinct_finding_is_checked_once(app, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    checked: list[Any] = []
    validate = web.answer_check.FindingOut.model_validate_json
    monkeypatch.setattr(
        web.answer_check.FindingOut, "model_validate_json", lambda shape: checked.append(shape) or validate(shape)
    )
    check, assessor = AnswerCheck(AssessmentOut), Assessor(kb)

    def passes(answer: Assessment) -> bool:
        data = answer.to_dict()
        return check.passes(jsonify(data), answer, data)

    with app.app_context():
        answer = assessor.assess(["redness:mild", "swelling:severe"], 30)
        assert passes(answer)
        first = len(checked)
        assert first == len(answer.findings) + len(answer.more_detail) > 0
        again = assessor.assess(["redness:mild", "swelling:severe"], 31)  # other hours: the same worded findings
        assert all(f in answer.findings + answer.more_detail for f in again.findings + again.more_detail)
        assert passes(again) and len(checked) == first
        # an equal finding that is another object is checked (the memory is of objects, not values)
        copy = dataclasses.replace(again, findings=tuple(dataclasses.replace(f) for f in again.findings))
        assert passes(copy) and len(checked) == first + len(again.findings)


def test_an_answer_checked_in_parts_is_not_checked_again(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from spectree.model_adapter.pydantic_adapter import PydanticModelAdapter

    bytes_checked: list[type] = []
    validate_json = PydanticModelAdapter.validate_json
    monkeypatch.setattr(
        PydanticModelAdapter,
        "validate_json",
        lambda self, model, data: bytes_checked.append(model) or validate_json(self, model, data),
    )
    r = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": 30})
    assert r.status_code == 200 and AssessmentOut.model_validate_json(r.get_data())
    assert AssessmentOut not in bytes_checked
    client.get("/healthz")
    assert bytes_checked  # other responses are still checked from their bytes


KINDS = [None, True, False, 0, 1, -1, 1.5, float("nan"), float("inf"), 10**30, "", "x", "1.5", "true", "mild"]
KINDS += ["contact clinician", [], ["x"], [1], {}, {"x": 1}, ("x",), Severity.MILD, Disposition.MONITOR]


def test_the_answer_without_findings_is_read_no_looser_than_its_json(app, kb: KnowledgeBase) -> None:  # type: ignore[no-untyped-def]
    """The first part is checked from the dict; with a value of each kind in each field (and in
    each field of the report and the contact), it never passes where the JSON, as the app
    writes it, would not."""
    answer = Assessor(kb, cache_size=0).assess(["redness:mild"], 30)
    base = {**answer.to_dict(), "findings": [], "more_detail": [], "contact": CONTACT, "reference": "R"}
    variants = [{**base, field: value} for field in [*base, "record_error", "unknown"] for value in KINDS]
    for part in ("report", "contact"):
        variants += [{**base, part: {**base[part], field: value}} for field in [*base[part], "x"] for value in KINDS]
    stricter = 0
    with app.app_context():
        for data in variants:
            whole = _whole_check_passes(jsonify(data).get_data())
            try:
                AssessmentOut.model_validate(data)
            except ValidationError:
                stricter += whole
                continue
            assert whole, data
    assert len(variants) > 500 and stricter < len(variants) // 10


def _post_redness(client, hours: float, **extra: Any):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": hours, **extra})


def test_a_repeated_answer_is_sent_as_first_written(app, client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A report asked again (the answer cache's own Assessment) goes out as the bytes and
    headers first sent, without writing or checking it again; the first ones are those of the
    whole check."""
    import web.assessor

    with app.app_context():  # the answer cache may be a process's, shared with other tests
        cache = web.assessor.current_assessor().cache
    assert cache is not None
    cache.clear()
    first = _post_redness(client, 30)
    assert first.status_code == 200 and _whole_check_passes(first.get_data())
    _post_redness(client, 30)  # the answer cache keeps it from its second time
    written: list[Assessment] = []
    to_dict = Assessment.to_dict
    monkeypatch.setattr(Assessment, "to_dict", lambda self: written.append(self) or to_dict(self))
    third, fourth = _post_redness(client, 30), _post_redness(client, 30)
    # the answer cache kept the second's answer: the third sends it a second time, so writes it
    # once more and keeps the bytes; the fourth sends those
    assert len(written) == 1
    assert _post_redness(client, 30.5).status_code == 200 and len(written) == 2  # a new report is written
    for again in (third, fourth):
        assert again.get_data() == first.get_data()
        assert sorted(again.headers.items()) == sorted(first.headers.items())
    # an answer asked with record=true is stored and written afresh, with its own reference
    key = app.test_cli_runner().invoke(args=["api-key", "create", "ehr"]).output.splitlines()[-1]
    stored = [
        client.post(
            "/api/v1/assess",
            json={"symptoms": [{"id": "redness"}], "hours": 30, "record": True},
            headers={"Authorization": f"Bearer {key}"},
        ).get_json()["reference"]
        for _ in range(2)
    ]
    assert stored[0] != stored[1] and len(written) >= 4  # each written again (and stored)


def test_written_answers_go_with_their_answers(app, client) -> None:  # type: ignore[no-untyped-def]
    """New reports (hours as a clock difference) leave nothing behind once their answers are
    dropped; a repeated one stays as long as the answer cache holds its answer."""
    import gc

    import web.api
    import web.assessor

    with app.app_context():
        written, cache = web.api._written_answers(), web.assessor.current_assessor().cache
    assert cache is not None
    cache.clear()
    gc.collect()
    for _ in range(3):
        _post_redness(client, 30)
    for i in range(40):
        assert _post_redness(client, 31 + i / 100).status_code == 200
    gc.collect()
    assert len(written) == 1
    cache.clear()
    gc.collect()
    assert len(written) == 0


def test_written_answers_are_kept_per_answer_object_and_clinic(kb: KnowledgeBase) -> None:
    from web.answer_check import WrittenAnswers

    assessor, written, clinic = Assessor(kb, cache_size=0), WrittenAnswers(), object()
    answer = assessor.assess(["redness"], 30)
    response = Response(b"sent")
    written.offer(answer, clinic, response)
    assert written.get(answer, clinic) is None and len(written) == 0  # sent once: noted, not kept
    for hours in range(2 * web.answer_check.SEEN_ONCE):  # answers sent once are noted in a bounded list
        written.offer(assessor.assess(["redness"], hours / 10), clinic, response)
    assert len(written._seen) <= web.answer_check.SEEN_ONCE and len(written) == 0
    written.offer(answer, clinic, response)
    written.offer(answer, clinic, response)
    assert written.get(answer, clinic) == b"sent"
    assert written.get(answer, object()) is None  # another clinic's contact
    assert written.get(answer, None) is None
    equal = assessor.assess(["redness"], 30)
    assert equal == answer and written.get(equal, clinic) is None  # an equal answer, another object
