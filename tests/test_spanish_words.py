"""Spanish a clinic can put in front of patients (triage-policy.md "Words a patient reads"):
every description names each sign its English names, element for element; no word that a
bilingual clinical review found wrong, regional, vulgar or gendered appears in any Spanish
text a patient reads (knowledge/i18n/es.toml, the pages' catalogue, the templates and script).

The sign table below is the reviewed pairing of each English description's words with the
Spanish that says them. A new or reworded English description fails here until its row names
every word of it, and the Spanish says each one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from triage import KnowledgeBase
from web.i18n import CATALOGUES

ROOT = Path(__file__).resolve().parents[1]
ES_TOML = ROOT / "knowledge" / "i18n" / "es.toml"
ES_PO = CATALOGUES / "es" / "LC_MESSAGES" / "messages.po"

# Words that carry no sign of their own (the Spanish says them by its grammar).
STOP = frozenset(
    {"a", "an", "and", "by", "did", "in", "of", "on", "or", "than", "that", "the", "to", "was", "with", "your"}
)

# symptom -> {English word or phrase in its description: Spanish (a regular expression, matched
# from a word start, case-insensitive) that must be in the Spanish description}.
SIGNS: dict[str, dict[str, str]] = {
    "redness": {"pink": "rosad", "red": "roj", "skin": "piel", "like sunburn": "como quemada por el sol"},
    "swelling": {"puffiness": "hinchad", "treated": "tratad", "area": "zona"},
    "pain": {"sore": "dolorid", "tender": "sensible", "skin": "piel"},
    "burning": {"skin": "piel", "stings": "escuece", "burns": "arde", "feels hot": "está caliente"},
    "tightness": {"skin": "piel", "feels": "nota", "tight": "tirante"},
    "pinpoint-bleeding": {"tiny": "muy pequeñ", "dots": "punto", "blood": "sangre", "oozing": "rezuma"},
    "itching": {"itch": "pica", "treated": "tratad", "area": "zona"},
    "flaking": {"dry": "sec", "peeling": "se pela", "skin": "piel"},
    "crusting": {
        "tiny": "muy pequeñ",
        "dry": "sec",
        "dark": "oscur",
        "scabs": "costra",
        "where": "donde",
        "needles went in": "entraron las agujas",
    },
    "bruising": {"bruise": "moretón"},
    "breakout": {
        "acne spots": "granos de acné",
        "tiny": "muy pequeñ",
        "white": "blanc",
        "bumps": "bultit",
        "milia": "milia",
    },
    "sensitivity": {"products": "producto", "sting": "escuec", "not before": "antes no"},
    "warmth": {"hot": "caliente", "touch": "tocar"},
    "numbness": {"numb": "no siente", "treated": "tratad", "skin": "piel", "part": "parte", "face": "cara"},
    "darkening": {"darker": "más oscur", "nearby": "de al lado", "skin": "piel"},
    "lighter-patches": {"lighter": "más clar", "nearby": "de al lado", "skin": "piel"},
    "swollen-glands": {"tender": "duele", "lumps": "bulto", "under": "bajo", "jaw": "mandíbula", "neck": "cuello"},
    "rash": {
        "itchy": "pica",
        "red": "roj",
        "bumps": "granit",
        "most often": "casi siempre",
        "where": "donde",
        "product": "producto",
        "put": "puso",
    },
    "hives": {"raised": "abulta", "itchy": "pica", "welts": "roncha"},
    "blisters": {"blisters": "ampoll", "filled": "llena", "fluid": "líquido"},
    "cold-sores": {
        "small": "pequeñ",
        "painful": "duele",
        "blisters": "ampoll",
        "round": "redond",
        "sores": "llaga",
        "scabs": "costra",
        "often": "a menudo",
        "lips": "labio",
    },
    "pus": {
        "yellow": "amarill",
        "green": "verde",
        "fluid": "líquido",
        "honey-coloured": "color miel",
        "crusts": "costra",
    },
    "spreading-redness": {
        "growing past": "crece más allá",
        "treated": "tratad",
        "area": "zona",
        "red": "roj",
        "streaks": "raya",
    },
    "fever": {"above": "o más", "chills": "escalofrío"},
    "lumps": {"firm": "dur", "bumps": "bulto", "treated": "tratad", "skin": "piel"},
    "track-marks": {"lines": "línea", "grid-like": "en cuadrícula", "marks": "marca", "scars": "cicatri"},
    "dent": {"dip": "hundid", "skin": "piel"},
    "eye-problem": {
        "sore": "dolorid",
        "red": "roj",
        "eye": "ojo",
        "light hurts": "le molesta la luz",
        "sores": "llaga",
        "near": "cerca",
    },
    "lip-tongue-swelling": {"lips": "labio", "tongue": "lengua", "throat": "garganta", "swell": "hinch"},
    "breathing-difficulty": {
        "wheeze": "silbidos al respirar",
        "tight": "cerrada",
        "throat": "garganta",
        "trouble breathing": "falta de aire",
    },
    "vision-change": {"sudden": "de pronto", "blurred": "borros", "double": "doble", "lost sight": "deja de ver"},
    "face-droop": {
        "drooping": "caíd",
        "face": "cara",
        "weak": "sin fuerza",
        "arm": "brazo",
        "leg": "pierna",
        "slurred speech": "habla torpe",
    },
    "pale-or-dusky-skin": {"blotchy": "mancha", "purple": "morad", "often": "a menudo", "bad pain": "mucho dolor"},
}


def _words(english: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+(?:-[a-z]+)*", english.lower()) if w not in STOP and len(w) > 1]


def _has(text: str, pattern: str) -> bool:
    return re.search(rf"(?<!\w){pattern}", text, re.IGNORECASE) is not None


def missing_signs(symptom: str, english: str, spanish: str) -> list[str]:
    """What the Spanish description leaves out of the English one (empty when nothing), and any
    word of the English the table does not pair (so the table cannot go stale)."""
    row = SIGNS.get(symptom)
    if row is None:
        return [f"no row for {symptom!r} in SIGNS"]
    problems = [
        f"{word!r} has no Spanish in SIGNS" for word in _words(english) if not any(word in _words(key) for key in row)
    ]
    problems += [f"{key!r} is not in the English" for key in row if not _has(english.lower(), re.escape(key))]
    problems += [f"{key!r} ({spanish_word!r})" for key, spanish_word in row.items() if not _has(spanish, spanish_word)]
    numbers = re.findall(r"\d+(?:\.\d+)?", english)
    problems += [f"number {n}" for n in numbers if n.replace(".", ",") not in spanish]
    return problems


def test_every_spanish_description_names_each_sign_of_its_english(kb: KnowledgeBase) -> None:
    es = kb.in_language("es")
    problems = {
        sid: found
        for sid, s in kb.symptoms.items()
        if (found := missing_signs(sid, s.description, es.symptoms[sid].description))
    }
    assert not problems, "\n".join(
        f"  {sid}: {kb.symptoms[sid].description!r} / {es.symptoms[sid].description!r}: missing {found}"
        for sid, found in problems.items()
    )
    assert set(SIGNS) == set(kb.symptoms), sorted(set(SIGNS) ^ set(kb.symptoms))


@pytest.mark.parametrize(
    ("symptom", "english", "spanish", "missing"),
    [  # the descriptions the clinical review found dropping signs
        (
            "face-droop",
            "Drooping face, weak arm or leg, or slurred speech",
            "Cara caída, brazo flojo o habla torpe",
            ["'weak' ('sin fuerza')", "'leg' ('pierna')"],
        ),
        (
            "cold-sores",
            "Small painful blisters, round sores or scabs, often by the lips",
            "Ampollitas o llagas junto a los labios",
            [
                "'small' ('pequeñ')",
                "'painful' ('duele')",
                "'round' ('redond')",
                "'scabs' ('costra')",
                "'often' ('a menudo')",
            ],
        ),
        (
            "pale-or-dusky-skin",
            "Or blotchy purple, often with bad pain",
            "O manchas moradas y mucho dolor",
            ["'often' ('a menudo')"],
        ),
        ("fever", "38 °C / 100.4 °F or above, or chills", "38 °C o más, o escalofríos", ["number 100.4"]),
        ("dent", "A dip or hollow in the skin", "Una zona hundida en la piel", ["'hollow' has no Spanish in SIGNS"]),
        ("new-symptom", "Anything", "Algo", ["no row for 'new-symptom' in SIGNS"]),
    ],
)
def test_the_sign_check_finds_a_dropped_sign(symptom: str, english: str, spanish: str, missing: list[str]) -> None:
    assert missing_signs(symptom, english, spanish) == missing


# --- words a patient must not read ------------------------------------------------------------

# (what is wrong, pattern): the review's findings, each with the word to use instead.
BANNED: list[tuple[str, str]] = [
    ("'pitos' is vulgar in Mexico: 'silbidos al respirar'", r"\bpitos?\b"),
    ("'vaso de sangre': 'vaso sanguíneo'", r"\bvasos? de sangre\b"),
    ("'supurar' means pus: 'suelta líquido' for weeping", r"\bsupur\w*"),
    ("'moratón' is Spain's: 'moretón'", r"\bmorat[oó]n\w*"),
    ("'lentillas' is Spain's: 'lentes de contacto'", r"\blentillas?\b"),
    ("'conducir' is Spain's: 'no se ponga al volante'", r"\bconduc\w*|\bconduzc\w*"),
    ("'picor' is Spain's: 'picazón'", r"\bpicor\w*"),
    ("'hacer una foto' is Spain's: 'tome una foto'", r"\b(?:haga|hacer|hágase) una foto\b"),
    ("'aclarar' for rinsing is Spain's: 'enjuague'", r"\bacl[aá]re(?:se|la|lo)?\b"),
    ("'solo'/'sola' for the reader assumes a gender: 'pida a alguien que se quede con usted'", r"\bquede sol[oa]\b"),
    ("'recto'/'recta' for the reader assumes a gender", r"\bsiéntese rect[oa]\b"),
    ("'la enfermera' assumes a gender: 'el personal de enfermería'", r"\b(?:la|una|el|un) enfermer[oa]s?\b"),
    ("'raro' reads as 'weird': 'poco frecuente'", r"\brar[oa]s?\b"),
]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def spanish_patient_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every Spanish text a patient can read."""
    for text in _strings(tomllib.loads(ES_TOML.read_text(encoding="utf-8"))):
        yield "knowledge/i18n/es.toml", text
    with ES_PO.open("rb") as fh:
        for message in read_po(fh):
            if message.id:
                strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
                yield f"messages.po {message.id!r}", " ".join(strings)
    for path in [*(ROOT / "web" / "templates").glob("*.html"), ROOT / "web" / "static" / "enhance.js"]:
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def banned_words(text: str) -> list[str]:
    found = [why for why, pattern in BANNED if re.search(pattern, text, re.IGNORECASE)]
    if re.search(r"\bictus\b", text, re.IGNORECASE) and "derrame cerebral" not in text.lower():
        found.append("'ictus' alone is not understood everywhere: 'derrame cerebral (ictus)'")
    return found


