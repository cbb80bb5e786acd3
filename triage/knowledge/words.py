"""The few words an answer is built with outside the knowledge base: hours, days, "check again".

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
    decimal: str = "."  # the decimal mark in numbers

    def number(self, value: float) -> str:
        return f"{value:g}".replace(".", self.decimal)

    def duration(self, hours: float) -> str:
        """Hours as a patient reads them: '12 hours', '2 days (48 hours)'."""
        if hours == 1:
            return self.one_hour
        if hours >= 48 and hours % 24 == 0:
            return self.days.format(days=self.number(hours / 24), n=self.number(hours))
        return self.hours.format(n=self.number(hours))

    def recheck_line(self, wait: float, since: float) -> str:
        """The answer's own "Check again in ..." advice."""
        return self.recheck.format(wait=self.duration(wait), since=self.duration(since))


ENGLISH_WORDS = Words()  # the English phrase book (a knowledge base in English words its answers with it)
