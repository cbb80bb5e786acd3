"""Turn an Assessment into what the pages show: labels, icons, clock times, the nurse's note.

Only wording and layout live here; every clinical conclusion comes from the Assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from flask_babel import gettext as _
from markupsafe import Markup

from triage import Assessment, Disposition, Finding, KnowledgeBase
from triage.answer import message
from triage.answer.assess import duration
from triage.answer.model import SafetyNetLine
from triage.answer.safety_net import EMERGENCY
from triage.exports.organization import Organization
from web.clinic import ClinicProfile, dial
from web.clock import clock, zone_name, zone_place

# Shape and text carry the meaning; colour only repeats it.
ICONS = {Disposition.EXPECTED.key: "check", Disposition.MONITOR.key: "eye", Disposition.CONTACT_CLINICIAN.key: "phone"}


@dataclass(frozen=True)
class FindingView:
    about: str  # what the finding is about, in the patient's words
    disposition: str  # label, e.g. "Monitor"
    key: str  # css key
    finding: Finding
    # the patient's tag: the disposition, or on an emergency page "Emergency" for what makes it
    # one and "Tell them about this too" for the rest (no "Contact clinician" under "call now")
    tag: str = ""
    tag_key: str = ""


@dataclass(frozen=True)
class SafetyNetView:
    """One line of the answer's safety net (what would make it more urgent) as the pages show it."""

    level: str  # "emergency" (call now) or "clinic" (contact the clinic sooner)
    html: Markup  # the patient's words, with a clinic profile's number, name and phone put in
    line: SafetyNetLine
    about: str  # the symptoms it is said for, by name ("" for the general line)

    @property
    def emergency(self) -> bool:
        return self.level == EMERGENCY


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
    place: str  # where the clock times are, in the patient's words ("Madrid")
    findings: tuple[FindingView, ...]  # "why": one per symptom, and the combinations
    more_detail: tuple[FindingView, ...]  # the findings the answer folds away
    actions: tuple[str, ...]  # what to do now: in an emergency the call and first aid; else the findings' advice
    advice: tuple[str, ...]  # care advice not already shown elsewhere on the page (none in an emergency)
    assessed_at: datetime
    safety_net: tuple[SafetyNetView, ...] = ()  # what would make it more urgent (none in an emergency)
    # the re-check for the patient: rounded down to the quarter hour ("about 23:00 ..."), never
    # later than the engine's re-check
    recheck_about: str | None = None


def quarter_down(moment: datetime, tz: tzinfo) -> datetime:
    """`moment` rounded down to the quarter hour on the person's clock (23:14 is 23:00, 23:15 is
    23:15): a time to check again said roughly is never later than the one the answer gives."""
    local = moment.astimezone(tz)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)


def _about(kb: KnowledgeBase, f: Finding) -> str:
    if f.symptom:
        return kb.symptom_name(f.symptom)
    names = [kb.symptom_name(s) for s in f.symptoms] + [kb.factor_label(x) for x in f.factors]
    return " + ".join(names) or _("Your report")


def _finding_views(
    kb: KnowledgeBase, findings: tuple[Finding, ...], emergency: bool = False
) -> tuple[FindingView, ...]:
    views = []
    for f in findings:
        disposition = _("Emergency") if f.emergency else kb.header.dispositions[f.disposition.key].label
        if f.emergency:
            tag, tag_key = disposition, "emergency"
        elif emergency:
            tag, tag_key = _("Tell them about this too"), "also"
        else:
            tag, tag_key = disposition, f.disposition.key
        views.append(FindingView(_about(kb, f), disposition, f.disposition.key, f, tag, tag_key))
    return tuple(views)


def _with_clinic(kb: KnowledgeBase, line: SafetyNetLine, clinic: ClinicProfile | None) -> Markup:
    """A safety-net line in the patient's words, as HTML: with a clinic profile, its emergency
    number (a link to call) in place of the knowledge base's words for it in a "call now" line,
    and its name and phone in place of the words for the clinic in a "contact the clinic" line
    (kb.toml `safety_net`; the loader checks the lines say them)."""
    net = kb.header.safety_net
    if clinic is None or net is None:
        return Markup.escape(line.text)
    if line.level == EMERGENCY:
        words = net.emergency_number
        number = clinic.emergency_number
        put = Markup('<a class="tel" href="tel:{}">{}</a>').format(dial(number), number)
    else:
        words = net.clinic
        put = Markup('{} (<a class="tel" href="tel:{}">{}</a>)').format(clinic.name, dial(clinic.phone), clinic.phone)
    return put.join(line.text.split(words))


def safety_net_views(
    kb: KnowledgeBase, answer: Assessment, clinic: ClinicProfile | None = None
) -> tuple[SafetyNetView, ...]:
    return tuple(
        SafetyNetView(
            level=line.level,
            html=_with_clinic(kb, line, clinic),
            line=line,
            about=", ".join(kb.symptom_name(s) for s in line.symptoms),
        )
        for line in answer.safety_net
    )


def view(
    kb: KnowledgeBase, answer: Assessment, at: datetime, tz: tzinfo, clinic: ClinicProfile | None = None
) -> ResultView:
    """Everything a result page needs, worked out once. The page says only what the answer's
    advice says (triage.answer.message): the first line is its summary, the rest what to do, and
    then its safety net (with `clinic`, the clinic profile's number, name and phone in it)."""
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
        actions = tuple(a for a in answer.advice if a != answer.summary and any(a in whole for whole in finding_advice))
        advice = tuple(
            a
            for a in answer.advice
            if a != answer.summary
            and a not in actions
            and not (recheck is not None and a.startswith(kb.words.recheck_starts))
        )
    why, detail = message.as_told(answer.findings, answer.more_detail)  # policy v3: told under a combination
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
        place=zone_place(zone_name(tz), kb.language),
        findings=_finding_views(kb, why, answer.emergency),
        more_detail=_finding_views(kb, detail, answer.emergency),
        actions=actions,
        advice=advice,
        assessed_at=at,
        safety_net=safety_net_views(kb, answer, clinic),
        recheck_about=clock(quarter_down(at + timedelta(hours=recheck), tz), tz, kb.language)
        if recheck is not None
        else None,
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
    if result.safety_net:
        lines.append("Safety-net advice given:")
        for s in result.safety_net:
            action = "Call emergency services now" if s.emergency else "Contact the clinic sooner"
            lines.append(f"- {action}{f' ({s.about})' if s.about else ''}: {s.line.nurse_text}")
    if result.recheck_clock is None:
        lines.append(f"Re-check: none; act now ({'emergency' if a.emergency else Disposition.CONTACT_CLINICIAN}).")
    else:
        lines.append(
            f"Re-check: in {result.recheck_hours}, at {result.recheck_clock} ({zone_name(tz)}), "
            f"{result.recheck_after_session} after the session."
        )
    lines.append(kb.header.disclaimer)
    return "\n".join(lines)
