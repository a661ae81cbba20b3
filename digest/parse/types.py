"""What the parse stage hands on: a feed's items as the document stated them, not yet cleaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    items: list[RawItem]
    warnings: list[str] = field(default_factory=list)


class ParseError(Exception):
    """The document is not a feed we can read; the message is one line for the user."""
