"""Reads and writes of the ingest hot path, in two implementations chosen once per session: on SQLite, the driver
itself, values converted once per column (SQLAlchemy's statement building and per-row processing cost more than
the database work for a one-row statement); on PostgreSQL, SQLAlchemy Core with `INSERT ... ON CONFLICT`, since
several workers may write the same papers at once.

Ids are assigned here on SQLite: every write transaction begins IMMEDIATE (store/db.py), so no other
writer can insert between reading max(id) and inserting. PostgreSQL's sequences assign them there.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Boolean, DateTime, Table, insert, update
from sqlalchemy.orm import Session

from digest.store.models import UTCDateTime
from digest.store.sqlite_driver import SQLITE_DATETIME, to_sqlite

_CHUNK = 500  # keeps IN (...) lists well under SQLite's variable limit


def chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    """`values` in slices short enough for one IN (...) list."""
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


class Ops(Protocol):
    """What the hot path needs of a backend; `ops_of(session)` gives the session's."""

    mark: str  # the driver's parameter mark in SQL text

    def stamp(self, value: datetime | None) -> Any:
        """An aware datetime as this backend stores it, for SQL text (store/fetch_sql.py)."""

    def sql(self, s: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run SQL text (with this backend's marks) on the session's connection; its rows, if any."""

    def sql_many(self, s: Session, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def savepoint(self, s: Session) -> AbstractContextManager[None]: ...

    def select_in(
        self,
        s: Session,
        table: Table,
        columns: Sequence[str],
        *,
        key: str,
        values: Sequence[Any],
        equal: Mapping[str, Any],
    ) -> list[tuple[Any, ...]]: ...

    def insert_rows(
        self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], unique: Sequence[str]
    ) -> None: ...

    def insert_new(
        self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, unique: Sequence[str], key: str
    ) -> dict[Any, int]: ...

    def update_rows(self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> None: ...

    def lock(self, s: Session, name: str) -> None: ...

    def after_explicit_ids(self, s: Session, table: Table) -> None:
        """Rows were inserted with their ids given (a copy): new rows must get ids after them."""

    def read_once(self, s: Session) -> AbstractContextManager[None]: ...


def ops_of(s: Session) -> Ops:
    """The session's backend implementation: the store that made the session said (store.session()); for a
    session made on a bare engine, its dialect says, once."""
    ops = s.info.get(OPS)
    if ops is None:
        ops = s.info[OPS] = SqliteOps() if s.get_bind().dialect.name == "sqlite" else PostgresOps()
    return ops


OPS = "digest_bulk_ops"


# The module's functions: what the store's queries call, whichever backend the session has.


def savepoint(s: Session) -> AbstractContextManager[None]:
    """Undo what the block wrote if it raises, and only that."""
    return ops_of(s).savepoint(s)


def select_in(
    s: Session,
    table: Table,
    columns: Sequence[str],
    *,
    key: str,
    values: Sequence[Any],
    equal: Mapping[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """Rows (`columns`) of `table` whose `key` is one of `values`, and whose `equal` columns have those values."""
    if not values:
        return []
    return ops_of(s).select_in(s, table, columns, key=key, values=values, equal=equal or {})


def insert_rows(s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, unique: Sequence[str] = ()) -> None:
    """Insert rows that all have the same keys. `unique`: a key another writer may have inserted meanwhile (the
    row is then left as that writer made it)."""
    if rows:
        ops_of(s).insert_rows(s, table, rows, unique)


def insert_new(
    s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, unique: Sequence[str], key: str
) -> dict[Any, int]:
    """Insert rows the caller found missing; returns `key` -> new id of each row inserted. A row another writer
    inserted since (on a store shared by workers) is left out, not an error."""
    return ops_of(s).insert_new(s, table, rows, unique=unique, key=key) if rows else {}


def update_rows(s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str = "id") -> None:
    """UPDATE each row by `key`; rows all have the same keys."""
    if rows:
        ops_of(s).update_rows(s, table, rows, key)


def lock(s: Session, name: str) -> None:
    """Hold `name` until the transaction ends, so writers of the same thing (an issue of one digest) take turns."""
    ops_of(s).lock(s, name)


def read_once(s: Session) -> AbstractContextManager[None]:
    """A big read of pages that will not be read again (a compose): keep them out of the store's own cache."""
    return ops_of(s).read_once(s)


# --- SQLite: the driver itself ---------------------------------------------------------------------------------


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
        return lambda v: (
            None
            if v is None
            else (datetime.fromisoformat(v).replace(tzinfo=UTC) if aware else datetime.fromisoformat(v))
        )
    if isinstance(column_type, Boolean):
        return lambda v: None if v is None else bool(v)
    return _as_is


def _values(table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Sequence[Any]]:
    """Each row's values in `columns` order, converted for SQLite; only the columns that need it are touched.
    (itemgetter takes the values out in C: a run writes a great many rows.)"""
    convert = [(n, f) for n, f in enumerate(_to_sqlite(table.c[c].type) for c in columns) if f is not _as_is]
    take = operator.itemgetter(*columns)
    if len(columns) == 1:  # itemgetter of one name gives the value, not a tuple
        one = convert[0][1] if convert else _as_is
        return [(one(take(row)),) for row in rows]
    if not convert:
        return [take(row) for row in rows]
    out: list[Sequence[Any]] = []
    for row in rows:
        values = list(take(row))
        for n, f in convert:
            values[n] = f(values[n])
        out.append(values)
    return out


class SqliteOps:
    """The sqlite3 connection under the session, used directly."""

    mark = "?"
    stamp = staticmethod(to_sqlite)

    @staticmethod
    def raw(s: Session) -> Any:
        """The session's DBAPI connection, looked up once per (nested) transaction.

        Keyed by the innermost transaction: the session emits a savepoint only when asked for its connection,
        so a new savepoint must go through `s.connection()` once.
        """
        cached = s.info.get("_sqlite")
        tx = s.get_nested_transaction() or s.get_transaction()
        if cached is not None and tx is not None and cached[0] is tx:
            return cached[1]
        raw = s.connection().connection.driver_connection
        s.info["_sqlite"] = (s.get_nested_transaction() or s.get_transaction(), raw)
        return raw

    def sql(self, s: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.raw(s).execute(sql, params).fetchall()  # type: ignore[no-any-return]

    def sql_many(self, s: Session, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw(s).executemany(sql, rows)

    @contextmanager
    def savepoint(self, s: Session) -> Iterator[None]:
        # A savepoint per source, straight on the driver: the session's begin_nested costs far more.
        raw = self.raw(s)
        raw.execute("SAVEPOINT bulk_savepoint")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK TO bulk_savepoint")
            raw.execute("RELEASE bulk_savepoint")
            raise
        raw.execute("RELEASE bulk_savepoint")

    def select_in(
        self,
        s: Session,
        table: Table,
        columns: Sequence[str],
        *,
        key: str,
        values: Sequence[Any],
        equal: Mapping[str, Any],
    ) -> list[tuple[Any, ...]]:
        raw = self.raw(s)
        convert = [(n, f) for n, f in enumerate(_from_sqlite(table.c[c].type) for c in columns) if f is not _as_is]
        where = "".join(f" AND {c} = ?" for c in equal)
        fixed = list(_values(table, list(equal), [equal])[0]) if equal else []
        out: list[tuple[Any, ...]] = []
        for chunk in chunks(values):
            sql = (
                f"SELECT {', '.join(columns)} FROM {table.name} WHERE {key} IN ({', '.join('?' * len(chunk))})" + where
            )
            for row in raw.execute(sql, [*chunk, *fixed]):
                if convert:
                    row = list(row)
                    for n, f in convert:
                        row[n] = f(row[n])
                out.append(tuple(row))
        return out

    def insert_rows(self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], unique: Sequence[str]) -> None:
        # `unique` needs nothing here: the transaction has held the write lock since it read what is missing.
        columns = list(rows[0].keys())
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        self.raw(s).executemany(sql, _values(table, columns, rows))

    def insert_new(
        self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, unique: Sequence[str], key: str
    ) -> dict[Any, int]:
        start = int(self.raw(s).execute(f"SELECT coalesce(max(id), 0) FROM {table.name}").fetchone()[0]) + 1
        ids = range(start, start + len(rows))
        self.insert_rows(s, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)], unique)
        return {row[key]: i for i, row in zip(ids, rows, strict=True)}

    def update_rows(self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> None:
        columns = [c for c in rows[0] if c != key]
        sql = f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {key} = ?"
        self.raw(s).executemany(sql, _values(table, [*columns, key], rows))

    def lock(self, s: Session, name: str) -> None:
        self.raw(s)  # the transaction began IMMEDIATE: it holds the store's one write lock already

    def after_explicit_ids(self, s: Session, table: Table) -> None:
        pass  # SQLite's next rowid is max(rowid) + 1 already

    @contextmanager
    def read_once(self, s: Session) -> Iterator[None]:
        """SQLite's page cache (64 MiB, for the index pages of a big ingest) would fill with pages never read
        again: much of a big compose's peak memory. The system's file cache still holds them."""
        conn = s.connection()
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql("PRAGMA cache_size=-8192")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


# --- PostgreSQL: SQLAlchemy Core -------------------------------------------------------------------------------


class PostgresOps:
    """Core statements through psycopg; rows are written in key order, so two workers writing the same papers
    take their row locks in one order and never deadlock on each other."""

    mark = "%s"

    @staticmethod
    def stamp(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def sql(self, s: Session, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        result = s.connection().exec_driver_sql(sql, tuple(params))
        return [tuple(r) for r in result] if result.returns_rows else []

    def sql_many(self, s: Session, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            s.connection().exec_driver_sql(sql, [tuple(r) for r in rows])

    def savepoint(self, s: Session) -> AbstractContextManager[None]:
        return s.begin_nested()  # type: ignore[return-value]

    def select_in(
        self,
        s: Session,
        table: Table,
        columns: Sequence[str],
        *,
        key: str,
        values: Sequence[Any],
        equal: Mapping[str, Any],
    ) -> list[tuple[Any, ...]]:
        from sqlalchemy import select

        out: list[tuple[Any, ...]] = []
        for chunk in chunks(values):
            query = select(*(table.c[c] for c in columns)).where(
                table.c[key].in_(chunk), *(table.c[c] == v for c, v in equal.items())
            )
            out.extend(tuple(row) for row in s.connection().execute(query))
        return out

    def insert_rows(self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], unique: Sequence[str]) -> None:
        if not unique:
            s.execute(insert(table), list(rows))
            return
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        ordered = sorted(rows, key=operator.itemgetter(*unique))
        s.execute(pg_insert(table).on_conflict_do_nothing(index_elements=list(unique)), ordered)

    def insert_new(
        self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, unique: Sequence[str], key: str
    ) -> dict[Any, int]:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        ordered = sorted(rows, key=operator.itemgetter(*unique))
        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=list(unique)).returning(table.c[key], table.c.id)
        return {k: i for k, i in s.execute(stmt, ordered)}

    def update_rows(self, s: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> None:
        from sqlalchemy import bindparam

        columns = [c for c in rows[0] if c != key]
        stmt = (
            update(table).where(table.c[key] == bindparam(f"b_{key}")).values({c: bindparam(f"b_{c}") for c in columns})
        )
        ordered = sorted(rows, key=operator.itemgetter(key))
        s.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in ordered])

    def lock(self, s: Session, name: str) -> None:
        s.connection().exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))

    def after_explicit_ids(self, s: Session, table: Table) -> None:
        s.connection().exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), coalesce(max(id), 0) + 1, false) "
            f"FROM {table.name}"
        )

    def read_once(self, s: Session) -> AbstractContextManager[None]:
        return nullcontext()
