"""Issues of digests in the store: what a new issue may contain, and the issue's life (pending -> sent)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import CursorResult, Select, func, select, update
from sqlalchemy.orm import Session

from digest.store import bulk
from digest.store.models import DigestEntry, DigestIssue, DigestPaper, Item, Mention, Paper, Source


class CandidateItem(NamedTuple):
    """An item a new issue may show. Candidates are NamedTuples: immutable like a frozen dataclass, and a
    compose builds tens of thousands of them, which a frozen dataclass's field-by-field __init__ made 2-3x
    slower."""

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
    undated: bool = False  # the feed gave no date: `when` is the day it was first seen, not a publication date


class PaperStats(NamedTuple):
    """What ranking needs of a paper, for every paper the candidates mention: numbers, no text."""

    id: int
    title: str | None  # for the tie-break (a paper nobody named is shown by its id)
    upvotes: int | None
    item_ids: tuple[int, ...]  # candidate items that mention it
    mentions: int  # items mentioning it, all time
    sources: int  # distinct sources mentioning it, all time
    sent_mentions: int | None  # what the last issue of this digest showing it counted, None if never shown


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
    headings: tuple[str, ...]  # the headings it was mentioned under in candidate items, for section rules
    mentions: int  # items mentioning it, all time
    sources: int  # distinct sources mentioning it, all time
    sent_mentions: int | None  # what the last issue of this digest showing it counted, None if never shown
    thumbnail_url: str | None = None  # a listing's thumbnail, else a landing page's og:image


def last_issue(s: Session, name: str) -> DigestIssue | None:
    return s.scalars(
        select(DigestIssue)
        .where(DigestIssue.name == name)
        .order_by(DigestIssue.created_at.desc(), DigestIssue.id.desc())
    ).first()


def source_ids_for(s: Session, wanted: Sequence[str]) -> list[int] | None:
    """Digest `sources` are source names, URLs or tags; empty means every source."""
    if not wanted:
        return None
    chosen = set(wanted)
    return [
        src.id
        for src in s.scalars(select(Source))
        if src.name in chosen or src.url in chosen or chosen & set(src.tags or ())
    ]


@dataclass(frozen=True)
class Window:
    """Which items a new issue of digest `name` may draw on."""

    name: str
    floor: datetime | None  # items dated on or after this
    source_ids: Sequence[int] | None  # None: every source
    include_shown: bool = False  # an explicit window shows what it holds, repeats included

    def query(self, *columns: object) -> Select[tuple[object, ...]]:
        when = func.coalesce(Item.published_at, Item.first_seen_at)
        query = select(*columns)  # type: ignore[call-overload]
        if self.floor is not None:
            query = query.where(when >= self.floor)
        if self.source_ids is not None:
            query = query.where(Item.source_id.in_(self.source_ids))
        if not self.include_shown:
            shown = (
                select(DigestEntry.item_id)
                .join(DigestIssue, DigestIssue.id == DigestEntry.digest_id)
                .where(DigestIssue.name == self.name, DigestEntry.item_id == Item.id)
            )
            query = query.where(~shown.exists())
        return query  # type: ignore[no-any-return]


# Candidates are read through Core on the session's connection, as plain rows: a week of a few hundred
# feeds is ten thousand items mentioning tens of thousands of papers, and ORM loading cost more than SQLite.


def read_once(s: Session) -> AbstractContextManager[None]:
    """A compose reads what it needs of the store once: keep those pages out of the store's own cache."""
    return bulk.read_once(s)


def hold_digest(s: Session, name: str) -> None:
    """Take digest `name`'s turn until the transaction ends: two processes (on two hosts, sharing one store) that
    compose it at once take turns, and the second sees the first's issue, so no window is composed twice."""
    bulk.lock(s, f"digest issue {name}")


_ITEM_TEXT = (Item.url, Item.title, Item.author, Item.summary, Item.excerpt, Item.image_url)


