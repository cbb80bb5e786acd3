"""Nurse console: typed report, every finding's rule, reason and source, and the note."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

from tests.web_helpers import csrf_token
from triage import assess, default_assessor


def submit(client, **data):  # type: ignore[no-untyped-def]
    data.setdefault("timezone", "UTC")
    data["csrf_token"] = csrf_token(client, "/nurse")
    return client.post("/nurse", data=data)


def test_console_page(client):  # type: ignore[no-untyped-def]
    page = html.unescape(client.get("/nurse").get_data(as_text=True))
    kb = default_assessor().kb
    assert 'id="symptoms"' in page and "autofocus" in page and 'id="hours"' in page and 'id="worsening"' in page
    assert all(f'id="factor-{f}"' in page for f in kb.factors)
    assert all(s in page for s in kb.symptoms)  # the id reference table


def test_console_answer_and_note(client, app):  # type: ignore[no-untyped-def]
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    r = submit(client, symptoms="redness:mild, pain:severe", hours="30", factor=["diabetes"], worsening="yes")
    assert r.status_code == 200
    page = html.unescape(r.get_data(as_text=True))
    answer = assess(["redness:mild", "pain:severe"], 30, ["diabetes"], True)
    for f in answer.findings:
        assert f.rule in page and f.nurse_reason in page and f.source in page
    assert answer.kb_version in page
    note = page[page.index('<textarea id="note"') : page.index("</textarea>")]
    assert "Time of assessment: 2026-11-25 09:30 UTC" in note
    assert f"Knowledge base version: {answer.kb_version}" in note
    assert f"Knowledge base digest: {answer.kb_digest}" in note and answer.kb_digest.startswith("sha256:")
    assert f"(digest {answer.kb_digest[7:19]})" in page
    assert "Disposition: CONTACT CLINICIAN" in note
    assert "redness [redness] (mild)" in note and "pain [pain] (severe)" in note
    assert "Diabetes [diabetes]" in note and "getting worse: yes" in note
    assert all(f"(rule {f.rule})" in note for f in answer.findings)
    assert "Advice given:" in note and "Re-check: none; act now" in note
    assert 'id="copy-note"' in page


def test_note_recheck_for_expected(client, app):  # type: ignore[no-untyped-def]
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    page = html.unescape(submit(client, symptoms="redness:mild", hours="6").get_data(as_text=True))
    assert "Disposition: EXPECTED" in page
    assert "Re-check: in 42 hours, at 03:00 on Friday 27 November (UTC), 2 days (48 hours) after the session." in page


def test_console_and_note_list_the_safety_net_given(client):  # type: ignore[no-untyped-def]
    page = html.unescape(submit(client, symptoms="hives swelling", hours="1").get_data(as_text=True))
    answer = assess(["hives", "swelling"], 1)
    assert answer.safety_net and not answer.emergency
    given = page[page.index('id="safety-net-title"') : page.index("</div>", page.index('id="safety-net-title"'))]
    assert "Safety-net advice given" in given
    note = page[page.index('<textarea id="note"') : page.index("</textarea>")]
    assert note.index("Advice given:") < note.index("Safety-net advice given:") < note.index("Re-check:")
    for line in answer.safety_net:
        assert line.nurse_text in given and line.text in given  # the nurse's words, and what the patient was told
        assert line.nurse_text in note
    assert "- Call emergency services now (Swelling, Hives): Emergency if lip, tongue or throat swelling" in note
    assert "Urgent if" not in page
    expected = html.unescape(submit(client, symptoms="redness:mild", hours="6").get_data(as_text=True))
    assert "- Contact the clinic sooner (Redness): Same-day review if erythema spreads" in expected


def test_console_emergency(client):  # type: ignore[no-untyped-def]
    page = html.unescape(submit(client, symptoms="breathing-difficulty", hours="1").get_data(as_text=True))
    assert "EMERGENCY." in page and default_assessor().kb.header.emergency.nurse in page
    assert "Disposition: CONTACT CLINICIAN - EMERGENCY" in page
    assert "Safety-net advice given" not in page


def test_console_errors_name_the_value_and_keep_input(client):  # type: ignore[no-untyped-def]
    r = submit(client, symptoms="redness:mild glitter", hours="30", factor=["diabetes"])
    assert r.status_code == 400
    page = html.unescape(r.get_data(as_text=True))
    assert "unknown symptom 'glitter'; valid symptoms: redness, swelling" in page
    assert 'value="redness:mild glitter"' in page and 'value="30"' in page
    r = submit(client, symptoms="", hours="")
    page = html.unescape(r.get_data(as_text=True))
    assert "Type at least one symptom id" in page and "Enter the hours since the session ended." in page
    r = submit(client, symptoms="redness:awful", hours="x", factor=["bogus"])
    page = html.unescape(r.get_data(as_text=True))
    assert 'You entered "x"' in page
    r = submit(client, symptoms="redness", hours="3", factor=["bogus"])
    page = html.unescape(r.get_data(as_text=True))
    assert "unknown factor 'bogus'; valid factors:" in page


def test_console_lists_every_problem_in_one_round_and_suggests_the_nearest_id(client):  # type: ignore[no-untyped-def]
    r = submit(client, symptoms="fevr redness:awful", hours="soon", factor=["diabets"])
    assert r.status_code == 400
    page = html.unescape(r.get_data(as_text=True))
    summary = page[page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))]
    assert "unknown symptom 'fevr' (did you mean 'fever'?)" in summary
    assert "unknown severity 'awful'" in summary
    assert "unknown factor 'diabets' (did you mean 'diabetes'?)" in summary
    assert 'You entered "soon"' in summary


def test_console_emergency_does_not_say_same_day_review(client):  # type: ignore[no-untyped-def]
    kb = default_assessor().kb
    page = html.unescape(
        submit(client, symptoms="swelling:severe lip-tongue-swelling", hours="1").get_data(as_text=True)
    )
    note = page[page.index('id="note"') :]
    assert f"Action: {kb.header.emergency.nurse}" in note
    assert kb.header.dispositions["contact-clinician"].nurse not in page
    assert "Check again" not in note and "More detail" in note


def test_console_csrf(client):  # type: ignore[no-untyped-def]
    r = client.post("/nurse", data={"symptoms": "redness", "hours": "3"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "expired" in page and 'value="redness"' in page and "Disposition:" not in page


@pytest.fixture
def client(nurse_client):  # type: ignore[no-untyped-def]
    """The console needs a signed-in nurse: every test here runs as one."""
    return nurse_client


def test_console_needs_sign_in(app):  # type: ignore[no-untyped-def]
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/")  # a valid form token is still not a sign-in
    posted = anonymous.post("/nurse", data={"symptoms": "redness", "hours": "3", "csrf_token": token})
    for response in (anonymous.get("/nurse"), posted):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/nurse/login?next=")
    assert anonymous.get("/").status_code == 200  # the patient form needs no account
