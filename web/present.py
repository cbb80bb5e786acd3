"""Turn an Assessment into what the pages show: labels, icons, clock times, the nurse's note.

Only wording and layout live here; every clinical conclusion comes from the Assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from flask_babel import gettext as _

from triage import Assessment, Disposition, Finding, KnowledgeBase
from triage.answer import message
from triage.answer.assess import duration
from triage.exports.organization import Organization
from web.clock import clock, zone_name

# Shape and text carry the meaning; colour only repeats it.
ICONS = {Disposition.EXPECTED.key: "check", Disposition.MONITOR.key: "eye", Disposition.CONTACT_CLINICIAN.key: "phone"}


@dataclass(frozen=True)
class FindingView:
    about: str  # what the finding is about, in the patient's words
    disposition: str  # label, e.g. "Monitor"
    key: str  # css key
    finding: Finding


@dataclass(frozen=True)
class ResultView:
    answer: Assessment
    key: str
    label: str
    patient_text: str  # the answer in one line for the patient (the emergency call in an emergency)
    nurse_text: str  # the nurse's action (emergency routing in an emergency)
    icon: str
    emergency_text: str | None
    emergency_nurse: str | None
    recheck_hours: str | None  # "18 hours"
    recheck_clock: str | None  # "14:30 on Wednesday 25 November"
    recheck_after_session: str | None  # "48 hours"
    timezone: str
    findings: tuple[FindingView, ...]  # "why": one per symptom, and the combinations
    more_detail: tuple[FindingView, ...]  # the findings the answer folds away
    actions: tuple[str, ...]  # what to do now: in an emergency the call and first aid; else the findings' advice
    advice: tuple[str, ...]  # care advice not already shown elsewhere on the page (none in an emergency)
    assessed_at: datetime


def _about(kb: KnowledgeBase, f: Finding) -> str:
    if f.symptom:
        return kb.symptom_name(f.symptom)
    names = [kb.symptom_name(s) for s in f.symptoms] + [kb.factor_label(x) for x in f.factors]
    return " + ".join(names) or _("Your report")


def _finding_views(kb: KnowledgeBase, findings: tuple[Finding, ...]) -> tuple[FindingView, ...]:
    return tuple(
        FindingView(
            about=_about(kb, f),
            disposition=_("Emergency") if f.emergency else kb.header.dispositions[f.disposition.key].label,
            key=f.disposition.key,
            finding=f,
        )
        for f in findings
    )


def view(kb: KnowledgeBase, answer: Assessment, at: datetime, tz: tzinfo) -> ResultView:
    """Everything a result page needs, worked out once. The page says only what the answer's
    advice says (triage.answer.message): the first line is its summary, the rest what to do."""
    key = answer.disposition.key
    text = kb.header.dispositions[key]
    recheck = answer.recheck_in_hours
    hours = answer.report.hours
    if recheck is None or hours is None or answer.disposition is Disposition.CONTACT_CLINICIAN:
        recheck = None
    top = (answer.disposition.rank, answer.emergency)
    finding_advice = [
        f.advice for f in (*answer.findings, *answer.more_detail) if f.advice and message.urgency(f) == top
    ]
    actions: tuple[str, ...]
    advice: tuple[str, ...]
    if answer.emergency:
        actions, advice = answer.advice, ()
    else:
        # (a finding's advice may have lost a sentence said before it: compare by inclusion)
        actions = tuple(a for a in answer.advice if any(a in whole for whole in finding_advice))
        advice = tuple(
            a
            for a in answer.advice
            if a != answer.summary
            and a not in actions
            and not (recheck is not None and a.startswith(kb.words.recheck_starts))
        )
    return ResultView(
        answer=answer,
        key=key,
        label=text.label,
        patient_text=answer.summary or text.patient,
        nurse_text=kb.header.emergency.nurse if answer.emergency else text.nurse,
        icon=ICONS[key],
        emergency_text=kb.header.emergency.patient if answer.emergency else None,
        emergency_nurse=kb.header.emergency.nurse if answer.emergency else None,
        recheck_hours=kb.words.duration(recheck) if recheck is not None else None,
        recheck_clock=clock(at + timedelta(hours=recheck), tz, kb.language) if recheck is not None else None,
        recheck_after_session=kb.words.duration(hours + recheck) if recheck is not None and hours is not None else None,
        timezone=zone_name(tz),
        findings=_finding_views(kb, answer.findings),
        more_detail=_finding_views(kb, answer.more_detail),
        actions=actions,
        advice=advice,
        assessed_at=at,
    )


def report_line(kb: KnowledgeBase, answer: Assessment) -> str:
    """The report in one line, as a nurse documents it."""
    r = answer.report
    symptoms = ", ".join(f"{kb.symptom_name(s).lower()} [{s}] ({sev})" for s, sev in r.symptoms) or "no symptoms"
    factors = ", ".join(f"{kb.factors[f].label} [{f}]" for f in r.factors) or "none"
    when = duration(r.hours) if r.hours is not None else "time not given"
    return (
        f"{symptoms}; {when} since the session ended; risk factors: {factors}; "
        f"getting worse: {'yes' if r.worsening else 'no'}"
    )


def note(kb: KnowledgeBase, result: ResultView, tz: tzinfo, clinic: Organization | None = None) -> str:
    """The plain-text documentation note the nurse copies into the record (naming the clinic
    when the deployment has a profile)."""
    a = result.answer
    at = result.assessed_at
    local = at.astimezone(tz)
    lines = [
        "Microneedling side-effect triage: documentation note",
        *([f"Clinic: {clinic.contact_line()}"] if clinic is not None else []),
        f"Time of assessment: {at:%Y-%m-%d %H:%M} UTC ({local:%Y-%m-%d %H:%M} {zone_name(tz)})",
        f"Knowledge base version: {a.kb_version}",
        f"Knowledge base digest: {a.kb_digest or 'not recorded'}",
        f"Report: {report_line(kb, a)}",
        f"Disposition: {a.disposition.value.upper()}{' - EMERGENCY' if a.emergency else ''}",
        f"Action: {result.nurse_text}",
    ]
    lines.append("Reasons:")

    def listed(findings: tuple[FindingView, ...]) -> None:
        for f in findings:
            flag = ", emergency" if f.finding.emergency else ""
            lines.append(
                f"- [{f.finding.disposition.value}{flag}] {f.about} (rule {f.finding.rule}): "
                f"{f.finding.nurse_reason or f.finding.reason}"
            )
            if f.finding.likelihood:
                lines.append(f"  How common: {f.finding.likelihood}. Usual course: {f.finding.typical_duration}")
            lines.append(f"  Source: {f.finding.source}")

    listed(result.findings)
    if result.more_detail:
        lines.append("More detail (outranked by the answer):")
        listed(result.more_detail)
    lines.append("Advice given:")
    lines += [f"- {line}" for line in a.advice]
    if result.recheck_clock is None:
        lines.append(f"Re-check: none; act now ({'emergency' if a.emergency else Disposition.CONTACT_CLINICIAN}).")
    else:
        lines.append(
            f"Re-check: in {result.recheck_hours}, at {result.recheck_clock} ({zone_name(tz)}), "
            f"{result.recheck_after_session} after the session."
        )
    lines.append(kb.header.disclaimer)
    return "\n".join(lines)
