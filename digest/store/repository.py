"""Reads and writes of the store. The rest of digest passes plain values in and gets plain values out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session

from digest.clean.items import Item as CleanItem
from digest.store import bulk
from digest.store.models import Fetch, Item, Source


class SourceExists(Exception):
    pass


class SourceNotFound(Exception):
    pass


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


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


# --- sources ---------------------------------------------------------------------------------------

def find_source(s: Session, name_or_url: str) -> Source | None:
    return s.scalars(select(Source).where(or_(Source.name == name_or_url, Source.url == name_or_url))).first()


def add_source(s: Session, *, url: str, name: str, kind: str = "feed", tags: Sequence[str] = (),
               interval: int | None = None, adapter: str | None = None, now: datetime) -> Source:
    clash = s.scalars(select(Source).where(or_(Source.name == name, Source.url == url))).first()
    if clash is not None:
        what = "URL" if clash.url == url else "name"
        raise SourceExists(f"a source with this {what} already exists: {clash.name} ({clash.url})")
    src = Source(url=url, name=name, kind=kind, tags=sorted(set(tags)), interval_minutes=interval,
                 adapter=adapter, enabled=True, error_count=0, created_at=now)
    s.add(src)
    s.flush()
    return src


def unique_name(s: Session, wanted: str) -> str:
    taken = set(s.scalars(select(Source.name).where(Source.name.like(f"{wanted}%"))))
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


def remove_source(s: Session, name_or_url: str) -> Source:
    src = find_source(s, name_or_url)
    if src is None:
        raise SourceNotFound(f"no source named or at {name_or_url!r}")
    s.delete(src)
    return src


def list_sources(s: Session) -> list[Source]:
    return list(s.scalars(select(Source).order_by(Source.name)))


def item_counts(s: Session) -> dict[int, int]:
    rows = s.execute(select(Item.source_id, func.count()).group_by(Item.source_id))
    return {source_id: n for source_id, n in rows}


def sources_for_fetch(s: Session, *, now: datetime, default_interval: timedelta, every: bool = False,
                      names: Iterable[str] = ()) -> list[SourceForFetch]:
    """Enabled sources that are due (all enabled ones with `every`, or just the named ones)."""
    # Plain rows through Core: every run starts here, and ORM objects for every source cost more.
    query = select(Source.id, Source.name, Source.url, Source.kind, Source.adapter, Source.etag,
                   Source.last_modified, Source.error_count, Source.feed_built, Source.items_fingerprint,
                   Source.stale_count, Source.interval_minutes)
    wanted = list(names)
    if wanted:
        query = query.where(or_(Source.name.in_(wanted), Source.url.in_(wanted)))
    else:
        query = query.where(Source.enabled.is_(True))
        if not every:
            query = query.where(or_(Source.next_fetch_at.is_(None), Source.next_fetch_at <= now))
    return [
        SourceForFetch(
            id=src.id, name=src.name, url=src.url, kind=src.kind, adapter=src.adapter, etag=src.etag,
            last_modified=src.last_modified, error_count=src.error_count, feed_built=src.feed_built,
            items_fingerprint=src.items_fingerprint, stale_count=src.stale_count,
            interval=timedelta(minutes=src.interval_minutes) if src.interval_minutes else default_interval,
        )
        for src in s.connection().execute(query.order_by(Source.id))
    ]


# --- items -----------------------------------------------------------------------------------------

def _existing_hashes(s: Session, source_id: int, guids: list[str]) -> dict[str, tuple[int, str]]:
    rows = bulk.select_in(s, Item.__table__, ("guid", "id", "content_hash"), key="guid", values=guids,
                          equal={"source_id": source_id})
    return {guid: (item_id, h) for guid, item_id, h in rows}


def _item_values(item: CleanItem) -> dict[str, object]:
    return {
        "url": item.url, "title": item.title, "author": item.author, "published_at": item.published,
        "summary": item.summary, "content_html": item.content_html, "excerpt": item.excerpt,
        "image_url": item.image_url, "content_hash": item.content_hash,
    }


def upsert_items(s: Session, source_id: int, items: Sequence[CleanItem], now: datetime) -> tuple[int, int]:
    """Insert new items and update changed ones; returns (new, updated). Unchanged items cost nothing."""
    if not items:
        return 0, 0
    existing = _existing_hashes(s, source_id, [i.guid for i in items])
    fresh = [i for i in items if i.guid not in existing]
    changed = [i for i in items if i.guid in existing and existing[i.guid][1] != i.content_hash]
    from digest.store.papers import store_mentions_for

    inserted: dict[str, int] = {}
    if fresh:
        rows = [{"source_id": source_id, "guid": i.guid, "first_seen_at": now, "updated_at": now, **_item_values(i)}
                for i in fresh]
        inserted = _insert_ignoring_conflicts(s, rows)
    for item in changed:
        s.execute(update(Item).where(Item.id == existing[item.guid][0]).values(updated_at=now, **_item_values(item)))
    # Mentions follow the content: derived again for every new or changed item, never for unchanged ones.
    entries = [(inserted[i.guid], i.mentions) for i in fresh if i.guid in inserted]
    stored = [existing[i.guid][0] for i in changed]
    entries += [(item_id, i.mentions) for item_id, i in zip(stored, changed, strict=True)]
    if entries:
        store_mentions_for(s, source_id=source_id, entries=entries, now=now, stored=stored)
    return len(inserted), len(changed)


def _insert_ignoring_conflicts(s: Session, rows: list[dict[str, object]]) -> dict[str, int]:
    """Insert new items; returns guid -> id of the rows inserted.

    On SQLite this transaction holds the write lock since it read the existing guids, so every row is
    new and ids can be assigned here. Elsewhere another process may have stored the same item a moment
    ago; that is not an error.
    """
    table = Item.__table__
    if bulk.can_assign_ids(s):
        ids = bulk.next_ids(s, table, len(rows))
        bulk.insert_rows(s, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
        return {str(row["guid"]): i for i, row in zip(ids, rows, strict=True)}
    if s.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(Item).on_conflict_do_nothing(index_elements=["source_id", "guid"]).returning(Item.guid, Item.id)
    return {guid: item_id for guid, item_id in s.execute(stmt, rows)}


# --- fetch results ---------------------------------------------------------------------------------

def is_bookkeeping_only(upd: SourceUpdate) -> bool:
    """An update that stores nothing but its outcome (no items, title, move or disabling): 304s, failures."""
    return (not upd.items and not upd.new_url and not upd.disable_reason and upd.staleness is None
            and not upd.title and not upd.site_url)


def write_bookkeeping(s: Session, updates: Sequence[SourceUpdate]) -> None:
    """Several item-less updates (304s, failures) as three many-row statements."""
    if not updates:
        return
    rows = []
    for upd in updates:
        row: dict[str, object] = {"id": upd.source_id, "last_fetch_at": upd.started_at,
                                  "last_status": upd.http_status, "error_count": upd.error_count,
                                  "next_fetch_at": upd.next_fetch_at, "last_error": upd.error}
        rows.append(row)
    bulk.update_rows(s, Source.__table__, rows)
    ok = [{"id": u.source_id, "last_ok_at": u.started_at, "etag": u.etag, "last_modified": u.last_modified}
          for u in updates if u.outcome in ("ok", "not_modified")]
    bulk.update_rows(s, Source.__table__, ok)
    bulk.insert_rows(s, Fetch.__table__, [
        {"source_id": u.source_id, "started_at": u.started_at, "duration_ms": u.duration_ms,
         "outcome": u.outcome, "http_status": u.http_status, "error": u.error, "warning": u.warning,
         "bytes": u.bytes, "new_items": 0, "updated_items": 0} for u in updates])


def write_update(s: Session, upd: SourceUpdate, now: datetime) -> WriteResult:
    """Write one source's fetch: its items and papers, its state, a line in the fetch log.

    Through store/bulk.py (the SQLite driver itself): this runs for every source of every run.
    """
    note = None
    found = bulk.select_in(s, Source.__table__, ("url", "title"), key="id", values=[upd.source_id])
    if not found:  # removed while we were fetching it
        return WriteResult(0, 0, "source was removed during the fetch")
    src_url, src_title = found[0]
    new, changed = upsert_items(s, upd.source_id, upd.items, now)
    values: dict[str, object] = {
        "last_fetch_at": upd.started_at, "last_status": upd.http_status, "error_count": upd.error_count,
        "next_fetch_at": upd.next_fetch_at, "last_error": upd.error,
    }
    if upd.outcome in ("ok", "not_modified"):
        values.update(last_ok_at=upd.started_at, etag=upd.etag, last_modified=upd.last_modified)
    if upd.title and not src_title:
        values["title"] = upd.title
    if upd.site_url:
        values["site_url"] = upd.site_url
    if upd.staleness is not None:
        values["feed_built"], values["items_fingerprint"], values["stale_count"] = upd.staleness
    if upd.disable_reason:
        values.update(enabled=False, disabled_reason=upd.disable_reason)
    if upd.new_url and upd.new_url != src_url:
        clash = s.execute(select(Source.name).where(Source.url == upd.new_url,
                                                    Source.id != upd.source_id)).scalar()
        if clash is None:
            values["url"] = upd.new_url
        else:
            note = f"moved permanently to {upd.new_url}, which source {clash!r} already follows"
    bulk.update_rows(s, Source.__table__, [{"id": upd.source_id, **values}])
    warning = "; ".join(w for w in (upd.warning, note) if w) or None
    bulk.insert_rows(s, Fetch.__table__, [{
        "source_id": upd.source_id, "started_at": upd.started_at, "duration_ms": upd.duration_ms,
        "outcome": upd.outcome, "http_status": upd.http_status, "error": upd.error, "warning": warning,
        "bytes": upd.bytes, "new_items": new, "updated_items": changed}])
    return WriteResult(new, changed, note)


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

    def __init__(self, engine: Engine, *, max_sources: int = 64, max_seconds: float = 1.0) -> None:
        self._engine = engine
        self._max_sources = max_sources
        self._max_seconds = max_seconds
        self._session: Session | None = None
        self._opened = 0.0
        self._written: list[tuple[Callable[[WriteResult], None], WriteResult | None]] = []
        self._bookkeeping: list[SourceUpdate] = []  # written at commit, many rows per statement

    def add(self, upd: SourceUpdate, now: datetime, done: Callable[[WriteResult], None]) -> None:
        import sqlite3

        from sqlalchemy.exc import SQLAlchemyError

        if not self._written:
            self._opened = time.monotonic()
        if is_bookkeeping_only(upd):
            self._bookkeeping.append(upd)
            self._written.append((done, None))
        else:
            s = self._open()
            try:
                with s.begin_nested():
                    result = write_update(s, upd, now)
            except (SQLAlchemyError, sqlite3.Error) as exc:  # the bulk path speaks to the driver directly
                reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
                result = WriteResult(0, 0, error=f"could not be stored: {reason}")
            self._written.append((done, result))
        if len(self._written) >= self._max_sources or self.seconds_left() == 0:
            self.commit()

    def seconds_left(self) -> float | None:
        """How long the open group may stay open; None when there is none."""
        if not self._written:
            return None
        return max(0.0, self._opened + self._max_seconds - time.monotonic())

    def commit(self) -> None:
        if not self._written:
            return
        s = self._open()
        write_bookkeeping(s, self._bookkeeping)
        s.commit()
        s.close()
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
            self._session = session(self._engine)
            self._session.begin()
        return self._session


def prune_fetch_log(engine: Engine, *, older_than: datetime) -> None:
    with session(engine) as s, s.begin():
        s.execute(delete(Fetch).where(Fetch.started_at < older_than))
