"""How the store says no: errors whose message is one line for the user, and the reading of driver errors."""

from __future__ import annotations

import os
from pathlib import Path

from digest.store.url import sqlite_path


class StoreError(Exception):
    """The store cannot be opened or upgraded; the message is for the user."""


class StoreUsageError(StoreError):
    """The store was named wrongly: an unknown scheme, a missing driver, a folder that is not there, a refused
    connection or login. The command cannot start (exit 2), as with any other usage or configuration error."""


# SQLite's primary result codes for a store that refuses service, whatever the data: busy (5) and locked (6),
# read-only (8), I/O error (10), full (13), cannot open (14), permission (3).
_REFUSALS = {
    5: "another process held the store's write lock",
    6: "another process held the store's write lock",
    8: "the store is read-only",
    10: "disk I/O error",
    13: "the disk is full",
    14: "cannot open the store's files",
    3: "permission denied",
}

# PostgreSQL's SQLSTATE classes for a server that refuses service: connection (08), resources (53: disk full,
# out of memory, too many connections), operator intervention (57: shut down, cancelled), system error (58).
_PG_REFUSALS = ("08", "53", "57", "58")

# Serialization failure and deadlock: the transaction lost a race and may be tried again as it was.
_RETRYABLE = ("40001", "40P01")


def _driver_error(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def first_line(exc: BaseException) -> str:
    """The driver's own words for `exc`, first line only (SQLAlchemy adds the statement and a link)."""
    return str(_driver_error(exc)).strip().splitlines()[0] if str(_driver_error(exc)).strip() else repr(exc)


def is_retryable(exc: BaseException) -> bool:
    """True when `exc` is a lost race (deadlock, serialization failure) that a retry of the same work fixes."""
    return getattr(_driver_error(exc), "sqlstate", None) in _RETRYABLE


def store_problem(exc: BaseException, *, url: str | None = None, busy_timeout: float | None = None) -> str | None:
    """One line naming why the store refused, when `exc` (a driver error, or SQLAlchemy's wrapping one) is the store
    refusing service rather than a fault of what was written; else None. The file system is asked too: SQLite says
    "disk I/O error" or "unable to open database file" where the cause is a full disk or a read-only folder."""
    import sqlite3

    err = _driver_error(exc)
    sqlstate = getattr(err, "sqlstate", None)
    if isinstance(sqlstate, str):
        if not sqlstate.startswith(_PG_REFUSALS):
            return None
        return str(err).strip().splitlines()[0]
    if not isinstance(err, sqlite3.Error):
        if err.__class__.__name__ == "OperationalError" and err.__class__.__module__.startswith("psycopg"):
            return str(err).strip().splitlines()[0]  # the connection was lost: psycopg gives no SQLSTATE then
        return None
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    what = _REFUSALS.get(primary) if primary is not None else None
    if what is None:
        return None
    if primary in (5, 6) and busy_timeout is not None:
        what += f" for over {busy_timeout:g}s"
    found = _diagnose(sqlite_path(url)) if url else None
    if found and found not in what:
        what = f"{found}: {what}"
    return f"{what} ({str(err).splitlines()[0]})"


def _diagnose(path: Path | None) -> str | None:
    """What the file system says of the store's folder: full, or read-only."""
    if path is None:
        return None
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY or not os.access(path.parent, os.W_OK):
        return f"the store's folder {path.parent} is read-only"
    if st.f_bavail * st.f_frsize < 64 * 1024:
        return "the disk is full"
    return None
