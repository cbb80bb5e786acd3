"""Nurse record pages: open by code, the record and its course, call-back reports, overrides,
the overrides review and its CSV, the FHIR export; sign-in and audit on every one."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support import NURSE
from tests.web_helpers import csrf_token
from triage import Assessment, assess, default_assessor
from web.db import database
from web.storage import store
from web.storage.models import AuditEvent, Entry, Override, Record

ACTOR = f"nurse:{NURSE[0]}"


def make_record(app: Any, symptoms: list[str], hours: float, factors: tuple[str, ...] = ()) -> str:
    """A record started from the patient form, made through the store; its reference code."""
    with app.app_context(), database().transaction() as session:
        record = store.create_record(session, default_assessor().assess(symptoms, hours, list(factors)), "patient-form")
        return record.reference


def audit_events(app: Any) -> list[tuple[str, str, str | None]]:
    with app.app_context(), database().sessions() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.reference) for e in rows]


def entries(app: Any, code: str) -> list[Entry]:
    with app.app_context(), database().sessions() as session:
        record = session.scalar(select(Record).where(Record.reference == code))
        assert record is not None
        rows = list(session.scalars(select(Entry).where(Entry.record_id == record.id).order_by(Entry.seq)))
        for e in rows:  # load what the tests read before the session closes
            _ = e.nurse, [o.nurse for o in e.overrides]
        return rows


def count(app: Any, model: Any) -> int:
    with app.app_context(), database().sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def add_report(client: Any, code: str, **data: Any) -> Any:
    data["csrf_token"] = csrf_token(client, "/nurse/records")
    return client.post(f"/nurse/records/{code}/entries", data=data)


def override(client: Any, code: str, seq: int, **data: Any) -> Any:
    data["csrf_token"] = csrf_token(client, "/nurse/records")
    return client.post(f"/nurse/records/{code}/entries/{seq}/override", data=data)


@pytest.fixture
def code(app: Any) -> str:
    return make_record(app, ["redness:mild", "swelling"], 30)


# --- sign-in -------------------------------------------------------------------------------


def test_every_route_needs_sign_in(app: Any, code: str) -> None:
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/")  # a valid form token is still not a sign-in
    gets = [
        "/nurse/records",
        f"/nurse/records/open?code={code}",
        f"/nurse/records/{code}",
        f"/nurse/records/{code}/fhir.json",
        "/nurse/overrides",
        "/nurse/overrides.csv",
    ]
    posts = [
        (f"/nurse/records/{code}/entries", {"symptoms": "redness:severe", "hours": "60"}),
        (f"/nurse/records/{code}/entries/1/override", {"disposition": "monitor", "reason": "looks infected"}),
    ]
    responses = [anonymous.get(path) for path in gets]
    responses += [anonymous.post(path, data={**data, "csrf_token": token}) for path, data in posts]
    for response in responses:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/nurse/login?next=")
    assert len(entries(app, code)) == 1 and count(app, Override) == 0
    assert [a for _, a, _ in audit_events(app)] == ["create"]  # nothing viewed, nothing looked up


# --- open by code --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["lower", "nodash", " spaced "])
def test_open_by_code_in_any_case(nurse_client: Any, code: str, typed: str) -> None:
    variant = {"lower": code.lower(), "nodash": code.lower().replace("-", ""), " spaced ": f" {code[:3]} {code[4:]} "}
    response = nurse_client.get("/nurse/records/open", query_string={"code": variant[typed]})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/nurse/records/{code}"
    page = text(nurse_client.get(response.headers["Location"]))
    assert f"Record {code}" in page


def test_open_form(nurse_client: Any) -> None:
    response = nurse_client.get("/nurse/records")
    page = text(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Open a record by reference code" in page and 'name="code"' in page and "autofocus" in page


def test_unknown_and_malformed_codes(nurse_client: Any, app: Any, code: str) -> None:
    unknown = "XXX-XXX" if code != "XXX-XXX" else "YYY-YYY"
    response = nurse_client.get("/nurse/records/open", query_string={"code": unknown.lower()})
    assert response.status_code == 404
    page = text(response)
    assert f"There is no record with the code {unknown}" in page
    assert f'value="{unknown.lower()}"' in page  # what was typed is kept

    response = nurse_client.get("/nurse/records/open", query_string={"code": "k7m-4q"})
    assert response.status_code == 400
    page = text(response)
    assert '"k7m-4q" is not a reference code' in page and 'value="k7m-4q"' in page

    assert nurse_client.get(f"/nurse/records/{unknown}").status_code == 404
    misses = [(actor, action) for actor, action, _ in audit_events(app) if action == "not-found"]
    assert misses == [(ACTOR, "not-found")] * 3  # every miss is in the trail


# --- the record page -----------------------------------------------------------------------


def test_record_page_shows_the_patients_answer(nurse_client: Any, app: Any, code: str) -> None:
    response = nurse_client.get(f"/nurse/records/{code}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text(response)
    answer = assess(["redness:mild", "swelling"], 30)
    assert answer.findings
    for f in answer.findings:
        assert f"<code>{f.rule}</code>" in page and f.nurse_reason in page and f.source in page
    assert answer.summary in page and answer.kb_version in page
    assert f"(digest {answer.kb_digest[7:19]})" in page  # the content that decided, beside its version
    assert answer.safety_net and 'id="safety-net-1-title">Safety-net advice given</h5>' in page
    assert all(line.nurse_text in page and line.text in page for line in answer.safety_net)
    assert "patient form · patient" in page  # channel and who
    assert "Entry 1: 30 h since treatment" in page
    assert "Redness <code>redness</code>: mild" in page and "Swelling <code>swelling</code>: moderate" in page
    assert 'id="entry-1"' in page and "30 h since treatment" in page  # the course table's column
    assert '<title id="chart-title">' in page and '<desc id="chart-desc">' in page
    assert (ACTOR, "view", code) in audit_events(app)


def test_pages_keep_the_csp(nurse_client: Any, code: str) -> None:
    """No inline style or script on the record pages (the CSP would block them)."""
    add_report(nurse_client, code, symptoms="redness:severe", hours="60")
    override(nurse_client, code, 2, disposition="monitor", reason="seen on video")
    for path in (f"/nurse/records/{code}", "/nurse/records", "/nurse/overrides", "/nurse"):
        page = nurse_client.get(path).get_data(as_text=True)
        assert "style=" not in page and "<style" not in page and " on" + "click=" not in page
        assert re.fullmatch(
            r'<script src="/static/enhance\.[0-9a-f]{12}\.js" defer>', *re.findall(r"<script[^>]*>", page)
        )


def test_assessment_from_dict_round_trip() -> None:
    for args in (
        (["redness:mild", "swelling"], 30, [], False, ()),
        (["pain:severe"], 36, ["diabetes"], True, ()),
        (["redness:severe", "swelling"], 60, [], False, ("redness",)),
        (["breathing-difficulty"], 1, [], False, ()),
    ):
        answer = default_assessor().assess(*args[:4], worse=args[4])
        assert Assessment.from_dict(answer.to_dict()).to_dict() == answer.to_dict()
        assert Assessment.from_dict(json.loads(json.dumps(answer.to_dict()))) == answer


# --- call-back reports ---------------------------------------------------------------------


def test_call_back_report_derives_worse_from_the_record(nurse_client: Any, app: Any) -> None:
    code = make_record(app, ["redness:mild"], 30)
    # Without the record, 60 h of severe redness is not a getting-worse case: the rule below
    # fires only because the record shows redness went from mild to severe.
    assert "worsening-after-48h" not in {f.rule for f in assess(["redness:severe"], 60).findings}

    response = add_report(nurse_client, code, symptoms="Redness:severe", hours="60")  # tick box not ticked
    assert response.status_code == 303
    assert response.headers["Location"] == f"/nurse/records/{code}#entry-2"

    first, second = entries(app, code)
    assert (first.seq, second.seq) == (1, 2)
    assert second.channel == "nurse-console" and second.nurse is not None and second.nurse.username == NURSE[0]
    assert second.report["worsening"] is False and second.report["worse_symptoms"] == ["redness"]
    worse = [f for f in second.answer["findings"] if f["rule"] == "worsening-after-48h"]
    assert worse and worse[0]["symptom"] == "redness"
    assert second.disposition == "contact clinician" and second.hours == 60

    with app.app_context(), database().sessions() as session:
        record = store.find_record(session, code, "test", audited_as="")
        assert record is not None
        course = store.timeline(record)
    assert [p.hours for p in course.points] == [30, 60]
    assert course.points[1].cells["redness"].worse and course.points[1].cells["redness"].severity == "severe"

    page = text(nurse_client.get(response.headers["Location"]))
    assert "Worse than at the previous report" in page and "<code>redness</code>: mild → severe" in page
    assert "60 h since treatment" in page and "worsening-after-48h" in page
    assert '<strong class="worse"><span aria-hidden="true">▲ </span>worse</strong>' in page  # in the course table
    assert (ACTOR, "add-entry", code) in audit_events(app)


def test_call_back_with_a_new_immediate_onset_symptom_late_is_worse(nurse_client: Any, app: Any) -> None:
    """Policy v2: a symptom that normally starts on the day, new at 48 h or later, counts as getting worse."""
    code = make_record(app, ["redness:mild"], 30)
    assert add_report(nurse_client, code, symptoms="redness:mild pain:mild itching:mild", hours="60").status_code == 303
    latest = entries(app, code)[-1]
    assert latest.report["worse_symptoms"] == ["pain"]  # itching (delayed onset) normally starts late
    assert any(f["rule"] == "worsening-after-48h" and f["symptom"] == "pain" for f in latest.answer["findings"])
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    why = default_assessor().kb.header.record_worsening.new_why
    assert f"<code>pain</code>: not reported → mild ({why})" in page


def test_call_back_without_change_is_not_worse(nurse_client: Any, app: Any, code: str) -> None:
    assert add_report(nurse_client, code, symptoms="redness:mild swelling:mild", hours="40").status_code == 303
    latest = entries(app, code)[-1]
    assert latest.report["worse_symptoms"] == []  # milder swelling and the same redness
    assert "Worse than at the previous report" not in text(nurse_client.get(f"/nurse/records/{code}"))


def test_call_back_tick_box_is_kept(nurse_client: Any, app: Any, code: str) -> None:
    add_report(nurse_client, code, symptoms="redness:mild", hours="60", worsening="yes", factor=["diabetes"])
    latest = entries(app, code)[-1]
    assert latest.report["worsening"] is True and latest.report["factors"] == ["diabetes"]
    assert any(f["rule"] == "worsening-after-48h" for f in latest.answer["findings"])


def test_call_back_errors_keep_input_and_store_nothing(nurse_client: Any, app: Any, code: str) -> None:
    response = add_report(nurse_client, code, symptoms="redness:mild glitter", hours="60", factor=["diabetes"])
    assert response.status_code == 400
    page = text(response)
    assert "unknown symptom 'glitter'; valid symptoms:" in page
    assert 'value="redness:mild glitter"' in page and 'value="60"' in page
    assert 'id="factor-diabetes" name="factor" value="diabetes" checked' in page
    assert f"Record {code}" in page  # the record is still shown

    response = add_report(nurse_client, code, symptoms="", hours="x")
    assert response.status_code == 400
    page = text(response)
    assert "Type at least one symptom id" in page and 'You entered "x"' in page
    assert len(entries(app, code)) == 1
    assert not [a for _, a, _ in audit_events(app) if a == "add-entry"]


def test_call_back_to_unknown_record(nurse_client: Any, app: Any) -> None:
    response = add_report(nurse_client, "XXX-XXX", symptoms="redness", hours="60")
    assert response.status_code == 404
    assert count(app, Entry) == 0


def test_entries_are_numbered_in_order(nurse_client: Any, app: Any, code: str) -> None:
    for hours in ("40", "50", "70"):
        assert add_report(nurse_client, code, symptoms="redness:mild", hours=hours).status_code == 303
    stored = entries(app, code)
    assert [(e.seq, e.hours) for e in stored] == [(1, 30), (2, 40), (3, 50), (4, 70)]
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    positions = [page.index(f'id="entry-{n}"') for n in (1, 2, 3, 4)]
    assert positions == sorted(positions)
    assert "4 reports" in page


# --- overrides -----------------------------------------------------------------------------


def test_override_needs_a_reason(nurse_client: Any, app: Any, code: str) -> None:
    response = override(nurse_client, code, 1, disposition="monitor", reason="   ")
    assert response.status_code == 400
    page = text(response)
    assert "Give the reason for the override" in page
    assert 'id="override-1-monitor" name="disposition" value="monitor" checked' in page  # input kept
    assert '<details class="override-form" open>' in page
    assert count(app, Override) == 0
    assert not [a for _, a, _ in audit_events(app) if a == "override"]


def test_override_must_differ_and_emergency_only_with_contact(nurse_client: Any, app: Any, code: str) -> None:
    response = override(nurse_client, code, 1, disposition="expected", reason="fine")
    assert response.status_code == 400 and "an override must differ from it" in text(response)
    response = override(nurse_client, code, 1, disposition="monitor", emergency="yes", reason="odd")
    assert response.status_code == 400
    page = text(response)
    assert "The emergency flag goes only with 'contact clinician'" in page and ">odd</textarea>" in page
    assert override(nurse_client, code, 9, disposition="monitor", reason="x").status_code == 404
    assert count(app, Override) == 0


def test_override_is_stored_beside_the_engine_answer(nurse_client: Any, app: Any, code: str) -> None:
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    reason = '=HYPERLINK("http://x.example","click"); lesion looks infected on video'
    response = override(nurse_client, code, 1, disposition="contact clinician", reason=reason)
    assert response.status_code == 303 and response.headers["Location"] == f"/nurse/records/{code}#entry-1"

    (entry,) = entries(app, code)
    assert entry.disposition == "expected"  # the engine's answer is unchanged
    assert [(o.disposition, o.reason, o.nurse.username) for o in entry.overrides] == [
        ("contact clinician", reason, NURSE[0])
    ]
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    assert f"Reason: {reason}" in page and f"by nurse {NURSE[0]}" in page
    assert 'class="banner compact banner-expected"' in page  # engine answer still shown
    assert all(f.rule in page for f in assess(["redness:mild", "swelling"], 30).findings)
    assert 'Nurse override: <span class="tag tag-contact-clinician">' in page  # in the course table

    listing = nurse_client.get("/nurse/overrides")
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    page = text(listing)
    assert f"{code} #1" in page and reason in page and "redness:mild, swelling:moderate" in page

    exported = nurse_client.get("/nurse/overrides.csv")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.headers["Content-Disposition"] == "attachment; filename=overrides-2026-11-25.csv"
    assert exported.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 1
    row = rows[0]
    assert row["reference"] == code and row["seq"] == "1" and row["nurse"] == NURSE[0]
    assert row["engine"] == "expected" and row["override"] == "contact clinician"
    assert row["reason"] == "'" + reason  # a formula is kept as text
    assert "redness-expected" in row["rules"]

    actions = [(actor, action) for actor, action, _ in audit_events(app)]
    for action in ("override", "view-overrides", "export-overrides-csv"):
        assert (ACTOR, action) in actions


def test_overrides_newest_first(nurse_client: Any, app: Any, code: str) -> None:
    other = make_record(app, ["pain:severe"], 36)
    override(nurse_client, code, 1, disposition="monitor", reason="first")
    override(nurse_client, other, 1, disposition="expected", reason="second")
    page = text(nurse_client.get("/nurse/overrides"))
    assert page.index(f"{other} #1") < page.index(f"{code} #1")
    assert "No overrides yet." not in page


def test_no_overrides_yet(nurse_client: Any) -> None:
    assert "No overrides yet." in text(nurse_client.get("/nurse/overrides"))
    rows = list(csv.reader(io.StringIO(nurse_client.get("/nurse/overrides.csv").get_data(as_text=True))))
    assert rows == [list(store.CSV_COLUMNS)]


# --- FHIR export ---------------------------------------------------------------------------


def test_fhir_export(nurse_client: Any, app: Any, code: str) -> None:
    add_report(nurse_client, code, symptoms="redness:severe", hours="60")
    override(nurse_client, code, 2, disposition="monitor", reason="photo looks calm")
    response = nurse_client.get(f"/nurse/records/{code.lower()}/fhir.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert response.headers["Content-Disposition"] == f"attachment; filename=record-{code}-fhir.json"
    assert response.headers["Cache-Control"] == "no-store"
    bundle = response.get_json(force=True)
    assert bundle["resourceType"] == "Bundle" and bundle["identifier"]["value"] == code
    resources = [e["resource"] for e in bundle["entry"]]
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert [r["resourceType"] for r in resources] == [
        *["Questionnaire", "CodeSystem", "Device", "Practitioner"],
        *["QuestionnaireResponse", "RiskAssessment"],
        *["QuestionnaireResponse", "RiskAssessment", "RiskAssessment", "Provenance"],
    ]
    engine, nurse_decision = resources[7], resources[8]
    assert "Engine answer: contact clinician" in engine["note"][0]["text"]
    assert nurse_decision["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "monitor"
    assert nurse_decision["note"][0]["text"] == "photo looks calm"
    assert by_url[nurse_decision["performer"]["reference"]]["resourceType"] == "Practitioner"
    assert by_url[resources[6]["author"]["reference"]] == resources[3]  # the nurse who added the report
    assert NURSE[0] not in json.dumps(bundle)  # the nurse is an opaque id
    assert (ACTOR, "export-fhir", code) in audit_events(app)
    assert nurse_client.get("/nurse/records/XXX-XXX/fhir.json").status_code == 404


def test_nurse_console_links_to_records(nurse_client: Any) -> None:
    page = text(nurse_client.get("/nurse"))
    assert 'href="/nurse/records"' in page and 'href="/nurse/overrides"' in page
    assert 'action="/nurse/logout"' in page


def test_expired_form_keeps_input_and_adds_nothing(nurse_client: Any, app: Any, code: str) -> None:
    response = nurse_client.post(f"/nurse/records/{code}/entries", data={"symptoms": "redness:severe", "hours": "60"})
    assert response.status_code == 400
    page = text(response)
    assert "The page had expired; nothing was added" in page and 'value="redness:severe"' in page
    response = nurse_client.post(
        f"/nurse/records/{code}/entries/1/override", data={"disposition": "monitor", "reason": "kept text"}
    )
    assert response.status_code == 400
    page = text(response)
    assert "nothing was recorded" in page and ">kept text</textarea>" in page
    assert len(entries(app, code)) == 1 and count(app, Override) == 0


def test_expired_form_shows_nothing_to_anonymous(app: Any, code: str) -> None:
    anonymous = app.test_client()
    for path in (f"/nurse/records/{code}/entries", f"/nurse/records/{code}/entries/1/override"):
        response = anonymous.post(path, data={"symptoms": "redness", "hours": "60", "reason": "x"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/nurse/login?next=")
        assert f"Record {code}" not in response.get_data(as_text=True)
    assert [a for _, a, _ in audit_events(app)] == ["create"]


def test_record_from_the_patient_form(app: Any, nurse_client: Any) -> None:
    """End to end: the patient's code, read out on the phone, opens what the patient saw."""
    from tests.web_helpers import patient_form

    patient = app.test_client()
    data = patient_form({"redness": "mild", "pain": "severe"}, hours="30", factors=("diabetes",))
    data["csrf_token"] = csrf_token(patient, "/")
    result = text(patient.post("/", data=data))
    match = re.search(r'id="reference-code"[^>]*>([A-Z0-9]{3}-[A-Z0-9]{3})<', result)
    assert match, "no reference code on the result page"
    spoken = match.group(1).lower().replace("-", " ")
    opened = nurse_client.get("/nurse/records/open", query_string={"code": spoken})
    assert opened.status_code == 303
    page = text(nurse_client.get(opened.headers["Location"]))
    answer = assess(["redness:mild", "pain:severe"], 30, ["diabetes"])
    assert answer.summary in page and all(f"<code>{f.rule}</code>" in page for f in answer.findings)
    assert "patient form · patient" in page and "Diabetes" in page


def test_course_table_shows_an_overrides_emergency_flag(nurse_client: Any, app: Any, code: str) -> None:
    response = override(nurse_client, code, 1, disposition="contact clinician", emergency="yes", reason="throat")
    assert response.status_code == 303
    page = text(nurse_client.get(f"/nurse/records/{code}"))
    course = page[page.index('id="course-title"') : page.index("</table>", page.index('id="course-title"'))]
    assert "Nurse override:" in course and "Contact clinician, EMERGENCY" in " ".join(
        re.sub(r"<[^>]+>", "", course).split()
    )
