"""A store in one PostgreSQL database, shared by any number of workers on any number of hosts.

What the workers share is in the database: which sources each has claimed (a lease on the row, taken with
`FOR UPDATE SKIP LOCKED` so two workers never wait on each other's claims), how many requests are in flight to each
publisher (advisory locks, one per slot of `per_host`), and the run lock (an advisory lock). Advisory locks belong
to a database session, so a worker that dies loses them at once; a claim is a row, and ends with its lease.
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from digest.fetch.hosts import LocalHostGate, host_of
from digest.store import fetch_sql
from digest.store.bulk import OPS, PostgresOps
from digest.store.errors import StoreUsageError, first_line
from digest.store.url import redacted
from digest.store.values import SourceForFetch, SourceUpdate

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

_OPS = PostgresOps()
_MARK = PostgresOps.mark
_ROW_LOCKS = "ORDER BY id FOR UPDATE SKIP LOCKED"

# Advisory lock keys. The run lock is a one-key (bigint) lock; per-host slots are two-key (int4, int4) locks, a
# separate key space in PostgreSQL: (a number for the host, the slot).
RUN_LOCK = 0x64696765  # "dige"
UPGRADE_LOCK = "SELECT pg_advisory_xact_lock(1684629351)"  # 0x64696767: two processes upgrading take turns


class PostgresStore:
    backend: Literal["postgres"] = "postgres"
    # One source per transaction: a source's write that loses a deadlock to another worker's is retried in a
    # fresh savepoint, which works only if its transaction holds no locks of earlier sources (a group of them
    # would meet the same locks again, and the other worker would wait on them as before).
    group_size = 1
    busy_timeout: float | None = None

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def reader(self) -> Engine:
        return self._engine  # PostgreSQL's readers never wait for writers

    def session(self) -> Session:
        from sqlalchemy.orm import Session

        return Session(self._engine, expire_on_commit=False, info={OPS: _OPS})

    def due_sources(
        self, *, now: datetime, default_interval: timedelta, every: bool = False, names: Iterable[str] = ()
    ) -> list[SourceForFetch]:
        sql, params = fetch_sql.due(now=_OPS.stamp(now), every=every, names=names, mark=_MARK)
        with self._engine.connect() as conn:
            return [
                fetch_sql.source_for_fetch(row, default_interval) for row in conn.exec_driver_sql(sql, tuple(params))
            ]

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
        # Always in a transaction of its own, committed at once: other workers must see the claim now, not when
        # this worker's open write group commits.
        if not ids:
            return []
        sql, params = fetch_sql.claim(
            ids,
            worker=worker,
            now=_OPS.stamp(now),
            expires=_OPS.stamp(now + lease),
            recheck_due=recheck_due,
            mark=_MARK,
            row_locks=_ROW_LOCKS,
        )
        with self._engine.begin() as conn:
            rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
        return sorted((fetch_sql.source_for_fetch(row, default_interval) for row in rows), key=lambda s: s.id)

    def release(self, worker: str) -> None:
        sql, params = fetch_sql.release(worker=worker, mark=_MARK)
        with self._engine.begin() as conn:
            conn.exec_driver_sql(sql, tuple(params))

    def claim_holders(self) -> list[str]:
        with self._engine.connect() as conn:
            return [row[0] for row in conn.exec_driver_sql(fetch_sql.holders())]

    def write_bookkeeping(self, updates: Sequence[SourceUpdate]) -> None:
        # Rows in id order: two workers' bookkeeping never takes the same row locks in opposite orders.
        ordered = sorted(updates, key=lambda u: u.source_id)
        with self._engine.begin() as conn:
            for sql, rows in fetch_sql.bookkeeping(ordered, stamp=_OPS.stamp, mark=_MARK):
                if rows:
                    conn.exec_driver_sql(sql, [tuple(r) for r in rows])

    def prune_fetch_log(self, *, older_than: datetime) -> None:
        sql, params = fetch_sql.prune_log(older_than=_OPS.stamp(older_than), mark=_MARK)
        with self._engine.begin() as conn:
            conn.exec_driver_sql(sql, tuple(params))

    def host_gate(self, per_host: int) -> SharedHostGate:
        return SharedHostGate(self._connect, per_host)

    @contextmanager
    def run_lock(self, name: str = "run") -> Iterator[None]:
        from digest.lock import LockHeld

        key = RUN_LOCK if name == "run" else RUN_LOCK + 1 + zlib.crc32(name.encode()) % 1_000_000
        conn = self._connect()
        try:
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:  # type: ignore[index]
                holder = conn.execute(
                    "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1 "
                    "AND l.granted",
                    (key,),
                ).fetchone()
                who = (
                    (f"{holder[0] or 'a session'}" + (f" from {holder[1]}" if holder[1] else ""))
                    if holder
                    else "another session"
                )
                raise LockHeld(
                    f"another digest {'run' if name == 'run' else 'process'} holds the store's {name} lock ({who})"
                )
            yield
        finally:
            conn.close()

    def _connect(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside SQLAlchemy's pool: it holds session-level advisory locks, which
        must end with it (and with this process), never be handed to another user of the pool."""
        import psycopg

        from digest.store.db import application_name

        dsn = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(dsn, autocommit=True, application_name=application_name(), connect_timeout=10)

    def close(self) -> None:
        self._engine.dispose()


class SharedHostGate:
    """At most `per_host` requests in flight to any one host from all workers together: a request holds one of
    the host's `per_host` advisory locks (slots) on a connection of this process, taken without waiting; when all
    are held elsewhere it tries again shortly. This process's own cap comes first, so its threads do not queue on
    the database."""

    def __init__(self, connect: Any, per_host: int) -> None:
        self.per_host = per_host
        self._local = LocalHostGate(per_host)
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._held: dict[str, set[int]] = {}

    @contextmanager
    def __call__(self, url: str) -> Iterator[None]:
        host = host_of(url)
        with self._local(url):
            slot = self._acquire(host)
            try:
                yield
            finally:
                self._release(host, slot)

    @staticmethod
    def _key(host: str) -> int:
        return zlib.crc32(host.encode()) - 2**31  # an int4

    def _acquire(self, host: str) -> int:
        delay = 0.01
        while True:
            with self._lock:
                if self._conn is None:
                    self._conn = self._connect()
                held = self._held.setdefault(host, set())
                for slot in range(self.per_host):
                    if slot in held:
                        continue
                    row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (self._key(host), slot)).fetchone()
                    if row is not None and row[0]:
                        held.add(slot)
                        return slot
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.25)

    def _release(self, host: str, slot: int) -> None:
        with self._lock:
            self._held[host].discard(slot)
            if self._conn is not None:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._key(host), slot))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_postgres(url: str) -> PostgresStore:
    """The PostgreSQL store at `url`, its schema brought to the current revision. A server that cannot be reached or
    refuses the login is a mistake in the URL or the setup: one line, exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from digest.store.db import ensure_schema, make_engine

    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUsageError(f"cannot connect to the store at {redacted(url)}: {first_line(exc)}") from None
    ensure_schema(engine, url, serialise=UPGRADE_LOCK)
    return PostgresStore(url, engine)
