"""The calendar reminder (RFC 5545, written with `icalendar`): one event at the re-check time in
the patient's zone, with an alarm. Its text holds the private link only: calendars sync to other
companies' servers, so no symptom and no answer go in it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, tzinfo

from icalendar import Alarm, Calendar, Event

PRODUCT = "-//microneedling-triage//follow-up reminder//EN"
EVENT_MINUTES = 15


def reminder(at: datetime, tz: tzinfo, title: str, link: str | None, language: str, stamp: datetime) -> bytes:
    """An iCalendar file with one event at `at` (shown in `tz`), an alarm at its start, `title`
    in the patient's language and the link (if any) as its only text."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{uuid.uuid4()}@microneedling-triage")
    event.add("dtstamp", stamp)
    start = at.astimezone(tz)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=EVENT_MINUTES))
    event.add("summary", title, parameters={"LANGUAGE": language})
    if link:
        event.add("description", link)
        event.add("url", link)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(0))
    event.add_component(alarm)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
