"""Hours as people type them, in their own language: one reader (triage.engine.report.
hours_from_text) with each language's units and decimal marks (Words; `[words]` in
knowledge/i18n/<lang>.toml), behind the patient form, the API and the CLI. Every example the
form's hint shows is accepted in its language, through all three; English reads as it always did."""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from typing import Any

import pytest

from tests.web_helpers import csrf_token, patient_form
from triage import KnowledgeBase, default_assessor
from triage.answer.languages import LanguageAssessor
from triage.cli.commands import main
from triage.engine.report import hours_for_engine, hours_from_text
from triage.knowledge.words import ENGLISH_WORDS, Words

# Hours as typed, by language, and the hours they mean: the forms issue 30 names, and more.
TYPED = {
    "en": {"30": 30, "30h": 30, "36 hours": 36, "2d": 48, "1.5 days": 36, "1 hour": 1, "2 Days": 48, "12 hrs": 12},
    "es": {
        "30": 30,
        "2 días": 48,
        "36 horas": 36,
        "1,5 días": 36,  # the Spanish decimal comma
        "1.5 días": 36,  # the decimal point, as Mexico and the US write it
        "2 dias": 48,  # no accent
        "2 di\u0301as": 48,  # the accent typed as a combining mark
        "2 DÍAS": 48,
        "1 día": 24,
        "1 hora": 1,
        "30 h": 30,
        "30h": 30,
        "2 d": 48,
        "0,5 h": 0.5,
        "12 hs": 12,
    },
}
# The hours each hint's example means (a hint with a new example must add it here).
HINT_HOURS = {"30": 30, "2 days": 48, "2 días": 48}


@pytest.fixture(scope="module")
def words(kb: KnowledgeBase) -> dict[str, Words]:
    return {lang: kb.in_language(lang).words for lang in kb.languages}


# --- the reader ------------------------------------------------------------------------------


_BEFORE = re.compile(r"^([-+]?[0-9]*[.,]?[0-9]+(?:e[-+]?[0-9]+)?)\s*(h|hr|hrs|hour|hours|d|day|days)?$")


def _english_before(text: str) -> float | None:
    """The English reader before languages had their own units (issue 30), kept to compare."""
    match = _BEFORE.match(text.strip().lower())
    if match is None:
        return None
    number, unit = match.groups()
    try:
        value = float(number.replace(",", "."))
    except ValueError:
        return None
    return value * (24.0 if unit in ("d", "day", "days") else 1.0)


def test_english_reads_every_text_exactly_as_before() -> None:
    numbers = ["0", "30", "1.5", "1,5", ".5", ",5", "1,500", "1.500", "-3", "+2", "1e2", "2E-1", "1.", "nan", "x", ""]
    units = ["", "h", "H", "hr", "hrs", "hour", "hours", "Hours", "d", "D", "day", "days", "días", "horas", "weeks"]
    checked = 0
    for number in numbers:
        for gap in ("", " ", "  "):
            for unit in units:
                text = f" {number}{gap}{unit}\t"
                assert hours_from_text(text) == _english_before(text), repr(text)
                assert hours_from_text(text, ENGLISH_WORDS) == _english_before(text), repr(text)
                checked += 1
    assert checked == len(numbers) * 3 * len(units)
    assert hours_from_text("1,500") == 1.5  # unchanged, though "1,500" may mean 1500 to an English reader


@pytest.mark.parametrize(
    ("lang", "text", "hours"), [(lang, t, h) for lang, forms in TYPED.items() for t, h in forms.items()]
)
def test_each_language_reads_its_own_units_and_decimal_marks(
    words: dict[str, Words], lang: str, text: str, hours: float
) -> None:
    assert hours_from_text(text, words[lang]) == hours


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("es", "2 days"),  # English units are not Spanish ones
        ("es", "36 hours"),
        ("es", "2 semanas"),
        ("es", "1.500"),  # 1500 in Spain, one and a half in Mexico: refused, never guessed
        ("es", "1,500 horas"),
        ("es", "1.250 días"),
        ("es", "dos días"),
        ("en", "2 días"),
        ("en", "36 horas"),
        ("en", "about two days"),
    ],
)
def test_other_text_is_not_hours(words: dict[str, Words], lang: str, text: str) -> None:
    assert hours_from_text(text, words[lang]) is None
    assert hours_for_engine(text, words[lang]) == text  # the engine refuses it, naming it


