"""Digest schedules: parse "daily 07:00" / "weekly mon 08:30" and find the latest slot before now. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FORMS = "expected 'daily HH:MM', 'weekly <mon..sun> HH:MM' or 'hourly'"
_PATTERN = re.compile(
    r"^\s*(?:(?P<daily>daily)|(?P<weekly>weekly)\s+(?P<day>[a-z]{3})[a-z]*|(?P<hourly>hourly))"
    r"(?:\s+(?P<h>\d{1,2}):(?P<m>\d{2}))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Schedule:
    every: str  # "hourly", "daily" or "weekly"
    at: time
    weekday: int | None = None  # 0 = Monday, for weekly schedules


def parse_schedule(text: str) -> Schedule:
    m = _PATTERN.match(text)
    if not m:
        raise ValueError(f"unrecognised schedule {text!r}: {_FORMS}")
    hour, minute = int(m["h"] or 0), int(m["m"] or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"unrecognised time in schedule {text!r}: {_FORMS}")
    if m["hourly"]:
        return Schedule("hourly", time(0, minute))
    if m["daily"]:
        return Schedule("daily", time(hour, minute))
    day = m["day"].lower()
    if day not in WEEKDAYS:
        raise ValueError(f"unknown weekday {m['day']!r} in schedule {text!r}: {_FORMS}")
    return Schedule("weekly", time(hour, minute), WEEKDAYS.index(day))


def latest_slot(schedule: Schedule, now: datetime, tz: str) -> datetime:
    """The most recent moment at or before `now` when the schedule fires (aware, in `tz`)."""
    local = now.astimezone(ZoneInfo(tz))
    if schedule.every == "hourly":
        slot = local.replace(minute=schedule.at.minute, second=0, microsecond=0)
        return slot if slot <= local else slot - timedelta(hours=1)
    slot = local.replace(hour=schedule.at.hour, minute=schedule.at.minute, second=0, microsecond=0)
    if schedule.every == "daily":
        return slot if slot <= local else slot - timedelta(days=1)
    assert schedule.weekday is not None
    slot -= timedelta(days=(local.weekday() - schedule.weekday) % 7)
    return slot if slot <= local else slot - timedelta(days=7)


def is_due(schedule: Schedule, *, now: datetime, tz: str, last_issue_at: datetime | None) -> bool:
    """Due when a slot has passed since the last issue (or there has never been one)."""
    return last_issue_at is None or last_issue_at < latest_slot(schedule, now, tz)
