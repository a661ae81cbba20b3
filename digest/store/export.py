"""The whole store as one JSON-ready document, for scripts (`digest export --format json`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from digest.store.models import Item, Source
from digest.store.papers import paper_counts, paper_ids_by_item
from digest.store.repository import session


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def export_document(engine: Engine) -> dict[str, Any]:
    with session(engine) as s:
        sources = list(s.scalars(select(Source).order_by(Source.id)))
        url_of = {src.id: src.url for src in sources}
        items = s.execute(
            select(Item.id, Item.source_id, Item.guid, Item.url, Item.title, Item.author, Item.published_at).order_by(
                Item.source_id, Item.id
            )
        ).all()
        papers_of = paper_ids_by_item(s)
        papers = paper_counts(s)
    return {
        "sources": [
            {
                "name": src.name,
                "url": src.url,
                "kind": src.kind,
                "enabled": src.enabled,
                "last_status": src.last_status,
                "error_count": src.error_count,
            }
            for src in sources
        ],
        "items": [
            {
                "source": url_of[row.source_id],
                "guid": row.guid,
                "url": row.url,
                "title": row.title,
                "author": row.author,
                "published": iso(row.published_at),
                "papers": papers_of.get(row.id, []),
            }
            for row in items
        ],
        "papers": [
            {"id": pid, "title": title, "mentions": n_items, "sources": n_sources}
            for pid, title, n_items, n_sources in papers
        ],
    }
