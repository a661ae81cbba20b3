"""Reads and writes of the store. The rest of digest passes plain values in and gets plain values out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session

from digest.clean.items import Item as CleanItem
from digest.store import bulk, fetch_sql
from digest.store.models import Fetch, Item, Source, table
from digest.store.papers import store_mentions_for
from digest.store.values import SourceForFetch, SourceUpdate, WriteResult, is_bookkeeping_only

__all__ = ["SourceForFetch", "SourceUpdate", "WriteResult", "is_bookkeeping_only"]  # their home is store/values.py


class SourceExists(Exception):
    pass


class SourceNotFound(Exception):
    pass


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


# --- sources ---------------------------------------------------------------------------------------


def find_source(s: Session, name_or_url: str) -> Source | None:
    """By name or URL; else by name or title in any case ("AI PaperTrails", as a digest shows the source) when
    exactly one source answers to it."""
    found = s.scalars(select(Source).where(or_(Source.name == name_or_url, Source.url == name_or_url))).first()
    if found is not None:
        return found
    folded = name_or_url.casefold()
    candidates = s.scalars(
        select(Source).where(
            or_(func.lower(Source.name) == name_or_url.lower(), func.lower(Source.title) == name_or_url.lower())
        )
    ).all()
    matching = [c for c in candidates if folded in (c.name.casefold(), (c.title or "").casefold())]
    return matching[0] if len(matching) == 1 else None


def add_source(
    s: Session,
    *,
    url: str,
    name: str,
    kind: str = "feed",
    tags: Sequence[str] = (),
    interval: int | None = None,
    adapter: str | None = None,
    enabled: bool = True,
    now: datetime,
) -> Source:
    clash = s.scalars(select(Source).where(or_(Source.name == name, Source.url == url))).first()
    if clash is not None:
        what = "URL" if clash.url == url else "name"
        raise SourceExists(f"a source with this {what} already exists: {clash.name} ({clash.url})")
    src = Source(
        url=url,
        name=name,
        kind=kind,
        tags=sorted(set(tags)),
        interval_minutes=interval,
        adapter=adapter,
        enabled=enabled,
        disabled_reason=None if enabled else DISABLED_BY_USER,
        error_count=0,
        created_at=now,
    )
    s.add(src)
    s.flush()
    return src


DISABLED_BY_USER = "disabled by the user"


class _Keep:
    """The type of KEEP: an argument left as it is (where None means something)."""


KEEP = _Keep()


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    return str(value)


def update_source(
    s: Session,
    src: Source,
    *,
    name: str | None = None,
    url: str | None = None,
    tags: Sequence[str] | None = None,
    kind: str | None = None,
    adapter: str | None = None,
    interval: int | _Keep | None = KEEP,
    enabled: bool | None = None,
) -> list[str]:
    """Change a source in place (its id, and so its items, stay); returns what changed, one phrase each.

    None keeps a value, except that `kind` comes with its complete `adapter` (None: none) and `interval` is
    kept only by KEEP (None: the config's default).
    A new URL is a new document: its validators, backoff and staleness start over and it is due at once; the
    items stay, keyed by (source, guid), so the same posts at the new address are not stored twice.
    """
    changes: list[str] = []
    if name is not None and name != src.name:
        if s.scalars(select(Source.id).where(Source.name == name, Source.id != src.id)).first() is not None:
            named = s.scalars(select(Source).where(Source.name == name)).one()
            raise SourceExists(f"a source with this name already exists: {named.name} ({named.url})")
        changes.append(f"name {src.name} -> {name}")
        src.name = name
    if url is not None and url != src.url:
        clash = s.scalars(select(Source).where(Source.url == url, Source.id != src.id)).first()
        if clash is not None:
            raise SourceExists(f"a source with this URL already exists: {clash.name} ({clash.url})")
        changes.append(f"url {src.url} -> {url}")
        src.url = url
        src.etag = src.last_modified = src.last_error = src.feed_built = src.items_fingerprint = None
        src.next_fetch_at = None
        src.error_count = src.stale_count = 0
    if tags is not None and sorted(set(tags)) != sorted(src.tags or []):
        changes.append(f"tags {_shown(sorted(src.tags or []))} -> {_shown(sorted(set(tags)))}")
        src.tags = sorted(set(tags))
    if kind is not None:
        if kind != src.kind:
            changes.append(f"kind {src.kind} -> {kind}")
            src.kind = kind
        if adapter != src.adapter:
            changes.append(f"adapter {_shown(src.adapter)} -> {_shown(adapter)}")
            src.adapter = adapter
    if not isinstance(interval, _Keep) and interval != src.interval_minutes:
        changes.append(f"interval {src.interval_minutes or 'default'} -> {interval or 'default'}")
        src.interval_minutes = interval
    if enabled is not None and enabled != src.enabled:
        changes.append("enabled" if enabled else "disabled")
        src.enabled = enabled
        src.disabled_reason = None if enabled else DISABLED_BY_USER
        if enabled:  # fetched again at once, without the backoff of the failures that disabled it
            src.error_count = 0
            src.next_fetch_at = None
    s.flush()
    return changes


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
    return list(s.scalars(select(Source).order_by(func.lower(Source.name), Source.name)))


def last_warnings(s: Session) -> dict[int, str]:
    """Each source's warning from its latest fetch, if it had one (read leniently, cut short, no items...)."""
    latest = select(func.max(Fetch.id)).group_by(Fetch.source_id).scalar_subquery()
    rows = s.execute(select(Fetch.source_id, Fetch.warning).where(Fetch.id.in_(latest), Fetch.warning.is_not(None)))
    return {source_id: warning for source_id, warning in rows if warning}


def item_counts(s: Session) -> dict[int, int]:
    rows = s.execute(select(Item.source_id, func.count()).group_by(Item.source_id))
    return {source_id: n for source_id, n in rows}


def same_posts(s: Session, counts: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """Feeds whose posts are another feed's: {source id: (the other source's id, posts they share)}, for each feed
    at least half of whose posts (and two or more) another feed holds too, by link. The same blog followed at two
    URLs (http and https, a custom domain and its substack.com address, a FeedBurner copy) would otherwise count
    every paper it discusses twice. Listings are left out: two arXiv listings share cross-listed papers by design.
    Read for `status` only: a join over the items' links, not on any fetch's path. `counts`: item_counts(s)."""
    from sqlalchemy.orm import aliased

    a, b = aliased(Item), aliased(Item)
    feeds = select(Source.id).where(Source.kind == "feed").scalar_subquery()
    pairs = s.execute(
        select(a.source_id, b.source_id, func.count())
        .join(b, (a.url == b.url) & (a.source_id != b.source_id))
        .where(a.source_id.in_(feeds), b.source_id.in_(feeds), a.url.is_not(None))
        .group_by(a.source_id, b.source_id)
    ).all()
    found: dict[int, tuple[int, int]] = {}
    for mine, other, shared in pairs:
        if shared >= 2 and 2 * shared >= counts.get(mine, 0) and shared > found.get(mine, (0, 0))[1]:
            found[mine] = (other, shared)
    return found


def sources_for_fetch(
    s: Session, *, now: datetime, default_interval: timedelta, every: bool = False, names: Iterable[str] = ()
) -> list[SourceForFetch]:
    """Enabled sources that are due (all enabled ones with `every`, or just the named ones)."""
    ops = bulk.ops_of(s)
    sql, params = fetch_sql.due(now=ops.stamp(now), every=every, names=names, mark=ops.mark)
    return [fetch_sql.source_for_fetch(row, default_interval) for row in ops.sql(s, sql, params)]


# --- items -----------------------------------------------------------------------------------------


def _existing_hashes(s: Session, source_id: int, guids: list[str]) -> dict[str, tuple[int, str]]:
    rows = bulk.select_in(
        s, table(Item), ("guid", "id", "content_hash"), key="guid", values=guids, equal={"source_id": source_id}
    )
    return {guid: (item_id, h) for guid, item_id, h in rows}


def _item_values(item: CleanItem) -> dict[str, object]:
    return {
        "url": item.url,
        "title": item.title,
        "author": item.author,
        "published_at": item.published,
        "summary": item.summary,
        "content_html": item.content_html,
        "excerpt": item.excerpt,
        "image_url": item.image_url,
        "content_hash": item.content_hash,
    }


def upsert_items(s: Session, source_id: int, items: Sequence[CleanItem], now: datetime) -> tuple[int, int]:
    """Insert new items and update changed ones; returns (new, updated). Unchanged items cost nothing."""
    if not items:
        return 0, 0
    existing = _existing_hashes(s, source_id, [i.guid for i in items])
    fresh = [i for i in items if i.guid not in existing]
    changed = [i for i in items if i.guid in existing and existing[i.guid][1] != i.content_hash]
    inserted: dict[str, int] = {}
    if fresh:
        rows = [
            {"source_id": source_id, "guid": i.guid, "first_seen_at": now, "updated_at": now, **_item_values(i)}
            for i in fresh
        ]
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
    """Insert new items; returns guid -> id of the rows inserted. Another process may have stored the same item a
    moment ago (a source fetched with --source while a worker had it): that is not an error."""
    return bulk.insert_new(s, table(Item), rows, unique=("source_id", "guid"), key="guid")


# --- fetch results ---------------------------------------------------------------------------------


def write_bookkeeping(s: Session, updates: Sequence[SourceUpdate]) -> None:
    """Several item-less updates (304s, failures) as three many-row statements."""
    ops = bulk.ops_of(s)
    for sql, rows in fetch_sql.bookkeeping(updates, stamp=ops.stamp, mark=ops.mark):
        ops.sql_many(s, sql, rows)


def write_update(s: Session, upd: SourceUpdate, now: datetime) -> WriteResult:
    """Write one source's fetch: its items and papers, its state, a line in the fetch log.

    Through store/bulk.py (on SQLite, the driver itself): this runs for every source of every run.
    """
    note = None
    found = bulk.select_in(s, table(Source), ("url", "title"), key="id", values=[upd.source_id])
    if not found:  # removed while we were fetching it
        return WriteResult(0, 0, "source was removed during the fetch")
    src_url, src_title = found[0]
    new, changed = upsert_items(s, upd.source_id, upd.items, now)
    values: dict[str, object] = {
        "last_fetch_at": upd.started_at,
        "last_status": upd.http_status,
        "error_count": upd.error_count,
        "next_fetch_at": upd.next_fetch_at,
        "last_error": upd.error,
        "claimed_by": None,
        "claim_expires_at": None,
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
        clash = s.execute(select(Source.name).where(Source.url == upd.new_url, Source.id != upd.source_id)).scalar()
        if clash is None:
            values["url"] = upd.new_url
        else:
            moved = "its feed is" if upd.found_feed else "moved permanently to"
            note = f"{moved} {upd.new_url}, which source {clash!r} already follows"
    bulk.update_rows(s, table(Source), [{"id": upd.source_id, **values}])
    warning = "; ".join(w for w in (upd.warning, note) if w) or None
    bulk.insert_rows(
        s,
        table(Fetch),
        [
            {
                "source_id": upd.source_id,
                "started_at": upd.started_at,
                "duration_ms": upd.duration_ms,
                "outcome": upd.outcome,
                "http_status": upd.http_status,
                "error": upd.error,
                "warning": warning,
                "bytes": upd.bytes,
                "new_items": new,
                "updated_items": changed,
            }
        ],
    )
    return WriteResult(new, changed, note)


def prune_fetch_log(engine: Engine, *, older_than: datetime) -> None:
    with session(engine) as s, s.begin():
        s.execute(delete(Fetch).where(Fetch.started_at < older_than))
