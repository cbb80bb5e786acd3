"""The knowledge base in Spanish (knowledge/i18n/es.toml, triage/translation.py) and the web
catalogue (web/translations): complete, checked at load naming file, entry and problem, part
of the digested content; answers in every language are the same answer in other words."""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from triage import Assessor, KnowledgeBase, KnowledgeError, load_knowledge
from triage.answer.languages import LanguageAssessor
from triage.cli.commands import cli
from triage.engine.report import parse_report
from verification.reports import random_reports, report_mix

ES = "i18n/es.toml"


@pytest.fixture(scope="module")
def spanish(assessor: Assessor) -> LanguageAssessor:
    return LanguageAssessor(assessor, "es", cache_size=0)


def _names(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


# --- the shipped translation ---------------------------------------------------------------


def test_the_shipped_knowledge_base_speaks_english_and_spanish(kb: KnowledgeBase) -> None:
    assert kb.languages == ("en", "es")
    es = kb.in_language("es")
    assert es.language == "es" and es.version == kb.version and es.digest == kb.digest
    assert (
        set(es.symptoms) == set(kb.symptoms) and set(es.rules) == set(kb.rules) and set(es.factors) == set(kb.factors)
    )


def test_every_patient_text_is_translated_with_the_same_placeholders(kb: KnowledgeBase) -> None:
    es = kb.in_language("es")
    pairs: list[tuple[str, str | None, str | None]] = [
        ("disclaimer", kb.header.disclaimer, es.header.disclaimer),
        ("emergency", kb.header.emergency.patient, es.header.emergency.patient),
        ("severe_within_expected", kb.header.severe_within_expected, es.header.severe_within_expected),
    ]
    for sid, s in kb.symptoms.items():
        t = es.symptoms[sid]
        for key in ("name", "description", "typical_duration", "care", "urgent_if", "likelihood_note"):
            pairs.append((f"{sid}.{key}", getattr(s, key), getattr(t, key)))
        for phase, text in s.reasons.model_dump().items():
            pairs.append((f"{sid}.reasons.{phase}", text, getattr(t.reasons, phase)))
        assert len(t.call_now_if) == len(s.call_now_if), sid
        pairs += [(f"{sid}.call_now_if", a, b) for a, b in zip(s.call_now_if, t.call_now_if, strict=True)]
        assert t.nurse_call_now_if == s.nurse_call_now_if and t.nurse_urgent_if == s.nurse_urgent_if  # English
    for fid, f in kb.factors.items():
        pairs += [
            (f"{fid}.label", f.label, es.factors[fid].label),
            (f"{fid}.question", f.question, es.factors[fid].question),
            (f"{fid}.call_now_if", f.call_now_if, es.factors[fid].call_now_if),
        ]
    assert kb.header.safety_net is not None and es.header.safety_net is not None
    for key in ("general", "emergency_number", "clinic"):
        pairs.append((f"safety_net.{key}", getattr(kb.header.safety_net, key), getattr(es.header.safety_net, key)))
    assert es.header.safety_net.nurse_general == kb.header.safety_net.nurse_general
    for rid, r in kb.rules.items():
        pairs += [(f"{rid}.reason", r.reason, es.rules[rid].reason), (f"{rid}.advice", r.advice, es.rules[rid].advice)]
        pairs.append((f"{rid}.lead", r.lead, es.rules[rid].lead))
    assert len(pairs) > 250
    for where, english, spanish in pairs:
        assert (english is None) == (spanish is None), where
        if english is not None and spanish is not None:
            assert spanish != english or len(english) < 12, f"{where} is not translated: {english!r}"
            assert _names(spanish) == _names(english), where
    # nurse words stay English
    assert es.rules["severe-first-day"].nurse_reason == kb.rules["severe-first-day"].nurse_reason


def test_answers_are_the_same_in_spanish_only_the_words_change(assessor: Assessor, spanish: LanguageAssessor) -> None:
    checked = 0
    for symptoms, hours, factors, worsening in report_mix(assessor.kb, n=400):
        en = assessor.assess(symptoms, hours, factors, worsening)
        es = spanish.assess(symptoms, hours, factors, worsening)
        for key in ("disposition", "emergency", "recheck_in_hours", "kb_version", "kb_digest", "report"):
            assert getattr(es, key) == getattr(en, key), (symptoms, hours, key)
        for mine, theirs in ((es.findings, en.findings), (es.more_detail, en.more_detail)):
            assert [(f.rule, f.symptom, f.disposition, f.emergency, f.until_hours) for f in mine] == [
                (f.rule, f.symptom, f.disposition, f.emergency, f.until_hours) for f in theirs
            ]
            assert [f.nurse_reason for f in mine] == [f.nurse_reason for f in theirs]  # the nurse reads English
            assert all(a.reason != b.reason for a, b in zip(mine, theirs, strict=True))
        assert es.summary != en.summary and len(es.advice) == len(en.advice)
        checked += 1
    assert checked == 400


def test_spanish_durations_and_recheck(spanish: LanguageAssessor) -> None:
    answer = spanish.assess(["redness:severe"], 5)
    assert "Vuelva a revisarlo dentro de 12 horas, cuando hayan pasado 17 horas desde su sesión." in answer.advice
    assert answer.findings[0].typical_duration == "Suele irse en 2 días (48 horas)."
    assert answer.findings[0].likelihood == "muy frecuente: más de 1 de cada 10 personas"
    assert "1,5 horas" in spanish.assess(["redness"], 46.5).advice[1]  # a Spanish decimal comma


def test_the_shared_equipment_lead_in_spanish_counts_the_hours_left(spanish: LanguageAssessor) -> None:
    """Policy v3 item 4, in Spanish: where to go first, with the whole hours left before 72 h."""
    answer = spanish.assess([], 63, ["shared-equipment"])
    assert answer.summary == answer.advice[0] and answer.summary.startswith("Vaya ahora a urgencias")
    assert "tiene aproximadamente 9 horas para empezarla" in answer.summary
    early = spanish.assess([], 70.5, ["shared-equipment"])
    assert "tiene aproximadamente 1 hora para empezarla" in early.summary
    assert spanish.assess([], 10, ["shared-equipment"]).summary.startswith("Vaya hoy")


def test_an_emergency_in_spanish_says_to_call_first(spanish: LanguageAssessor) -> None:
    answer = spanish.assess(["breathing-difficulty", "redness"], None)
    assert answer.emergency and answer.summary == answer.advice[0]
    assert answer.advice[0].startswith("Llame ahora a su número local de emergencias")
    assert not any("Vuelva a revisarlo" in a for a in answer.advice)


# --- a broken translation fails the load (and `triage validate`) ------------------------------


BROKEN: list[tuple[str, str, str, str]] = [
    # (what, old text, new text, expected message part)
    (
        "a missing symptom",
        '[symptoms.redness]\nname = "Rojez"',
        '[symptoms.redness-x]\nname = "Rojez"',
        "symptom 'redness'",
    ),
    ("a missing text", 'care = "Duerma con la cabeza', 'carex = "Duerma con la cabeza', "symptoms.swelling.care"),
    (
        "a text the English has not",
        'name = "Dolor"\n',
        'name = "Dolor"\nlikelihood_note = "a veces"\n',
        "symptom 'pain': likelihood_note: the English has no such text",
    ),
    (
        "a changed placeholder",
        'typical_duration = "Suele irse en {expected_until}."',
        'typical_duration = "Suele irse en {monitor_until}."',
        "typical_duration: placeholders ['monitor_until'] differ from the English ['expected_until']",
    ),
    (
        "a missing rule advice",
        'advice = "Vuelva a revisarlo antes de 12 horas. Si sigue fuerte después del primer día, '
        'llame a la clínica."\n',
        "",
        "rule 'severe-first-day': advice: not translated",
    ),
    ("bad word placeholders", 'hours = "{n} horas"', 'hours = "{horas} horas"', "words: hours: placeholders"),
    ("the wrong language", 'language = "es"', 'language = "fr"', "'fr' must be the file's name ('es')"),
    ("a missing factor note", 'notes.numbness = "Con las agujas', 'notes.pain = "Con las agujas', "note for symptom"),
    ("an empty text", 'name = "Hinchazón"', 'name = ""', "symptoms.swelling.name"),
    (
        "a lead without its hours left",
        "tiene aproximadamente {hours_left} para empezarla.",
        "tiene pocas horas para empezarla.",
        "rule 'shared-equipment-pep': lead: placeholders [] differ from the English ['hours_left']",
    ),
    (
        "a missing lead",
        'lead = "Pida a un médico o a un centro de salud sexual',
        'leadx = "Pida a un médico o a un centro de salud sexual',
        "rules.shared-equipment-testing.leadx",
    ),
    # the hours reader's words (triage.engine.report.hours_from_text)
    ("an upper-case unit", 'day_units = ["d", "día"', 'day_units = ["d", "Día"', "units: 'Día' must be in lower case"),
    ("a unit of hours and of days", 'hour_units = ["h", ', 'hour_units = ["d", "h", ', "'d' given more than once"),
    ("a unit with a digit", 'hour_units = ["h", ', 'hour_units = ["h2", ', "words.hour_units.0"),
    ("no hour units", 'hour_units = ["h", "hs", "hr", "hrs", "hora", "horas"]', "hour_units = []", "hour_units"),
    ("a misspelt units key", 'day_units = ["d", ', 'dayunits = ["d", ', "words.dayunits: unknown key"),
    ("a decimal mark not read", 'decimal_marks = ",."', 'decimal_marks = "."', "must include the decimal mark ','"),
    ("a digit as a mark", 'grouping_marks = ",."', 'grouping_marks = "1"', "words.grouping_marks"),
]


@pytest.mark.parametrize(("what", "old", "new", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_translation_fails_the_load_naming_file_entry_and_problem(
    edit_kb: Callable[[str, str, str], Path], what: str, old: str, new: str, problem: str
) -> None:
    directory = edit_kb(ES, old, new)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory, require_release=False)
    assert caught.value.file.endswith("es.toml") and problem in str(caught.value), str(caught.value)
    result = CliRunner().invoke(cli, ["validate", str(directory)])
    assert result.exit_code != 0 and "es.toml" in str(result.exception or result.output)


def test_a_lone_brace_in_an_english_plain_text_loads_with_its_translation(
    edit_kb: Callable[[str, str, str], Path],
) -> None:
    """A text the English loader takes as plain words (a description, never filled in) may hold
    a lone brace; comparing the translation's placeholders with it must not crash the load (a
    ValueError escaped here, found by tests/test_reliability_kb_fuzz.py)."""
    directory = edit_kb("symptoms.toml", 'description = "Pink or red skin', 'description = "{ Pink or red skin')
    kb = load_knowledge(directory, require_release=False)
    assert kb.symptoms["redness"].description.startswith("{ Pink")
    assert kb.in_language("es").symptoms["redness"].description  # the translation is loaded as it is


def test_a_knowledge_base_without_translations_is_english_only(kb_copy: Path) -> None:
    (kb_copy / ES).unlink()
    (kb_copy / "released" / ES).unlink(missing_ok=True)
    kb = load_knowledge(kb_copy, require_release=False)
    assert kb.languages == ("en",)
    with pytest.raises(KeyError):
        kb.in_language("es")


def test_the_translation_is_part_of_the_digested_content(
    edit_kb: Callable[[str, str, str], Path], kb: KnowledgeBase
) -> None:
    directory = edit_kb(ES, 'name = "Rojez"', 'name = "Enrojecimiento"')
    edited = load_knowledge(directory, require_release=False)
    assert edited.digest != kb.digest
    assert edited.unreleased and "i18n/es.toml: symptoms changed" in edited.unreleased


def test_the_release_keeps_the_translation(kb: KnowledgeBase) -> None:
    shipped = Path(kb.source_dir)
    released = shipped / "released" / ES
    assert released.is_file(), "triage release copies the translations to released/"
    assert tomllib.loads(released.read_text(encoding="utf-8")) == tomllib.loads(
        (shipped / ES).read_text(encoding="utf-8")
    )


def test_cli_lang(tmp_path: Path) -> None:
    runner = CliRunner()
    es = runner.invoke(cli, ["check", "redness:severe", "--hours", "5", "--lang", "es", "--json"])
    en = runner.invoke(cli, ["check", "redness:severe", "--hours", "5", "--json"])
    assert es.exit_code == en.exit_code == 0, es.output
    import json

    a, b = json.loads(es.stdout), json.loads(en.stdout)
    assert a["disposition"] == b["disposition"] and a["findings"][0]["rule"] == b["findings"][0]["rule"]
    assert (
        a["findings"][0]["reason"].startswith("Rojez:")
        and a["findings"][0]["nurse_reason"] == b["findings"][0]["nurse_reason"]
    )
    bad = runner.invoke(cli, ["check", "redness", "--hours", "5", "--lang", "xx"])
    assert bad.exit_code == 2 and "no translation 'xx'; the knowledge base has: en, es" in bad.output


# --- the web catalogue -----------------------------------------------------------------------


def _catalogue() -> Any:
    from babel.messages.pofile import read_po

    from web.i18n import CATALOGUES

    with (CATALOGUES / "es" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def test_the_catalogue_translates_every_message_in_the_code_and_templates() -> None:
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[1]
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "lazy_gettext": None}
    found = {msg for _file, _line, msg, _comments, _ctx in extract_from_dir(root, method_map, keywords=keywords)}
    found = {m for m in found if isinstance(m, str)}
    assert len(found) > 70
    catalogue = _catalogue()
    translated = {m.id: m.string for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = sorted(found - set(translated))
    assert not missing, f"not in web/translations/es/LC_MESSAGES/messages.po (docs/clinic.md 'Languages'): {missing}"
    stale = sorted(set(translated) - found)
    assert not stale, f"no longer in the code or templates: {stale}"
    for msgid, text in translated.items():
        pattern = r"%\([a-z_]+\)s"
        import re

        assert sorted(re.findall(pattern, msgid)) == sorted(re.findall(pattern, text)), msgid
        assert text != msgid or msgid in {"Error:", "Error %(status)s."}, f"not translated: {msgid!r}"


def test_an_incomplete_catalogue_stops_the_start(tmp_path: Path) -> None:
    from web.config import ConfigError
    from web.i18n import compile_catalogue

    po = tmp_path / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: es\\n"\n\nmsgid "Why"\nmsgstr ""\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"messages.po:\d+: message 'Why' is not translated"):
        compile_catalogue(po)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n#, fuzzy\nmsgid "Why"\nmsgstr "Por qué"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"not translated \(fuzzy\)"):
        compile_catalogue(po)
    po.write_text('msgid ""\nmsgstr ""\n"Language: es\\n"\n\nmsgid "Why"\nmsgstr "Por qué"\n', encoding="utf-8")
    assert compile_catalogue(po).gettext("Why") == "Por qué"


def test_a_translation_is_decided_by_the_english_engine_with_the_same_answers(kb: KnowledgeBase) -> None:
    """A translated Assessor shares the English engine and phase cache (a translation changes
    words only), and its answers are those of a Spanish Assessor deciding with its own engine."""
    english = Assessor(kb)
    shared = LanguageAssessor(english, "es", cache_size=64)
    assert shared.local.engine is english.engine and shared.local.phase_cache is english.phase_cache
    own = Assessor(kb.in_language("es"), cache_size=0)
    assert own.engine is not english.engine
    for raw in random_reports(kb, 800, seed=31):
        report = parse_report(kb, *raw)
        assert shared.local.assess_report(report).to_dict() == own.assess_report(report).to_dict(), raw
    # A Spanish answer after the English one for the same report: the engine does not run again.
    assert english.phase_cache is not None
    english.assess(["swelling:moderate"], 30.5)
    before = english.phase_cache.cache.info()
    shared.assess(["swelling:moderate"], 30.5)
    after = english.phase_cache.cache.info()
    assert after.misses == before.misses and after.hits > before.hits  # the conclusions came from the cache