def candidate_items(s: Session, window: Window, *, text: bool = True) -> list[CandidateItem]:
    """The window's items (without their HTML), newest first; without `text`, only what ranking and choosing
    need (ids, source, date), the rest None until item_text fills it in for the items an issue shows.

    A window of 40,000 items held ~55 MB of titles, summaries and excerpts, to show thirty posts."""
    conn = s.connection()
    # What each item repeats of its source, worked out once per source.
    sources = {
        src.id: (src.title or src.name, src.name, src.kind, src.adapter, tuple(src.tags or ()), src.site_url or src.url)
        for src in conn.execute(
            select(
                Source.id,
                Source.name,
                Source.title,
                Source.kind,
                Source.adapter,
                Source.tags,
                Source.site_url,
                Source.url,
            )
        )
    }
    # One column for the date: first_seen_at lies past the item's HTML, and SQLite reads that far into a
    # row (its overflow pages) only for the few items without a published date.
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    texts = _ITEM_TEXT if text else ()
    query = window.query(Item.id, Item.source_id, when, Item.published_at.is_(None), *texts).select_from(Item)
    result = conn.execute(query.order_by(when.desc(), Item.id.desc()))
    try:
        # The driver's rows: SQLAlchemy's per-row processing (its SQLite dates are parsed with a regular
        # expression) cost more than the query itself for a window of 10,000 items.
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if not text:
        return [
            CandidateItem(
                item_id,
                source_id,
                *sources[source_id],
                None,
                None,
                None,
                _stored_utc(dated),
                None,
                None,
                None,
                bool(undated),
            )
            for item_id, source_id, dated, undated in rows
        ]
    return [
        CandidateItem(
            item_id,
            source_id,
            *sources[source_id],
            url,
            title,
            author,
            _stored_utc(dated),
            summary,
            excerpt,
            image,
            bool(undated),
        )
        for item_id, source_id, dated, undated, url, title, author, summary, excerpt, image in rows
    ]


def item_text(s: Session, items: Sequence[CandidateItem]) -> dict[int, CandidateItem]:
    """`items` (loaded without text) with their text, by id."""
    conn = s.connection()
    by_id = {i.id: i for i in items}
    out: dict[int, CandidateItem] = {}
    for chunk in bulk.chunks(list(by_id)):
        for item_id, url, title, author, summary, excerpt, image in conn.execute(
            select(Item.id, *_ITEM_TEXT).where(Item.id.in_(chunk))
        ):
            out[item_id] = by_id[item_id]._replace(
                url=url, title=title, author=author, summary=summary, excerpt=excerpt, image_url=image
            )
    return out


def _stored_utc(value: str | datetime) -> datetime:
    """A stored UTC time as the driver returns it (text on SQLite, a naive datetime elsewhere), made aware."""
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=UTC)


def newest_item(s: Session, source_ids: Sequence[int] | None) -> datetime | None:
    """The date of the newest item of these sources (all when None), undated ones by when they were first seen:
    what an empty issue's "nothing new" is measured against."""
    when = func.coalesce(Item.published_at, Item.first_seen_at)
    query = select(func.max(when))
    if source_ids is not None:
        query = query.where(Item.source_id.in_(list(source_ids)))
    value = s.execute(query).scalar()
    return _stored_utc(value) if value is not None else None


def paper_stats(s: Session, window: Window) -> list[PaperStats]:
    """Every paper the window's items mention, with all-time counts and what this digest showed of it."""
    conn = s.connection()
    in_window = window.query(Item.id).select_from(Item).scalar_subquery()
    links: dict[int, list[int]] = {}
    for paper_id, item_id in conn.execute(
        select(Mention.paper_id, Mention.item_id).where(Mention.item_id.in_(in_window))
    ):
        links.setdefault(paper_id, []).append(item_id)
    if not links:
        return []
    mentioned = select(Mention.paper_id).where(Mention.item_id.in_(in_window)).scalar_subquery()
    sent = dict(
        conn.execute(
            select(DigestPaper.paper_id, func.max(DigestPaper.mentions))
            .join(DigestIssue, DigestIssue.id == DigestPaper.digest_id)
            .where(DigestIssue.name == window.name)
            .group_by(DigestPaper.paper_id)
        ).all()
    )
    return [
        PaperStats(
            id=pid,
            title=title,
            upvotes=upvotes,
            item_ids=tuple(links.pop(pid)),  # each list freed as read
            mentions=n_items,
            sources=n_sources,
            sent_mentions=sent.get(pid),
        )
        for pid, title, upvotes, n_items, n_sources in conn.execute(
            select(Paper.id, Paper.title, Paper.upvotes, func.count(), func.count(func.distinct(Item.source_id)))
            .join(Mention, Mention.paper_id == Paper.id)
            .join(Item, Item.id == Mention.item_id)
            .where(Paper.id.in_(mentioned))
            .group_by(Paper.id)
        )
    ]


