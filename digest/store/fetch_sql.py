"""The statements of a fetch run's hot path, as text both backends run through their drivers: which sources are
due, claiming them, and the bookkeeping of item-less fetches. One text for both: SQLite and PostgreSQL differ here
only in their parameter mark and in PostgreSQL's row locks, which skip rows another worker is claiming."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from digest.limits import stored_interval
from digest.store.values import SourceForFetch, SourceUpdate

DUE_COLUMNS = (
    "id, name, url, kind, adapter, etag, last_modified, error_count, feed_built, items_fingerprint, "
    "stale_count, interval_minutes, last_ok_at"
)

Stamp = Callable[[datetime | None], Any]  # an aware datetime as the backend stores it


def _marked(sql: str, mark: str) -> str:
    return sql if mark == "?" else sql.replace("?", mark)


def due(*, now: Any, every: bool, names: Iterable[str], mark: str) -> tuple[str, list[Any]]:
    """Enabled sources that are due (all enabled ones with `every`, or just the named ones), by id."""
    wanted = list(names)
    params: list[Any] = []
    if wanted:
        marks = ", ".join("?" * len(wanted))
        where = f"name IN ({marks}) OR url IN ({marks})"
        params = [*wanted, *wanted]
    else:
        where = "enabled"
        if not every:
            where += " AND (next_fetch_at IS NULL OR next_fetch_at <= ?)"
            params = [now]
    return _marked(f"SELECT {DUE_COLUMNS} FROM sources WHERE {where} ORDER BY id", mark), params


def claim(
    ids: Sequence[int], *, worker: str, now: Any, expires: Any, recheck_due: bool, mark: str, row_locks: str = ""
) -> tuple[str, list[Any]]:
    """Claim those of `ids` that no other worker holds (or whose lease has run out) and, with `recheck_due`, that
    are still due: another worker may have fetched one since it was listed. Returns the claimed rows."""
    marks = ", ".join("?" * len(ids))
    still_due = " AND enabled AND (next_fetch_at IS NULL OR next_fetch_at <= ?)" if recheck_due else ""
    sql = (
        f"UPDATE sources SET claimed_by = ?, claim_expires_at = ? WHERE id IN ("
        f"SELECT id FROM sources WHERE id IN ({marks}) "
        f"AND (claimed_by IS NULL OR claimed_by = ? OR claim_expires_at <= ?){still_due} {row_locks}) "
        f"RETURNING {DUE_COLUMNS}"
    )
    params = [worker, expires, *ids, worker, now, *([now] if recheck_due else [])]
    return _marked(sql, mark), params


def release(*, worker: str, mark: str) -> tuple[str, list[Any]]:
    """Give back what `worker` still holds (sources it claimed and never fetched)."""
    return _marked("UPDATE sources SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ?", mark), [worker]


def holders() -> str:
    """Every worker that holds a claim now (few rows: only sources being fetched)."""
    return "SELECT DISTINCT claimed_by FROM sources WHERE claimed_by IS NOT NULL"


def source_for_fetch(row: Sequence[Any], default_interval: timedelta) -> SourceForFetch:
    r = row
    return SourceForFetch(
        id=r[0],
        name=r[1],
        url=r[2],
        kind=r[3],
        adapter=r[4],
        etag=r[5],
        last_modified=r[6],
        error_count=r[7],
        feed_built=r[8],
        items_fingerprint=r[9],
        stale_count=r[10],
        interval=timedelta(minutes=stored_interval(r[11])) if r[11] else default_interval,
        never_ok=r[12] is None,  # the column, not "last_ok_at IS NULL": SQLite 3.40's RETURNING gives that 0
    )


def bookkeeping(updates: Sequence[SourceUpdate], *, stamp: Stamp, mark: str) -> list[tuple[str, list[Sequence[Any]]]]:
    """Item-less updates (304s, failures) as three many-row statements: each source's state (its claim ends) and
    a line in the fetch log."""
    if not updates:
        return []
    state = _marked(
        "UPDATE sources SET last_fetch_at = ?, last_status = ?, error_count = ?, next_fetch_at = ?, "
        "last_error = ?, claimed_by = NULL, claim_expires_at = NULL WHERE id = ?",
        mark,
    )
    ok = _marked("UPDATE sources SET last_ok_at = ?, etag = ?, last_modified = ? WHERE id = ?", mark)
    log = _marked(
        "INSERT INTO fetches (source_id, started_at, duration_ms, outcome, http_status, error, warning, "
        "bytes, new_items, updated_items) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
        mark,
    )
    done = [u for u in updates if u.outcome in ("ok", "not_modified")]
    return [
        (
            state,
            [
                (stamp(u.started_at), u.http_status, u.error_count, stamp(u.next_fetch_at), u.error, u.source_id)
                for u in updates
            ],
        ),
        (ok, [(stamp(u.started_at), u.etag, u.last_modified, u.source_id) for u in done]),
        (
            log,
            [
                (u.source_id, stamp(u.started_at), u.duration_ms, u.outcome, u.http_status, u.error, u.warning, u.bytes)
                for u in updates
            ],
        ),
    ]


def prune_log(*, older_than: Any, mark: str) -> tuple[str, list[Any]]:
    return _marked("DELETE FROM fetches WHERE started_at < ?", mark), [older_than]
