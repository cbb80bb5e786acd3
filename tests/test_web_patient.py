"""Patient form: the right banner, plain words, errors that keep the input, CSRF enforced."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.web_helpers import csrf_token, patient_form
from triage import default_assessor
from triage.answer import message


def submit(client, data):  # type: ignore[no-untyped-def]
    data = dict(data)
    data["csrf_token"] = csrf_token(client)
    return client.post("/", data=data)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def plain(response) -> str:  # type: ignore[no-untyped-def]
    """The page's words without markup, whitespace collapsed."""
    return plain_text(text(response))


def plain_text(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", page).split())


def test_form_opens_with_the_emergency_signs_then_lists_the_rest_in_two_groups(client):  # type: ignore[no-untyped-def]
    kb = default_assessor().kb
    page = text(client.get("/"))
    signs, notice = page.index("Do you have any of these right now?"), page.index("What do you notice?")
    common, warning = page.index("Common after microneedling"), page.index("Warning signs")
    assert signs < page.index("Get help now") < notice < common < warning
    assert any(s.emergency for s in kb.symptoms.values())
    for s in kb.symptoms.values():
        assert f'id="symptom-{s.id}"' in page and s.name in page and s.description in page
        where = page.index(f'id="symptom-{s.id}"')
        if s.emergency:  # one tick and one press: no severity to choose
            assert signs < where < notice, s.id
            assert f'id="severity-{s.id}-mild"' not in page
            continue
        assert (common < where < warning) if s.group == "common" else where > warning, s.id
        for sev in ("mild", "moderate", "severe"):
            assert f'id="severity-{s.id}-{sev}"' in page
        assert re.search(rf'id="severity-{s.id}-moderate"[^>]*checked', page)  # the middle choice
    assert "Tick any that apply to you" in page
    for f in kb.factors.values():  # one tick box each; unticked means no
        assert f.question in page and f'id="factor-{f.id}"' in page and "checked" not in _tag(page, f"factor-{f.id}")
    assert re.search(r'id="worsening-no"[^>]*checked', page)
    assert 'id="hours"' in page
    assert 'type="date"' in page and 'type="time"' in page and 'id="timezone"' in page
    assert kb.header.disclaimer in page


def _tag(page: str, ident: str) -> str:
    start = page.rindex("<", 0, page.index(f'id="{ident}"'))
    return page[start : page.index(">", start)]


def test_an_emergency_sign_alone_gets_the_emergency_answer_at_once(client):  # type: ignore[no-untyped-def]
    """The panic path: one tick, one press, nothing else answered."""
    kb = default_assessor().kb
    for s in (s for s in kb.symptoms.values() if s.emergency):
        r = client.post("/", data={"csrf_token": csrf_token(client), "symptom": s.id})
        assert r.status_code == 200, s.id
        page = plain(r)
        main = page[page.index("Skip to main content") :]
        assert "Emergency" in main and kb.header.emergency.patient in main
        assert "There is a problem" not in page
        assert "check again" not in page.lower() and "Contact your clinic" not in page
        assert kb.header.dispositions["contact-clinician"].patient not in page
        for general in kb.header.general_advice:  # no routine aftercare
            assert general.text not in page


def test_without_hours_a_report_that_depends_on_them_is_asked_for_them(client):  # type: ignore[no-untyped-def]
    page, links = errors_for(client, patient_form({"redness": "mild"}, hours=""))
    assert links == [("hours", "Enter how many hours ago your session ended, or the date and time it ended.")]
    assert re.search(r'id="symptom-redness"[^>]*checked', page)


def test_every_input_has_a_label_and_fieldsets_have_legends(client):  # type: ignore[no-untyped-def]
    page = client.get("/").get_data(as_text=True)
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', page)
    assert ids
    for ident in ids:
        assert f'for="{ident}"' in page, ident
    assert page.count("<fieldset") == page.count("<legend")
    assert 'type="hidden"' in page and "csrf_token" in page
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


def test_expected_result(client):  # type: ignore[no-untyped-def]
    r = submit(client, patient_form({"redness": "mild", "swelling": "moderate"}, hours="30"))
    page = text(r)
    assert r.status_code == 200
    assert "banner-expected" in page and "Your result: </span>Expected" in page
    assert 'class="icon"' in page  # the icon, with the word: not colour alone
    assert "Check again at" in page and "in 18 hours" in plain(r) and "(UTC time)" in page
    assert "Redness like a mild sunburn is a normal part of healing" in page
    assert "Wash with a gentle cleanser" in page
    assert default_assessor().kb.header.disclaimer in page
    assert "emergency-title" not in page


def test_recheck_clock_time_in_the_persons_zone(client, app):  # type: ignore[no-untyped-def]
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    r = submit(client, patient_form({"redness": "mild"}, hours="6", timezone="Europe/Paris"))
    page = plain(r)
    # 42 hours after 10:00 Paris time on Wednesday is 04:00 on Friday.
    assert "Check again at about 04:00 on Friday 27 November" in page and "in 42 hours" in page
    assert "Europe/Paris time" in page


def test_monitor_and_contact_results(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"redness": "moderate"}, hours="60")))
    assert "banner-monitor" in page and "Your result: </span>Monitor" in page
    page = text(submit(client, patient_form({"pus": "mild"}, hours="60")))
    assert "banner-contact-clinician" in page and "Your result: </span>Contact clinician" in page
    assert "check again" not in plain_text(page).lower() and 'id="recheck-title"' not in page