def paper_details(s: Session, stats: Sequence[PaperStats], item_ids: Collection[int]) -> dict[int, CandidatePaper]:
    """The text of the given papers (titles, authors, abstracts, links, headings in `item_ids`)."""
    conn = s.connection()
    by_id: Mapping[int, PaperStats] = {p.id: p for p in stats}
    out: dict[int, CandidatePaper] = {}
    for chunk in bulk.chunks(list(by_id)):
        headings: dict[int, list[str]] = {}
        for pid, item_id, heading in conn.execute(
            select(Mention.paper_id, Mention.item_id, Mention.heading).where(
                Mention.paper_id.in_(chunk), Mention.heading.is_not(None)
            )
        ):
            if item_id in item_ids and heading:
                headings.setdefault(pid, []).append(heading)
        for row in conn.execute(
            select(
                Paper.id,
                Paper.canonical_id,
                Paper.title,
                Paper.authors,
                Paper.abstract,
                Paper.landing_url,
                Paper.pdf_url,
                Paper.upvotes,
                Paper.code_url,
                Paper.thumbnail_url,
            ).where(Paper.id.in_(chunk))
        ):
            st = by_id[row.id]
            out[row.id] = CandidatePaper(
                id=row.id,
                canonical_id=row.canonical_id,
                title=row.title,
                authors=tuple(row.authors or ()),
                abstract=row.abstract,
                landing_url=row.landing_url,
                pdf_url=row.pdf_url,
                upvotes=row.upvotes,
                code_url=row.code_url,
                item_ids=st.item_ids,
                headings=tuple(dict.fromkeys(headings.get(row.id, ()))),
                mentions=st.mentions,
                sources=st.sources,
                sent_mentions=st.sent_mentions,
                thumbnail_url=row.thumbnail_url,
            )
    return out


class MentionText(NamedTuple):
    """What one post wrote around its link to one paper (clean/mentions.py), for the quote on its card."""

    anchor: str | None
    context: str | None


def mention_texts(s: Session, shown: Mapping[int, Collection[int]]) -> dict[tuple[int, int], MentionText]:
    """The anchor and context of each (paper, item) mention in `shown` (paper id -> the items its card lists),
    by (paper id, item id). Read after selection for the few papers an issue shows, never for every
    candidate: one query by paper id (the mentions' paper index), the items filtered here."""
    conn = s.connection()
    out: dict[tuple[int, int], MentionText] = {}
    for chunk in bulk.chunks([pid for pid, items in shown.items() if items]):
        for pid, item_id, anchor, context in conn.execute(
            select(Mention.paper_id, Mention.item_id, Mention.anchor_text, Mention.context).where(
                Mention.paper_id.in_(chunk), Mention.context.is_not(None)
            )
        ):
            if item_id in shown[pid]:
                out[(pid, item_id)] = MentionText(anchor, context)
    return out


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
    post_count: int | None = None  # the posts the issue shows (its item entries hold its listings' entries too)


def record_issue(s: Session, rec: IssueRecord) -> DigestIssue:
    issue = DigestIssue(
        name=rec.name,
        created_at=rec.created_at,
        window_start=rec.window_start,
        window_end=rec.created_at,
        status=rec.status,
        theme=rec.theme,
        subject=rec.subject,
        out_dir=rec.out_dir,
        html=rec.html,
        text=rec.text,
        message=rec.message,
        message_id=rec.message_id,
        recipients=list(rec.recipients),
        attempts=0,
        paper_count=len(rec.paper_entries),
        post_count=len(rec.item_entries) if rec.post_count is None else rec.post_count,
        sent_at=rec.created_at if rec.status == "sent" else None,
    )
    s.add(issue)
    s.flush()
    s.add_all(
        DigestEntry(digest_id=issue.id, item_id=item_id, position=pos, section=section)
        for pos, (item_id, section) in enumerate(dict(rec.item_entries).items())
    )
    s.add_all(
        DigestPaper(digest_id=issue.id, paper_id=pid, position=pos, section=section, mentions=n, is_update=is_update)
        for pos, (pid, section, n, is_update) in enumerate(rec.paper_entries)
    )
    return issue


