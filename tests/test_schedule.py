"""Digest schedules: parsing and deciding whether an issue is due. Pure functions, explicit clocks."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from digest.schedule import Schedule, is_due, latest_slot, parse_schedule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 07:00", Schedule("daily", time(7, 0))),
        ("Daily 7:05", Schedule("daily", time(7, 5))),
        ("weekly mon 08:30", Schedule("weekly", time(8, 30), 0)),
        ("weekly Sunday 18:00", Schedule("weekly", time(18, 0), 6)),
        ("hourly", Schedule("hourly", time(0, 0))),
        ("daily", Schedule("daily", time(0, 0))),
    ],
)
def test_schedules_parse(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["sometimes", "daily 25:00", "daily 07:61", "weekly xyz 08:00", "weekly 08:00"])
def test_bad_schedules_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="expected 'daily HH:MM'"):
        parse_schedule(text)


def test_daily_slot_is_today_after_the_time_and_yesterday_before_it() -> None:
    s = parse_schedule("daily 07:00")
    assert latest_slot(s, datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "UTC") == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert latest_slot(s, datetime(2026, 11, 23, 6, 59, tzinfo=UTC), "UTC") == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def test_slots_are_in_the_digest_time_zone() -> None:
    s = parse_schedule("daily 07:00")
    slot = latest_slot(s, datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "Europe/Berlin")  # 09:00 in Berlin
    assert slot.astimezone(UTC) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_weekly_slot_is_the_last_such_weekday() -> None:
    s = parse_schedule("weekly mon 08:00")
    # 2026-11-23 is a Monday.
    assert latest_slot(s, datetime(2026, 11, 23, 7, 0, tzinfo=UTC), "UTC") == datetime(2026, 11, 16, 8, tzinfo=UTC)
    assert latest_slot(s, datetime(2026, 11, 26, 7, 0, tzinfo=UTC), "UTC") == datetime(2026, 11, 23, 8, tzinfo=UTC)


def test_due_once_per_slot() -> None:
    s = parse_schedule("daily 07:00")
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert is_due(s, now=now, tz="UTC", last_issue_at=None)
    assert is_due(s, now=now, tz="UTC", last_issue_at=now - timedelta(days=1))
    assert not is_due(s, now=now, tz="UTC", last_issue_at=datetime(2026, 11, 23, 7, 30, tzinfo=UTC))
