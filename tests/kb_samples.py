"""Knowledge-base samples several test modules edit into a copy of the shipped knowledge base:
a well-formed new symptom (with its Spanish words), and broken edits with the words their load
error must contain."""

from __future__ import annotations

from pathlib import Path

NEW_SYMPTOM = """
[[symptom]]
id = "puffy-eyes"
name = "Puffy eyes"
description = "Swelling around the eyes"
group = "common"
likelihood = "common"
onset = "immediate"
typical_duration = "Usually goes down within {expected_until}."
window = { expected_until = 36, monitor_until = 96 }
reasons.expected = "Puffy eyes in the first {expected_until} are common."
reasons.monitor = "Puffy eyes beyond {expected_until} are longer than usual."
reasons.contact = "Puffy eyes lasting {monitor_until} need a clinician."
nurse_reasons.expected = "Periorbital oedema within {expected_until}: expected."
nurse_reasons.monitor = "Periorbital oedema beyond {expected_until}: prolonged."
nurse_reasons.contact = "Periorbital oedema for {monitor_until} or more: review."
care = "Sleep with your head raised."
urgent_if = "Contact the clinic if you cannot open your eyes."
nurse_urgent_if = "Review if periorbital oedema closes the eyes."
source = ["chu-2021"]
"""

# Its patient words in Spanish: a translated knowledge base refuses a symptom without them.
NEW_SYMPTOM_ES = """
[symptoms.puffy-eyes]
name = "Ojos hinchados"
description = "Hinchazón alrededor de los ojos"
typical_duration = "Suele bajar en {expected_until}."
care = "Duerma con la cabeza alta."
urgent_if = "Llame a la clínica si no puede abrir los ojos."
reasons.expected = "Es frecuente tener los ojos hinchados durante {expected_until}."
reasons.monitor = "Si los ojos siguen hinchados después de {expected_until}, dura más de lo habitual."
reasons.contact = "Si los ojos siguen hinchados {monitor_until}, debe verlos un profesional."
"""


def add_symptom(directory: Path) -> Path:
    """Add NEW_SYMPTOM, with its translations, to a knowledge directory (data only)."""
    with (directory / "symptoms.toml").open("a", encoding="utf-8") as fh:
        fh.write(NEW_SYMPTOM)
    spanish = directory / "i18n" / "es.toml"
    if spanish.is_file():
        with spanish.open("a", encoding="utf-8") as fh:
            fh.write(NEW_SYMPTOM_ES)
    return directory


