"""The app's JSON responses (web.json_provider): orjson writes them, as Flask would have.

Compared with Flask's own provider on the same objects: the same value always, the same bytes
whenever the text is ASCII and no number is below 0.0001 in magnitude (the two differences of
form the module names), and Flask's own writer where orjson's options cannot match it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import random
import uuid
from typing import Any

import pytest
from flask.json.provider import DefaultJSONProvider

from triage import Assessor
from triage.vocabulary import SEVERITIES
from web.json_provider import OrjsonProvider


def _both(app: Any, obj: Any) -> tuple[bytes, bytes]:
    """(the app's response body, Flask's own provider's) for `obj`."""
    with app.app_context():
        return app.json.response(obj).get_data(), DefaultJSONProvider(app).response(obj).get_data()


def _answers(assessor: Assessor, n: int) -> list[dict[str, Any]]:
    rng = random.Random(14)
    kb = assessor.kb
    out = []
    for _ in range(n):
        symptoms = [f"{s}:{rng.choice(SEVERITIES)}" for s in rng.sample(list(kb.symptoms), rng.randint(1, 4))]
        factors = rng.sample(list(kb.factors), rng.randint(0, 2))
        hours = rng.choice([round(rng.uniform(0, 400), rng.randint(0, 3)), rng.randint(0, 400)])
        out.append(assessor.assess(symptoms, hours, factors, rng.random() < 0.3).to_dict())
    return out


def test_the_app_writes_responses_with_orjson(app):  # type: ignore[no-untyped-def]
    assert isinstance(app.json, OrjsonProvider)


def test_answers_are_flasks_json_byte_for_byte(app, assessor):  # type: ignore[no-untyped-def]
    """300 random English answers (ASCII, hours of at most three decimals): identical bytes."""
    for answer in _answers(assessor, 300):
        ours, flasks = _both(app, answer)
        assert ours == flasks


def test_non_ascii_text_is_utf8_with_the_same_value(app):  # type: ignore[no-untyped-def]
    obj = {"razón": "enrojecimiento leve · día 2 — “ok” 😀", "z": ["é"], "a": 1}
    ours, flasks = _both(app, obj)
    assert ours == (json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert json.loads(ours) == json.loads(flasks) == obj
    assert ours != flasks  # Flask escapes it: \u00f3


@pytest.mark.parametrize("number", [0.0, -0.0, 1e-4, 0.01, 2.5, 30, 400.0, 1 / 3, 1e15, 2**53])
def test_numbers_are_written_as_python_writes_them(app, number):  # type: ignore[no-untyped-def]
    ours, flasks = _both(app, {"n": number})
    assert ours == flasks


@pytest.mark.parametrize("number", [1e-5, 1e-7, -3.2e-9])
def test_tiny_numbers_keep_their_value(app, number):  # type: ignore[no-untyped-def]
    ours, flasks = _both(app, {"n": number})
    assert json.loads(ours) == json.loads(flasks) == {"n": number}


def test_what_orjson_cannot_write_goes_through_flasks_default(app):  # type: ignore[no-untyped-def]
    @dataclasses.dataclass
    class Point:
        y: int
        x: int

    class Html:
        def __html__(self) -> str:
            return "<b>x</b>"

    obj = {
        "when": datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 11, 30),
        "id": uuid.UUID(int=14),
        "point": Point(2, 1),
        "html": Html(),
    }
    ours, flasks = _both(app, obj)
    assert ours == flasks


@pytest.mark.parametrize("obj", [{10: "a", 9: "b"}, {"big": 2**70}, {"n": -(2**64)}])
def test_what_orjson_refuses_is_written_by_flask(app, obj):  # type: ignore[no-untyped-def]
    ours, flasks = _both(app, obj)
    assert ours == flasks


def test_a_debug_app_gets_flasks_indented_json(app):  # type: ignore[no-untyped-def]
    app.debug = True
    ours, flasks = _both(app, {"b": 1, "a": [1, 2]})
    assert ours == flasks and b"\n  " in ours
