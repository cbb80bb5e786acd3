"""Load and validate the knowledge base (knowledge/*.toml).

Everything clinical lives in the data files; this module only checks that they are
well formed and consistent, so that a broken file fails loudly at start-up (naming the
file, the entry and the problem) instead of giving a wrong answer later.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import own_rule_id, rule_symptoms
from triage.knowledge.digest import content_digest, production_requested, release_problem
from triage.knowledge.files import FILES, default_dir, translation_files
from triage.knowledge.schema import (
    RECHECK_ADVICE,
    Factor,
    Header,
    KnowledgeError,
    Rule,
    Symptom,
    WindowChange,
    _Model,
)
from triage.knowledge.translation import translate
from triage.vocabulary import MAX_HOURS, SEVERITIES, OwnRule


def _read(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise KnowledgeError(str(path), "file", "not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(str(path), "file", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise KnowledgeError(str(path), "file", f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise KnowledgeError(str(path), "file", "nested too deeply to read") from None
    except OSError as exc:
        raise KnowledgeError(str(path), "file", f"cannot be read: {exc.strerror or exc}") from None


def _problem(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _first_key(exc: ValidationError) -> tuple[str, ...]:
    """The key path of the first problem (e.g. ("window", "expected_until")), for its line."""
    errors = exc.errors()
    return tuple(str(p) for p in errors[0]["loc"] if not isinstance(p, int)) if errors else ()


def line_of(path: Path, table: str | None, index: int | None, keys: Iterable[str] = ()) -> int | None:
    """The line (1-based) of a key in a knowledge file, so an error points at the bad value.

    `table`/`index`: the index-th (1-based) `[[table]]` entry, or the top level when None.
    `keys`: the key path; the deepest key written on its own line wins (`reasons.expected = `,
    then `reasons`; `[dispositions.monitor]` then `patient =`). Falls back to the entry's
    header line; None when the file cannot be read.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    begin, stop = 0, len(lines)
    if table is not None and index is not None:
        headers = [n for n, text in enumerate(lines) if text.strip().startswith(f"[[{table}]]")]
        if index > len(headers):
            return None
        begin = headers[index - 1]
        later = [n for n, text in enumerate(lines) if n > begin and text.lstrip().startswith("[")]
        stop = later[0] if later else len(lines)
    keys = tuple(keys)
    for depth in range(len(keys), 0, -1):
        dotted = ".".join(keys[:depth])
        for n in range(begin, stop):
            text = lines[n].strip()
            if text.startswith((f"{dotted} =", f"{dotted}=", f"{dotted}.", f"[{dotted}]", f"[{dotted}.")):
                if text.startswith("[") and depth < len(keys):
                    found = _line_in_table(lines, n + 1, keys[depth])
                    return found if found is not None else n + 1
                return n + 1
    return begin + 1 if table is not None else None


def _line_in_table(lines: list[str], begin: int, key: str) -> int | None:
    """The line of `key =` in the table that starts at `begin` (before the next header)."""
    for n in range(begin, len(lines)):
        text = lines[n].strip()
        if text.startswith("["):
            return None
        if text.startswith((f"{key} =", f"{key}=")):
            return n + 1
    return None


def _entries(path: Path, data: dict[str, Any], table: str, model: type[_Model]) -> list[Any]:
    """Validate each [[table]] entry, naming the entry (its id, else its position) and line on error."""
    if unknown := set(data) - {table}:
        raise KnowledgeError(str(path), "file", f"unknown top-level keys {sorted(unknown)}")
    raw = data.get(table)
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(str(path), "file", f"needs at least one [[{table}]] entry")
    out = []
    for i, entry in enumerate(raw, 1):
        name = f"{table} {entry.get('id')!r} (entry {i})" if isinstance(entry, dict) else f"{table} entry {i}"
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            raise KnowledgeError(str(path), name, _problem(exc), line_of(path, table, i, _first_key(exc))) from None
    return out


_PLACEHOLDERS = {
    "symptoms.toml": {"name", "hours", "expected_until", "monitor_until"},
    "rules.toml": {"name", "hours", "reported"},
    # a rule's `lead`: {hours_left}, the whole hours left before its lead_until, rounded down
    "rules.toml lead": {"hours_left"},
}


