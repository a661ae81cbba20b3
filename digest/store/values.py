"""The values a fetch run and the store hand each other: what a worker needs of a source, what one fetch
changes, and what writing it did. Plain frozen values, free of SQLAlchemy, safe to pass between threads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.clean.items import Item as CleanItem


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
    never_ok: bool = False  # no fetch of it has succeeded yet (a URL stored as given, perhaps a home page)


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
    found_feed: str | None = None  # set when `new_url` is the feed found behind a page, not a permanent move
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
    return (
        not upd.items
        and not upd.new_url
        and not upd.disable_reason
        and upd.staleness is None
        and not upd.title
        and not upd.site_url
    )
