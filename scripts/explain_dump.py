"""Dump every answer of a large, fixed set of reports, to prove a change to the wording leaves
every answer byte for byte as it was (issue 14: make `Assessor.explain` cheaper, same output).

Usage: PYTHONPATH=. .venv/bin/python scripts/explain_dump.py OUT
Run it before and after a change and compare the files (`cmp`). The answer cache is off
(cache_size=0) except in the one section that checks the cached path; a refused report
dumps its error message, since those must not change either.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from triage.answer.assess import Assessor
from triage.answer.languages import LanguageAssessor
from triage.cli.commands import render
from triage.engine.report import InvalidReport
from triage.knowledge.loader import load_knowledge
from verification.reports import differential_reports, random_reports, report_mix

Raw = tuple[Any, Any, Any, Any, Any]


def _no_hours(kb: Any, rng: random.Random, n: int) -> Iterator[Raw]:
    """Reports without hours: each symptom alone, emergency signs with others, factor-only."""
    always = [s.id for s in kb.symptoms.values() if s.window is None]
    every = list(kb.symptoms)
    for sid in every:
        yield [sid], None, [], False, []
        for sev in ("mild", "moderate", "severe"):
            yield [f"{sid}:{sev}"], None, [], True, []
    for _ in range(n):
        ids = rng.sample(always, rng.randint(1, 2)) + rng.sample(every, rng.randint(0, 3))
        yield list(dict.fromkeys(ids)), None, rng.sample(list(kb.factors), rng.randint(0, 2)), rng.random() < 0.3, []


def _factor_only(kb: Any) -> Iterator[Raw]:
    """Reports with risk factors and no symptoms, with and without hours."""
    for n in (1, 2):
        for combo in itertools.combinations(kb.factors, n):
            for hours in (None, 0, 5.5, 30, 200.25):
                yield [], hours, list(combo), False, []


def _odd_hours(kb: Any, rng: random.Random, n: int) -> Iterator[Raw]:
    """Hours as ints, -0.0, whole days, record `worse` lists: the answer echoes the report."""
    symptoms = list(kb.symptoms)
    for _ in range(n):
        ids = rng.sample(symptoms, rng.randint(1, 4))
        hours = rng.choice((0, -0.0, 1, 1.0, 24, 48, 72.0, 96, 168, 336.0, 8760, rng.randint(0, 500)))
        worse = [s for s in ids if rng.random() < 0.4]
        yield ids, hours, rng.sample(list(kb.factors), rng.randint(0, 2)), rng.random() < 0.2, worse


def _lines(assess: Any, reports: Iterable[Raw], text: Any = None) -> Iterator[str]:
    for symptoms, hours, factors, worsening, worse in reports:
        try:
            answer = assess(symptoms, hours, factors, worsening, worse)
        except InvalidReport as exc:
            yield "ERROR " + str(exc)
            continue
        yield json.dumps(answer.to_dict(), sort_keys=True)
        if text is not None:
            yield text(answer)


def _cli_runs(kb: Any) -> Iterator[str]:
    """`triage check` itself, text and JSON, English and Spanish, for a few reports."""
    from click.testing import CliRunner

    from triage.cli.commands import cli

    runner = CliRunner()
    for symptoms, hours, factors, worsening in random_reports(kb, 15, seed=9):
        for extra in ([], ["--json"], ["--lang", "es"], ["--lang", "es", "--json"]):
            args = ["check", *symptoms, "--hours", str(hours), *[a for f in factors for a in ("--factor", f)]]
            result = runner.invoke(cli, args + (["--worsening"] if worsening else []) + extra)
            yield f"exit {result.exit_code}\n{result.output}"


def _five(raws: Iterable[tuple[Any, Any, Any, Any]]) -> list[Raw]:
    return [(s, h, f, w, []) for s, h, f, w in raws]


def main(out_path: str) -> int:
    kb = load_knowledge()
    english = Assessor(kb, cache_size=0)
    spanish = LanguageAssessor(english, "es", cache_size=0)
    cached = Assessor(kb)  # the answer and phase caches on: the same answers
    rng = random.Random(14)
    sections: list[tuple[str, Any, list[Raw], Any]] = [
        ("random", english.assess, _five(random_reports(kb, 3000)), None),
        ("differential", english.assess, _five(differential_reports(kb, 6000)), None),
        ("mix", english.assess, _five(report_mix(kb, 2000)), None),
        ("no-hours", english.assess, list(_no_hours(kb, rng, 400)), None),
        ("factor-only", english.assess, list(_factor_only(kb)), None),
        ("odd-hours", english.assess, list(_odd_hours(kb, rng, 600)), None),
        ("es-random", spanish.assess, _five(random_reports(kb, 1500)), None),
        ("es-differential", spanish.assess, _five(differential_reports(kb, 1500)), None),
        ("es-no-hours", spanish.assess, list(_no_hours(kb, random.Random(15), 200)), None),
        ("es-odd-hours", spanish.assess, list(_odd_hours(kb, random.Random(16), 300)), None),
        ("cli-en", english.assess, _five(random_reports(kb, 400, seed=7)), lambda a: render(a, english)),
        ("cli-es", spanish.assess, _five(random_reports(kb, 300, seed=8)), lambda a: render(a, spanish)),
        ("cached", cached.assess, _five(report_mix(kb, 1500)) + _five(random_reports(kb, 500)), None),
    ]
    count = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for name, assess, reports, text in sections:
            out.write(f"=== {name} ({len(reports)} reports)\n")
            for line in _lines(assess, reports, text):
                out.write(line + "\n")
            count += len(reports)
        out.write("=== cli-runner\n")
        for line in _cli_runs(kb):
            out.write(line + "\n")
    print(f"{count} reports dumped to {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
