"""What one fetch of one source changes in the store, and the groups those changes are committed in.

Free of SQLAlchemy at import: a run in which every feed answers 304 writes only bookkeeping, through the
sqlite3 driver (store/lite.py); the SQLAlchemy session is opened when a source brings something to store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from digest.clean.items import Item as CleanItem
    from digest.store.lite import LiteStore


@dataclass(frozen=True)
class SourceForFetch:
    """What a fetch worker needs to know of a source; a value, safe to hand to another thread."""

    id: int
    name: str
    url: str
    kind: str
    adapter: str | None
    etag: str | None
    last_modified: str | None
    interval: timedelta
    error_count: int
    feed_built: str | None = None
    items_fingerprint: str | None = None
    stale_count: int = 0


@dataclass(frozen=True)
class SourceUpdate:
    """Everything one fetch of one source changes, written in a single transaction."""

    source_id: int
    started_at: datetime
    duration_ms: int
    outcome: str  # ok | not_modified | error | gone
    http_status: int | None
    error: str | None
    warning: str | None
    bytes: int
    items: Sequence[CleanItem]
    error_count: int
    next_fetch_at: datetime
    etag: str | None
    last_modified: str | None
    new_url: str | None = None
    disable_reason: str | None = None
    title: str | None = None
    site_url: str | None = None
    staleness: tuple[str | None, str | None, int] | None = None  # (built, fingerprint, count) when observed


@dataclass(frozen=True)
class WriteResult:
    new_items: int
    updated_items: int
    note: str | None = None  # something the user should hear about, e.g. a move that could not be saved
    error: str | None = None  # the source's fetch could not be stored at all (nothing of it was)
    refused: bool = False  # because the store refused service (full disk, read-only, locked): see WriteGroup.refused


def is_bookkeeping_only(upd: SourceUpdate) -> bool:
    """An update that stores nothing but its outcome (no items, title, move or disabling): 304s, failures."""
    return (not upd.items and not upd.new_url and not upd.disable_reason and upd.staleness is None
            and not upd.title and not upd.site_url)


def _store_errors() -> tuple[type[Exception], ...]:
    """What a refused write raises: SQLAlchemy's errors, and the driver's own (the bulk path speaks to it
    directly). Imported when a write fails, not when this module is."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    from digest.store.db import StoreError

    return SQLAlchemyError, sqlite3.Error, StoreError


class WriteGroup:
    """Sources' fetches written a group at a time: one commit for up to `max_sources` sources or
    `max_seconds`, whichever comes first, instead of one commit per source.

    Why: a commit rewrites every index page its source touched, and WAL checkpoints fsync; with one commit
    per source that was a quarter of a cold run. Each source still goes in its own savepoint, so one that
    cannot be written costs only itself; `done` hears of a source only after the commit that holds it, so
    what was reported is stored. A crash loses at most the open group, and its sources' validators (etag,
    Last-Modified) went with it, so the next run fetches them again: nothing is lost or doubled. The write
    lock is held while a group is open; `seconds_left` tells the caller when to `commit` an idle group.
    """

    def __init__(self, store: Engine | LiteStore, *, max_sources: int = 64, max_seconds: float = 1.0) -> None:
        from digest.store.lite import LiteStore

        self._lite = store if isinstance(store, LiteStore) else None
        self._engine = None if self._lite is not None else store
        self._max_sources = max_sources
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
        self._url = self._lite.url if self._lite is not None else str(getattr(store, "url", ""))
        self._busy_timeout = getattr(self._lite, "busy_timeout", None)

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
            from digest.store import bulk, repository

            try:
                s = self._open()
            except _store_errors() as exc:  # BEGIN IMMEDIATE waited busy_timeout, or the store cannot be opened
                if self._refuse(exc, also=done):
                    return
                raise
            try:
                with bulk.savepoint(s):
                    result = repository.write_update(s, upd, now)
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

    def _refusal(self, exc: BaseException) -> str | None:
        from digest.store.db import StoreError, store_problem

        if isinstance(exc, StoreError):  # the engine could not be opened: its message says why
            return str(exc)
        return store_problem(exc, url=self._url, busy_timeout=self._busy_timeout)

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
            if self._session is None and self._lite is not None:  # nothing but bookkeeping: no SQLAlchemy
                self._lite.write_bookkeeping(self._bookkeeping)
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
            from digest.store.repository import session

            engine = self._lite.engine if self._lite is not None else self._engine
            assert engine is not None
            self._session = session(engine)
            self._session.begin()
        return self._session
