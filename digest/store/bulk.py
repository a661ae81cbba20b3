"""Reads and writes of the ingest hot path. On SQLite: the driver itself, values converted once per column
(SQLAlchemy's statement building and per-row processing cost more than the database work: ~100 us against
~3 us for a one-row statement on this project's benchmark machine); elsewhere: SQLAlchemy Core.

Ids are assigned here on SQLite: every write transaction begins IMMEDIATE (store/db.py), so no other
writer can insert between reading max(id) and inserting.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Table, insert, update
from sqlalchemy.orm import Session

from digest.store.lite import SQLITE_DATETIME, to_sqlite
from digest.store.models import UTCDateTime


def sqlite_of(s: Session) -> Any | None:
    """The session's DBAPI connection on SQLite (None elsewhere), looked up once per (nested) transaction.

    Keyed by the innermost transaction: the session emits a savepoint only when asked for its connection,
    so a new savepoint must go through `s.connection()` once.
    """
    cached = s.info.get("_sqlite")
    tx = s.get_nested_transaction() or s.get_transaction()
    if cached is not None and tx is not None and cached[0] is tx:
        return cached[1]
    conn = s.connection()
    raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
    s.info["_sqlite"] = (s.get_nested_transaction() or s.get_transaction(), raw)
    return raw


@contextmanager
def savepoint(s: Session) -> Iterator[None]:
    """Undo what the block wrote if it raises, and only that. On SQLite through the driver: the session's
    begin_nested costs ~0.4 ms, and a run takes one savepoint per source."""
    raw = sqlite_of(s)
    if raw is None:
        with s.begin_nested():
            yield
        return
    raw.execute("SAVEPOINT bulk_savepoint")
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK TO bulk_savepoint")
        raw.execute("RELEASE bulk_savepoint")
        raise
    raw.execute("RELEASE bulk_savepoint")


def _to_sqlite(column_type: object) -> Callable[[Any], Any]:
    """How SQLAlchemy would store a value of this type in SQLite, as one function."""
    if isinstance(column_type, JSON):
        # Most JSON values written in bulk are empty lists (a paper's authors before any listing).
        return lambda v: None if v is None else ("[]" if v == [] else json.dumps(v))
    if isinstance(column_type, UTCDateTime | DateTime):
        aware_only = isinstance(column_type, UTCDateTime)

        @functools.lru_cache(maxsize=256)  # a batch's rows share a few stamps (the run's "now")
        def dt(v: datetime | None) -> str | None:
            if v is None or v.tzinfo is not None or aware_only:
                return to_sqlite(v)  # the one writer of the stored format; refuses a naive datetime
            return v.strftime(SQLITE_DATETIME)  # a plain DateTime column stores a naive value as given
        return dt
    if isinstance(column_type, Boolean):
        return lambda v: None if v is None else int(bool(v))
    return _as_is


def _as_is(v: Any) -> Any:
    return v


def _from_sqlite(column_type: object) -> Callable[[Any], Any]:
    """How SQLAlchemy would read a value of this type from SQLite, as one function."""
    if isinstance(column_type, JSON):
        return lambda v: None if v is None else json.loads(v)
    if isinstance(column_type, UTCDateTime | DateTime):
        aware = isinstance(column_type, UTCDateTime)
        return lambda v: None if v is None else (datetime.fromisoformat(v).replace(tzinfo=UTC) if aware
                                                 else datetime.fromisoformat(v))
    if isinstance(column_type, Boolean):
        return lambda v: None if v is None else bool(v)
    return _as_is


_CHUNK = 500  # keeps IN (...) lists well under SQLite's variable limit


def chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    """`values` in slices short enough for one IN (...) list."""
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def select_in(s: Session, table: Table, columns: Sequence[str], *, key: str, values: Sequence[Any],
              equal: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows (`columns`) of `table` whose `key` is one of `values`, and whose `equal` columns have those values."""
    if not values:
        return []
    equal = equal or {}
    raw = sqlite_of(s)
    out: list[tuple[Any, ...]] = []
    if raw is None:
        from sqlalchemy import select

        for chunk in chunks(values):
            query = select(*(table.c[c] for c in columns)).where(table.c[key].in_(chunk),
                                                                 *(table.c[c] == v for c, v in equal.items()))
            out.extend(tuple(row) for row in s.connection().execute(query))
        return out
    convert = [(n, f) for n, f in enumerate(_from_sqlite(table.c[c].type) for c in columns) if f is not _as_is]
    where = "".join(f" AND {c} = ?" for c in equal)
    fixed = list(_values(table, list(equal), [equal])[0]) if equal else []
    for chunk in chunks(values):
        sql = (f"SELECT {', '.join(columns)} FROM {table.name} WHERE {key} IN ({', '.join('?' * len(chunk))})"
               + where)
        for row in raw.execute(sql, [*chunk, *fixed]):
            if convert:
                row = list(row)
                for n, f in convert:
                    row[n] = f(row[n])
            out.append(tuple(row))
    return out


def _values(table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Sequence[Any]]:
    """Each row's values in `columns` order, converted for SQLite; only the columns that need it are touched.
    (itemgetter takes the values out in C: a run writes ~130,000 rows.)"""
    convert = [(n, f) for n, f in enumerate(_to_sqlite(table.c[c].type) for c in columns) if f is not _as_is]
    take = operator.itemgetter(*columns)
    if len(columns) == 1:  # itemgetter of one name gives the value, not a tuple
        one = convert[0][1] if convert else _as_is
        return [(one(take(row)),) for row in rows]
    if not convert:
        return [take(row) for row in rows]
    out = []
    for row in rows:
        values = list(take(row))
        for n, f in convert:
            values[n] = f(values[n])
        out.append(values)
    return out


def next_ids(s: Session, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys (SQLite only: the caller holds the write lock)."""
    raw = sqlite_of(s)
    assert raw is not None, "ids are assigned here on SQLite only"
    start = int(raw.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}").fetchone()[0]) + 1
    return list(range(start, start + count))


def can_assign_ids(s: Session) -> bool:
    return sqlite_of(s) is not None


def insert_rows(s: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all have the same keys."""
    if not rows:
        return
    raw = sqlite_of(s)
    if raw is None:
        s.execute(insert(table), list(rows))
        return
    columns = list(rows[0].keys())
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    raw.executemany(sql, _values(table, columns, rows))


def update_rows(s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str = "id") -> None:
    """UPDATE each row by `key`; rows all have the same keys."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    raw = sqlite_of(s)
    if raw is None:
        from sqlalchemy import bindparam

        stmt = update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
            {c: bindparam(f"b_{c}") for c in columns})
        s.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in rows])
        return
    sql = f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {key} = ?"
    raw.executemany(sql, _values(table, [*columns, key], rows))
