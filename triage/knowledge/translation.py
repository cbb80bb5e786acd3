"""The knowledge base in another language: knowledge/i18n/<lang>.toml, checked like the rest.

A translation file holds every text a patient reads (names, descriptions, reasons, care,
"contact the clinic if" and "call now if", factor questions, advice, likelihood and duration
words, the header's patient texts), by the same ids as the knowledge base. It is checked at load: every entry and
every text the English has is translated, with the same placeholders; nothing more. The
translated knowledge base is the same knowledge base with those texts swapped, so its engine
gives the same answers, rule ids, version and digest; only the words change. Nurse texts stay
in English (the nurse console is English).
"""

from __future__ import annotations

import dataclasses
import string
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.schema import DispositionKey, Id, KnowledgeError, Likelihood, Reasons, Text
from triage.knowledge.words import PLACEHOLDERS, Words
from triage.vocabulary import REASON_KEYS


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Unit = Annotated[str, Field(pattern=r"^[^\W\d_]+$", max_length=20)]  # a word or abbreviation: letters only
Marks = Annotated[str, Field(pattern=r"^[^\w\s+\-]{0,3}$")]  # punctuation: no digit, letter, space or sign


class WordsIn(_Model):
    one_hour: Text
    hours: Text
    days: Text
    recheck: Text
    unknown_hours: Text
    recheck_starts: Text
    list_and: Text | None = None  # required where a rule's reason says {reported} (checked below)
    decimal: Annotated[str, Field(min_length=1, max_length=1)]
    # What a patient may type the hours with (Words): units in lower case, letters only. Left out
    # (a translation written before they existed, such as a previous release), the English units
    # and marks are read: typed text the reader does not know is refused, never guessed.
    hour_units: Annotated[list[Unit], Field(min_length=1)] | None = None
    day_units: Annotated[list[Unit], Field(min_length=1)] | None = None
    decimal_marks: Marks | None = None  # (it must hold `decimal`: checked below)
    grouping_marks: Marks | None = None


class DispositionWords(_Model):
    label: Text
    patient: Text


class SafetyNetWords(_Model):
    general: Text
    emergency_number: Text
    clinic: Text


class HeaderWords(_Model):
    title: Text
    disclaimer: Text
    severe_within_expected: Text
    likelihood: dict[Likelihood, Text]  # each band's plain words
    bands: dict[Likelihood, Text]  # each band's name
    dispositions: dict[DispositionKey, DispositionWords]
    emergency: Text
    safety_net: SafetyNetWords | None = None
    general_advice: list[Text]


class SymptomWords(_Model):
    name: Text
    description: Text
    typical_duration: Text
    care: Text
    urgent_if: Text
    call_now_if: list[Text] = []  # the English lines, in order
    likelihood_note: Text | None = None
    reasons: Reasons


class FactorWords(_Model):
    label: Text
    question: Text
    window_note: Text | None = None
    notes: dict[Id, Text] = {}  # a window change's own note, by symptom
    call_now_if: Text | None = None


class RuleWords(_Model):
    reason: Text
    advice: Text | None = None
    lead: Text | None = None


class Translation(_Model):
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")]
    words: WordsIn
    header: HeaderWords
    symptoms: dict[Id, SymptomWords]
    factors: dict[Id, FactorWords]
    rules: dict[Id, RuleWords]


