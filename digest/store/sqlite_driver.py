"""A SQLite store's connections as the sqlite3 driver opens them, and the stored form of times.

Most runs from cron find nothing new: every feed answers 304 and the run writes one line of bookkeeping per
source. Importing SQLAlchemy and mapping the models cost more than all of that, so a SQLite store reads its due
sources and writes bookkeeping through the driver (store/sqlite.py), and SQLAlchemy loads when a feed brings
something to store. Every connection, the driver's and SQLAlchemy's, is configured here.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA wal_autocheckpoint=16384",
    "PRAGMA cache_size=-65536",  # 64 MiB: index pages of a big ingest stay in memory
    # A savepoint (one per source written) keeps the original of every page it changes in a sub-journal, a
    # temporary file past 64 KiB, written with many small pwrite calls. In memory it is a copy. (Nothing here
    # VACUUMs, whose temporary copy would then be in memory too.)
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
