"""Parse stage: bytes of a fetched document -> raw items, chosen by the document's content and the source's adapter."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from digest.domain.adapters import ADAPTERS, detect_adapter
from digest.parse.sniff import CERTAIN, Format, sniff
from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from digest.domain.paper_ids import PaperRule

__all__ = ["PaperInfo", "ParseError", "ParsedFeed", "RawItem", "choose_reader", "parse_document", "sniff"]

FEED = "feed"  # the reader of RSS, Atom, RDF and JSON Feed: what a source without an adapter gets

# The reader a document calls for by its content alone.
_READER_OF: dict[str, str] = {
    "rss": FEED,
    "atom": FEED,
    "rdf": FEED,
    "json-feed": FEED,
    **{fmt: a.name for a in ADAPTERS.values() for fmt in a.recognised},
}
_NAMES: dict[Format, str] = {
    "arxiv": "an arXiv feed",
    "hf-daily": "Hugging Face daily papers JSON",
    "rss": "an RSS feed",
    "atom": "an Atom feed",
    "rdf": "an RSS 1.0 (RDF) feed",
    "json-feed": "a JSON Feed",
}


def choose_reader(fmt: Format, *, url: str, kind: str, adapter: str | None) -> tuple[str, str | None]:
    """(reader, warning): the adapter (or FEED) that reads a document of format `fmt`. Pure.

    A stored adapter is honoured unless the content contradicts it (JSON at a source set to read arXiv's RSS):
    then the content decides, and the warning says so. Without one, a document that is certainly an arXiv feed
    or Hugging Face's daily papers is read as such wherever it is served; otherwise a listing's URL decides (as
    `sources add` does), and a listing no URL names is a reading list.
    """
    by_content = _READER_OF.get(fmt) if fmt in CERTAIN else None
    if adapter is not None:
        known = ADAPTERS.get(adapter)
        if by_content is None or known is None or by_content == adapter or fmt in known.reads:
            return adapter, None
        return by_content, f"the source is set to read {adapter}, but the document is {_NAMES[fmt]}; read as such"
    if by_content is not None:
        return by_content, None
    if kind == "listing":
        return detect_adapter(url) or "reading-list", None
    return FEED, None


def parse_document(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    kind: str = "feed",
    adapter: str | None = None,
    rules: Sequence[PaperRule] = (),
) -> ParsedFeed:
    fmt = sniff(body, content_type)
    reader, warning = choose_reader(fmt, url=url, kind=kind, adapter=adapter)
    feed = _read(reader, fmt, body, url=url, content_type=content_type, rules=rules)
    return replace(feed, warnings=[warning, *feed.warnings]) if warning else feed


def _read(
    reader: str, fmt: Format, body: bytes, *, url: str, content_type: str | None, rules: Sequence[PaperRule]
) -> ParsedFeed:
    if reader == FEED:
        from digest.parse.feed import parse_feed

        return parse_feed(body, url=url, content_type=content_type, fmt=fmt)
    adapter = ADAPTERS.get(reader)
    if adapter is None:
        raise ParseError(f"unknown adapter {reader!r} (known: {', '.join(ADAPTERS)})")
    module, _, function = adapter.reader.partition(":")
    read: Callable[..., ParsedFeed] = getattr(importlib.import_module(module), function)
    return read(body, fmt=fmt, url=url, content_type=content_type, rules=rules)
