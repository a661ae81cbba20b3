"""When to fetch a source next, from what happened this time. Pure: takes values, returns values."""

from __future__ import annotations

from datetime import datetime, timedelta

# A server's Retry-After is honoured, but not beyond this: a typo of a year must not silence a feed.
MAX_RETRY_AFTER = timedelta(days=7)


def backoff(interval: timedelta, consecutive_errors: int, cap: timedelta) -> timedelta:
    """The interval doubled for every consecutive failure after the first, never beyond `cap`."""
    if consecutive_errors <= 0:
        return interval
    factor = 2 ** min(consecutive_errors - 1, 30)
    limit = max(cap, interval)
    try:
        longer: timedelta = interval * factor
        return min(longer, limit)
    except OverflowError:  # a daily interval times 2**30 is beyond any timedelta, and beyond the cap
        return limit


def next_fetch_after_success(now: datetime, interval: timedelta) -> datetime:
    return now + interval


def next_fetch_after_failure(
    now: datetime, interval: timedelta, consecutive_errors: int, cap: timedelta, retry_after: datetime | None = None
) -> datetime:
    """Back off exponentially; a Retry-After later than that wins (up to a week)."""
    when = now + backoff(interval, consecutive_errors, cap)
    if retry_after is not None:
        when = max(when, min(retry_after, now + MAX_RETRY_AFTER))
    return when


def is_due(next_fetch_at: datetime | None, now: datetime) -> bool:
    return next_fetch_at is None or next_fetch_at <= now
