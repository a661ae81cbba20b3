"""SQLAlchemy table definitions. The schema itself is owned by the Alembic migrations in migrations/."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database.

    SQLite has no time zones; storing naive UTC keeps ordering and comparison right everywhere,
    and handing back aware values stops local-time bugs at the edges.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="feed")
    adapter: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    site_url: Mapped[str | None] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Staleness: a feed whose build stamp moves while its items do not (arXiv RSS on a broken day).
    feed_built: Mapped[str | None] = mapped_column(Text)
    items_fingerprint: Mapped[str | None] = mapped_column(String(64))
    stale_count: Mapped[int] = mapped_column(Integer, default=0)
    # A worker's claim on the source while it fetches it (several workers may share one store).
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("source_id", "guid", name="uq_items_source_guid"),
        Index("ix_items_first_seen", "first_seen_at"),
        Index("ix_items_published", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(2000))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str | None] = mapped_column(Text)
    content_html: Mapped[str | None] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2000))
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Paper(Base):
    """One research paper, however many URLs, posts and sources point at it."""

    __tablename__ = "papers"
    __table_args__ = (Index("ix_papers_norm_title", "norm_title"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_id: Mapped[str] = mapped_column(String(500), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    title_quality: Mapped[int] = mapped_column(Integer, default=0)
    norm_title: Mapped[str | None] = mapped_column(String(1000))
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    abstract: Mapped[str | None] = mapped_column(Text)
    venue: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    landing_url: Mapped[str | None] = mapped_column(String(2000))
    pdf_url: Mapped[str | None] = mapped_column(String(2000))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    upvotes: Mapped[int | None] = mapped_column(Integer)  # Hugging Face daily papers
    code_url: Mapped[str | None] = mapped_column(String(2000))
    project_url: Mapped[str | None] = mapped_column(String(2000))
    thumbnail_url: Mapped[str | None] = mapped_column(String(2000))  # a listing's thumbnail, a page's og:image
    meta_quality: Mapped[int] = mapped_column(Integer, default=0)  # who said the authors/abstract (see mentions)
    # Provenance: who said the title and the metadata ("arxiv", "s2", "landing", "listing", "anchor"...), so a
    # later, better source can overrule it and a reader can tell a resolver's title from a post's anchor.
    title_source: Mapped[str | None] = mapped_column(String(40))
    meta_source: Mapped[str | None] = mapped_column(String(40))
    enriched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # looked up in an API (found or not)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperAlias(Base):
    """Every id and URL seen for a paper, so ids found later resolve to (and merge into) the same row."""

    __tablename__ = "paper_aliases"
    # No index on paper_id: no query asks for a paper's aliases, and an index would cost every alias insert
    # (docs/performance.md). Papers are never deleted, so the cascade never scans.

    alias: Mapped[str] = mapped_column(String(2000), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))


class Mention(Base):
    """One item linking one paper, with the evidence: the URL as written, anchor text, heading, context."""

    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_paper", "paper_id"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2000))
    anchor_text: Mapped[str | None] = mapped_column(Text)
    heading: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)


class CandidateLink(Base):
    """A link a post calls a paper ("this paper", "[pdf]") on a host we cannot read ids from. It becomes a
    mention once its landing page shows a paper (digest enrich), and stays aside, shown nowhere, until then."""

    __tablename__ = "candidate_links"
    __table_args__ = (Index("ix_candidate_links_url", "url"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    anchor_text: Mapped[str | None] = mapped_column(Text)
    heading: Mapped[str | None] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)


class LandingPage(Base):
    """What reading a page said: paper, not_paper (asked once), or unreadable (asked again on a later run)."""

    __tablename__ = "landing_pages"

    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class PaperLookup(Base):
    """One resolver asked about one paper (found or not), so each resolver asks about a paper once."""

    __tablename__ = "paper_lookups"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    resolver: Mapped[str] = mapped_column(String(40), primary_key=True)
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    found: Mapped[bool] = mapped_column(Boolean)


class Fetch(Base):
    """One attempt at one source: the log `digest status` reads."""

    __tablename__ = "fetches"
    __table_args__ = (Index("ix_fetches_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # ok | not_modified | error | gone
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    new_items: Mapped[int] = mapped_column(Integer, default=0)
    updated_items: Mapped[int] = mapped_column(Integer, default=0)


class DigestIssue(Base):
    """One composed issue of a named digest; it records exactly what it contained."""

    __tablename__ = "digests"
    __table_args__ = (Index("ix_digests_name_created", "name", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending (composed, not yet delivered) | sending (handed to SMTP, not yet confirmed) | sent
    # | unconfirmed (the server may have it; not resent) | failed (refused for good) | empty (a slot with no news)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    theme: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    out_dir: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)  # the whole .eml, so a retry sends the same bytes
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # 5xx answers to the message itself; at outbox.MAX_REFUSALS the issue is `failed`, no longer retried
    refusals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    paper_count: Mapped[int] = mapped_column(Integer, default=0)
    post_count: Mapped[int] = mapped_column(Integer, default=0)


class DigestPaper(Base):
    """A paper as an issue showed it; `mentions` lets a later issue tell an update from a repeat."""

    __tablename__ = "digest_papers"
    __table_args__ = (Index("ix_digest_papers_paper", "paper_id"),)

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(String(200))
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    is_update: Mapped[bool] = mapped_column(Boolean, default=False)


class DigestEntry(Base):
    __tablename__ = "digest_entries"
    __table_args__ = (Index("ix_digest_entries_item", "item_id"),)

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str | None] = mapped_column(String(200))


def table(model: type[Base]) -> Table:
    """The model's Table (SQLAlchemy types `__table__` as any FromClause; the bulk path needs its columns)."""
    return model.__table__  # type: ignore[return-value]
