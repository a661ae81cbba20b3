"""The groups a fetch run's writes are committed in.

Free of SQLAlchemy at import: a run in which every feed answers 304 writes only bookkeeping, which a SQLite store
does through the sqlite3 driver (store/sqlite.py); a session is opened when a source brings something to store.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from digest.store.errors import StoreError, is_retryable, store_problem
from digest.store.values import SourceForFetch, SourceUpdate, WriteResult, is_bookkeeping_only

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from digest.store.api import Store

# A source's write that loses a race with another worker's (a deadlock, a serialization failure) is tried again
# this many times, in a fresh savepoint, before it counts as not stored.
RETRIES = 5


def _store_errors() -> tuple[type[Exception], ...]:
    """What a refused write raises: SQLAlchemy's errors, and the driver's own (the bulk path speaks to it
    directly). Imported when a write fails, not when this module is."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    return SQLAlchemyError, sqlite3.Error, StoreError


class WriteGroup:
    """Sources' fetches written a group at a time: one commit for up to `max_sources` sources or
    `max_seconds`, whichever comes first, instead of one commit per source.

    Why: a commit rewrites every index page its source touched, and WAL checkpoints fsync; with one commit per source
    that was a large share of a cold run (docs/performance.md). Each source still goes in its own savepoint, so one that
    cannot be written costs only itself; `done` hears of a source only after the commit that holds it, so
    what was reported is stored. A crash loses at most the open group, and its sources' validators (etag,
    Last-Modified) went with it, so the next run fetches them again: nothing is lost or doubled. The write
    lock is held while a group is open; `seconds_left` tells the caller when to `commit` an idle group.
    """

    def __init__(self, store: Store, *, max_sources: int | None = None, max_seconds: float = 1.0) -> None:
        self._store = store
        self._max_sources = max_sources or store.group_size
        self._max_seconds = max_seconds
        self._session: Session | None = None
        self._opened = 0.0
        self._written: list[tuple[Callable[[WriteResult], None], WriteResult | None]] = []
        self._bookkeeping: list[SourceUpdate] = []  # written at commit, many rows per statement
        # Why the store refused service (a full disk, a read-only file, another writer past busy_timeout), once it
        # has: the open group was rolled back and each of its sources reported not stored, and every later source
        # is reported so at once, without another try (another wait of busy_timeout). Not stored, their validators
        # were not either, and they stay due: the next run fetches them again. Nothing is lost.
        self.refused: str | None = None

    def add(self, upd: SourceUpdate, now: datetime, done: Callable[[WriteResult], None]) -> None:
        if self.refused is not None:
            done(self._not_stored())
            return
        if not self._written:
            self._opened = time.monotonic()
        if is_bookkeeping_only(upd):
            self._bookkeeping.append(upd)
            self._written.append((done, None))
        else:
            try:
                s = self._open()
            except _store_errors() as exc:  # BEGIN IMMEDIATE waited busy_timeout, or the store cannot be opened
                if self._refuse(exc, also=done):
                    return
                raise
            try:
                result = self._write_update(s, upd, now)
            except _store_errors() as exc:
                if self._refuse(exc, also=done):
                    return
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                result = WriteResult(0, 0, error=f"could not be stored: {reason}")
                if self._record_refusal(s, upd, result.error or "", also=done):
                    return
            self._written.append((done, result))
        if len(self._written) >= self._max_sources or self.seconds_left() == 0:
            self.commit()

    @staticmethod
    def _write_update(s: Session, upd: SourceUpdate, now: datetime) -> WriteResult:
        """One source's fetch in a savepoint of its own; tried again when it lost a race with another worker."""
        from digest.store import bulk, repository

        for attempt in range(RETRIES):
            try:
                with bulk.savepoint(s):
                    return repository.write_update(s, upd, now)
            except _store_errors() as exc:
                if not is_retryable(exc) or attempt == RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def claim(
        self,
        sources: Sequence[SourceForFetch],
        *,
        worker: str,
        now: datetime,
        lease: timedelta,
        recheck_due: bool,
        default_interval: timedelta,
    ) -> list[SourceForFetch]:
        """Claim `sources` for `worker` (Store.claim), in the open group's transaction when there is one: on SQLite
        that transaction holds the one write lock."""
        try:
            return self._store.claim(
                [src.id for src in sources],
                worker=worker,
                now=now,
                lease=lease,
                recheck_due=recheck_due,
                default_interval=default_interval,
                session=self._session,
            )
        except _store_errors() as exc:
            if self._refuse(exc):
                return []
            raise

    def _refusal(self, exc: BaseException) -> str | None:
        if isinstance(exc, StoreError):  # the engine could not be opened: its message says why
            return str(exc)
        return store_problem(exc, url=self._store.url, busy_timeout=self._store.busy_timeout)

    def _refuse(self, exc: BaseException, also: Callable[[WriteResult], None] | None = None) -> bool:
        """When `exc` is the store refusing service: roll the open group back, report its sources (and `also`)
        not stored, and refuse every later one. False when `exc` is a fault of one source's data."""
        problem = self._refusal(exc)
        if problem is None:
            return False
        self.refused = problem
        if self._session is not None:
            try:
                self._session.rollback()
                self._session.close()
            except _store_errors():
                pass
        written = self._written + ([(also, None)] if also is not None else [])
        self._written, self._bookkeeping, self._session = [], [], None
        for done, _ in written:
            done(self._not_stored())
        return True

    def _not_stored(self) -> WriteResult:
        return WriteResult(0, 0, error=f"not stored: {self.refused}", refused=True)

    def _record_refusal(self, s: Session, upd: SourceUpdate, error: str, also: Callable[[WriteResult], None]) -> bool:
        """The source's row and the fetch log say why its fetch is not in the store. Its validators stay as
        they were and it stays due, so the next run fetches it in full; the source itself answered, so its
        error count is not raised. In a savepoint of its own: if even this is refused, the report says it."""
        from digest.store import bulk, repository

        refused = replace(upd, outcome="error", error=error, warning=None, items=(), next_fetch_at=upd.started_at)
        try:
            with bulk.savepoint(s):
                repository.write_bookkeeping(s, [refused])
        except _store_errors() as exc:
            return self._refuse(exc, also=also)
        return False

    def seconds_left(self) -> float | None:
        """How long the open group may stay open; None when there is none."""
        if not self._written:
            return None
        return max(0.0, self._opened + self._max_seconds - time.monotonic())

    def commit(self) -> None:
        if not self._written:
            return
        try:
            if self._session is None:  # nothing but bookkeeping: on SQLite, no SQLAlchemy
                self._store.write_bookkeeping(self._bookkeeping)
            else:
                from digest.store import repository

                s = self._open()
                repository.write_bookkeeping(s, self._bookkeeping)
                s.commit()
                s.close()
        except Exception as exc:
            if isinstance(exc, _store_errors()) and self._refuse(exc):
                return
            raise
        written, self._written, self._bookkeeping, self._session = self._written, [], [], None
        for done, result in written:
            done(result or WriteResult(0, 0))

    def close(self) -> None:
        """Commit what is open; on an error, roll it back (reporting none of it)."""
        try:
            self.commit()
        finally:
            if self._session is not None:
                self._session.close()
                self._session = None
                self._written, self._bookkeeping = [], []

    def _open(self) -> Session:
        if self._session is None:
            self._session = self._store.session()
            self._session.begin()
        return self._session
