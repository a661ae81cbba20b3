"""The bounds of what a user may give digest, in one place (issue 15).

A value is checked where it enters (the command line, an OPML file, the config), so nothing stored or configured
can crash a later run: an interval or look-back beyond these makes `now + interval` overflow datetime (year 9999),
and a URL or name longer than its column is an error on PostgreSQL. Imports nothing: `sources add` and the config
check these for free.
"""

from __future__ import annotations

MAX_INTERVAL_MINUTES = 525_600  # a year between fetches (default_interval and a source's own interval)
MAX_BACKOFF_HOURS = 8_760  # a year: the longest a failing source waits
MAX_LOOKBACK_DAYS = 36_500  # a century (the demo shows everything it serves)
MAX_URL_LENGTH = 2_000  # the URL columns (sources.url, items.url)
MAX_NAME_LENGTH = 200  # sources.name


class BadInput(ValueError):
    """A value refused at the edge: `reason` names the bound; the message adds the value when it helps."""

    def __init__(self, reason: str, shown: str | None = None) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {shown!r}" if shown is not None else reason)


def _printable(value: str) -> bool:
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def check_url(url: str) -> str:
    """An absolute http(s) URL that fits its column and holds no control character (a CR/LF would split the
    request line). Returns it stripped."""
    from urllib.parse import urlsplit

    url = url.strip()
    shown = url if len(url) <= 80 else url[:60] + "..."
    if len(url) > MAX_URL_LENGTH:
        raise BadInput(f"URL longer than {MAX_URL_LENGTH} characters ({len(url)})", shown)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # 'http://[::1/x' (Invalid IPv6 URL), a port out of range or not a number
        raise BadInput(f"not a valid URL ({exc})", shown) from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput("not an http(s) URL", shown)
    if not _printable(url) or " " in url:
        raise BadInput("a URL holds no spaces or control characters (CR, LF, tab...)", shown)
    if not parts.hostname:
        raise BadInput("not a valid URL (no host)", shown)
    if port == 0:
        raise BadInput("not a valid URL (port 0)", shown)
    return url


def check_name(name: str) -> str:
    if not name.strip():
        raise BadInput("a source's name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise BadInput(f"name longer than {MAX_NAME_LENGTH} characters ({len(name)})")
    if not _printable(name):
        raise BadInput("a name holds no control characters (CR, LF, tab...)", name[:60])
    return name


def check_interval(minutes: int) -> int:
    if not 1 <= minutes <= MAX_INTERVAL_MINUTES:
        raise BadInput(f"interval must be between 1 and {MAX_INTERVAL_MINUTES} minutes (a year), not {minutes}")
    return minutes


def stored_interval(minutes: int) -> int:
    """An interval read from the store, within bounds: a store written before they existed may hold any number."""
    return max(1, min(minutes, MAX_INTERVAL_MINUTES))
