"""Turn an Assessment into what the pages show: labels, icons, clock times, the nurse's note.

Only wording and layout live here; every clinical conclusion comes from the Assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from triage import Assessment, Disposition, Finding, KnowledgeBase
from triage.assess import duration
from web.clock import clock, zone_name

# Shape and text carry the meaning; colour only repeats it.
ICONS = {"expected": "check", "monitor": "eye", "contact-clinician": "phone"}


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
    patient_text: str
    nurse_text: str
    icon: str
    emergency_text: str | None
    emergency_nurse: str | None
    recheck_hours: str | None  # "18 hours"
    recheck_clock: str | None  # "14:30 on Wednesday 25 November"
    recheck_after_session: str | None  # "48 hours"
    timezone: str
    findings: tuple[FindingView, ...]
    actions: tuple[str, ...]  # what the findings say to do now (antiviral treatment, testing ...)
    advice: tuple[str, ...]  # care advice not already shown elsewhere on the page
    assessed_at: datetime


def _about(kb: KnowledgeBase, f: Finding) -> str:
    if f.symptom:
        return kb.symptom_name(f.symptom)
    names = [kb.symptom_name(s) for s in f.symptoms] + [kb.factor_label(x) for x in f.factors]
    return " + ".join(names) or "Your report"


def view(kb: KnowledgeBase, answer: Assessment, at: datetime, tz: tzinfo) -> ResultView:
    """Everything a result page needs, worked out once."""
    key = answer.disposition.key
    text = kb.header.dispositions[key]  # type: ignore[index]
    emergency = kb.header.emergency.patient if answer.emergency else None
    recheck = answer.recheck_in_hours
    actions = tuple(dict.fromkeys(f.advice for f in answer.findings if f.advice))
    # The banner shows the summary and emergency text, "What to do now" the actions, and "When
    # to check again" the re-check time (the engine's "Check again in ..." line): care advice
    # lists the rest once.
    shown = {answer.summary, kb.header.emergency.patient, *actions}
    return ResultView(
        answer=answer,
        key=key,
        label=text.label,
        patient_text=text.patient,
        nurse_text=text.nurse,
        icon=ICONS[key],
        emergency_text=emergency,
        emergency_nurse=kb.header.emergency.nurse if answer.emergency else None,
        recheck_hours=duration(recheck) if recheck is not None else None,
        recheck_clock=clock(at + timedelta(hours=recheck), tz) if recheck is not None else None,
        recheck_after_session=duration(answer.report.hours + recheck) if recheck is not None else None,
        timezone=zone_name(tz),
        findings=tuple(
            FindingView(
                about=_about(kb, f),
                disposition=kb.header.dispositions[f.disposition.key].label,  # type: ignore[index]
                key=f.disposition.key,
                finding=f,
            )
            for f in answer.findings
        ),
        actions=actions,
        advice=tuple(a for a in answer.advice if a not in shown and not a.startswith("Check again in ")),
        assessed_at=at,
    )


def report_line(kb: KnowledgeBase, answer: Assessment) -> str:
    """The report in one line, as a nurse documents it."""
    r = answer.report
    symptoms = ", ".join(f"{kb.symptom_name(s).lower()} [{s}] ({sev})" for s, sev in r.symptoms) or "no symptoms"
    factors = ", ".join(f"{kb.factors[f].label} [{f}]" for f in r.factors) or "none"
    return (
        f"{symptoms}; {duration(r.hours)} since the session ended; risk factors: {factors}; "
        f"getting worse: {'yes' if r.worsening else 'no'}"
    )


def note(kb: KnowledgeBase, result: ResultView, tz: tzinfo) -> str:
    """The plain-text documentation note the nurse copies into the record."""
    a = result.answer
    at = result.assessed_at
    local = at.astimezone(tz)
    lines = [
        "Microneedling side-effect triage: documentation note",
        f"Time of assessment: {at:%Y-%m-%d %H:%M} UTC ({local:%Y-%m-%d %H:%M} {zone_name(tz)})",
        f"Knowledge base version: {a.kb_version}",
        f"Knowledge base digest: {a.kb_digest or 'not recorded'}",
        f"Report: {report_line(kb, a)}",
        f"Disposition: {a.disposition.value.upper()}{' - EMERGENCY' if a.emergency else ''}",
        f"Action: {result.nurse_text}",
    ]
    if a.emergency:
        lines.append(f"Emergency: {result.emergency_nurse}")
    lines.append("Reasons:")
    for f in result.findings:
        flag = ", emergency" if f.finding.emergency else ""
        lines.append(
            f"- [{f.finding.disposition.value}{flag}] {f.about} (rule {f.finding.rule}): "
            f"{f.finding.nurse_reason or f.finding.reason}"
        )
        if f.finding.likelihood:
            lines.append(f"  How common: {f.finding.likelihood}. Usual course: {f.finding.typical_duration}")
        lines.append(f"  Source: {f.finding.source}")
    lines.append("Advice given:")
    lines += [f"- {line}" for line in a.advice]
    if a.recheck_in_hours is None or a.disposition is Disposition.CONTACT_CLINICIAN:
        lines.append("Re-check: none; act now (contact clinician).")
    else:
        lines.append(
            f"Re-check: in {result.recheck_hours}, at {result.recheck_clock} ({zone_name(tz)}), "
            f"{result.recheck_after_session} after the session."
        )
    lines.append(kb.header.disclaimer)
    return "\n".join(lines)