def test_an_emergency_says_one_thing_call_now(client):  # type: ignore[no-untyped-def]
    """Severe breathing trouble with severe lip swelling at 1 h (issue 12): no clinic, no waiting,
    no monitor findings, no routine aftercare, the first-aid line once."""
    kb = default_assessor().kb
    r = submit(client, patient_form({"breathing-difficulty": "severe", "lip-tongue-swelling": "severe"}, hours="1"))
    page = plain(r)
    main = page[page.index("Skip to main content") :]
    assert main.index(kb.header.emergency.patient) < main.index("Why")
    assert "banner-contact-clinician" not in text(r) and "Contact your clinic" not in page
    assert "check again" not in page.lower() and "Monitor" not in page
    assert page.count("auto-injector") == 1
    for general in kb.header.general_advice:
        assert general.text not in page


def test_the_infection_emergency_has_one_message(client):  # type: ignore[no-untyped-def]
    kb = default_assessor().kb
    r = submit(
        client, patient_form({"fever": "moderate", "spreading-redness": "moderate", "pain": "severe"}, hours="60")
    )
    page = plain(r)
    assert kb.header.emergency.patient in page
    assert "clinic" not in page[: page.index("Why")].lower()
    why = _section(text(r), "why-title")
    assert why.count('class="finding ') <= 5  # one per symptom and the combinations


def test_factor_answers_reach_the_engine(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"swelling": "moderate"}, hours="60", factors=("prp",))))
    assert "banner-expected" in page
    page = text(submit(client, patient_form({"redness": "mild"}, hours="10", factors=("shared-equipment",))))
    assert "banner-contact-clinician" in page


def test_worsening_reaches_the_engine(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"redness": "mild"}, hours="60", worsening="yes")))
    assert "banner-contact-clinician" in page


def test_date_and_time_are_converted_to_hours(client, app):  # type: ignore[no-untyped-def]
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    # 10:00 in New York on 24 November is 15:00 UTC: 21 hours before noon UTC on the 25th.
    data = patient_form({"redness": "mild"}, hours="", ended_date="2026-11-24", ended_time="10:00")
    data["timezone"] = "America/New_York"
    r = submit(client, data)
    assert "banner-expected" in text(r) and "in 27 hours" in plain(r)  # 48 - 21


def test_future_time_is_rejected_and_input_kept(client, app):  # type: ignore[no-untyped-def]
    app.config["NOW"] = lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    data = patient_form({"redness": "mild"}, hours="", ended_date="2026-11-26", ended_time="09:15")
    r = submit(client, data)
    page = text(r)
    assert r.status_code == 400
    assert "That date and time is in the future" in page
    assert 'value="2026-11-26"' in page and 'value="09:15"' in page
    assert '<a href="#ended_date">' in page


