"""Command line: `triage check`, `triage symptoms`, `triage validate`, `triage diff`, `triage release`.

Bad input exits with code 2 and one line on stderr naming the problem and the valid
values; nothing is printed on stdout, so a script can never mistake an error for an answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from triage.answer import message
from triage.answer.assess import Assessor, default_assessor, duration
from triage.answer.languages import ENGLISH_CODE, LanguageAssessor
from triage.answer.model import Assessment, Finding
from triage.answer.safety_net import EMERGENCY
from triage.engine.report import InvalidReport, Problem, hours_for_engine, hours_text_forms
from triage.knowledge.digest import short
from triage.knowledge.files import default_dir
from triage.knowledge.loader import load_knowledge
from triage.knowledge.schema import KnowledgeError
from triage.review.change_report import FORMATS, RENDERERS
from triage.review.diff import compare
from triage.review.probes import Case, CaseFileError, default_case_files, load_cases
from triage.review.release import ReleaseError, release
from triage.vocabulary import MAX_HOURS, SEVERITIES, Disposition

USAGE_ERROR = 2


def _assessor(ctx: click.Context) -> Assessor:
    kb_dir = ctx.find_root().params.get("kb")
    return Assessor(load_knowledge(kb_dir)) if kb_dir else default_assessor()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kb", type=click.Path(file_okay=False), help="Knowledge directory (default: the shipped one).")
def cli(kb: str | None) -> None:
    """Triage side effects after microneedling. Supports, does not replace, clinical judgement."""


@cli.command()
@click.argument("symptoms", nargs=-1)
@click.option(
    "--hours",
    "hours_text",
    metavar="H",
    help=f"Time since the session ended: hours (30, 30h) or days (2d, 1.5 days), up to {MAX_HOURS:g} hours, "
    "in the units of --lang (es: 36 horas, 2 días, 1,5 días). "
    "May be left out only when the answer is the same at every hour (an emergency sign, for example).",
)
@click.option("--factor", "factors", multiple=True, metavar="F", help="A risk factor; repeat for several.")
@click.option("--worsening", is_flag=True, help="The symptoms are getting worse rather than settling.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--lang",
    "language",
    default=ENGLISH_CODE,
    show_default=True,
    metavar="LANG",
    help="The language of the patient's words (reasons, advice; nurse words stay English), e.g. es.",
)
@click.pass_context
def check(
    ctx: click.Context,
    symptoms: tuple[str, ...],
    hours_text: str | None,
    factors: tuple[str, ...],
    worsening: bool,
    as_json: bool,
    language: str,
) -> None:
    """Assess SYMPTOM... (id or id:severity, severity mild|moderate|severe)."""
    english = _assessor(ctx)
    if language not in english.kb.languages:
        raise click.BadParameter(
            f"no translation {language!r}; the knowledge base has: {', '.join(english.kb.languages)}",
            param_hint="'--lang'",
        )
    assessor = LanguageAssessor(english, language, cache_size=0)
    words = assessor.kb.words  # the hours are read in the language's units ("2 días" with --lang es)
    hours = None if hours_text is None else hours_for_engine(hours_text, words)
    try:
        answer = assessor.assess(list(symptoms), hours, list(factors), worsening)
    except InvalidReport as exc:
        if hours_text is None:  # say which option is missing
            raise InvalidReport(
                Problem(p.field, f"--hours is required: {p.message}") if p.field == "hours" else p for p in exc.problems
            ) from None
        if isinstance(hours, str):  # text that is not hours: say what forms text takes
            raise InvalidReport(
                Problem(p.field, f"{p.message}; {hours_text_forms(words)}") if p.field == "hours" else p
                for p in exc.problems
            ) from None
        raise
    if assessor.kb.unreleased:
        click.echo(
            f"triage: note: answering from unreleased content (see `triage validate`): "
            f"digest {short(assessor.kb.digest)}",
            err=True,
        )
    click.echo(json.dumps(answer.to_dict(), indent=2) if as_json else render(answer, assessor))


def render(answer: Assessment, assessor: Assessor | LanguageAssessor) -> str:
    """A readable answer for a nurse: the action first, then why, what to do, when to re-check."""
    kb = assessor.kb
    lines = []
    if answer.emergency:
        lines.append(f"!!! EMERGENCY: {kb.header.emergency.nurse}")
    lines.append(answer.disposition.value.upper() + (" - EMERGENCY" if answer.emergency else ""))
    if not answer.emergency:  # an emergency is not a same-day review
        lines.append(kb.header.dispositions[answer.disposition.key].nurse)
    report = answer.report
    described = ", ".join(f"{sid} ({sev})" for sid, sev in report.symptoms) or "no symptoms"
    when = "hours since the session not given" if report.hours is None else f"{report.hours:g} h since the session"
    lines.append(
        f"Report: {described}; {when}"
        + (f"; factors: {', '.join(report.factors)}" if report.factors else "")
        + ("; getting worse" if report.worsening else "")
    )

    def listed(findings: tuple[Finding, ...]) -> list[str]:
        out = []
        for f in findings:
            about = f.symptom or " + ".join(f.symptoms) or "report"
            flag = " EMERGENCY" if f.emergency else ""
            out.append(f"  [{f.disposition.value}{flag}] {about} (rule {f.rule})")
            out.append(f"      {f.nurse_reason or f.reason}")
            if f.likelihood:
                out.append(f"      how common: {f.likelihood}; usual course: {f.typical_duration}")
            if report.hours is not None and f.until_hours is not None and f.until_hours > report.hours:
                out.append(f"      changes at {f.until_hours:g} h (in {f.until_hours - report.hours:g} h)")
            out.append(f"      source: {f.source}")
        return out

    why, detail = message.as_told(answer.findings, answer.more_detail)  # policy v3: told under a combination
    lines += ["", "Findings:", *listed(why)]
    if detail:
        lines += ["", "More detail (outranked by the answer above):", *listed(detail)]
    lines.append("")
    lines.append("Advice:")
    lines += [f"  - {a}" for a in answer.advice]
    if answer.safety_net:  # what would make it more urgent (none in an emergency)
        lines += ["", "Safety net (what would make it more urgent):"]
        for line in answer.safety_net:
            action = "call now" if line.level == EMERGENCY else "contact the clinic"
            said_for = f" [{', '.join(line.symptoms)}]" if line.symptoms else ""
            lines.append(f"  - {action}{said_for}: {line.text}")
    lines.append("")
    if answer.recheck_in_hours is None or report.hours is None:
        lines.append("Re-check: none; act now.")
    else:
        at = report.hours + answer.recheck_in_hours
        lines.append(f"Re-check: in {duration(answer.recheck_in_hours)} (at {duration(at)} after the session).")
    lines.append(f"Knowledge base: {answer.kb_version} (digest {short(answer.kb_digest)})")
    return "\n".join(lines)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def symptoms(ctx: click.Context, as_json: bool) -> None:
    """List the symptom vocabulary and the risk factors."""
    kb = _assessor(ctx).kb
    if as_json:
        data = {
            "kb_version": kb.version,
            "kb_digest": kb.digest,
            "symptoms": [
                s.model_dump(include={"id", "name", "description", "group", "likelihood", "onset"})
                for s in kb.symptoms.values()
            ],
            "factors": [f.model_dump(include={"id", "label", "question"}) for f in kb.factors.values()],
            "severities": list(SEVERITIES),
        }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"Symptoms (knowledge base {kb.version}); add :mild, :moderate or :severe (default moderate):")
    for s in kb.symptoms.values():
        if s.window is None:
            when = f"always {Disposition.CONTACT_CLINICIAN}" + (", EMERGENCY" if s.emergency else "")
        else:
            w = s.window
            when = (
                f"expected < {w.expected_until:g} h, " if w.expected_until else ""
            ) + f"contact >= {w.monitor_until:g} h"
        onset = f"; {s.onset} onset" if s.onset else ""
        click.echo(f"  {s.id:<22} {s.description} [{s.likelihood}{onset}; {when}]")
    click.echo("Risk factors (--factor):")
    for f in kb.factors.values():
        click.echo(f"  {f.id:<22} {f.label}")


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def validate(directory: str | None) -> None:
    """Check a knowledge directory (default: the shipped one) and build its engine."""
    kb = load_knowledge(directory, require_release=False)
    Assessor(kb)
    click.echo(
        f"ok: knowledge base {kb.version} from {kb.source_dir}: {len(kb.symptoms)} symptoms, "
        f"{len(kb.factors)} factors, {len(kb.rules)} rules; "
        f"patient texts in {', '.join(kb.languages)} (every translation complete)"
    )
    if kb.unreleased:
        click.echo(f"not released (production refuses it): {kb.unreleased}")
    else:
        click.echo(f"released: digest {kb.digest}")


def _cases(files: tuple[str, ...], notes: list[str]) -> list[Case]:
    """The cases of --cases files, else of the shipped public vignettes (a missing one is noted)."""
    paths = list(files) or default_case_files()
    if not files and not paths:
        notes.append("the shipped public vignettes were not found; give cases with --cases FILE")
    cases: list[Case] = []
    for path in paths:
        cases += load_cases(path)
    return cases


# The vignette files `diff` and `release` add to the generated reports.
cases_option = click.option(
    "--cases",
    "case_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Vignette file(s) to add to the change report (default: the shipped public vignettes).",
)


@cli.command()
@click.argument("old_dir", type=click.Path(file_okay=False))
@click.argument("new_dir", type=click.Path(file_okay=False))
@cases_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write to FILE, not stdout.")
@click.option(
    "--fail-on",
    type=click.Choice(["less-urgent"]),
    help="Exit 1 when any answer became less urgent (for a clinic's CI).",
)
def diff(
    old_dir: str, new_dir: str, case_files: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None
) -> None:
    """List every report whose answer changes from OLD_DIR's knowledge to NEW_DIR's.

    Either may be `shipped` for the knowledge base shipped with the package.
    """
    old = load_knowledge(_kb_dir(old_dir), require_release=False)
    new = load_knowledge(_kb_dir(new_dir), require_release=False)
    notes: list[str] = []
    try:
        cases = _cases(case_files, notes)
    except CaseFileError as exc:
        raise click.UsageError(str(exc)) from None
    result = compare(old, new, cases, notes)
    text = RENDERERS[fmt](result)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(result.summary(), err=True)
    else:
        click.echo(text, nl=False)
    if fail_on == "less-urgent" and result.less_urgent:
        raise click.exceptions.Exit(1)


def _kb_dir(name: str) -> str:
    return str(default_dir()) if name == "shipped" else name


@cli.command(name="release")
@click.argument("version")
@cases_option
@click.option(
    "--no-diff",
    is_flag=True,
    help="Release without a change report when this software cannot read the previous release "
    "(a knowledge-format change: review it with the previous software first).",
)
@click.pass_context
def release_command(ctx: click.Context, version: str, case_files: tuple[str, ...], no_diff: bool) -> None:
    """Release the reviewed knowledge (--kb DIR, default the shipped one) as VERSION.

    Writes the change report against the previous release (DIR/released/) to
    DIR/changes/VERSION.md, sets version and digest in kb.toml, and keeps a copy as the release.
    """
    directory = ctx.find_root().params.get("kb") or str(default_dir())
    try:
        done = release(directory, version, _cases(case_files, []), diff=not no_diff)
    except (ReleaseError, CaseFileError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"released {done.version} (digest {done.digest}); previous: {done.previous or 'none'}")
    click.echo(f"change report: {done.report}")
    click.echo(done.summary)


def _one_line(message: str) -> str:
    """Escape line breaks and other unprintable characters, so an error is always one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error becomes one line on stderr and exit code 2 (knowledge errors: 3)."""
    try:
        code = cli.main(args=argv, prog_name="triage", standalone_mode=False)
    except InvalidReport as exc:
        click.echo(f"triage: error: {_one_line(str(exc))}", err=True)
        return USAGE_ERROR
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError:
        click.echo(
            "triage: error: give a command: check, symptoms, validate, diff or release (see triage --help)", err=True
        )
        return USAGE_ERROR
    except click.ClickException as exc:
        click.echo(f"triage: error: {_one_line(exc.format_message())}", err=True)
        return USAGE_ERROR
    except click.Abort:
        return 1
    except KnowledgeError as exc:
        click.echo(f"triage: knowledge base error: {_one_line(str(exc))}", err=True)
        return 3
    return code if isinstance(code, int) else 0  # click returns an Exit's code when not standalone


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
