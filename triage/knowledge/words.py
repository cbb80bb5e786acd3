"""The few words an answer is built with outside the knowledge base: hours, days, "check again",
and the units and decimal marks a patient may type the hours with.

One `Words` per language. English is the default; another language's words come from its
translation file (knowledge/i18n/<lang>.toml, `[words]`), checked like the rest of it.
"""

from __future__ import annotations

from dataclasses import dataclass

# The placeholders each word pattern takes (a translation must use exactly these).
PLACEHOLDERS = {
    "one_hour": set[str](),
    "hours": {"n"},
    "days": {"days", "n"},
    "recheck": {"wait", "since"},
    "unknown_hours": set[str](),
    "recheck_starts": set[str](),
    "list_and": set[str](),
}


@dataclass(frozen=True)
class Words:
    one_hour: str = "1 hour"
    hours: str = "{n} hours"
    days: str = "{days} days ({n} hours)"
    recheck: str = "Check again in {wait}, at {since} after your session."
    unknown_hours: str = "an unknown time"  # {hours} in a reason when the report gives none
    # How every "check again" advice begins (the answer's own line and the rules' advice alike):
    # a page that shows the re-check time on its own leaves these out of the care advice.
    recheck_starts: str = "Check again"
    # How a list of things ends ("pus and warm skin"): {reported} in a rule's reason names the
    # reported symptoms among the rule's alternatives (symptoms_any) with it.
    list_and: str = "and"
    decimal: str = "."  # the decimal mark in numbers
    # How the patient may type the hours (triage.engine.report.hours_from_text): a number, then
    # optionally one of these units (lower case), e.g. "30", "30h", "36 hours", "2d", "1.5 days".
    hour_units: tuple[str, ...] = ("h", "hr", "hrs", "hour", "hours")
    day_units: tuple[str, ...] = ("d", "day", "days")
    decimal_marks: str = ".,"  # the marks read as a decimal point: "1.5" and "1,5" are both one and a half
    # Marks that may also group thousands where the language is spoken ("1.500" or "1,500" is 1500
    # in one country, one and a half in another): a number with one of them before exactly three
    # digits is refused as unclear, never guessed. English has none ("1,500" reads as 1.5, as always).
    grouping_marks: str = ""

    def number(self, value: float) -> str:
        return f"{value:g}".replace(".", self.decimal)

    def duration(self, hours: float) -> str:
        """Hours as a patient reads them: '12 hours', '2 days (48 hours)'."""
        if hours == 1:
            return self.one_hour
        if hours >= 48 and hours % 24 == 0:
            return self.days.format(days=self.number(hours / 24), n=self.number(hours))
        return self.hours.format(n=self.number(hours))

    def whole_hours(self, n: int) -> str:
        """A whole number of hours, never in days: '1 hour', '9 hours' (a rule's {hours_left})."""
        return self.one_hour if n == 1 else self.hours.format(n=self.number(n))

    def listed(self, names: list[str]) -> str:
        """Names in a sentence: "a", "a and b", "a, b and c"."""
        if len(names) < 2:
            return "".join(names)
        return f"{', '.join(names[:-1])} {self.list_and} {names[-1]}"

    def recheck_line(self, wait: float, since: float) -> str:
        """The answer's own "Check again in ..." advice."""
        return self.recheck.format(wait=self.duration(wait), since=self.duration(since))


ENGLISH_WORDS = Words()  # the English phrase book (a knowledge base in English words its answers with it)
