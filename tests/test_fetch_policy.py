"""Unit tests of when a source is fetched next (digest/fetch/policy.py) and of Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.fetch.http import parse_retry_after
from digest.fetch.policy import (
    MAX_RETRY_AFTER,
    backoff,
    is_due,
    next_fetch_after_failure,
    next_fetch_after_success,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

intervals = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=365))
caps = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=1000))


# --- backoff ---------------------------------------------------------------------------------------


def test_backoff_without_errors_is_the_plain_interval() -> None:
    assert backoff(HOUR, 0, timedelta(hours=24)) == HOUR


def test_backoff_doubles_for_each_consecutive_failure_after_the_first() -> None:
    cap = timedelta(hours=100)
    assert [backoff(HOUR, n, cap) for n in (1, 2, 3, 4, 5)] == [HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 16 * HOUR]


def test_backoff_stops_growing_at_the_cap() -> None:
    cap = timedelta(hours=24)
    assert backoff(HOUR, 5, cap) == 16 * HOUR
    assert backoff(HOUR, 6, cap) == cap  # 32 h would exceed the cap
    assert backoff(HOUR, 50, cap) == cap


def test_backoff_never_shortens_an_interval_longer_than_the_cap() -> None:
    weekly = timedelta(days=7)
    assert backoff(weekly, 1, timedelta(hours=24)) == weekly
    assert backoff(weekly, 9, timedelta(hours=24)) == weekly


def test_backoff_of_a_daily_source_failing_for_months_does_not_overflow() -> None:
    # 2**30 days is beyond what a timedelta can hold; the cap must apply before that matters.
    assert backoff(DAY, 31, timedelta(hours=24)) == DAY
    assert backoff(timedelta(days=30), 400, timedelta(hours=24)) == timedelta(days=30)
    assert backoff(DAY, 10_000, timedelta(days=3)) == timedelta(days=3)


@given(interval=intervals, errors=st.integers(min_value=0, max_value=100_000), cap=caps)
def test_backoff_stays_between_the_interval_and_the_cap(interval: timedelta, errors: int, cap: timedelta) -> None:
    delay = backoff(interval, errors, cap)
    assert interval <= delay <= max(cap, interval)


@given(interval=intervals, errors=st.integers(min_value=0, max_value=200), cap=caps)
def test_backoff_never_shrinks_as_failures_accumulate(interval: timedelta, errors: int, cap: timedelta) -> None:
    assert backoff(interval, errors + 1, cap) >= backoff(interval, errors, cap)


# --- next fetch ------------------------------------------------------------------------------------


def test_after_a_success_the_next_fetch_is_one_interval_later() -> None:
    assert next_fetch_after_success(NOW, timedelta(minutes=90)) == NOW + timedelta(minutes=90)


def test_after_failures_the_next_fetch_backs_off_exponentially() -> None:
    cap = timedelta(hours=24)
    got = [next_fetch_after_failure(NOW, HOUR, n, cap) for n in (1, 2, 3)]
    assert got == [NOW + HOUR, NOW + 2 * HOUR, NOW + 4 * HOUR]


def test_a_retry_after_later_than_the_backoff_wins() -> None:
    retry = NOW + timedelta(hours=5)
    assert next_fetch_after_failure(NOW, HOUR, 1, timedelta(hours=24), retry) == retry


def test_a_retry_after_earlier_than_the_backoff_does_not_shorten_it() -> None:
    retry = NOW + timedelta(minutes=5)
    assert next_fetch_after_failure(NOW, HOUR, 3, timedelta(hours=24), retry) == NOW + 4 * HOUR


def test_a_retry_after_in_the_past_is_harmless() -> None:
    assert next_fetch_after_failure(NOW, HOUR, 1, timedelta(hours=24), NOW - DAY) == NOW + HOUR


def test_a_retry_after_beyond_a_week_is_capped_at_a_week() -> None:
    years_away = NOW + timedelta(days=3650)
    assert next_fetch_after_failure(NOW, HOUR, 1, timedelta(hours=24), years_away) == NOW + timedelta(days=7)


def test_a_retry_after_at_the_end_of_time_is_capped_at_a_week() -> None:
    end_of_time = datetime.max.replace(tzinfo=UTC)
    assert next_fetch_after_failure(NOW, HOUR, 1, timedelta(hours=24), end_of_time) == NOW + MAX_RETRY_AFTER


@given(
    interval=intervals,
    errors=st.integers(min_value=1, max_value=10_000),
    cap=caps,
    retry_in=st.none() | st.timedeltas(min_value=-timedelta(days=30), max_value=timedelta(days=30)),
)
def test_a_failed_source_is_never_due_again_before_its_backoff_or_honoured_retry_after(
    interval: timedelta, errors: int, cap: timedelta, retry_in: timedelta | None
) -> None:
    retry = None if retry_in is None else NOW + retry_in
    when = next_fetch_after_failure(NOW, interval, errors, cap, retry)
    assert when >= NOW + backoff(interval, errors, cap)
    if retry is not None:
        assert when >= min(retry, NOW + MAX_RETRY_AFTER)
    assert when <= NOW + max(backoff(interval, errors, cap), MAX_RETRY_AFTER)


# --- is_due ----------------------------------------------------------------------------------------


def test_a_source_never_fetched_is_due() -> None:
    assert is_due(None, NOW)


def test_a_source_is_due_at_and_after_its_next_fetch_time_only() -> None:
    assert is_due(NOW, NOW)
    assert is_due(NOW - timedelta(seconds=1), NOW)
    assert not is_due(NOW + timedelta(seconds=1), NOW)


# --- Retry-After -----------------------------------------------------------------------------------


def test_retry_after_in_seconds_counts_from_now() -> None:
    assert parse_retry_after("120", NOW) == NOW + timedelta(minutes=2)
    assert parse_retry_after("  3600 ", NOW) == NOW + HOUR
    assert parse_retry_after("0", NOW) == NOW


def test_retry_after_as_an_http_date_is_that_moment() -> None:
    assert parse_retry_after("Wed, 25 Nov 2026 07:28:00 GMT", NOW) == datetime(2026, 11, 25, 7, 28, tzinfo=UTC)


def test_retry_after_as_an_http_date_with_an_offset_keeps_the_instant() -> None:
    got = parse_retry_after("Wed, 25 Nov 2026 09:28:00 +0200", NOW)
    assert got == datetime(2026, 11, 25, 7, 28, tzinfo=UTC)
    assert got is not None and got.tzinfo is not None


def test_retry_after_as_an_http_date_without_a_zone_is_read_as_utc() -> None:
    got = parse_retry_after("Wed, 25 Nov 2026 07:28:00 -0000", NOW)
    assert got == datetime(2026, 11, 25, 7, 28, tzinfo=UTC)
    assert got is not None and got.tzinfo is not None


def test_retry_after_round_trips_a_formatted_http_date() -> None:
    when = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_retry_after(format_datetime(when, usegmt=True), NOW) == when


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "1.5", "12 hours", "Wed, 99 Foo 2026"])
def test_retry_after_that_is_neither_seconds_nor_a_date_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", ["\u00b2", "\u00b9\u00b2\u00b3"])
def test_retry_after_of_non_ascii_digit_characters_is_ignored_not_a_crash(value: str) -> None:
    # str.isdigit() accepts superscripts that int() rejects; a latin-1 header byte 0xB2 decodes to one.
    assert parse_retry_after(value, NOW) is None


def test_retry_after_of_absurdly_many_seconds_means_as_late_as_possible_not_a_crash() -> None:
    got = parse_retry_after("99999999999999999999", NOW)
    assert got is not None and got > NOW + timedelta(days=3650)
    # ... and the policy then waits its maximum, a week.
    assert next_fetch_after_failure(NOW, HOUR, 1, timedelta(hours=24), got) == NOW + MAX_RETRY_AFTER


@given(st.text(max_size=40))
def test_retry_after_never_raises_whatever_the_server_sends(value: str) -> None:
    got = parse_retry_after(value, NOW)
    assert got is None or got.tzinfo is not None


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_retry_after_seconds_are_exact(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == NOW + timedelta(seconds=seconds)


def test_retry_after_in_seconds_does_not_depend_on_the_zone_of_now() -> None:
    tokyo_now = NOW.astimezone(timezone(timedelta(hours=9)))
    assert parse_retry_after("60", tokyo_now) == NOW + timedelta(minutes=1)
