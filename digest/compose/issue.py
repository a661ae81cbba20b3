"""Compose one issue of a digest: select what is new, build the view, render it, and record it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from digest.compose.render import Rendered, render
from digest.compose.view import DigestView, PostCard, build_view
from digest.store import repository as repo

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from digest.config import DigestConfig


@dataclass(frozen=True)
class Composed:
    view: DigestView
    rendered: Rendered
    issue_id: int | None


def _source_ids(s: object, wanted: list[str]) -> list[int] | None:
    """Digest `sources` name sources or tags; empty means every source."""
    if not wanted:
        return None
    ids = []
    for src in repo.list_sources(s):  # type: ignore[arg-type]
        if src.name in wanted or src.url in wanted or set(src.tags or ()) & set(wanted):
            ids.append(src.id)
    return ids


def compose_issue(engine: Engine, cfg: DigestConfig, *, now: datetime, since: datetime | None = None,
                  theme: str | None = None, record: bool = True, out_dir: Path | None = None,
                  deliver: Callable[[DigestView, Rendered], None] | None = None) -> Composed:
    """Items not yet in any issue (or, with `since`, everything published since then).

    `deliver` runs inside the store transaction, before the issue is recorded: if writing or sending
    fails, the items stay unclaimed and the next compose picks them up again.
    """
    theme_name = theme or cfg.theme
    theme_dir = Path(cfg.theme_dir).expanduser() if cfg.theme_dir else None
    with repo.session(engine) as s, s.begin():
        source_ids = _source_ids(s, list(cfg.sources))
        rows = repo.items_for_digest(s, since=since, source_ids=source_ids, not_in_any_digest=since is None)
        posts = [
            PostCard(item_id=item.id, title=item.title or item.url or "(untitled)", url=item.url,
                     source=src.title or src.name, source_url=src.site_url or src.url, author=item.author,
                     published=item.published_at or item.first_seen_at, excerpt=item.excerpt or "",
                     image_url=item.image_url)
            for item, src in rows
        ]
        view = build_view(name=cfg.name, title=cfg.title or "Research digest", posts=posts, generated_at=now,
                          window_start=since)
        rendered = render(view, theme=theme_name, theme_dir=theme_dir)
        if deliver is not None:
            deliver(view, rendered)
        issue_id = None
        if record and posts:
            issue = repo.record_issue(
                s, name=cfg.name, theme=theme_name, now=now, window_start=since, subject=view.subject,
                out_dir=str(out_dir) if out_dir else None,
                entries=[(p.item_id, sec.title) for sec in view.sections for p in sec.posts],
            )
            issue_id = issue.id
    return Composed(view=view, rendered=rendered, issue_id=issue_id)
