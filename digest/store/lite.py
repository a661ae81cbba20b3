"""The store as every fetch run first meets it, through the sqlite3 driver alone.

Most runs from cron find nothing new: every feed answers 304 and the run writes one line of bookkeeping
per source. Importing SQLAlchemy and mapping the models cost more than all of that (~0.4 s of a 1.2 s
warm run over 500 feeds), so a fetch run reads its due sources and writes bookkeeping here, and loads
SQLAlchemy (`LiteStore.engine`) only when a feed brings something to store. Only a SQLite file whose
schema is current is opened this way; anything else goes through store/db.py, which can migrate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from digest.limits import stored_interval
from digest.store.db import SCHEMA_HEAD, sqlite_path
from digest.store.writes import SourceForFetch, SourceUpdate

if TYPE_CHECKING:
    from sqlalchemy import Engine

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA wal_autocheckpoint=16384",
    "PRAGMA cache_size=-65536",  # 64 MiB: index pages of a big ingest stay in memory
    # A savepoint (one per source written) keeps the original of every page it changes in a sub-journal,
    # a temporary file past 64 KiB: a 500-feed cold run made ~330,000 pwrite calls to it, ~0.4 s of system
    # time. In memory it is a copy. (Nothing here VACUUMs, whose temporary copy would then be in memory too.)
    "PRAGMA temp_store=MEMORY",
)


DEFAULT_BUSY_TIMEOUT = 30.0  # seconds; the config's [store] busy_timeout


def configure(conn: sqlite3.Connection, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
    """Every connection to the store, whoever opens it: WAL, foreign keys, waiting on locks, our own BEGINs.

    Transactions are taken into our own hands (isolation_level None): pysqlite's implicit BEGIN is deferred
    and can fail with "database is locked" when a reader upgrades to a writer under concurrency.
    The wait for another writer comes first: setting WAL on a store already in WAL mode needs no lock.
    """
    conn.isolation_level = None
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    for pragma in PRAGMAS:
        conn.execute(pragma)


SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime on SQLite: text that sorts as time does


def to_sqlite(value: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy's DateTime stores it on SQLite (naive UTC text), so both can compare."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    return value.astimezone(UTC).strftime(SQLITE_DATETIME)


_DUE_COLUMNS = ("id, name, url, kind, adapter, etag, last_modified, error_count, feed_built, items_fingerprint, "
                "stale_count, interval_minutes")


def due_sources(conn: sqlite3.Connection, *, now: datetime, default_interval: timedelta, every: bool = False,
                names: Iterable[str] = ()) -> list[SourceForFetch]:
    """Enabled sources that are due (all enabled ones with `every`, or just the named ones), by id."""
    wanted = list(names)
    params: list[object] = []
    if wanted:
        marks = ", ".join("?" * len(wanted))
        where = f"name IN ({marks}) OR url IN ({marks})"
        params = [*wanted, *wanted]
    else:
        where = "enabled = 1"
        if not every:
            where += " AND (next_fetch_at IS NULL OR next_fetch_at <= ?)"
            params = [to_sqlite(now)]
    rows = conn.execute(f"SELECT {_DUE_COLUMNS} FROM sources WHERE {where} ORDER BY id", params).fetchall()
    return [
        SourceForFetch(id=r[0], name=r[1], url=r[2], kind=r[3], adapter=r[4], etag=r[5], last_modified=r[6],
                       error_count=r[7], feed_built=r[8], items_fingerprint=r[9], stale_count=r[10],
                       interval=timedelta(minutes=stored_interval(r[11])) if r[11] else default_interval)
        for r in rows
    ]


def write_bookkeeping(conn: sqlite3.Connection, updates: Sequence[SourceUpdate]) -> None:
    """Item-less updates (304s, failures): each source's state and a line in the fetch log, three statements.
    The caller holds the transaction."""
    if not updates:
        return
    conn.executemany(
        "UPDATE sources SET last_fetch_at = ?, last_status = ?, error_count = ?, next_fetch_at = ?, last_error = ? "
        "WHERE id = ?",
        [(to_sqlite(u.started_at), u.http_status, u.error_count, to_sqlite(u.next_fetch_at), u.error, u.source_id)
         for u in updates])
    conn.executemany(
        "UPDATE sources SET last_ok_at = ?, etag = ?, last_modified = ? WHERE id = ?",
        [(to_sqlite(u.started_at), u.etag, u.last_modified, u.source_id)
         for u in updates if u.outcome in ("ok", "not_modified")])
    conn.executemany(
        "INSERT INTO fetches (source_id, started_at, duration_ms, outcome, http_status, error, warning, bytes, "
        "new_items, updated_items) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
        [(u.source_id, to_sqlite(u.started_at), u.duration_ms, u.outcome, u.http_status, u.error, u.warning, u.bytes)
         for u in updates])


class LiteStore:
    """A SQLite store with a current schema, opened without SQLAlchemy; `engine` loads it when needed."""

    def __init__(self, url: str, conn: sqlite3.Connection, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.url = url
        self.conn = conn
        self.busy_timeout = busy_timeout
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from digest.store.db import open_store

            self._engine = open_store(self.url, busy_timeout=self.busy_timeout)
        return self._engine

    def due_sources(self, *, now: datetime, default_interval: timedelta, every: bool = False,
                    names: Iterable[str] = ()) -> list[SourceForFetch]:
        return due_sources(self.conn, now=now, default_interval=default_interval, every=every, names=names)

    def write_bookkeeping(self, updates: Sequence[SourceUpdate]) -> None:
        self._write(lambda: write_bookkeeping(self.conn, updates))

    def prune_fetch_log(self, *, older_than: datetime) -> None:
        self._write(lambda: self.conn.execute("DELETE FROM fetches WHERE started_at < ?", (to_sqlite(older_than),)))

    def _write(self, work: Callable[[], object]) -> None:
        # IMMEDIATE takes the write lock up front, as every writer of the store does (store/db.py).
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            work()
            self.conn.execute("COMMIT")
        except BaseException:
            # A full disk or an I/O error may have rolled the transaction back already (SQLite's choice).
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()
        if self._engine is not None:
            self._engine.dispose()


def open_lite(url: str, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> LiteStore | None:
    """The store at `url` opened with the driver alone, or None when it must go through store/db.py: not a
    SQLite file, not there yet, not at the current schema, or not openable (db.py then says why)."""
    path = sqlite_path(url)
    if path is None or not path.is_file():
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
    return LiteStore(url, conn, busy_timeout)
