"""The reports a knowledge-base change report asks both engines about.

They are generated from the two knowledge bases themselves, so that every boundary either
version draws is visited: for each symptom, each severity, no factor and each factor that
touches it (alone, and every combination of the factors that change its window), at 0 h and
just before, at and after every window bound and rule hour that concerns it; every set of
symptoms a combination rule names; and reports with no symptom, one factor each. Vignette files
add the cases a clinic already knows by name.

Only public parts of the knowledge base are read (its symptoms, factors and effective windows),
and each rule as triage.knowledge.conditions reads it (the symptoms it names, its factors, hours
and getting worse), as the engine does: a new kind of condition read there is visited here too.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from triage.knowledge.base import KnowledgeBase
from triage.knowledge.conditions import Conditions, factor_combinations, rule_conditions, window_bounds
from triage.vocabulary import MAX_HOURS, SEVERITIES

EPSILON = 0.01  # "just before" and "just after" a bound, in hours (answers give re-checks to 0.01 h)
DEFAULT_CASE_FILES = ("public.toml", "public-v2.toml", "public-v3.toml")  # shipped in triage/review/vignettes/


@dataclass(frozen=True, order=True)
class Probe:
    """One report to put to both engines, in the words assess() takes."""

    symptoms: tuple[str, ...]  # "id:severity"
    hours: float
    factors: tuple[str, ...] = ()
    worsening: bool = False

    def describe(self, hours: str | None = None) -> str:
        """The report in a line; `hours` replaces its own hours (a row of several)."""
        text = " + ".join(self.symptoms) or "no symptoms"
        text += f" at {hours or f'{self.hours:g} h'}"
        if self.factors:
            text += " with " + ", ".join(self.factors)
        if self.worsening:
            text += ", getting worse"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "symptoms": list(self.symptoms),
            "hours": self.hours,
            "factors": list(self.factors),
            "worsening": self.worsening,
        }


def around(bounds: Iterable[float]) -> list[float]:
    """0 h, and just before, at and just after each bound, within 0 to 8760 h."""
    hours = {0.0}
    for b in bounds:
        hours |= {round(b - EPSILON, 6), b, round(b + EPSILON, 6)}
    return sorted(h for h in hours if 0 <= h <= MAX_HOURS)


def boundary_probes(old: KnowledgeBase, new: KnowledgeBase) -> list[Probe]:
    """Every report the two knowledge bases' boundaries call for (see the module docstring)."""
    kbs = (old, new)
    rules = [c for kb in kbs for c in rule_conditions(kb)]
    symptoms = list(dict.fromkeys(s for kb in kbs for s in kb.symptoms))
    factors = list(dict.fromkeys(f for kb in kbs for f in kb.factors))
    probes: set[Probe] = set()

    for sid in symptoms:
        touching = [r for r in rules if not r.named or sid in r.named]
        changers = tuple(dict.fromkeys(f for kb in kbs for f in kb.adjusting_factors(sid)))
        factor_sets = {tuple(sorted(c)) for c in factor_combinations(changers)}
        factor_sets |= {tuple(sorted(r.factors)) for r in touching if r.factors}
        bounds = {h for kb in kbs for h in window_bounds(kb, sid, factor_sets)}
        bounds |= {h for r in touching for h in r.hours}
        worsening = (False, True) if any(r.worsening for r in touching) else (False,)
        for severity, present, hours, worse in itertools.product(SEVERITIES, factor_sets, around(bounds), worsening):
            probes.add(Probe((f"{sid}:{severity}",), hours, present, worse))

    for r in rules:
        probes |= set(_combination_probes(r, rules, kbs))

    # Reports with no symptoms: refused unless a knowledge base accepts them for a factor.
    factor_hours = around(h for r in rules if r.factors for h in r.hours)
    probes |= {Probe((), h, (f,)) for f in factors for h in factor_hours}
    return sorted(probes)


def _combination_probes(
    rule: Conditions, rules: Iterable[Conditions], kbs: tuple[KnowledgeBase, ...]
) -> Iterator[Probe]:
    """Every set of symptoms a combination rule names (all of symptoms_all with each of
    symptoms_any), around the rule's hours, its symptoms' window bounds and the hours of
    every rule that touches them."""
    every, anyof = list(rule.symptoms_all), list(rule.symptoms_any)
    sets = [[*every, a] for a in anyof] if anyof else [every]
    sets = [s for s in sets if len(s) >= 2]
    if not sets:
        return
    ids = {s.partition(":")[0] for group in sets for s in group}
    bounds = set(rule.hours) | {h for kb in kbs for sid in ids for h in window_bounds(kb, sid, [(), rule.factors])}
    bounds |= {h for r in rules if not r.named or r.named & ids for h in r.hours}
    for group, severity, present in itertools.product(sets, SEVERITIES, {(), tuple(sorted(rule.factors))}):
        named = tuple(s if ":" in s else f"{s}:{severity}" for s in group)
        for hours in around(bounds):
            yield Probe(named, hours, present)


# --- vignette files ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A named report from a vignette file."""

    id: str
    probe: Probe


def default_case_files() -> list[Path]:
    """The public vignettes shipped with the package (triage/review/vignettes/), those present."""
    folder = resources.files("triage.review") / "vignettes"
    return [Path(str(folder / name)) for name in DEFAULT_CASE_FILES if (folder / name).is_file()]


class CaseFileError(ValueError):
    """A vignette file cannot be read; the message names the file and the case."""


def load_cases(path: str | Path) -> list[Case]:
    """Read a vignette file ([[case]] entries with id, symptoms, hours, factors, worsening)."""
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"{path}: cannot read the cases: {exc}") from None
    raw = data.get("case")
    if not isinstance(raw, list):
        raise CaseFileError(f"{path}: no [[case]] entries")
    cases = []
    for i, entry in enumerate(raw, 1):
        name = str(entry.get("id", f"case {i}")) if isinstance(entry, dict) else f"case {i}"
        try:
            assert isinstance(entry, dict)
            hours = float(entry["hours"])
            probe = Probe(
                tuple(str(s) for s in entry.get("symptoms", ())),
                hours,
                tuple(sorted(str(f) for f in entry.get("factors", ()))),
                bool(entry.get("worsening", False)),
            )
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            raise CaseFileError(f"{path}: {name}: needs symptoms (a list) and hours (a number): {exc}") from None
        cases.append(Case(name, probe))
    return cases