def test_text_for_the_engine_is_the_reading_else_what_python_reads(words: dict[str, Words]) -> None:
    assert hours_for_engine("2 días", words["es"]) == 48 and hours_for_engine("1,5", words["es"]) == 1.5
    assert math.isnan(float(hours_for_engine("nan", words["es"])))  # the engine says why it is refused
    assert hours_for_engine("1_000") == 1000.0  # as the CLI always read it
    assert hours_for_engine("1.", words["es"]) == "1."  # a mark that may group thousands: never float()'s guess


def test_the_units_are_data_in_the_translation(words: dict[str, Words]) -> None:
    es = words["es"]
    assert {"hora", "horas"} <= set(es.hour_units) and {"día", "días", "dia", "dias"} <= set(es.day_units)
    assert es.decimal in es.decimal_marks and ENGLISH_WORDS.decimal in ENGLISH_WORDS.decimal_marks
    assert all(unicodedata.is_normalized("NFC", u) for u in (*es.hour_units, *es.day_units))
    # a language could read other units: the reader has no list of its own
    made_up = Words(hour_units=("uur",), day_units=("dag", "dagen"), decimal_marks=",", grouping_marks=".")
    assert hours_from_text("3 dagen", made_up) == 72 and hours_from_text("2,5 uur", made_up) == 2.5
    assert hours_from_text("2.5 uur", made_up) is None and hours_from_text("3 days", made_up) is None


# --- every hint's example, through the form, the API and the CLI ------------------------------