def test_no_spanish_patient_text_uses_a_word_the_review_found_wrong() -> None:
    texts = list(spanish_patient_texts())
    assert len(texts) > 300  # guards against reading nothing
    bad = [(where, found, text) for where, text in texts if (found := banned_words(text))]
    assert not bad, "\n".join(f"  {where}: {found}: {text[:200]}" for where, found, text in bad)


@pytest.mark.parametrize(
    "text",
    [
        "Pitos, garganta cerrada, falta de aire",
        "Se tapó un vaso de sangre del ojo.",
        "La piel se agrieta, supura o duele.",
        "Las costritas supuran.",
        "Un moratón",
        "Le salen moratones.",
        "No use lentillas.",
        "No conduzca.",
        "Si el picor sigue",
        "Haga una foto con buena luz.",
        "Aclare con agua fresca.",
        "No se quede solo.",
        "Siéntese recto.",
        "Dé este código a la enfermera.",
        "Después es raro.",
        "Señales de ictus",
    ],
)
def test_the_banned_word_check_can_fail(text: str) -> None:
    assert banned_words(text), text


def test_the_banned_word_check_allows_the_fixes() -> None:
    for text in (
        "Silbidos al respirar. Un vaso sanguíneo. Suelta líquido. Un moretón. Lentes de contacto.",
        "No se ponga al volante. Si la picazón sigue. Tome una foto. Enjuáguese con agua fresca.",
        "Pida a alguien que se quede con usted. Siéntese con la espalda recta.",
        "Dé este código al personal de enfermería. Después es poco frecuente.",
        "Señales de derrame cerebral (ictus). Las manchas se aclaran en semanas.",
    ):
        assert banned_words(text) == [], text
