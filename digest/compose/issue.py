"""Compose one issue of a digest: select what is new for it, build the view, render it, record it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from digest.compose.render import Rendered, render
from digest.compose.rules import DEFAULT_SECTIONS, Section
from digest.compose.select import Filters, Selection, is_listed, section_order, select_issue
from digest.compose.view import DigestView, build_view
from digest.deliver.email import build_message, new_message_id
from digest.deliver.files import staged
from digest.store import digests as store
from digest.store.repository import session

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from digest.config import DigestConfig, SmtpConfig


@dataclass(frozen=True)
class Composed:
    view: DigestView
    rendered: Rendered
    message: bytes
    message_id: str
    selection: Selection
    issue_id: int | None
    status: str | None  # pending (to be mailed) | sent (files were its delivery) | None (not recorded)

    @property
    def empty(self) -> bool:
        return not (self.selection.papers or self.selection.posts)


def sections_of(cfg: DigestConfig) -> tuple[Section, ...]:
    if cfg.sections is None:
        return DEFAULT_SECTIONS
    return tuple(Section(s.name, tuple(s.keywords)) for s in cfg.sections)


def filters_of(cfg: DigestConfig) -> Filters:
    return Filters(include_keywords=tuple(cfg.include.keywords), include_authors=tuple(cfg.include.authors),
                   include_sources=tuple(cfg.include.sources), exclude_keywords=tuple(cfg.exclude.keywords),
                   exclude_authors=tuple(cfg.exclude.authors), exclude_sources=tuple(cfg.exclude.sources))


def footer_lines(cfg: DigestConfig) -> tuple[str, ...]:
    lines = []
    if cfg.recipients and cfg.unsubscribe:
        lines.append(f"Unsubscribe: {cfg.unsubscribe}")
    return tuple(lines)


def compose_issue(engine: Engine, cfg: DigestConfig, smtp: SmtpConfig, *, now: datetime,
                  since: datetime | None = None, theme: str | None = None, record: bool = True,
                  out_dir: Path | None = None, deliver: Callable[[Composed], None] | None = None,
                  mark_empty: bool = False) -> Composed:
    """What arrived since this digest's last issue (at most `lookback_days` old), or with `since` everything
    dated since then (a view for reading, never recorded).

    `deliver` runs inside the store transaction, before the issue is recorded: if writing files fails,
    the items stay unclaimed and the next compose picks them up again. What it writes to `out_dir` (through
    deliver/files.write_issue) is held in a staging folder until the transaction has committed, so a compose
    killed before its commit leaves no issue folder the store does not know. With `mark_empty`, an issue with
    nothing in it is recorded as `empty` (never mailed or archived) so that a schedule slot with no
    news counts as served; otherwise nothing is recorded for it.
    """
    theme_name = theme or cfg.theme
    theme_dir = Path(cfg.theme_dir).expanduser() if cfg.theme_dir else None
    lookback = timedelta(days=cfg.lookback_days)
    record = record and since is None
    with staged(out_dir), session(engine) as s, s.begin(), store.read_once(s):
        if record:
            store.hold_digest(s, cfg.name)
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

        selection = select_issue(items, papers, lambda chosen: store.paper_details(s, chosen, item_ids),
                                 sections=sections, filters=filters, weights=cfg.source_weights, now=now,
                                 lookback_days=cfg.lookback_days, max_papers=cfg.max_papers,
                                 max_posts=cfg.max_posts, item_text=None if filters.reads_item_text else texts)
        # What the shown papers' posts say about them: read for those cards only, after selection.
        said = store.mention_texts(s, {c.paper.id: {i.id for i in c.items if not is_listed(i)}
                                       for c in selection.papers})
        view = build_view(name=cfg.name, title=cfg.title or "Research digest", selection=selection,
                          order=section_order(sections), generated_at=now, window_start=window_start or floor,
                          subject_template=cfg.subject, footer=footer_lines(cfg), said=said)
        rendered = render(view, theme=theme_name, theme_dir=theme_dir)
        message_id = new_message_id(smtp.sender)
        message = build_message(subject=view.subject, html=rendered.html, text=rendered.text, sender=smtp.sender,
                                to=cfg.list_address, now=now, message_id=message_id, list_name=cfg.name,
                                list_id=cfg.list_id, unsubscribe=cfg.unsubscribe)
        composed = Composed(view=view, rendered=rendered, message=message, message_id=message_id,
                            selection=selection, issue_id=None, status=None)
        if deliver is not None:
            deliver(composed)
        if not record or (composed.empty and not mark_empty):
            return composed
        status = "empty" if composed.empty else ("pending" if cfg.recipients else "sent")
        issue = store.record_issue(s, store.IssueRecord(
            name=cfg.name, theme=theme_name, created_at=now, window_start=window_start or floor,
            subject=view.subject, status=status, html=rendered.html, text=rendered.text,
            message=message.decode("utf-8"), message_id=message_id, recipients=cfg.recipients,
            out_dir=str(out_dir) if out_dir and not composed.empty else None,
            item_entries=[(item_id, _section_of_item(selection, item_id)) for item_id in selection.consumed_items],
            paper_entries=[(c.paper.id, c.section, c.paper.mentions, c.is_update) for c in selection.papers],
            post_count=len(selection.posts),  # as its masthead counts them: a listing's entry is a paper, not a post
        ))
    return replace(composed, issue_id=issue.id, status=status)


def _section_of_item(selection: Selection, item_id: int) -> str | None:
    for post in selection.posts:
        if post.item.id == item_id:
            return post.section
    for paper in selection.papers:
        if any(i.id == item_id for i in paper.items):
            return paper.section
    return None