# (file, text to replace, replacement, words the error must contain: file, entry, problem)
BROKEN = {
    "bad TOML": ("symptoms.toml", 'id = "redness"', 'id = "redness', ["symptoms.toml", "file", "not valid TOML"]),
    "unknown key": (
        "symptoms.toml",
        'id = "swelling"',
        'id = "swelling"\ncolour = "red"',
        ["symptoms.toml", "symptom 'swelling'", "colour", "Extra inputs"],
    ),
    "unknown top-level key": ("rules.toml", "[[rule]]", "version = 2\n[[rule]]", ["rules.toml", "unknown top-level"]),
    "missing field": (
        "symptoms.toml",
        'care = "Keep the skin cool',
        'carex = "Keep the skin cool',
        ["symptoms.toml", "symptom 'redness'", "care", "Field required"],
    ),
    "wrong type": (
        "symptoms.toml",
        "window = { expected_until = 48, monitor_until = 168 }",
        'window = { expected_until = "48", monitor_until = 168 }',
        ["symptoms.toml", "symptom 'redness'", "window.expected_until"],
    ),
    "window order wrong": (
        "symptoms.toml",
        "window = { expected_until = 48, monitor_until = 168 }",
        "window = { expected_until = 200, monitor_until = 168 }",
        ["symptoms.toml", "symptom 'redness'", "expected_until (200) must not be after monitor_until (168)"],
    ),
    "negative window": (
        "symptoms.toml",
        "window = { expected_until = 48, monitor_until = 168 }",
        "window = { expected_until = -1, monitor_until = 168 }",
        ["symptoms.toml", "symptom 'redness'", "greater than 0"],
    ),
    "likelihood outside the fixed set": (
        "symptoms.toml",
        'likelihood = "very common"',
        'likelihood = "sometimes"',
        ["symptoms.toml", "symptom 'redness'", "likelihood"],
    ),
    "window and always together": (
        "symptoms.toml",
        'always = "contact clinician"\nreasons.always = "An itchy',
        'always = "contact clinician"\nwindow = { monitor_until = 5 }\nreasons.always = "An itchy',
        ["symptoms.toml", "symptom 'rash'", "exactly one of 'window' or 'always'"],
    ),
    "missing reason for a phase": (
        "symptoms.toml",
        'reasons.monitor = "Redness that lasts',
        'reasons.other = "Redness that lasts',
        ["symptoms.toml", "symptom 'redness'", "reasons"],
    ),
    "unknown placeholder": (
        "symptoms.toml",
        "for the first {expected_until}.",
        "for the first {expectd_until}.",
        ["symptoms.toml", "symptom 'redness'", "unknown placeholder", "expectd_until"],
    ),
    "unknown reference": (
        "symptoms.toml",
        'source = ["chu-2021", "wound-care"]',
        'source = ["chu-2021", "smith-2099"]',
        ["symptoms.toml", "symptom 'pain'", "unknown reference", "smith-2099"],
    ),
    "duplicate id": (
        "symptoms.toml",
        'id = "swelling"',
        'id = "redness"',
        ["symptoms.toml", "'redness'", "duplicate id"],
    ),
    "duplicate rule id": (
        "rules.toml",
        'id = "severe-after-24h"',
        'id = "severe-first-day"',
        ["rules.toml", "rule 'severe-first-day'", "duplicate id"],
    ),
    "rule names an unknown symptom": (
        "rules.toml",
        'symptoms_any = ["cold-sores", "blisters"]',
        'symptoms_any = ["cold-sore", "blisters"]',
        ["rules.toml", "rule 'eczema-herpeticum'", "unknown symptom 'cold-sore'"],
    ),
    "rule names an unknown severity": (
        "rules.toml",
        '"pain:severe"]',
        '"pain:awful"]',
        ["rules.toml", "rule 'spreading-infection'", "unknown severity 'awful'"],
    ),
    "rule names an unknown factor": (
        "rules.toml",
        'factors = ["darker-skin"]',
        'factors = ["dark-skin"]',
        ["rules.toml", "rule 'darker-skin-pigment'", "unknown factor", "dark-skin"],
    ),
    "rule disposition outside the set": (
        "rules.toml",
        'disposition = "monitor"\nrecheck_within = 12',
        'disposition = "watch"\nrecheck_within = 12',
        ["rules.toml", "rule 'severe-first-day'", "disposition"],
    ),
    "emergency without contact clinician": (
        "rules.toml",
        'disposition = "contact clinician"\nemergency = true\nreason = "Hives',
        'disposition = "monitor"\nemergency = true\nreason = "Hives',
        ["rules.toml", "rule 'anaphylaxis-hives-airway'", "emergency rule must give 'contact clinician'"],
    ),
    "factor window for an unknown symptom": (
        "factors.toml",
        '{ symptom = "bruising", scale = 2 }',
        '{ symptom = "bruises", scale = 2 }',
        ["factors.toml", "factor 'blood-thinners'", "unknown symptom 'bruises'"],
    ),
    "factor window out of order in combination": (
        "factors.toml",
        '{ symptom = "swelling", expected_until = 72 },',
        '{ symptom = "swelling", expected_until = 200 },',
        ["factors.toml", "factor 'prp'", "expected_until 200 > monitor_until 120"],
    ),
    "header missing disposition": (
        "kb.toml",
        "[dispositions.monitor]",
        "[dispositions.watch]",
        ["kb.toml", "header", "dispositions"],
    ),
    "a lead counting down with no hour to count to": (
        "rules.toml",
        "lead_until = 72\n",
        "",
        ["rules.toml", "rule 'shared-equipment-pep'", "{hours_left} needs lead_until"],
    ),
    "a lead with an unknown placeholder": (
        "rules.toml",
        "you have about {hours_left} left.",
        "you have about {hours} left.",
        ["rules.toml", "rule 'shared-equipment-pep'", "unknown placeholder", "hours_left"],
    ),
    "a lead counting down past the rule's end": (
        "rules.toml",
        "lead_until = 72\n",
        "lead_until = 50\n",
        ["rules.toml", "rule 'shared-equipment-pep'", "before_hours <= lead_until"],
    ),
    "a lead_until without a lead": (
        "rules.toml",
        'id = "severe-after-24h"\n',
        'id = "severe-after-24h"\nlead_until = 80\n',
        ["rules.toml", "rule 'severe-after-24h'", "'lead_until' goes with 'lead'"],
    ),
    "a re-check minimum of zero": (
        "kb.toml",
        "recheck_minimum = 1",
        "recheck_minimum = 0",
        ["kb.toml", "header", "recheck_minimum"],
    ),
}
