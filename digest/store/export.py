"""The whole store as one JSON-ready document, for scripts (`digest export --format json`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from digest.store.models import Item, Source
from digest.store.repository import session


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def export_document(engine: Engine) -> dict[str, Any]:
    with session(engine) as s:
        sources = list(s.scalars(select(Source).order_by(Source.id)))
        url_of = {src.id: src.url for src in sources}
        items = s.execute(
            select(Item.source_id, Item.guid, Item.url, Item.title, Item.author, Item.published_at)
            .order_by(Item.source_id, Item.id)
        ).all()
    return {
        "sources": [
            {"name": src.name, "url": src.url, "kind": src.kind, "enabled": src.enabled,
             "last_status": src.last_status, "error_count": src.error_count}
            for src in sources
        ],
        "items": [
            {"source": url_of[row.source_id], "guid": row.guid, "url": row.url, "title": row.title,
             "author": row.author, "published": _iso(row.published_at), "papers": []}
            for row in items
        ],
        "papers": [],
    }