# --- delivery state ----------------------------------------------------------------------------------------


def issues_in_state(s: Session, name: str, *states: str) -> list[DigestIssue]:
    return list(
        s.scalars(
            select(DigestIssue)
            .where(DigestIssue.name == name, DigestIssue.status.in_(states))
            .order_by(DigestIssue.created_at, DigestIssue.id)
        )
    )


def set_state(
    s: Session,
    issue_id: int,
    status: str,
    *,
    now: datetime,
    error: str | None = None,
    attempt: bool = False,
    expect: str | None = None,
) -> bool:
    """Move an issue to `status`; with `expect`, only from that status (a claim). True if it moved."""
    values: dict[str, object] = {"status": status, "last_error": error}
    if status == "sent":
        values["sent_at"] = now
    if attempt:
        values["attempts"] = DigestIssue.attempts + 1
    query = update(DigestIssue).where(DigestIssue.id == issue_id)
    if expect is not None:
        query = query.where(DigestIssue.status == expect)
    result: CursorResult[Any] = s.execute(query.values(**values))  # type: ignore[assignment]
    return bool(result.rowcount)


def count_refusal(s: Session, issue_id: int) -> int:
    """Count one more permanent (5xx) refusal of an issue's message; returns how many it has had."""
    s.execute(update(DigestIssue).where(DigestIssue.id == issue_id).values(refusals=DigestIssue.refusals + 1))
    return int(s.scalar(select(DigestIssue.refusals).where(DigestIssue.id == issue_id)) or 0)


# Issues that still need something done: mailed, confirmed, or looked at (a refused one).
UNDELIVERED = ("pending", "sending", "unconfirmed", "failed")


class IssueSummary(NamedTuple):
    """What `digest status` shows of a digest: its last issue with news (an `empty` one only marks a schedule
    slot served) and how many issues, that one included, are not delivered."""

    name: str
    created_at: datetime
    subject: str | None
    status: str
    attempts: int
    last_error: str | None
    undelivered: int
    mailed: bool = True  # it had recipients; an issue without is delivered to files only


def issue_summaries(s: Session) -> list[IssueSummary]:
    """One row per digest that has issues, by name; read without the issues' HTML and messages."""
    rank = (
        func.row_number()
        .over(partition_by=DigestIssue.name, order_by=(DigestIssue.created_at.desc(), DigestIssue.id.desc()))
        .label("rank")
    )
    latest = (
        select(
            DigestIssue.name,
            DigestIssue.created_at,
            DigestIssue.subject,
            DigestIssue.status,
            DigestIssue.attempts,
            DigestIssue.last_error,
            DigestIssue.recipients,
            rank,
        )
        .where(DigestIssue.status != "empty")
        .subquery()
    )
    waiting = {
        name: n
        for name, n in s.execute(
            select(DigestIssue.name, func.count()).where(DigestIssue.status.in_(UNDELIVERED)).group_by(DigestIssue.name)
        )
    }
    rows = s.execute(
        select(
            latest.c.name,
            latest.c.created_at,
            latest.c.subject,
            latest.c.status,
            latest.c.attempts,
            latest.c.last_error,
            latest.c.recipients,
        )
        .where(latest.c.rank == 1)
        .order_by(latest.c.name)
    )
    return [
        IssueSummary(
            name, _stored_utc(created), subject, status, attempts or 0, error, waiting.get(name, 0), bool(recipients)
        )
        for name, created, subject, status, attempts, error, recipients in rows
    ]


def sent_issues(s: Session, name: str | None = None) -> list[DigestIssue]:
    query = select(DigestIssue).where(DigestIssue.status == "sent")
    if name:
        query = query.where(DigestIssue.name == name)
    return list(s.scalars(query.order_by(DigestIssue.created_at.desc(), DigestIssue.id.desc())))
