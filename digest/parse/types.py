"""What the parse stage hands on: a feed's items as the document stated them, not yet cleaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PaperInfo:
    """A paper as a listing page or an API states it: better evidence than any anchor text."""

    url: str  # the paper's own page (arXiv abstract page, OpenReview forum, ...)
    title: str | None
    authors: tuple[str, ...] = ()
    abstract: str | None = None
    categories: tuple[str, ...] = ()
    upvotes: int | None = None  # Hugging Face daily papers
    code_url: str | None = None
    project_url: str | None = None
    announce: str | None = None  # arXiv: "new" or "cross"
    title_is_metadata: bool = True  # False for a reading list's link text: evidence like any anchor
    venue: str | None = None  # a reading list's "…, NeurIPS 2021" tail, kept apart from the title
    year: int | None = None
    thumbnail: str | None = None  # the listing's picture of the paper (Hugging Face's thumbnail)


@dataclass(frozen=True)
class RawItem:
    guid: str | None
    url: str | None
    title: str | None  # HTML-unescaped text, whitespace not yet normalised
    author: str | None
    published: datetime | None  # aware UTC
    summary_html: str | None
    content_html: str | None
    base_url: str  # what relative links in this item resolve against
    image_url: str | None = None  # an enclosure or media thumbnail, if the feed names one
    paper: PaperInfo | None = None  # set when the item *is* a paper (listing sources)


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    items: list[RawItem]
    warnings: list[str] = field(default_factory=list)
    built: str | None = None  # the feed's own build/updated stamp, to notice a feed that stopped moving


# The warning of a document that reads well and lists nothing: quiet in itself, but a feed that empties for good
# (a moved blog, a broken generator) would otherwise never be noticed.
NO_ITEMS = "the feed has no items"


class ParseError(Exception):
    """The document is not a feed we can read; the message is one line for the user."""