def _check_placeholders(path: Path, entry: str, texts: Iterable[str | None], allowed: set[str]) -> None:
    for text in texts:
        if text is None:
            continue
        try:
            fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
        except ValueError as exc:
            raise KnowledgeError(str(path), entry, f"bad placeholder in {text!r}: {exc}") from None
        if any(spec or conv for _, spec, conv in fields):
            raise KnowledgeError(
                str(path), entry, f"placeholders take no format spec or conversion (write just {{name}}) in {text!r}"
            )
        names = {f for f, _, _ in fields}
        if bad := names - allowed:
            raise KnowledgeError(
                str(path), entry, f"unknown placeholder {sorted(bad)} in {text!r}; allowed: {sorted(allowed)}"
            )


def advice_ref_problem(
    ref: str, header: Header, symptoms: Mapping[str, Symptom], rules: Mapping[str, Rule]
) -> str | None:
    """Why a `same_advice` reference names no advice text, or None when it does."""
    kind, _, ident = ref.partition(":")
    if ref == RECHECK_ADVICE:
        return None
    if kind == "rule":
        rule = rules.get(ident)
        return f"unknown rule {ident!r}" if rule is None else (None if rule.advice else f"rule {ident!r} has no advice")
    if kind == "care":
        return None if ident in symptoms else f"unknown symptom {ident!r}"
    known = [a.id for a in header.general_advice if a.id]
    return None if ident in known else f"unknown general_advice id {ident!r}; known: {known}"


def _check_same_advice(path: Path, header: Header, symptoms: Mapping[str, Symptom], rules: Mapping[str, Rule]) -> None:
    seen: dict[str, str] = {}
    for i, group in enumerate(header.same_advice, 1):
        entry = f"same_advice {group.meaning!r} (entry {i})"
        for ref in group.advice:
            if problem := advice_ref_problem(ref, header, symptoms, rules):
                raise KnowledgeError(str(path), entry, f"{ref!r}: {problem}")
            if ref in seen:
                raise KnowledgeError(str(path), entry, f"{ref!r} is already in same_advice {seen[ref]!r}")
            seen[ref] = group.meaning


Fail = Callable[..., NoReturn]  # load_knowledge's fail(file, index, entry, problem, *key)


