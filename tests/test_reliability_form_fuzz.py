"""Fuzzing the public form (/) and the nurse console (/nurse): whatever is posted, the page
answers (200) or shows the form again with the problems (400): never a 5xx.

The forms are not in the OpenAPI description, so schemathesis does not reach them; these read
dates, clock times, time zones and free text, which is where parsing code breaks.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support import build_app, shipped_kb
from tests.web_helpers import signed_in_client

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def form_app() -> Iterator[Flask]:
    """One app for every test and example here (on the session's shared records database)."""
    app = build_app(LOG_REQUESTS=False, WTF_CSRF_ENABLED=False, NOW=lambda: NOW)
    yield app
    app.extensions["triage_db"].dispose()


@pytest.fixture(scope="module")
def nurse_client(form_app: Flask) -> Any:
    """One signed-in nurse client for every example (signing in hashes a password: slow)."""
    return signed_in_client(form_app)


SYMPTOMS, FACTORS = list(shipped_kb().symptoms), list(shipped_kb().factors)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXT = st.text(max_size=20)
NUMBER_TEXT = st.one_of(
    st.floats().map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["30", "30 h", "30hours", "1,5", " 12 ", "-0", "nan", "inf", "1e999", "8760", "8760.01", ""]),
    TEXT,
)
DATE_TEXT = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-11-25", "2026-02-29", "0001-01-01", "9999-12-31", "2026-13-01", "25/11/2026", ""]),
    TEXT,
)
TIME_TEXT = st.one_of(
    st.times().map(lambda t: t.isoformat()),
    st.sampled_from(["14:30", "24:00", "23:59:60", "02:30", "14:30+05:00", "14:30Z", "2pm", ""]),
    TEXT,
)
ZONE = st.one_of(
    st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "Etc/GMT+12"]),
    st.sampled_from(["Mars/Olympus", "../../etc/passwd", "", "utc"]),
    TEXT,
)
YES_NO = st.one_of(st.sampled_from(["yes", "no", "", "YES", "maybe"]), TEXT)
SEVERITY = st.one_of(st.sampled_from(["mild", "moderate", "severe", "", "Severe"]), TEXT)


@st.composite
def patient_form(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(SYMPTOMS) | TEXT, max_size=6))
    data: dict[str, Any] = {"symptom": chosen}
    for sid in chosen:
        if draw(st.booleans()):
            data[f"severity-{sid}"] = draw(SEVERITY)
    when = draw(st.sampled_from(["hours", "date", "both", "neither"]))
    if when in ("hours", "both"):
        data["hours"] = draw(NUMBER_TEXT)
    if when in ("date", "both"):
        data["ended_date"], data["ended_time"] = draw(DATE_TEXT), draw(TIME_TEXT)
    if draw(st.booleans()):
        data["timezone"] = draw(ZONE)
    for fid in FACTORS:
        if draw(st.integers(0, 9)):
            data[f"factor-{fid}"] = draw(YES_NO)
    if draw(st.integers(0, 9)):
        data["worsening"] = draw(YES_NO)
    for _ in range(draw(st.integers(0, 2))):
        data[draw(st.text(string.ascii_letters + "-_[]", min_size=1, max_size=12))] = draw(TEXT)
    return data


@st.composite
def answered_patient_form(draw: st.DrawFn) -> dict[str, Any]:
    """Every question answered sensibly, with any date, time and zone: the result page is drawn."""
    chosen = draw(st.lists(st.sampled_from(SYMPTOMS), min_size=1, max_size=5, unique=True))
    data: dict[str, Any] = {"symptom": chosen, "worsening": draw(st.sampled_from(["yes", "no"]))}
    data |= {f"severity-{sid}": draw(st.sampled_from(["mild", "moderate", "severe"])) for sid in chosen}
    data |= {f"factor-{fid}": draw(st.sampled_from(["yes", "no"])) for fid in FACTORS}
    data["timezone"] = draw(
        st.sampled_from(["UTC", "Europe/London", "Asia/Tokyo", "Pacific/Kiritimati", "America/St_Johns"])
    )
    if draw(st.booleans()):
        data["hours"] = str(draw(st.floats(0, 8760)))
    else:
        moment = draw(st.datetimes(min_value=datetime(2025, 11, 1), max_value=datetime(2026, 11, 26)))
        data["ended_date"], data["ended_time"] = moment.date().isoformat(), moment.strftime("%H:%M")
    return data


@st.composite
def nurse_form(draw: st.DrawFn) -> dict[str, Any]:
    typed = st.tuples(st.sampled_from(SYMPTOMS), st.sampled_from(["", ":mild", ":severe", ":x"])).map("".join)
    words = draw(st.lists(typed | TEXT, max_size=45))
    data: dict[str, Any] = {"symptoms": draw(st.sampled_from([" ", ",", ";", "\n", ", "])).join(words)}
    if draw(st.integers(0, 9)):
        data["hours"] = draw(NUMBER_TEXT)
    data["factor"] = draw(st.lists(st.sampled_from(FACTORS) | TEXT, max_size=4))
    if draw(st.booleans()):
        data["worsening"] = draw(YES_NO)
    if draw(st.booleans()):
        data["timezone"] = draw(ZONE)
    return data


def assert_page(response: Any) -> None:
    assert response.status_code in (200, 400), response.status_code
    assert "text/html" in response.content_type
    assert response.get_data(as_text=True).lstrip().lower().startswith("<!doctype html")


@FUZZ
@given(data=patient_form())
@example(
    data={
        "symptom": ["redness"],
        "severity-redness": "mild",
        "ended_date": "0001-01-01",
        "ended_time": "00:00",
        "timezone": "Asia/Tokyo",
        "worsening": "no",
    }
)
@example(
    data={
        "symptom": ["redness"],
        "severity-redness": "mild",
        "ended_date": "9999-12-31",
        "ended_time": "23:59",
        "timezone": "Pacific/Kiritimati",
        "worsening": "no",
    }
)
@example(
    data={
        "symptom": ["redness"],
        "severity-redness": "mild",
        "ended_date": "2026-03-29",
        "ended_time": "01:30",
        "timezone": "Europe/London",
        "worsening": "no",
    }
)
def test_patient_form_never_fails(form_app: Flask, data: dict[str, Any]) -> None:
    assert_page(form_app.test_client().post("/", data=data))


@FUZZ
@given(data=answered_patient_form())
def test_answered_patient_form_gives_a_result_page(form_app: Flask, data: dict[str, Any]) -> None:
    response = form_app.test_client().post("/", data=data)
    assert_page(response)
    if "hours" in data:
        assert response.status_code == 200  # every answer valid: only a future date may be refused


@FUZZ
@given(data=nurse_form())
def test_nurse_console_never_fails(nurse_client: Any, data: dict[str, Any]) -> None:
    assert_page(nurse_client.post("/nurse", data=data))
