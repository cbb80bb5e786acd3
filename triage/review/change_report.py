"""A KnowledgeDiff written out: text for a terminal, markdown for a review, JSON for tools, and one
self-contained HTML page (no scripts, styles inline) that a clinical lead can read and print to
sign off. Each starts with the two versions and the summary; reports that differ only in the
hours are listed once, with their hours."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from triage.knowledge.digest import short
from triage.review.diff import DIRECTIONS, SIGN_OFF_REASONS, Change, KnowledgeDiff, Outcome

FORMATS = ("text", "markdown", "json", "html")


@dataclass(frozen=True)
class Row:
    """Changed reports alike in all but the hours: the same symptoms, factors and change."""

    changes: tuple[Change, ...]

    @property
    def first(self) -> Change:
        return self.changes[0]

    def hours(self) -> str:
        return ", ".join(f"{c.probe.hours:g}" for c in self.changes) + " h"

    def report(self) -> str:
        text = self.first.probe.describe(self.hours())
        cases = sorted({i for c in self.changes for i in c.cases})
        return text + (f" (vignette {', '.join(cases)})" if cases else "")


def _alike(c: Change) -> tuple[object, ...]:
    """What must match for two changes to share a row: the report but its hours, and both answers
    (the re-check as a time after the session, which is the same across a window)."""

    def answer(o: Outcome) -> tuple[object, ...]:
        at = None if o.recheck_in_hours is None else round(c.probe.hours + o.recheck_in_hours, 2)
        return (o.disposition, o.emergency, at, o.rules, o.refused)

    p = c.probe
    return (p.symptoms, p.factors, p.worsening, c.direction, c.sign_off, answer(c.old), answer(c.new))


def rows(diff: KnowledgeDiff, group: str) -> list[Row]:
    """The group's changes, sign-off first, alike changes in one row."""
    merged: dict[tuple[object, ...], list[Change]] = {}
    for c in diff.changes:
        if c.group == group:
            merged.setdefault(_alike(c), []).append(c)
    out = [Row(tuple(sorted(cs, key=lambda c: c.probe.hours))) for cs in merged.values()]
    return sorted(out, key=lambda r: (DIRECTIONS.index(r.first.direction), _gravity(r.first), r.first.probe))


def _gravity(c: Change) -> int:
    """The most serious reason for sign-off first: an emergency removed before a later re-check."""
    return min((SIGN_OFF_REASONS.index(r) for r in c.sign_off), default=len(SIGN_OFF_REASONS))


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{counter[d]} {'report' if counter[d] == 1 else 'reports'} {d}" for d in DIRECTIONS if counter[d])


def _answer_line(o: Outcome) -> str:
    rules = f" [rules: {', '.join(o.rules)}]" if o.rules else ""
    return o.headline() + rules


# --- text and markdown ------------------------------------------------------------------

# Characters a reviewer would not see as themselves: line breaks and other controls (a forged
# line, a terminal escape) and the bidirectional overrides that reorder what is shown.
_INVISIBLE = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# What CommonMark reads as markup inside a line, plus HTML (`<!--` would hide the rows after it).
_MARKDOWN = re.compile(r"[\\`*_\[\]|~]")
_HTML_IN_MARKDOWN = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def visible(text: str) -> str:
    """Knowledge text as a reviewer must see it: each control or reordering character written
    out (`\\n`, `\\u202e`) instead of acting."""
    return "".join(_shown(c) if unicodedata.category(c) == "Cc" or _INVISIBLE.match(c) else c for c in text)


def _shown(c: str) -> str:
    return "\\n" if c == "\n" else f"\\u{ord(c):04x}"


def markdown_text(text: str) -> str:
    """Knowledge text as literal markdown text: HTML escaped, markup characters backslashed."""
    text = _MARKDOWN.sub(lambda m: "\\" + m.group(), visible(text))
    return "".join(_HTML_IN_MARKDOWN.get(c, c) for c in text)


def _lines(diff: KnowledgeDiff, md: bool) -> Iterator[str]:
    def esc(text: str) -> str:
        return markdown_text(text) if md else visible(text)

    title = "Knowledge-base change report"
    yield f"# {title}" if md else title
    yield ""
    yield f"{'- ' if md else ''}Old: {esc(diff.old.label())}"
    yield f"{'- ' if md else ''}New: {esc(diff.new.label())}"
    yield (
        f"{'- ' if md else ''}Reports compared: {diff.compared} (every boundary of both knowledge bases"
        + (f", and {diff.case_count} vignette cases)" if diff.case_count else ")")
    )
    for note in diff.notes:
        yield f"{'- ' if md else ''}Note: {esc(note)}"
    yield ""
    yield f"**{diff.summary()}**" if md else diff.summary()
    for group, counter in diff.groups().items():
        yield ""
        yield f"## {esc(group)}: {_counts(counter)}" if md else f"{esc(group)}: {_counts(counter)}"
        for row in rows(diff, group):
            c = row.first
            flag = f"SIGN-OFF ({'; '.join(c.sign_off)}) " if c.sign_off else ""
            if md:
                yield f"- {'**' + flag.strip() + '** ' if flag else ''}{c.direction}: {esc(row.report())}"
                yield f"  - old: {esc(_answer_line(c.old))}"
                yield f"  - new: {esc(_answer_line(c.new))}"
            else:
                yield f"  {flag}{c.direction}: {esc(row.report())}"
                yield f"      old: {esc(_answer_line(c.old))}"
                yield f"      new: {esc(_answer_line(c.new))}"
    if diff.wordings:
        yield ""
        yield (
            f"## Patient wordings changed: {len(diff.wordings)}"
            if md
            else (f"Patient wordings changed: {len(diff.wordings)}")
        )
        if md:
            yield ""
            yield "| where | old | new |"
            yield "|---|---|---|"
        for w in diff.wordings:
            old, new = w.old if w.old is not None else "(none)", w.new if w.new is not None else "(none)"
            if md:
                yield f"| {esc(w.where)} | {esc(old)} | {esc(new)} |"
            else:
                yield f"  {esc(w.where)}"
                yield f"      old: {esc(old)}"
                yield f"      new: {esc(new)}"
    yield ""
    yield f"Summary: {diff.summary()}"