def _check_safety_net(
    p: Mapping[str, Path], header: Header, symptoms: list[Symptom], factors: list[Factor], fail: Fail
) -> None:
    """The safety-net texts (policy "safety-netting"): no placeholders; with kb.toml
    [safety_net], every symptom has the nurse's "contact the clinic if", every "call now if"
    names the emergency number in its words and every clinic line an answer can show names
    the clinic in its words (a clinic profile puts its own there); a factor's line names known
    symptoms that are not emergency signs; and each meaning has one wording in each voice, so
    the lines an answer merges by their words are merged for the nurse too."""
    net = header.safety_net
    kb_path = p["kb.toml"]
    if net is not None:
        _check_placeholders(kb_path, "header", (net.general, net.nurse_general), set())
        if net.emergency_number not in net.general:
            raise KnowledgeError(
                str(kb_path),
                "safety_net",
                f"general: does not say {net.emergency_number!r} (safety_net.emergency_number)",
                line_of(kb_path, None, None, ("safety_net", "general")),
            )
    ids = {s.id: s for s in symptoms}
    call_now: dict[str, str] = {}  # patient text -> nurse text, and the reverse
    call_now_nurse: dict[str, str] = {}
    clinic: dict[str, str] = {}
    clinic_nurse: dict[str, str] = {}

    def one_wording(
        file: str, i: int, entry: str, key: str, text: str, nurse: str, seen: dict[str, str], back: dict[str, str]
    ) -> None:
        if seen.setdefault(text, nurse) != nurse:
            fail(file, i, entry, f"{key}: {text!r} has another nurse's wording elsewhere: {seen[text]!r}", key)
        if back.setdefault(nurse, text) != text:
            fail(file, i, entry, f"nurse_{key}: {nurse!r} is the nurse's wording of another text: {back[nurse]!r}", key)

    def check_call_now(file: str, i: int, entry: str, key: str, text: str) -> None:
        if net is None:
            fail(file, i, entry, f"{key} needs kb.toml [safety_net] (its general line and words)", key)
        if net.emergency_number not in text:
            words = f"{net.emergency_number!r} (kb.toml safety_net.emergency_number)"
            fail(file, i, entry, f"{key}: {text!r} does not say {words}", key)
        if text == net.general:
            fail(file, i, entry, f"{key}: {text!r} is the general line (kb.toml safety_net.general)", key)

    for i, s in enumerate(symptoms, 1):
        entry = f"symptom {s.id!r}"
        texts = [s.urgent_if, s.nurse_urgent_if, *s.call_now_if, *s.nurse_call_now_if]
        try:
            _check_placeholders(p["symptoms.toml"], entry, texts, set())
        except KnowledgeError as exc:
            fail("symptoms.toml", i, entry, exc.problem, "urgent_if")
        for text, nurse in zip(s.call_now_if, s.nurse_call_now_if, strict=True):
            check_call_now("symptoms.toml", i, entry, "call_now_if", text)
            one_wording("symptoms.toml", i, entry, "call_now_if", text, nurse, call_now, call_now_nurse)
        if net is None:
            continue
        if s.nurse_urgent_if is None:
            fail("symptoms.toml", i, entry, "nurse_urgent_if: missing (the nurse's words for urgent_if)", "urgent_if")
        if s.window is not None and net.clinic not in s.urgent_if:
            fail("symptoms.toml", i, entry, f"urgent_if: does not say {net.clinic!r} (safety_net.clinic)", "urgent_if")
        one_wording("symptoms.toml", i, entry, "urgent_if", s.urgent_if, s.nurse_urgent_if, clinic, clinic_nurse)
    for i, f in enumerate(factors, 1):
        entry = f"factor {f.id!r}"
        if f.call_now_if is None or f.nurse_call_now_if is None:
            continue
        try:
            _check_placeholders(p["factors.toml"], entry, (f.call_now_if, f.nurse_call_now_if), set())
        except KnowledgeError as exc:
            fail("factors.toml", i, entry, exc.problem, "call_now_if")
        check_call_now("factors.toml", i, entry, "call_now_if", f.call_now_if)
        one_wording(
            "factors.toml", i, entry, "call_now_if", f.call_now_if, f.nurse_call_now_if, call_now, call_now_nurse
        )
        if bad := [x for x in f.call_now_symptoms if x not in ids]:
            fail("factors.toml", i, entry, f"call_now_symptoms: unknown symptom {bad}", "call_now_symptoms")
        if signs := [x for x in f.call_now_symptoms if ids[x].emergency]:
            problem = f"call_now_symptoms: {signs} are emergency signs (their answer is always an emergency)"
            fail("factors.toml", i, entry, problem, "call_now_symptoms")
        if len(set(f.call_now_symptoms)) != len(f.call_now_symptoms):
            fail("factors.toml", i, entry, "call_now_symptoms: a symptom is listed twice", "call_now_symptoms")
    if net is not None and net.nurse_general in call_now_nurse:
        raise KnowledgeError(
            str(kb_path),
            "safety_net",
            f"nurse_general: {net.nurse_general!r} is the nurse's wording of another line",
            line_of(kb_path, None, None, ("safety_net", "nurse_general")),
        )


