"""Parse JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser 6 does not read."""

from __future__ import annotations

import html
import json
from typing import Any

from digest.parse.jsonvalues import iso_datetime, json_error
from digest.parse.types import NO_ITEMS, ParsedFeed, ParseError, RawItem


def _author(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else None)
    authors = authors or feed.get("authors") or ([feed["author"]] if isinstance(feed.get("author"), dict) else [])
    names: list[str] = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return ", ".join(names) or None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not a readable JSON feed: {json_error(exc)}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ParseError("not a feed: JSON without a jsonfeed.org version")
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise ParseError("not a readable JSON feed: 'items' is not a list")
    items = []
    for it in raw_items:
        if not isinstance(it, dict):
            continue
        link = _str(it.get("url")) or _str(it.get("external_url"))
        content = _str(it.get("content_html"))
        if content is None and _str(it.get("content_text")):
            content = "<p>" + html.escape(it["content_text"]).replace("\n\n", "</p><p>") + "</p>"
        items.append(
            RawItem(
                guid=str(it["id"]) if it.get("id") not in (None, "") else None,
                url=link,
                title=_str(it.get("title")),
                author=_author(it, doc),
                published=iso_datetime(it.get("date_published")) or iso_datetime(it.get("date_modified")),
                summary_html=html.escape(it["summary"]) if _str(it.get("summary")) else None,
                content_html=content,
                base_url=link or _str(doc.get("home_page_url")) or url,
                image_url=_str(it.get("image")) or _str(it.get("banner_image")),
            )
        )
    return ParsedFeed(
        title=_str(doc.get("title")),
        site_url=_str(doc.get("home_page_url")),
        items=items,
        warnings=[] if items else [NO_ITEMS],
    )
