"""Parse stage: bytes of a fetched document -> raw items, chosen by the source's kind and adapter."""

from __future__ import annotations

from digest.parse.types import ParsedFeed, ParseError, RawItem

__all__ = ["ParseError", "ParsedFeed", "RawItem", "parse_document"]


def parse_document(body: bytes, *, url: str, content_type: str | None, kind: str = "feed",
                   adapter: str | None = None) -> ParsedFeed:
    from digest.parse.feed import parse_feed

    return parse_feed(body, url=url, content_type=content_type)