def errors_for(client, data):  # type: ignore[no-untyped-def]
    r = submit(client, data)
    assert r.status_code == 400
    page = text(r)
    summary = page[page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))]
    return page, re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)


def test_no_symptom_is_an_error_not_expected(client):  # type: ignore[no-untyped-def]
    page, links = errors_for(client, patient_form({}))
    assert links[0][0] == "symptom-redness"
    assert "Choose at least one symptom" in links[0][1]
    assert "banner-expected" not in page


def test_bad_hours_keeps_everything_typed(client):  # type: ignore[no-untyped-def]
    data = patient_form({"redness": "mild", "fever": "severe"}, hours="about two days", factors=("diabetes",))
    page, links = errors_for(client, data)
    assert links == [
        ("hours", 'Enter the hours as a number, like 30 (or days, like 2 days). You entered "about two days".')
    ]
    assert 'value="about two days"' in page
    assert re.search(r'id="symptom-redness"[^>]*checked', page) and re.search(r'id="symptom-fever"[^>]*checked', page)
    assert re.search(r'id="severity-fever-severe"[^>]*checked', page)
    assert re.search(r'id="factor-diabetes"[^>]*checked', page)
    assert re.search(r'id="worsening-no"[^>]*checked', page)
    assert 'id="hours-error"' in page  # the message next to the field too


def test_each_problem_is_named_and_the_rest_defaults(client):  # type: ignore[no-untyped-def]
    data = patient_form({"redness": ""}, hours="-3", factors=("lucky",))
    del data["worsening"]  # no answer is "no"; no severity is "moderate"
    _, links = errors_for(client, data)
    targets = [t for t, _ in links]
    assert targets == ["hours", "factor-darker-skin"]
    assert "cannot be negative" in links[0][1]
    assert '"lucky"' in links[1][1]


def test_hours_may_be_given_in_days(client):  # type: ignore[no-untyped-def]
    r = submit(client, patient_form({"redness": "mild"}, hours="1.5 days"))
    assert "banner-expected" in text(r) and "in 12 hours" in plain(r)


def test_hours_and_date_together_is_an_error(client):  # type: ignore[no-untyped-def]
    data = patient_form({"redness": "mild"}, hours="5", ended_date="2026-11-24", ended_time="10:00")
    _, links = errors_for(client, data)
    assert links[0][0] == "hours" and "not both" in links[0][1]


def test_unknown_values_are_errors(client):  # type: ignore[no-untyped-def]
    _, links = errors_for(client, patient_form({"glitter": "mild"}))
    assert 'We do not know the symptom "glitter"' in links[0][1]
    _, links = errors_for(client, patient_form({"redness": "awful"}))
    assert "mild, moderate or severe" in links[0][1]
    _, links = errors_for(client, patient_form({"redness": "mild"}, timezone="Mars/Base"))
    assert links[0][0] == "timezone"
    bad_date = patient_form({"redness": "mild"}, hours="", ended_date="2026-02-30", ended_time="1:00")
    _, links = errors_for(client, bad_date)
    assert links[0][0] == "ended_date"
    _, links = errors_for(client, patient_form({"redness": "mild"}, hours="", ended_date="2026-11-20"))
    assert links[0][0] == "ended_time"
    _, links = errors_for(client, patient_form({"redness": "mild"}, hours="9000"))
    assert "one year" in links[0][1]


def test_csrf_is_enforced_and_keeps_the_input(client):  # type: ignore[no-untyped-def]
    r = client.post("/", data=patient_form({"redness": "mild"}, hours="31"))
    assert r.status_code == 400
    page = text(r)
    assert "has expired" in page
    assert 'value="31"' in page and re.search(r'id="symptom-redness"[^>]*checked', page)
    assert "banner-" not in page
    r = client.post("/", data={**patient_form({"redness": "mild"}), "csrf_token": "forged"})
    assert r.status_code == 400 and "banner-" not in text(r)


def _section(page: str, title_id: str) -> str:
    start = page.index(f'id="{title_id}"')
    return page[start : page.index("</section>", start)]


