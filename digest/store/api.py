"""The store as the rest of digest sees it: one interface, whichever database is behind it.

`digest.store.open_store(url)` chooses the implementation once (store/sqlite.py, store/postgres.py); no caller
knows which it has. Queries of papers, issues and sources run in the store's SQLAlchemy sessions and are the same
for both; what differs (the hot path's driver work, claims, locks shared between hosts) is behind this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from digest.fetch.hosts import HostGate
    from digest.store.values import SourceForFetch, SourceUpdate


class Store(Protocol):
    url: str  # as given (with its password: never print it; `digest.store.url.redacted`)

    @property
    def backend(self) -> Literal["sqlite", "postgres"]: ...

    @property
    def group_size(self) -> int:
        """How many sources' fetches a write group commits together (WriteGroup)."""

    @property
    def busy_timeout(self) -> float | None:
        """How long a writer waits for another's lock (SQLite); None: the server decides."""

    @property
    def engine(self) -> Engine:
        """SQLAlchemy's engine on the store; on SQLite made on first use (a run of 304s never needs it)."""

    def reader(self) -> Engine:
        """The engine for commands that only read: they never wait for another process's writer."""

    def session(self) -> Session:
        """A session for reads and writes of papers, issues and sources, with this backend's bulk operations."""

    def due_sources(
        self, *, now: datetime, default_interval: timedelta, every: bool = False, names: Iterable[str] = ()
    ) -> list[SourceForFetch]:
        """Enabled sources that are due (all enabled ones with `every`, or just the named ones), by id. A list,
        not a claim: `claim` says which of them this worker fetches."""

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
        """Claim those of `ids` no other worker holds (and, with `recheck_due`, still due) until `now + lease`;
        returns them as they are now. A source's claim ends when its fetch is written, or with `release`. On
        PostgreSQL, rows another worker is claiming at this moment are skipped, not waited for."""

    def release(self, worker: str) -> None:
        """End every claim `worker` still holds: sources it claimed and did not fetch (a run stopped early)."""

    def claim_holders(self) -> list[str]:
        """The workers holding claims now."""

    def write_bookkeeping(self, updates: Sequence[SourceUpdate]) -> None:
        """Item-less fetches (304s, failures), in a transaction of their own."""

    def prune_fetch_log(self, *, older_than: datetime) -> None: ...

    def host_gate(self, per_host: int) -> HostGate:
        """The per-host cap on requests in flight; on PostgreSQL shared by every worker on every host."""

    def run_lock(self, name: str = "run") -> AbstractContextManager[None]:
        """The store's lock `name` ("run": compose, send, run; "enrich": paper lookups): held by another process
        anywhere, raises LockHeld at once. A process that dies loses it (a file lock; a PostgreSQL session's
        advisory lock)."""

    def close(self) -> None: ...