def _names(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


class _Checker:
    """Compares a translation with the English, raising KnowledgeError naming file, entry, problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, entry: str, problem: str) -> None:
        raise KnowledgeError(str(self.path), entry, problem)

    def text(self, entry: str, key: str, english: str | None, translated: str | None) -> None:
        if english is None and translated is not None:
            self.fail(entry, f"{key}: the English has no such text; remove it")
        if english is not None and translated is None:
            self.fail(entry, f"{key}: not translated (English: {english!r})")
        if english is not None and translated is not None:
            try:
                english_names = _names(english)
            except ValueError:  # a lone brace: the English loader took this text as plain words
                return  # (it refuses one in every text it fills in), so it has no placeholders to compare
            try:
                names = _names(translated)
            except ValueError as exc:
                self.fail(entry, f"{key}: bad placeholder in {translated!r}: {exc}")
                return
            if names != english_names:
                self.fail(
                    entry,
                    f"{key}: placeholders {sorted(names)} differ from the English {sorted(english_names)} "
                    f"(English: {english!r})",
                )

    def ids(self, kind: str, english: Iterable[str], translated: Iterable[str]) -> None:
        english, translated = list(english), list(translated)
        if missing := [i for i in english if i not in translated]:
            self.fail(
                f"{kind} {missing[0]!r}", f"not translated ({len(missing)} {kind}s missing: {', '.join(missing)})"
            )
        if extra := [i for i in translated if i not in english]:
            self.fail(f"{kind} {extra[0]!r}", f"unknown {kind}; the knowledge base has no such id")


def _check_units(w: WordsIn, c: _Checker) -> None:
    """The hours reader's words: each unit once, as the reader sees typed text (NFC, lower case),
    and the language's own decimal mark among the marks it reads (a patient may type what they read)."""
    english = Words()
    units = [*(w.hour_units or english.hour_units), *(w.day_units or english.day_units)]
    for unit in units:
        if unit != unicodedata.normalize("NFC", unit).lower():
            c.fail("words", f"units: {unit!r} must be in lower case (NFC), as the hours typed are read")
    if repeated := sorted({u for u in units if units.count(u) > 1}):
        c.fail("words", f"units: {', '.join(map(repr, repeated))} given more than once (a unit is of hours or of days)")
    if w.decimal_marks is not None and w.decimal not in w.decimal_marks:
        c.fail("words", f"decimal_marks: {w.decimal_marks!r} must include the decimal mark {w.decimal!r}")


def _check(t: Translation, kb: KnowledgeBase, c: _Checker) -> None:
    for key, allowed in PLACEHOLDERS.items():
        value = getattr(t.words, key)
        if value is None:
            if key == "list_and" and any("{reported}" in r.reason for r in kb.rules.values()):
                c.fail("words", "list_and: not translated (a rule's reason says {reported})")
            continue
        try:
            names = _names(value)
        except ValueError as exc:
            c.fail("words", f"{key}: bad placeholder in {value!r}: {exc}")
        if names != allowed:
            c.fail("words", f"{key}: placeholders {sorted(names)}; it needs exactly {sorted(allowed)}")
    _check_units(t.words, c)
    h, eh = t.header, kb.header
    for key in ("title", "disclaimer", "severe_within_expected"):
        c.text("header", key, getattr(eh, key), getattr(h, key))
    for table in ("likelihood", "bands"):
        if missing := [b for b in eh.likelihood if b not in getattr(h, table)]:
            c.fail("header", f"{table}: not translated: {missing}")
    for band, words in eh.likelihood.items():
        c.text("header", f"likelihood.{band}", words, h.likelihood[band])
    c.ids("disposition", eh.dispositions, h.dispositions)
    for key, d in eh.dispositions.items():
        c.text("header", f"dispositions.{key}.label", d.label, h.dispositions[key].label)
        c.text("header", f"dispositions.{key}.patient", d.patient, h.dispositions[key].patient)
    c.text("header", "emergency", eh.emergency.patient, h.emergency)
    if len(h.general_advice) != len(eh.general_advice):
        c.fail("header", f"general_advice: {len(h.general_advice)} texts for the English {len(eh.general_advice)}")
    for i, (adv, text) in enumerate(zip(eh.general_advice, h.general_advice, strict=True), 1):
        c.text("header", f"general_advice[{i}]", adv.text, text)

    c.ids("symptom", kb.symptoms, t.symptoms)
    for sid, s in kb.symptoms.items():
        w, entry = t.symptoms[sid], f"symptom {sid!r}"
        for key in ("name", "description", "typical_duration", "care", "urgent_if", "likelihood_note"):
            c.text(entry, key, getattr(s, key), getattr(w, key))
        for phase in REASON_KEYS:
            c.text(entry, f"reasons.{phase}", getattr(s.reasons, phase), getattr(w.reasons, phase))

    c.ids("factor", kb.factors, t.factors)
    for fid, f in kb.factors.items():
        fw, entry = t.factors[fid], f"factor {fid!r}"
        for key in ("label", "question", "window_note", "call_now_if"):
            c.text(entry, key, getattr(f, key), getattr(fw, key))
        own = {ch.symptom: ch.note for ch in f.windows if ch.note}
        c.ids(f"factor {fid!r} note for symptom", own, fw.notes)
        for sid, note in own.items():
            c.text(entry, f"notes.{sid}", note, fw.notes[sid])

    c.ids("rule", kb.rules, t.rules)
    for rid, r in kb.rules.items():
        rw, entry = t.rules[rid], f"rule {rid!r}"
        c.text(entry, "reason", r.reason, rw.reason)
        c.text(entry, "advice", r.advice, rw.advice)
        c.text(entry, "lead", r.lead, rw.lead)
    _check_safety_net(t, kb, c)


def _check_safety_net(t: Translation, kb: KnowledgeBase, c: _Checker) -> None:
    """The safety-net texts: every line translated, each English wording always by the same words
    and two English wordings never by the same (an answer merges its lines by their words, so the
    Spanish must merge as the English does), and the words a clinic profile replaces are there."""
    english, words = kb.header.safety_net, t.header.safety_net
    if english is None or words is None:
        if words is not None:
            c.fail("header", "safety_net: the English has no such text; remove it")
        if english is not None:
            c.fail("header", f"safety_net: not translated (English: {english.general!r})")
        return
    for key in ("general", "emergency_number", "clinic"):
        c.text("header", f"safety_net.{key}", getattr(english, key), getattr(words, key))
    if words.emergency_number not in words.general:
        c.fail("header", f"safety_net.general: does not say {words.emergency_number!r} (header.safety_net)")
    call_now: dict[str, str] = {english.general: words.general}
    clinic: dict[str, str] = {}

    def same_words(entry: str, key: str, text: str, translated: str, seen: dict[str, str]) -> None:
        if seen.setdefault(text, translated) != translated:
            c.fail(entry, f"{key}: {text!r} is translated elsewhere as {seen[text]!r}; say it the same way")
        if [e for e, w in seen.items() if w == translated and e != text]:
            c.fail(entry, f"{key}: {translated!r} also translates another English text; say each meaning its own way")

    for sid, s in kb.symptoms.items():
        w, entry = t.symptoms[sid], f"symptom {sid!r}"
        if len(w.call_now_if) != len(s.call_now_if):
            c.fail(entry, f"call_now_if: {len(w.call_now_if)} lines for the English {len(s.call_now_if)}")
        for n, (text, translated) in enumerate(zip(s.call_now_if, w.call_now_if, strict=True), 1):
            c.text(entry, f"call_now_if[{n}]", text, translated)
            if words.emergency_number not in translated:
                c.fail(entry, f"call_now_if[{n}]: does not say {words.emergency_number!r} (header.safety_net)")
            same_words(entry, f"call_now_if[{n}]", text, translated, call_now)
        if s.window is not None and words.clinic not in w.urgent_if:
            c.fail(entry, f"urgent_if: does not say {words.clinic!r} (header.safety_net)")
        same_words(entry, "urgent_if", s.urgent_if, w.urgent_if, clinic)
    for fid, f in kb.factors.items():
        fw, entry = t.factors[fid], f"factor {fid!r}"
        if f.call_now_if is not None and fw.call_now_if is not None:
            if words.emergency_number not in fw.call_now_if:
                c.fail(entry, f"call_now_if: does not say {words.emergency_number!r} (header.safety_net)")
            same_words(entry, "call_now_if", f.call_now_if, fw.call_now_if, call_now)


def _translated(kb: KnowledgeBase, t: Translation) -> KnowledgeBase:
    """`kb` with its patient texts in the translation's language; everything else shared."""
    h = t.header
    header = kb.header.model_copy(
        update={
            "title": h.title,
            "disclaimer": h.disclaimer,
            "severe_within_expected": h.severe_within_expected,
            "likelihood": dict(h.likelihood),
            "dispositions": {
                k: d.model_copy(update={"label": h.dispositions[k].label, "patient": h.dispositions[k].patient})
                for k, d in kb.header.dispositions.items()
            },
            "emergency": kb.header.emergency.model_copy(update={"patient": h.emergency}),
            "safety_net": (
                kb.header.safety_net.model_copy(update=h.safety_net.model_dump())
                if kb.header.safety_net is not None and h.safety_net is not None
                else kb.header.safety_net
            ),
            "general_advice": [
                a.model_copy(update={"text": text})
                for a, text in zip(kb.header.general_advice, h.general_advice, strict=True)
            ],
        }
    )
    symptoms = {
        sid: s.model_copy(
            update={
                k: getattr(t.symptoms[sid], k)
                for k in (
                    "name",
                    "description",
                    "typical_duration",
                    "care",
                    "urgent_if",
                    "call_now_if",
                    "likelihood_note",
                    "reasons",
                )
            }
        )
        for sid, s in kb.symptoms.items()
    }
    factors = {
        fid: f.model_copy(
            update={
                "label": t.factors[fid].label,
                "question": t.factors[fid].question,
                "window_note": t.factors[fid].window_note,
                "call_now_if": t.factors[fid].call_now_if,
                "windows": [
                    ch.model_copy(update={"note": t.factors[fid].notes[ch.symptom]}) if ch.note else ch
                    for ch in f.windows
                ],
            }
        )
        for fid, f in kb.factors.items()
    }
    rules = {
        rid: r.model_copy(
            update={"reason": t.rules[rid].reason, "advice": t.rules[rid].advice, "lead": t.rules[rid].lead}
        )
        for rid, r in kb.rules.items()
    }
    return dataclasses.replace(
        kb,
        header=header,
        symptoms=symptoms,
        factors=factors,
        rules=rules,
        language=t.language,
        words=Words(**_words_in(t.words)),
        band_names={str(k): v for k, v in h.bands.items()},
        translations={},
    )


def _words_in(w: WordsIn) -> dict[str, Any]:
    """A translation's words as Words takes them (what it leaves out keeps the English default)."""
    given: dict[str, Any] = w.model_dump(exclude_none=True)
    for key in ("hour_units", "day_units"):
        if key in given:
            given[key] = tuple(given[key])
    return given


def translate(kb: KnowledgeBase, path: Path, data: Mapping[str, Any]) -> KnowledgeBase:
    """Check a parsed translation file against `kb` and give `kb` in its language."""
    try:
        t = Translation.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        problem = "unknown key" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            problem = "not translated (missing)"
        raise KnowledgeError(str(path), loc or "file", problem) from None
    if t.language != path.stem or t.language == "en":
        raise KnowledgeError(str(path), "language", f"{t.language!r} must be the file's name ({path.stem!r}), not 'en'")
    _check(t, kb, _Checker(path))
    return _translated(kb, t)


def read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)