def test_result_says_what_to_do_once_and_each_thing_in_its_place(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"redness": "mild"}, hours="6", factors=("shared-equipment",))))
    now = _section(page, "now-title")
    assert "tests for HIV, hepatitis B and hepatitis C" in now  # the finding's action
    assert "72 hours of the session: you have about 66 hours left" in page  # the lead (policy v3), in the banner
    assert "tests for HIV" not in _section(page, "care-title")

    expected = text(submit(client, patient_form({"redness": "mild"}, hours="6")))
    assert expected.count("Check again in") == 0  # the re-check is given once, as a clock time and hours
    assert "in 42 hours" in _section(expected, "recheck-title")
    assert "Keep the skin cool" in _section(expected, "care-title")


def test_the_safety_net_follows_the_banner_and_the_recheck(client):  # type: ignore[no-untyped-def]
    """Without a clinic profile: "call your local emergency number now if ..." lines first, then
    (expected and monitor answers) "contact the clinic if ..."; after the banner and the re-check
    (no "What to do now" here: the banner says it, once)."""
    page = text(submit(client, patient_form({"redness": "mild", "swelling": "moderate"}, hours="30")))
    assert 'id="now-title"' not in page
    assert page.index('id="disposition-title"') < page.index('id="recheck-title"') < page.index('id="safety-net-title"')
    net = _section(page, "safety-net-title")
    assert "When to get help sooner" in net
    emergency, clinic = net.index('class="safety-net-emergency"'), net.index('class="safety-net-clinic"')
    assert emergency < clinic
    calls = net[emergency:clinic]
    assert calls.count("<li>") == 2  # redness and swelling share one line; then the general one
    assert "<li>Call your local emergency number now if your lips, tongue or throat swell" in calls
    assert "<li>Whatever your symptoms, call your local emergency number now if" in calls
    assert "<li>Contact the clinic if the redness spreads past the treated area" in net[clinic:]
    assert "<li>Contact the clinic the same day if the swelling closes an eye" in net[clinic:]
    assert "Urgent if" not in page and "straight away" not in page


def test_a_contact_clinician_answer_keeps_its_call_now_lines(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"numbness": "moderate"}, hours="5")))
    assert "banner-contact-clinician" in page
    net = _section(page, "safety-net-title")
    assert "Call your local emergency number now if one side of your face droops." in net
    assert "an arm or leg is suddenly weak, or your speech is slurred" in net
    assert "safety-net-clinic" not in net  # the banner already says to contact the clinic today


def test_an_emergency_page_has_no_safety_net(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"hives": "moderate", "breathing-difficulty": "moderate"}, hours="1")))
    assert "emergency-title" in page and "safety-net" not in page and "When to get help sooner" not in page


# --- one message, top down (issue 30) ------------------------------------------------------

INFECTION_EMERGENCY = {"fever": "moderate", "spreading-redness": "moderate", "pain": "severe"}


def _tags(section: str) -> list[tuple[str, str]]:
    """(what, tag) for each finding in a "why" section."""
    finding = r'<li class="finding [^"]*"><strong>([^<]*)</strong> <span class="tag [^"]*">([^<]*)</span>'
    return re.findall(finding, section)


def test_an_emergency_page_tags_what_makes_it_one_and_the_rest_tell_them_too(client):  # type: ignore[no-untyped-def]
    answer = default_assessor().assess([f"{s}:{v}" for s, v in INFECTION_EMERGENCY.items()], 60)
    assert answer.emergency and any(not f.emergency for f in answer.findings)
    page = text(submit(client, patient_form(INFECTION_EMERGENCY, hours="60")))
    tags = _tags(_section(page, "why-title"))
    why, _detail = message.as_told(answer.findings, answer.more_detail)  # "why" as the page tells it
    assert len(tags) == len(why) >= 2
    for f, (_, tag) in zip(why, tags, strict=True):
        assert tag == ("Emergency" if f.emergency else "Tell them about this too"), (f.rule, tag)
    assert "Contact clinician" not in page  # no "contact the clinic" under "call now"
    assert 'class="tag tag-emergency"' in page and 'class="tag tag-also"' in page