def render_text(diff: KnowledgeDiff) -> str:
    return "\n".join(_lines(diff, md=False)) + "\n"


def render_markdown(diff: KnowledgeDiff) -> str:
    return "\n".join(_lines(diff, md=True)) + "\n"


def render_json(diff: KnowledgeDiff) -> str:
    return json.dumps(diff.to_dict(), indent=2) + "\n"


# --- html -------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:1.5rem auto;padding:0 1rem;color:#111}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}td,th{border:1px solid #bbb;padding:.3rem .5rem;
vertical-align:top;text-align:left}th{background:#eee}.summary{font-size:1.1rem;font-weight:bold;padding:.6rem;
border:2px solid #111}.signoff{background:#fde8e8}.flag{color:#900;font-weight:bold}
ul{margin:.2rem 0;padding-left:1.2rem}
.sign{margin-top:2rem;border-top:1px solid #111;padding-top:1rem}
@media print{body{margin:0;max-width:none}.change{break-inside:avoid}}
"""


def _e(text: object) -> str:
    return html.escape(visible(str(text)))


def _items(texts: tuple[str, ...], other: tuple[str, ...]) -> str:
    """A list in which what the other answer does not say is marked."""
    items = (f"<li><mark>{_e(t)}</mark></li>" if t not in other else f"<li>{_e(t)}</li>" for t in texts)
    return "<ul>" + "".join(items) + "</ul>"


def _html_answer(o: Outcome, other: Outcome) -> str:
    parts = [f"<strong>{_e(o.headline())}</strong>"]
    if o.rules:
        parts.append(f"<div>Rules: {_e(', '.join(o.rules))}</div>")
    if o.reasons:
        parts.append("<div>Why:</div>" + _items(o.reasons, other.reasons))
    if o.advice:
        parts.append("<div>Advice:</div>" + _items(o.advice, other.advice))
    return "".join(parts)


def render_html(diff: KnowledgeDiff) -> str:
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Knowledge-base change report: {_e(diff.old.version)} to {_e(diff.new.version)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Knowledge-base change report</h1>",
        f'<p class="summary">{_e(diff.summary())}</p>',
        "<table><tr><th></th><th>Old</th><th>New</th></tr>",
        f"<tr><th>Version</th><td>{_e(diff.old.version)}</td><td>{_e(diff.new.version)}</td></tr>",
        f"<tr><th>Digest</th><td>{_e(short(diff.old.digest))}</td><td>{_e(short(diff.new.digest))}</td></tr>",
        f"<tr><th>Released</th><td>{'yes' if diff.old.unreleased is None else 'no'}</td>"
        f"<td>{'yes' if diff.new.unreleased is None else 'no'}</td></tr>",
        f"<tr><th>Folder</th><td>{_e(diff.old.directory)}</td><td>{_e(diff.new.directory)}</td></tr></table>",
        f"<p>Reports compared: {diff.compared} (every boundary of both knowledge bases"
        + (f", and {diff.case_count} vignette cases)" if diff.case_count else ")")
        + ". Changes marked <span class='flag'>sign-off</span> make an answer less urgent; "
        "<mark>marked</mark> texts are said by one answer and not the other.</p>",
    ]
    out += [f"<p>Note: {_e(n)}</p>" for n in diff.notes]
    if diff.groups():
        out.append("<h2>Changes by symptom</h2><table><tr><th>symptoms</th><th>changed reports</th></tr>")
        out += [f"<tr><td>{_e(g)}</td><td>{_e(_counts(c))}</td></tr>" for g, c in diff.groups().items()]
        out.append("</table>")
    for group in diff.groups():
        out.append(f"<h2>{_e(group)}</h2>")
        for row in rows(diff, group):
            c = row.first
            css = "change signoff" if c.sign_off else "change"
            flag = f"<span class='flag'>Sign-off: {_e('; '.join(c.sign_off))}.</span> " if c.sign_off else ""
            out.append(
                f'<table class="{css}"><tr><th colspan="2">{flag}{_e(c.direction)}: {_e(row.report())}</th></tr>'
                f"<tr><th>Old answer (at {c.probe.hours:g} h)</th><th>New answer (at {c.probe.hours:g} h)</th></tr>"
                f"<tr><td>{_html_answer(c.old, c.new)}</td><td>{_html_answer(c.new, c.old)}</td></tr></table>"
            )
    if diff.wordings:
        out.append(f"<h2>Patient wordings changed ({len(diff.wordings)})</h2>")
        out.append("<table><tr><th>where</th><th>old</th><th>new</th></tr>")
        for w in diff.wordings:
            old = _e(w.old) if w.old is not None else "<em>(none)</em>"
            new = _e(w.new) if w.new is not None else "<em>(none)</em>"
            out.append(f"<tr><td>{_e(w.where)}</td><td>{old}</td><td>{new}</td></tr>")
        out.append("</table>")
    out.append(f"<p><strong>Summary: {_e(diff.summary())}</strong></p>")
    out.append(
        '<div class="sign"><p>Reviewed and signed off by (name, role): ______________________</p>'
        "<p>Signature: ______________________ Date: ____________</p></div>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[KnowledgeDiff], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "html": render_html,
}