def load_knowledge(
    directory: str | os.PathLike[str] | None = None, *, require_release: bool | None = None
) -> KnowledgeBase:
    """Read and validate every knowledge file; raise KnowledgeError on the first problem,
    naming the file, the entry, the line of the bad value (where it can) and the problem.

    `require_release` (default: only when $TRIAGE_ENV is production) also refuses content
    that does not match the digest its version was released with.
    """
    d = Path(directory) if directory is not None else default_dir()

    p = {name: d / name for name in FILES}
    raw = {name: _read(d, name) for name in FILES}
    # The translations are clinical content a patient reads: part of the digested content.
    translated = {name: _read(d, name) for name in translation_files(d)}
    raw |= translated

    raw_header = raw["kb.toml"]
    try:
        header = Header.model_validate(raw_header)
    except ValidationError as exc:
        raise KnowledgeError(
            str(p["kb.toml"]), "header", _problem(exc), line_of(p["kb.toml"], None, None, _first_key(exc))
        ) from None
    refs = set(header.reference)

    symptoms = _entries(p["symptoms.toml"], raw["symptoms.toml"], "symptom", Symptom)
    factors = _entries(p["factors.toml"], raw["factors.toml"], "factor", Factor)
    rules = _entries(p["rules.toml"], raw["rules.toml"], "rule", Rule)
    tables = {"symptoms.toml": "symptom", "factors.toml": "factor", "rules.toml": "rule"}

    def fail(file: str, index: int, entry: str, problem: str, *key: str) -> NoReturn:
        raise KnowledgeError(
            str(p[file]), f"{entry} (entry {index})", problem, line_of(p[file], tables[file], index, key)
        )

    def check_sources(file: str, index: int, entry: str, keys: Iterable[str]) -> None:
        if bad := [k for k in keys if k not in refs]:
            fail(file, index, entry, f"unknown reference {bad}; known: {sorted(refs)}", "source")

    def check_texts(file: str, index: int, entry: str, texts: Mapping[str, str | None], allowed: set[str]) -> None:
        for key, text in texts.items():
            try:
                _check_placeholders(p[file], entry, (text,), allowed)
            except KnowledgeError as exc:
                fail(file, index, entry, exc.problem, *key.split("."))

    _check_placeholders(
        p["kb.toml"],
        "header",
        (header.severe_within_expected, header.severe_within_expected_nurse),
        _PLACEHOLDERS["symptoms.toml"],
    )
    for i, adv in enumerate(header.general_advice, 1):
        if bad := [k for k in adv.source if k not in refs]:
            raise KnowledgeError(
                str(p["kb.toml"]),
                f"general_advice entry {i}",
                f"unknown reference {bad}; known: {sorted(refs)}",
                line_of(p["kb.toml"], "general_advice", i, ("source",)),
            )

    def unique(file: str, kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids, 1):
            if ident in seen:
                fail(file, i, f"{kind} {ident!r}", "duplicate id", "id")
            seen.add(ident)

    unique("symptoms.toml", "symptom", [s.id for s in symptoms])
    unique("factors.toml", "factor", [f.id for f in factors])
    unique("rules.toml", "rule", [r.id for r in rules])
    symptom_ids = {s.id: s for s in symptoms}
    factor_ids = {f.id for f in factors}

    for i, s in enumerate(symptoms, 1):
        entry = f"symptom {s.id!r}"
        check_sources("symptoms.toml", i, entry, s.source)
        texts = {f"reasons.{k}": v for k, v in s.reasons.model_dump().items()}
        texts |= {f"nurse_reasons.{k}": v for k, v in s.nurse_reasons.model_dump().items()}
        texts["typical_duration"] = s.typical_duration
        check_texts("symptoms.toml", i, entry, texts, _PLACEHOLDERS["symptoms.toml"])
        if bad := sorted(set(s.likelihood_with) - factor_ids):
            fail("symptoms.toml", i, entry, f"likelihood_with: unknown factor {bad}", "likelihood_with")

    changes: dict[str, list[tuple[str, WindowChange]]] = {}
    for i, f in enumerate(factors, 1):
        entry = f"factor {f.id!r}"
        check_sources("factors.toml", i, entry, f.source)
        for c in f.windows:
            target = symptom_ids.get(c.symptom)
            if target is None:
                fail("factors.toml", i, entry, f"windows: unknown symptom {c.symptom!r}", "windows")
            if target.window is None:
                fail("factors.toml", i, entry, f"windows: symptom {c.symptom!r} has no window to change", "windows")
            changes.setdefault(c.symptom, []).append((f.id, c))

    generated = {own_rule_id(s.id, phase) for s in symptoms for phase in s.phases()}
    generated |= {own_rule_id(s.id, OwnRule.EXPECTED_SEVERE) for s in symptoms if OwnRule.EXPECTED in s.phases()}
    for i, r in enumerate(rules, 1):
        entry = f"rule {r.id!r}"
        if r.id in generated:
            fail("rules.toml", i, entry, "id clashes with a symptom's own rule id", "id")
        check_sources("rules.toml", i, entry, r.source)
        check_texts(
            "rules.toml", i, entry, {"reason": r.reason, "nurse_reason": r.nurse_reason}, _PLACEHOLDERS["rules.toml"]
        )
        check_texts("rules.toml", i, entry, {"lead": r.lead}, _PLACEHOLDERS["rules.toml lead"])
        if r.lead is not None and "{hours_left}" in r.lead and (r.lead_until is None or r.before_hours is None):
            problem = "lead: {hours_left} needs lead_until (the hour it counts down to) and before_hours"
            fail("rules.toml", i, entry, problem, "lead")
        if not r.symptoms_any and any("{reported}" in t for t in (r.reason, r.nurse_reason)):
            problem = "{reported} names the reported symptoms of symptoms_any: it has none"
            fail("rules.toml", i, entry, problem, "reason")
        for key, refs_ in (("symptoms_all", r.symptoms_all), ("symptoms_any", r.symptoms_any)):
            for ref in refs_:
                sid, _, sev = ref.partition(":")
                if sid not in symptom_ids:
                    fail("rules.toml", i, entry, f"unknown symptom {sid!r}", key)
                if sev and sev not in SEVERITIES:
                    fail("rules.toml", i, entry, f"unknown severity {sev!r} in {ref!r}; valid: {SEVERITIES}", key)
        if bad := [s for s in r.symptoms if s not in symptom_ids]:
            fail("rules.toml", i, entry, f"unknown symptom {bad}", "symptoms")
        if bad := [f for f in r.factors if f not in factor_ids]:
            fail("rules.toml", i, entry, f"unknown factor {bad}", "factors")
        if r.phase and r.symptoms and (windowless := [s for s in r.symptoms if symptom_ids[s].window is None]):
            fail("rules.toml", i, entry, f"'phase' needs symptoms with a window; {windowless} have none", "phase")

    _check_same_advice(p["kb.toml"], header, symptom_ids, {r.id: r for r in rules})
    _check_safety_net(p, header, symptoms, factors, fail)

    kb = KnowledgeBase(
        header=header,
        symptoms={s.id: s for s in symptoms},
        factors={f.id: f for f in factors},
        rules={r.id: r for r in rules},
        source_dir=str(d),
        window_changes={k: tuple(v) for k, v in changes.items()},
        digest=(digest := content_digest(raw)),
        unreleased=release_problem(d, header.version, header.digest, digest),
    )
    for i, r in enumerate(rules, 1):
        if (r.onset or r.window_only) and not rule_symptoms(kb, r):
            fail(
                "rules.toml",
                i,
                f"rule {r.id!r}",
                "no symptom matches its 'symptoms', 'onset' and 'window_only'",
                "onset",
            )
    _check_without_symptoms(kb, p["rules.toml"], rules)
    # Every combination of window-changing factors must keep the bounds in order.
    factor_index = {f.id: i for i, f in enumerate(factors, 1)}
    for sid, sym_changes in kb.window_changes.items():
        ids = [f for f, _ in sym_changes]
        for n in range(1, len(ids) + 1):
            for combo in itertools.combinations(ids, n):
                w = kb.window(sid, combo)
                last = combo[-1]
                if w.expected_until is not None and w.expected_until > w.monitor_until:
                    fail(
                        "factors.toml",
                        factor_index[last],
                        f"factor {last!r}",
                        f"with {list(combo)} the window of {sid!r} becomes expected_until "
                        f"{w.expected_until:g} > monitor_until {w.monitor_until:g}",
                        "windows",
                    )
                if w.monitor_until > MAX_HOURS:
                    fail(
                        "factors.toml",
                        factor_index[last],
                        f"factor {last!r}",
                        f"window of {sid!r} exceeds {MAX_HOURS:g} h",
                        "windows",
                    )
    if translated:
        languages = {Path(name).stem: translate(kb, d / name, data) for name, data in translated.items()}
        kb = dataclasses.replace(kb, translations=languages)
    if production_requested() if require_release is None else require_release:
        refuse_unreleased(kb)
    return kb


