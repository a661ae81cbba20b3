"""Issues of digests in the store: what a new issue may contain, and the issue's life (pending -> sent)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from digest.store.models import DigestEntry, DigestIssue, DigestPaper, Item, Mention, Paper, Source


@dataclass(frozen=True)
class CandidateItem:
    id: int
    source_id: int
    source: str  # display name: the feed's title, else the source's name
    source_name: str
    source_kind: str
    source_adapter: str | None
    source_tags: tuple[str, ...]
    site_url: str | None
    url: str | None
    title: str | None
    author: str | None
    when: datetime  # published, else first seen
    summary: str | None
    excerpt: str | None
    image_url: str | None


@dataclass(frozen=True)
class CandidatePaper:
    id: int
    canonical_id: str
    title: str | None
    authors: tuple[str, ...]
    abstract: str | None
    landing_url: str | None
    pdf_url: str | None
    upvotes: int | None
    code_url: str | None
    item_ids: tuple[int, ...]  # candidate items that mention it
    headings: tuple[str, ...]  # the headings it was mentioned under, for section rules
    mentions: int  # items mentioning it, all time
    sources: int  # distinct sources mentioning it, all time
    sent_mentions: int | None  # what the last issue of this digest showing it counted, None if never shown


@dataclass(frozen=True)
class _ItemRow:
    id: int
    url: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    summary: str | None
    excerpt: str | None
    image_url: str | None


def last_issue(s: Session, name: str) -> DigestIssue | None:
    return s.scalars(select(DigestIssue).where(DigestIssue.name == name)
                     .order_by(DigestIssue.created_at.desc(), DigestIssue.id.desc())).first()


def source_ids_for(s: Session, wanted: Sequence[str]) -> list[int] | None:
    """Digest `sources` are source names, URLs or tags; empty means every source."""
    if not wanted:
        return None
    chosen = set(wanted)
    return [src.id for src in s.scalars(select(Source))
            if src.name in chosen or src.url in chosen or chosen & set(src.tags or ())]


def candidate_items(s: Session, *, name: str, floor: datetime | None, source_ids: Sequence[int] | None,
                    include_shown: bool = False) -> list[CandidateItem]:
    """Items this digest has not shown yet (unless `include_shown`), dated on or after `floor`."""
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    # Columns, not whole rows: the sanitised HTML of every candidate is never needed here.
    query = select(Item.id, Item.url, Item.title, Item.author, Item.published_at, Item.first_seen_at, Item.summary,
                   Item.excerpt, Item.image_url, Source, when).join(Source, Item.source_id == Source.id)
    if floor is not None:
        query = query.where(when >= floor)
    if source_ids is not None:
        query = query.where(Item.source_id.in_(source_ids))
    if not include_shown:
        shown = (select(DigestEntry.item_id).join(DigestIssue, DigestIssue.id == DigestEntry.digest_id)
                 .where(DigestIssue.name == name, DigestEntry.item_id == Item.id))
        query = query.where(~shown.exists())
    query = query.order_by(when.desc(), Item.id.desc())
    out = []
    for *item_cols, src, _ in s.execute(query):
        item = _ItemRow(*item_cols)
        out.append(CandidateItem(
            id=item.id, source_id=src.id, source=src.title or src.name, source_name=src.name,
            source_kind=src.kind, source_adapter=src.adapter, source_tags=tuple(src.tags or ()),
            site_url=src.site_url or src.url, url=item.url, title=item.title, author=item.author,
            when=item.published_at or item.first_seen_at, summary=item.summary, excerpt=item.excerpt,
            image_url=item.image_url,
        ))
    return out


def candidate_papers(s: Session, *, name: str, item_ids: Sequence[int]) -> list[CandidatePaper]:
    """Papers the candidate items mention, with all-time counts and what this digest showed of them."""
    if not item_ids:
        return []
    links: dict[int, list[int]] = {}
    headings: dict[int, list[str]] = {}
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start:start + 500]
        for paper_id, item_id, heading in s.execute(
                select(Mention.paper_id, Mention.item_id, Mention.heading).where(Mention.item_id.in_(chunk))):
            links.setdefault(paper_id, []).append(item_id)
            if heading:
                headings.setdefault(paper_id, []).append(heading)
    if not links:
        return []
    paper_ids = list(links)
    counts: dict[int, tuple[int, int]] = {}
    sent: dict[int, int] = {}
    papers: dict[int, Any] = {}
    for start in range(0, len(paper_ids), 500):
        chunk = paper_ids[start:start + 500]
        for pid, n_items, n_sources in s.execute(
                select(Mention.paper_id, func.count(func.distinct(Mention.item_id)),
                       func.count(func.distinct(Item.source_id)))
                .join(Item, Item.id == Mention.item_id).where(Mention.paper_id.in_(chunk))
                .group_by(Mention.paper_id)):
            counts[pid] = (n_items, n_sources)
        for pid, shown in s.execute(
                select(DigestPaper.paper_id, func.max(DigestPaper.mentions))
                .join(DigestIssue, DigestIssue.id == DigestPaper.digest_id)
                .where(DigestIssue.name == name, DigestPaper.paper_id.in_(chunk)).group_by(DigestPaper.paper_id)):
            sent[pid] = shown
        # Plain rows, not ORM objects: a week of a few hundred feeds mentions tens of thousands of papers.
        papers.update({row.id: row for row in s.execute(
            select(Paper.id, Paper.canonical_id, Paper.title, Paper.authors, Paper.abstract, Paper.landing_url,
                   Paper.pdf_url, Paper.upvotes, Paper.code_url).where(Paper.id.in_(chunk)))})
    return [
        CandidatePaper(
            id=pid, canonical_id=p.canonical_id, title=p.title, authors=tuple(p.authors or ()), abstract=p.abstract,
            landing_url=p.landing_url, pdf_url=p.pdf_url, upvotes=p.upvotes, code_url=p.code_url,
            item_ids=tuple(dict.fromkeys(links[pid])), headings=tuple(dict.fromkeys(headings.get(pid, ()))),
            mentions=counts.get(pid, (0, 0))[0], sources=counts.get(pid, (0, 0))[1], sent_mentions=sent.get(pid),
        )
        for pid, p in papers.items()
    ]


@dataclass(frozen=True)
class IssueRecord:
    name: str
    theme: str
    created_at: datetime
    window_start: datetime | None
    subject: str
    status: str
    html: str
    text: str
    message: str | None
    message_id: str | None
    recipients: Sequence[str]
    out_dir: str | None
    item_entries: Sequence[tuple[int, str | None]]  # (item id, section)
    paper_entries: Sequence[tuple[int, str | None, int, bool]]  # (paper id, section, mentions, update)


def record_issue(s: Session, rec: IssueRecord) -> DigestIssue:
    issue = DigestIssue(
        name=rec.name, created_at=rec.created_at, window_start=rec.window_start, window_end=rec.created_at,
        status=rec.status, theme=rec.theme, subject=rec.subject, out_dir=rec.out_dir, html=rec.html, text=rec.text,
        message=rec.message, message_id=rec.message_id, recipients=list(rec.recipients), attempts=0,
        paper_count=len(rec.paper_entries), post_count=len(rec.item_entries),
        sent_at=rec.created_at if rec.status == "sent" else None,
    )
    s.add(issue)
    s.flush()
    s.add_all(DigestEntry(digest_id=issue.id, item_id=item_id, position=pos, section=section)
              for pos, (item_id, section) in enumerate(dict(rec.item_entries).items()))
    s.add_all(DigestPaper(digest_id=issue.id, paper_id=pid, position=pos, section=section, mentions=n,
                          is_update=is_update)
              for pos, (pid, section, n, is_update) in enumerate(rec.paper_entries))
    return issue


# --- delivery state ----------------------------------------------------------------------------------------

def issues_in_state(s: Session, name: str, *states: str) -> list[DigestIssue]:
    return list(s.scalars(select(DigestIssue).where(DigestIssue.name == name, DigestIssue.status.in_(states))
                          .order_by(DigestIssue.created_at, DigestIssue.id)))


def set_state(s: Session, issue_id: int, status: str, *, now: datetime, error: str | None = None,
              attempt: bool = False, expect: str | None = None) -> bool:
    """Move an issue to `status`; with `expect`, only from that status (a claim). True if it moved."""
    values: dict[str, object] = {"status": status, "last_error": error}
    if status == "sent":
        values["sent_at"] = now
    if attempt:
        values["attempts"] = DigestIssue.attempts + 1
    query = update(DigestIssue).where(DigestIssue.id == issue_id)
    if expect is not None:
        query = query.where(DigestIssue.status == expect)
    return bool(s.execute(query.values(**values)).rowcount)


def sent_issues(s: Session, name: str | None = None) -> list[DigestIssue]:
    query = select(DigestIssue).where(DigestIssue.status == "sent")
    if name:
        query = query.where(DigestIssue.name == name)
    return list(s.scalars(query.order_by(DigestIssue.created_at.desc(), DigestIssue.id.desc())))
