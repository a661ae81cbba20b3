"""Parse stage: bytes of a fetched document -> raw items, chosen by the document's content and the source's adapter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from digest.parse.sniff import CERTAIN, Format, sniff
from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from digest.clean.paper_ids import PaperRule

__all__ = ["ADAPTERS", "PaperInfo", "ParseError", "ParsedFeed", "RawItem", "choose_reader", "detect_adapter",
           "parse_document", "sniff"]

ADAPTERS = ("hf-daily", "arxiv-listing", "arxiv-rss", "reading-list")
FEED = "feed"  # the reader of RSS, Atom, RDF and JSON Feed: what a source without an adapter gets

# The reader a document calls for by its content alone.
_READER_OF: dict[Format, str] = {"arxiv": "arxiv-rss", "hf-daily": "hf-daily", "rss": FEED, "atom": FEED,
                                 "rdf": FEED, "json-feed": FEED}
# What each adapter can read: a document of any other certain format contradicts the adapter.
_READS: dict[str, frozenset[Format]] = {
    "arxiv-rss": frozenset({"arxiv", "rss", "atom", "rdf"}),
    "hf-daily": frozenset({"hf-daily"}),
    "arxiv-listing": frozenset(),
    "reading-list": frozenset(),
}
_NAMES: dict[Format, str] = {"arxiv": "an arXiv feed", "hf-daily": "Hugging Face daily papers JSON",
                             "rss": "an RSS feed", "atom": "an Atom feed", "rdf": "an RSS 1.0 (RDF) feed",
                             "json-feed": "a JSON Feed"}


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


def choose_reader(fmt: Format, *, url: str, kind: str, adapter: str | None) -> tuple[str, str | None]:
    """(reader, warning): the adapter (or FEED) that reads a document of format `fmt`. Pure.

    A stored adapter is honoured unless the content contradicts it (JSON at a source set to read arXiv's RSS):
    then the content decides, and the warning says so. Without one, a document that is certainly an arXiv feed
    or Hugging Face's daily papers is read as such wherever it is served; otherwise a listing's URL decides (as
    `sources add` does), and a listing no URL names is a reading list.
    """
    by_content = _READER_OF.get(fmt) if fmt in CERTAIN else None
    if adapter is not None:
        if by_content is None or adapter not in _READS or by_content == adapter or fmt in _READS[adapter]:
            return adapter, None
        return by_content, f"the source is set to read {adapter}, but the document is {_NAMES[fmt]}; read as such"
    if by_content is not None:
        return by_content, None
    if kind == "listing":
        return detect_adapter(url) or "reading-list", None
    return FEED, None


def parse_document(body: bytes, *, url: str, content_type: str | None, kind: str = "feed",
                   adapter: str | None = None, rules: Sequence[PaperRule] = ()) -> ParsedFeed:
    fmt = sniff(body, content_type)
    reader, warning = choose_reader(fmt, url=url, kind=kind, adapter=adapter)
    feed = _read(reader, fmt, body, url=url, content_type=content_type, rules=rules)
    return replace(feed, warnings=[warning, *feed.warnings]) if warning else feed


def _read(reader: str, fmt: Format, body: bytes, *, url: str, content_type: str | None,
          rules: Sequence[PaperRule]) -> ParsedFeed:
    if reader == "hf-daily":
        from digest.parse import hf_daily

        looks_json = fmt in ("hf-daily", "json", "json-feed")
        return hf_daily.parse_hf_api(body, url=url) if looks_json else hf_daily.parse_hf_page(body, url=url)
    if reader == "arxiv-listing":
        from digest.parse.arxiv_listing import parse_arxiv_listing

        return parse_arxiv_listing(body, url=url)
    if reader == "arxiv-rss":
        from digest.parse.arxiv_rss import parse_arxiv_feed

        return parse_arxiv_feed(body, url=url, content_type=content_type)
    if reader == "reading-list":
        from digest.parse.reading_list import parse_reading_list

        return parse_reading_list(body, url=url, content_type=content_type, rules=rules)
    if reader != FEED:
        raise ParseError(f"unknown adapter {reader!r} (known: {', '.join(ADAPTERS)})")
    from digest.parse.feed import parse_feed

    return parse_feed(body, url=url, content_type=content_type, fmt=fmt)