def _check_without_symptoms(kb: KnowledgeBase, path: Path, rules: list[Rule]) -> None:
    """Rules that answer a report with no symptoms must, for each set of factors they name,
    cover every hour from 0 (a report they let through must always get an answer)."""
    groups: dict[frozenset[str], list[Rule]] = {}
    for r in rules:
        if r.answers_without_symptoms:
            groups.setdefault(frozenset(r.factors), []).append(r)
    for factor_set, group in groups.items():
        reach = 0.0
        for r in sorted(group, key=lambda r: r.after_hours or 0.0):
            if (r.after_hours or 0.0) > reach:
                break
            reach = max(reach, math.inf if r.before_hours is None else r.before_hours)
        if reach != math.inf:
            index = rules.index(group[0]) + 1
            raise KnowledgeError(
                str(path),
                f"rule {group[0].id!r} (entry {index})",
                f"rules answering reports without symptoms for factors {sorted(factor_set)} "
                f"leave hours from {reach:g} unanswered",
                line_of(path, "rule", index, ("answers_without_symptoms",)),
            )


def refuse_unreleased(kb: KnowledgeBase) -> None:
    """Raise KnowledgeError when the content is not what its version was released as (production)."""
    if kb.unreleased:
        raise KnowledgeError(str(Path(kb.source_dir) / "kb.toml"), "digest", kb.unreleased)
