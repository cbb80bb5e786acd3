"""Time zones and clock times: the server interprets the person's local time, never guesses it.

The browser's zone arrives in a form field (filled by static/enhance.js, or chosen by hand
without JavaScript); the configured DEFAULT_TIMEZONE is used when it is missing.
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo

from babel.core import Locale, get_global
from babel.dates import format_date, get_timezone_location
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

# A person enters the time to the minute, and clocks drift: allow this much "future".
FUTURE_TOLERANCE = timedelta(minutes=2)


@functools.cache
def zones() -> tuple[str, ...]:
    """IANA zones a person would pick: Area/City names, plus UTC."""
    names = {
        z
        for z in zoneinfo.available_timezones()
        if "/" in z
        and not z.startswith(("Etc/", "SystemV/", "posix/", "right/", "US/", "Canada/", "Mexico/"))
        and z[0].isupper()
    }
    return ("UTC", *sorted(names))


def zone_place(name: str, language: str) -> str:
    """Where a zone's clocks are, as a reader of `language` names it ('Ciudad de México',
    Babel's city); in English the zone's own name ('America/Mexico City'), as before."""
    if language == "en" or name == "UTC":
        return name.replace("_", " ")
    return str(get_timezone_location(name, locale=language, return_city=True))


def _sort_key(label: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", label) if not unicodedata.combining(c)).casefold()


@functools.cache
def zone_choices(language: str) -> tuple[tuple[str, str], ...]:
    """The zones of the form's list as (value, what the person reads), UTC first. In English
    the zone names; in another language Babel's country and city ('España (Madrid)'), sorted as
    its reader looks them up. Every zone keeps its option (an alias reads like its zone: the
    browser may give either), so the value is always the zone's own name."""
    if language == "en":
        return tuple((z, zone_place(z, language)) for z in zones())
    locale = Locale.parse(language)
    territories: Mapping[str, str] = get_global("zone_territories")
    aliases: Mapping[str, str] = get_global("zone_aliases")
    labelled = []
    for z in zones()[1:]:
        city = zone_place(z, language)
        country = locale.territories.get(territories.get(aliases.get(z, z), ""))
        labelled.append((z, f"{country} ({city})" if country and country != city else city))
    return (("UTC", "UTC"), *sorted(labelled, key=lambda choice: _sort_key(choice[1])))


@functools.cache
def _tz_countries() -> dict[str, tuple[str, ...]]:
    """Each country's zones in the tz database's order (zone.tab: most populated region first)."""
    table: dict[str, list[str]] = {}
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, name, *_comment = line.split("\t")
            table.setdefault(country, []).append(name)
    return {country: tuple(names) for country, names in table.items()}


@functools.cache
def country_zones(name: str) -> tuple[str, ...]:
    """The zones of the country `name` is in, one per region of clock time (Babel's metazone:
    New York for US Eastern, Chicago for Central...), `name` first, most-populated first
    (the tz database's order); just `name` where it has no country (UTC)."""
    aliases: Mapping[str, str] = get_global("zone_aliases")
    territories: Mapping[str, str] = get_global("zone_territories")
    metazones: Mapping[str, str] = get_global("meta_zones")
    country = territories.get(aliases.get(name, name))
    seen: dict[str, str] = {metazones.get(name, name): name}
    for z in _tz_countries().get(country, ()) if country else ():
        if z in zones():
            seen.setdefault(metazones.get(z, z), z)
    return tuple(seen.values())


@functools.cache  # per language and zone: each form would otherwise relabel 496 zones
def likely_zone_choices(language: str, first: str) -> tuple[tuple[str, str], ...]:
    """The form's short list: `first` (the zone chosen, else the clinic's), the other clock
    regions of its country, and UTC, labelled as in the full list (zone_choices). The browser's
    zone is added by static/enhance.js when it is not here; the full list is a link away."""
    labels = dict(zone_choices(language))
    short = [z for z in (first, *country_zones(first), "UTC") if z in labels]
    return tuple((z, labels[z]) for z in dict.fromkeys(short))


def zone(name: str | None) -> tzinfo:
    """The zone called `name`, else the configured default (always a valid zone)."""
    for candidate in (name, current_app.config["DEFAULT_TIMEZONE"], "UTC"):
        if candidate and candidate in zones():
            return zoneinfo.ZoneInfo(candidate)
    return UTC


def now() -> datetime:
    """The current time, aware; tests replace it through the NOW config key."""
    fixed = current_app.config.get("NOW")
    return fixed() if callable(fixed) else datetime.now(UTC)


def clock(moment: datetime, tz: tzinfo, language: str = "en") -> str:
    """'14:30 on Wednesday 25 November' in the person's zone and language ('14:30 del
    miércoles 25 de noviembre'); the pattern is the catalogue's, the day and month names Babel's."""
    local = moment.astimezone(tz)
    if language == "en":  # the nurse's and the English patient's words, without a request
        return f"{local:%H:%M} on {local:%A} {local.day} {local:%B}"
    with force_locale(language):
        day = format_date(local.date(), _("EEEE d MMMM"), locale=language)
        return str(_("%(time)s on %(day)s", time=f"{local:%H:%M}", day=day))


def zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or "UTC"


def hours_between(earlier: datetime, later: datetime) -> float:
    return round((later - earlier).total_seconds() / 3600, 2)
