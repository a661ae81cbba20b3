"""A store in one SQLite file: the embedded default, for one machine.

A fetch run reads its due sources, claims them and writes bookkeeping through the sqlite3 driver (see
store/sqlite_driver.py for why), and makes SQLAlchemy's engine only when a feed brings something to store. Every
write transaction begins IMMEDIATE, so writers take turns on the file's one write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from digest.fetch.hosts import LocalHostGate
from digest.store import fetch_sql
from digest.store.errors import StoreUsageError
from digest.store.sqlite_driver import DEFAULT_BUSY_TIMEOUT, configure, to_sqlite
from digest.store.url import sqlite_path
from digest.store.values import SourceForFetch, SourceUpdate

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

_MARK = "?"


class SqliteStore:
    backend: Literal["sqlite"] = "sqlite"
    group_size = 64  # a commit rewrites every index page it touched: fewer, larger commits (store/writes.py)

    def __init__(
        self, url: str, path: Path, conn: sqlite3.Connection, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.url = url
        self.path = path
        self.conn = conn
        self.busy_timeout: float | None = busy_timeout
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from digest.store.db import make_engine

            self._engine = make_engine(self.url, busy_timeout=self.busy_timeout or DEFAULT_BUSY_TIMEOUT)
        return self._engine

    def reader(self) -> Engine:
        from digest.store.db import reading

        return reading(self.engine)

    def session(self) -> Session:
        from sqlalchemy.orm import Session

        from digest.store.bulk import OPS, SqliteOps

        return Session(self.engine, expire_on_commit=False, info={OPS: SqliteOps()})

    def due_sources(
        self, *, now: datetime, default_interval: timedelta, every: bool = False, names: Iterable[str] = ()
    ) -> list[SourceForFetch]:
        sql, params = fetch_sql.due(now=to_sqlite(now), every=every, names=names, mark=_MARK)
        return [fetch_sql.source_for_fetch(row, default_interval) for row in self.conn.execute(sql, params)]

    def claim(
        self,
        ids: Sequence[int],
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        recheck_due: bool,
        default_interval: timedelta,
        session: Session | None = None,
    ) -> list[SourceForFetch]:
        if not ids:
            return []
        sql, params = fetch_sql.claim(
            ids, worker=worker, now=to_sqlite(now), expires=to_sqlite(now + lease), recheck_due=recheck_due, mark=_MARK
        )
        if session is not None:  # the open write group's transaction holds the write lock: claim in it
            from digest.store.bulk import SqliteOps

            rows = SqliteOps.raw(session).execute(sql, params).fetchall()
        else:
            rows = self._write(lambda: self.conn.execute(sql, params).fetchall())
        return sorted((fetch_sql.source_for_fetch(row, default_interval) for row in rows), key=lambda s: s.id)

    def release(self, worker: str) -> None:
        sql, params = fetch_sql.release(worker=worker, mark=_MARK)
        self._write(lambda: self.conn.execute(sql, params))

    def claim_holders(self) -> list[str]:
        return [row[0] for row in self.conn.execute(fetch_sql.holders())]

    def write_bookkeeping(self, updates: Sequence[SourceUpdate]) -> None:
        statements = fetch_sql.bookkeeping(updates, stamp=to_sqlite, mark=_MARK)
        self._write(lambda: [self.conn.executemany(sql, rows) for sql, rows in statements if rows])

    def prune_fetch_log(self, *, older_than: datetime) -> None:
        sql, params = fetch_sql.prune_log(older_than=to_sqlite(older_than), mark=_MARK)
        self._write(lambda: self.conn.execute(sql, params))

    def host_gate(self, per_host: int) -> LocalHostGate:
        return LocalHostGate(per_host)

    @contextmanager
    def run_lock(self, name: str = "run") -> Iterator[None]:
        from digest.lock import exclusive

        suffix = ".lock" if name == "run" else f".{name}.lock"
        with exclusive(self.path.with_name(self.path.name + suffix)):
            yield

    def _write(self, work: Callable[[], Any]) -> Any:
        # IMMEDIATE takes the write lock up front, as every writer of the store does (store/db.py).
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self.conn.execute("COMMIT")
        except BaseException:
            # A full disk or an I/O error may have rolled the transaction back already (SQLite's choice).
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        self.conn.close()
        if self._engine is not None:
            self._engine.dispose()


def _current(path: Path, busy_timeout: float) -> sqlite3.Connection | None:
    """A driver connection to the store at `path` when its schema is current; None when it must be created or
    migrated first (or cannot be opened: the engine then says why)."""
    from digest.store.db import SCHEMA_HEAD

    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error:
        return None
    try:
        configure(conn, busy_timeout)
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    if row is None or row[0] != SCHEMA_HEAD:
        conn.close()
        return None
    return conn


def open_sqlite(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, create_folder: bool = False) -> SqliteStore:
    """The SQLite store at `url`, created and migrated when it needs to be; only a store at the current schema is
    opened without SQLAlchemy. Its folder is created only when asked (the default data dir): a --db path in a
    folder that is not there is a mistake in the path."""
    from digest.store.errors import StoreError

    path = sqlite_path(url)
    if path is None:
        raise StoreUsageError(f"a SQLite store must be a file: {url!r}")
    if not path.parent.is_dir():
        if not create_folder:
            raise StoreUsageError(f"the folder for the store {path} does not exist (create it, or fix the path)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store's folder {path.parent}: {exc.strerror}") from None
    conn = _current(path, busy_timeout)
    if conn is None:
        from digest.store.db import open_engine

        open_engine(url, busy_timeout).dispose()
        try:
            conn = sqlite3.connect(path)
            configure(conn, busy_timeout)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store at {url}: {exc}") from None
    return SqliteStore(url, path, conn, busy_timeout)
