"""Parse stage: bytes of a fetched document -> raw items, chosen by the source's kind and adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from digest.clean.paper_ids import PaperRule

__all__ = ["ADAPTERS", "PaperInfo", "ParseError", "ParsedFeed", "RawItem", "detect_adapter", "parse_document"]

ADAPTERS = ("hf-daily", "arxiv-listing", "arxiv-rss", "reading-list")


def detect_adapter(url: str) -> str | None:
    """The listing adapter a URL's host and path call for, or None for an ordinary feed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path
    if host == "huggingface.co" and (path.startswith("/api/daily_papers") or path.rstrip("/") == "/papers"
                                     or path.startswith("/papers/date/")):
        return "hf-daily"
    if host in ("arxiv.org", "export.arxiv.org") and path.startswith("/list/"):
        return "arxiv-listing"
    if (host == "rss.arxiv.org" and path.startswith(("/rss/", "/atom/"))) or (
            host in ("arxiv.org", "export.arxiv.org") and path.startswith(("/rss/", "/atom/"))):
        return "arxiv-rss"
    return None


def parse_document(body: bytes, *, url: str, content_type: str | None, kind: str = "feed",
                   adapter: str | None = None, rules: Sequence[PaperRule] = ()) -> ParsedFeed:
    chosen = adapter or (detect_adapter(url) if kind == "listing" else None)
    if kind == "listing" and chosen is None:
        chosen = "reading-list"
    if chosen == "hf-daily":
        from digest.parse import hf_daily

        looks_json = "json" in (content_type or "") or body.lstrip()[:1] in (b"[", b"{")
        return hf_daily.parse_hf_api(body, url=url) if looks_json else hf_daily.parse_hf_page(body, url=url)
    if chosen == "arxiv-listing":
        from digest.parse.arxiv_listing import parse_arxiv_listing

        return parse_arxiv_listing(body, url=url)
    if chosen == "arxiv-rss":
        from digest.parse.arxiv_rss import parse_arxiv_feed

        return parse_arxiv_feed(body, url=url, content_type=content_type)
    if chosen == "reading-list":
        from digest.parse.reading_list import parse_reading_list

        return parse_reading_list(body, url=url, content_type=content_type, rules=rules)
    if chosen is not None:
        raise ParseError(f"unknown adapter {chosen!r} (known: {', '.join(ADAPTERS)})")
    from digest.parse.feed import parse_feed

    return parse_feed(body, url=url, content_type=content_type)