def _hint(client: Any, lang: str) -> str:
    page = client.get("/", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    found = re.search(r'id="hours-hint">(.*?)</p>', page, re.S)
    assert found, "the hours field has no hint"
    return " ".join(html.unescape(found.group(1)).split())


def _examples(hint: str) -> list[str]:
    """Each number a hint shows, with the word after it unless that word joins two examples
    ("For example 30, or 2 days.": 30 and 2 days; "Por ejemplo, 30 o 2 días.": 30 and 2 días)."""
    return [m.group(0) for m in re.finditer(r"\d+(?:[.,]\d+)?(?:\s*[^\W\d_]+\b(?!\s*\d))?", hint)]


def test_the_hints_are_read_for_their_examples(client: Any, kb: KnowledgeBase) -> None:
    assert kb.languages == ("en", "es")
    assert _examples("For example 30, or 2 days.") == ["30", "2 days"]
    assert _examples("Por ejemplo, 30 o 2 días.") == ["30", "2 días"]
    assert _examples("Por ejemplo: 36 horas, 1,5 días o 2d.") == ["36 horas", "1,5 días", "2d"]
    for lang in kb.languages:
        examples = _examples(_hint(client, lang))
        assert any(re.search(r"[^\W\d_]", e) for e in examples), (lang, examples)  # a unit, not only numbers


def _every_form(kb: KnowledgeBase, client: Any) -> list[tuple[str, str, float]]:
    forms = [(lang, text, float(hours)) for lang, typed in TYPED.items() for text, hours in typed.items()]
    for lang in kb.languages:
        for example in _examples(_hint(client, lang)):
            assert example in HINT_HOURS, f"the {lang} hint shows {example!r}: add the hours it means to HINT_HOURS"
            forms.append((lang, example, float(HINT_HOURS[example])))
    return forms


def _plain(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_every_form_is_accepted_by_the_patient_form_in_its_language(client: Any, kb: KnowledgeBase) -> None:
    for lang, text, hours in _every_form(kb, client):
        data = patient_form({"redness": "mild"}, hours=text)
        data["csrf_token"] = csrf_token(client)
        r = client.post("/", data=data, headers={"Accept-Language": lang})
        page = r.get_data(as_text=True)
        assert r.status_code == 200 and 'id="error-summary"' not in page, (lang, text, _plain(page)[:300])
        answer = LanguageAssessor(default_assessor(), lang, cache_size=0).assess(["redness:mild"], hours)
        words = kb.in_language(lang).words
        assert answer.recheck_in_hours is not None
        recheck = _plain(page[page.index('id="recheck-title"') :].split("</section>", 1)[0])
        wait, since = words.duration(answer.recheck_in_hours), words.duration(hours + answer.recheck_in_hours)
        assert wait in recheck and since in recheck, (lang, text, recheck)  # the hours were read as meant
        assert f"banner-{answer.disposition.key}" in page


def test_every_form_is_accepted_by_the_api_in_its_language(client: Any, kb: KnowledgeBase) -> None:
    for lang, text, hours in _every_form(kb, client):
        headers = {"Accept-Language": lang}
        typed = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": text}, headers=headers)
        number = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": hours}, headers=headers)
        assert typed.status_code == 200, (lang, text, typed.get_json())
        assert typed.headers["Content-Language"] == lang
        assert typed.get_json() == number.get_json() and typed.get_json()["hours_since_treatment"] == hours


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_form_is_accepted_by_the_cli_with_its_lang(
    client: Any, kb: KnowledgeBase, capsys: pytest.CaptureFixture[str]
) -> None:
    for lang, text, hours in _every_form(kb, client):
        capsys.readouterr()
        code, out, err = _cli(capsys, "check", "redness:mild", "--hours", text, "--lang", lang, "--json")
        assert code == 0, (lang, text, err)
        _, number, _ = _cli(capsys, "check", "redness:mild", "--hours", f"{hours:g}", "--lang", lang, "--json")
        assert json.loads(out) == json.loads(number) and json.loads(out)["hours_since_treatment"] == hours


# --- what is not hours stays an error, naming the value and the forms ---------------------------


def test_the_spanish_form_refuses_other_text_in_spanish_keeping_it(client: Any) -> None:
    for typed in ("2 semanas", "1.500", "2 days"):
        data = patient_form({"redness": "mild"}, hours=typed)
        data["csrf_token"] = csrf_token(client)
        r = client.post("/", data=data, headers={"Accept-Language": "es"})
        assert r.status_code == 400
        page = html.unescape(r.get_data(as_text=True))
        error = _plain(page[page.index('id="hours-error"') :].split("</p>", 1)[0])
        assert f'"{typed}"' in error and "2 días" in error and "like" not in error, error  # Spanish, not English
        assert f'value="{typed}"' in page


def test_the_api_refuses_other_text_naming_it_and_the_forms(client: Any) -> None:
    es = {"Accept-Language": "es"}
    r = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": "2 semanas"}, headers=es)
    assert r.status_code == 422
    [problem] = r.get_json()["problems"]
    assert problem["field"] == "hours"
    assert "'2 semanas'" in problem["message"] and "días" in problem["message"] and "horas" in problem["message"]
    r = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": "1.500"}, headers=es)
    assert r.status_code == 422 and "three digits" in r.get_json()["problems"][0]["message"]
    # every problem in one round, the text's among them
    r = client.post("/api/v1/assess", json={"symptoms": [{"id": "bogus"}], "hours": "soon"})
    assert [p["field"] for p in r.get_json()["problems"]] == ["symptoms[0].id", "hours"]
    assert "'soon'" in r.get_json()["problems"][1]["message"] and "days" in r.get_json()["problems"][1]["message"]
    for bad in ("", "x" * 41, "-2 days", "nan"):
        r = client.post("/api/v1/assess", json={"symptoms": [{"id": "redness"}], "hours": bad})
        assert r.status_code == 422 and [p["field"] for p in r.get_json()["problems"]] == ["hours"], bad


def test_the_api_documents_text_hours_and_takes_its_examples(client: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()
    hours = doc["components"]["schemas"]["AssessRequest"]["properties"]["hours"]
    assert {"maxLength": 40, "minLength": 1, "type": "string"} in hours["anyOf"]
    english, spanish = hours["description"].split("in Spanish")
    for lang, part in (("en", english), ("es", spanish)):
        examples = re.findall(r'"([^"]*\d[^"]*)"', part)
        assert examples, part
        for example in examples:
            body = {"symptoms": [{"id": "redness"}], "hours": example}
            r = client.post("/api/v1/assess", json=body, headers={"Accept-Language": lang})
            assert r.status_code == 200, (lang, example, r.get_json())


def test_the_cli_refuses_other_text_naming_it_and_the_forms(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(capsys, "check", "redness", "--hours", "2 semanas", "--lang", "es")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "'2 semanas'" in err and "horas" in err and "días" in err
    code, _, err = _cli(capsys, "check", "redness", "--hours", "1.500", "--lang", "es")
    assert code == 2 and "'1.500'" in err and "three digits" in err
    code, _, err = _cli(capsys, "check", "redness", "--hours", "2 días")  # English by default
    assert code == 2 and "'2 días'" in err and "day, days" in err