def test_a_non_emergency_page_tags_findings_with_their_disposition(client):  # type: ignore[no-untyped-def]
    page = text(submit(client, patient_form({"pus": "mild"}, hours="60")))
    assert _tags(_section(page, "why-title")) == [("Pus or yellow crusts", "Contact clinician")]
    assert "Tell them about this too" not in page


def test_a_reason_names_only_the_alternatives_reported(client):  # type: ignore[no-untyped-def]
    """The infection-pattern rule (fever with pus, spreading redness or hot skin): its reason says
    the ones reported, by name, and none that were not."""
    why = plain_text(_section(text(submit(client, patient_form(INFECTION_EMERGENCY, hours="60"))), "why-title"))
    assert "A fever together with spreading redness is a sign of infection." in why
    assert "pus" not in why.lower() and "hot skin" not in why and "warm skin" not in why.lower()
    two = {"fever": "moderate", "pus": "mild", "warmth": "mild"}
    why = plain_text(_section(text(submit(client, patient_form(two, hours="60"))), "why-title"))
    assert "A fever together with pus or yellow crusts and warm skin is a sign of infection." in why
    assert "spreading" not in why.lower()


def test_a_spanish_reason_names_only_the_alternatives_reported(client):  # type: ignore[no-untyped-def]
    client.get("/?lang=es")
    why = plain_text(_section(text(submit(client, patient_form(INFECTION_EMERGENCY, hours="60"))), "why-title"))
    assert "La fiebre junto con rojez que se extiende es señal de infección." in why
    assert "pus" not in why.lower() and "piel caliente" not in why.lower()
    assert "Dígales también esto" in why and "Llamar a la clínica" not in why


def test_without_a_profile_the_emergency_call_is_a_block_that_dials_nothing(client):  # type: ignore[no-untyped-def]
    """There is no number that is right everywhere: the call is said as a button-styled block,
    right under the headline, not a link that could dial a wrong number."""
    kb = default_assessor().kb
    page = text(submit(client, patient_form({"breathing-difficulty": "moderate"}, hours="1")))
    emergency = page[page.index('<section class="emergency') : page.index("</section>")]
    call = emergency.index(f'<p class="call-button call-no-number" id="call-now">{kb.header.emergency.patient}</p>')
    assert emergency.index("</h1>") < call and "tel:" not in emergency


@pytest.mark.parametrize(
    ("due", "said"),
    [((23, 2), "23:00"), ((23, 14), "23:00"), ((23, 15), "23:15"), ((23, 0), "23:00"), ((23, 59), "23:45")],
)
def test_the_recheck_is_said_right_under_the_banner_rounded_down_to_the_quarter_hour(  # type: ignore[no-untyped-def]
    client, app, due, said
):
    """Mild redness at 6 hours: check again in 42 hours. Said roughly, never later than that."""
    recheck = default_assessor().assess(["redness:mild"], 6).recheck_in_hours
    assert recheck == 42
    app.config["NOW"] = lambda: datetime(2026, 12, 7, *due, tzinfo=UTC) - timedelta(hours=recheck)
    page = text(submit(client, patient_form({"redness": "mild"}, hours="6")))
    assert f"Check again at about {said} on Monday 7 December (UTC time), in 42 hours." in plain_text(page)
    banner_end = page.index("</section>", page.index('id="disposition-title"'))
    assert page.index("<section", banner_end) == page.index('<section class="recheck-section"')


@pytest.mark.parametrize(
    ("symptoms", "hours"),
    [
        ({"redness": "mild"}, "6"),
        ({"redness": "moderate"}, "60"),
        ({"pus": "mild"}, "60"),
        ({"numbness": "moderate"}, "5"),
    ],
)
def test_the_banner_sentence_is_said_once(client, symptoms, hours):  # type: ignore[no-untyped-def]
    answer = default_assessor().assess([f"{s}:{v}" for s, v in symptoms.items()], float(hours))
    page = plain(submit(client, patient_form(symptoms, hours=hours)))
    assert answer.summary and page.count(answer.summary) == 1, answer.summary
