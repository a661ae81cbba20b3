"""An issue's contents: what arrived in its window, selected, viewed and rendered. Reads the store; writes nothing.

Making the e-mail, writing the files and recording the issue are the application's (digest/publish.py), which
holds the transaction this runs in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from digest.compose.render import Rendered, render
from digest.compose.rules import DEFAULT_SECTIONS, Section
from digest.compose.select import Filters, Selection, is_listed, section_order, select_issue
from digest.compose.view import DigestView, build_view
from digest.store import digests as store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from digest.config import DigestConfig


@dataclass(frozen=True)
class Draft:
    """An issue as composed, before anything is made of it: its view, rendered, the selection behind it, and the
    start of the window it covers."""

    view: DigestView
    rendered: Rendered
    selection: Selection
    window_start: datetime
    theme: str
    newest: datetime | None = None  # an empty draft: the newest item's date, however old (to say why it is empty)


def sections_of(cfg: DigestConfig) -> tuple[Section, ...]:
    if cfg.sections is None:
        return DEFAULT_SECTIONS
    return tuple(Section(s.name, tuple(s.keywords)) for s in cfg.sections)


def filters_of(cfg: DigestConfig) -> Filters:
    return Filters(
        include_keywords=tuple(cfg.include.keywords),
        include_authors=tuple(cfg.include.authors),
        include_sources=tuple(cfg.include.sources),
        exclude_keywords=tuple(cfg.exclude.keywords),
        exclude_authors=tuple(cfg.exclude.authors),
        exclude_sources=tuple(cfg.exclude.sources),
    )


def footer_lines(cfg: DigestConfig) -> tuple[str, ...]:
    lines = []
    if cfg.recipients and cfg.unsubscribe:
        lines.append(f"Unsubscribe: {cfg.unsubscribe}")
    return tuple(lines)


def draft_issue(
    s: Session, cfg: DigestConfig, *, now: datetime, since: datetime | None = None, theme: str | None = None
) -> Draft:
    """What arrived since this digest's last issue (at most `lookback_days` old), or with `since` everything
    dated since then (repeats included: a view for reading). `s` is inside the caller's transaction."""
    theme_name = theme or cfg.theme
    theme_dir = Path(cfg.theme_dir).expanduser() if cfg.theme_dir else None
    lookback = timedelta(days=cfg.lookback_days)
    last = store.last_issue(s, cfg.name)
    window_start = last.window_end if last else None
    floor = since if since is not None else (window_start or now) - lookback
    source_ids = store.source_ids_for(s, list(cfg.sources))
    window = store.Window(name=cfg.name, floor=floor, source_ids=source_ids, include_shown=since is not None)
    filters = filters_of(cfg)
    items = store.candidate_items(s, window, text=filters.reads_item_text)
    papers = store.paper_stats(s, window)
    if since is not None:  # an explicit window shows what it holds, repeats included
        papers = [p._replace(sent_mentions=None) for p in papers]
    item_ids = {i.id for i in items}
    sections = sections_of(cfg)

    def texts(chosen: Sequence[store.CandidateItem]) -> dict[int, store.CandidateItem]:
        return store.item_text(s, chosen)

    selection = select_issue(
        items,
        papers,
        lambda chosen: store.paper_details(s, chosen, item_ids),
        sections=sections,
        filters=filters,
        weights=cfg.source_weights,
        now=now,
        lookback_days=cfg.lookback_days,
        max_papers=cfg.max_papers,
        max_posts=cfg.max_posts,
        item_text=None if filters.reads_item_text else texts,
    )
    # What the shown papers' posts say about them: read for those cards only, after selection.
    said = store.mention_texts(s, {c.paper.id: {i.id for i in c.items if not is_listed(i)} for c in selection.papers})
    view = build_view(
        name=cfg.name,
        title=cfg.title or "Research digest",
        selection=selection,
        order=section_order(sections),
        generated_at=now,
        window_start=window_start or floor,
        subject_template=cfg.subject,
        footer=footer_lines(cfg),
        said=said,
        first_issue=last is None and since is None,
    )
    rendered = render(view, theme=theme_name, theme_dir=theme_dir)
    return Draft(
        view=view,
        rendered=rendered,
        selection=selection,
        window_start=window_start or floor,
        theme=theme_name,
        newest=store.newest_item(s, source_ids) if selection.empty else None,
    )


def section_of_item(selection: Selection, item_id: int) -> str | None:
    """The section an item was shown in (as a post, or as one of a paper card's posts)."""
    for post in selection.posts:
        if post.item.id == item_id:
            return post.section
    for paper in selection.papers:
        if any(i.id == item_id for i in paper.items):
            return paper.section
    return None
