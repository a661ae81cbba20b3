"""Turn a feed's raw items into clean items with stable guids. Pure: no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from digest.clean.html import excerpt_from, first_image_in, html_to_text, sanitize_html, truncate
from digest.clean.math import math_as_text
from digest.clean.mentions import PaperRef, find_mentions_in, listing_ref, own_link_ref
from digest.clean.urls import absolute_url, clean_link, strip_tracking
from digest.domain.paper_ids import PaperRule
from digest.parse.types import RawItem

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser

# Bump when what goes into the hash changes, so stored hashes are not compared across versions.
# 3 (issue 17): the sanitised HTML keeps MathML and summaries read math as TeX and <sup>/<sub> as scripts, so
# every item is rewritten once on its next full fetch: its stored HTML gains its math, its excerpt its formulas.
HASH_VERSION = b"\x03"


@dataclass(frozen=True)
class Item:
    guid: str
    url: str | None
    title: str | None
    author: str | None
    published: datetime | None
    summary: str | None  # plain text
    content_html: str  # sanitised
    excerpt: str
    image_url: str | None
    content_hash: str
    mentions: tuple[PaperRef, ...] = ()


def _clean_text(value: str | None, limit: int | None = None) -> str | None:
    if not value:
        return None
    text = html_to_text(value) if ("<" in value or "&" in value) else " ".join(value.split())
    if limit:
        text = truncate(text, limit)
    return text or None


def content_hash(*fields: str | None) -> str:
    """Stable across runs; empty fields are kept as empty so field positions cannot shift."""
    h = hashlib.sha256(HASH_VERSION)
    for f in fields:
        h.update(b"\x1f")
        h.update((f or "").encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _fallback_guid(raw: RawItem) -> str:
    """No guid and no link: identify the item by what the reader sees of it."""
    published = raw.published.isoformat() if raw.published else ""
    basis = (raw.title or "") + "\x1f" + published
    if not raw.title and not published:
        basis = (raw.content_html or raw.summary_html or "")[:4096]
    return "sha256:" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def clean_item(raw: RawItem, guid: str, rules: Sequence[PaperRule] = ()) -> Item:
    from selectolax.lexbor import LexborHTMLParser

    url = clean_link(raw.url, raw.base_url)
    base = url or raw.base_url
    content = sanitize_html(raw.content_html or raw.summary_html, base_url=base)
    summary = _clean_text(raw.summary_html, 600) if raw.content_html else None
    # One parse of the sanitised HTML serves the mentions, the lead image and (last: it edits the tree)
    # the excerpt.
    tree = LexborHTMLParser(content) if content else None
    if tree is not None:
        math_as_text(tree)  # a mention's context and the excerpt read a formula's TeX, not MathML's tokens
    mentions = _mentions(raw, url, tree, rules)
    image = (first_image_in(tree) if tree is not None and "<img" in content else None) or absolute_url(
        raw.image_url, base
    )
    excerpt = (excerpt_from(tree, content) if tree is not None else "") or (summary or "")
    # Already text (the parse stage unescaped it): "The <dialog> element" must not lose its tag-like word.
    title = " ".join((raw.title or "").split()) or None
    author = _clean_text(raw.author)
    published = raw.published.isoformat() if raw.published else None
    # A listing's signals (upvotes, code link) change while its text does not; they are content too,
    # or the paper would keep yesterday's upvotes.
    signals = (
        repr(
            (
                raw.paper.upvotes,
                raw.paper.code_url,
                raw.paper.project_url,
                raw.paper.title,
                raw.paper.abstract,
                raw.paper.authors,
            )
        )
        if raw.paper
        else None
    )
    digest = content_hash(title, url, author, published, summary, content, signals)
    return Item(
        guid=guid,
        url=url,
        title=title,
        author=author,
        published=raw.published,
        summary=summary,
        content_html=content,
        excerpt=excerpt,
        image_url=image,
        content_hash=digest,
        mentions=mentions,
    )


def _mentions(
    raw: RawItem, url: str | None, tree: LexborHTMLParser | None, rules: Sequence[PaperRule]
) -> tuple[PaperRef, ...]:
    """The papers the content links; the paper the item is comes first: a listing's, else the one its own link is
    (in any feed), whose link in the body, if any, is kept for its evidence (anchor text, context)."""
    root = tree.body if tree is not None else None
    linked = find_mentions_in(root, rules, raw.title) if root is not None else []
    own = listing_ref(raw.paper, raw.guid, rules) if raw.paper else None
    if own is None and (own := own_link_ref(url, rules)) is not None:
        own = next((ref for ref in linked if ref.paper_id == own.paper_id), own)
    if own is None:
        return tuple(linked)
    return (own, *(ref for ref in linked if ref.paper_id != own.paper_id))


def is_blank(raw: RawItem) -> bool:
    """Nothing a reader could see or follow (a broken feed's debris): not an item."""
    return not any(
        (
            (raw.title or "").strip(),
            (raw.url or "").strip(),
            (raw.content_html or "").strip(),
            (raw.summary_html or "").strip(),
        )
    )


def clean_items(raws: Iterable[RawItem], rules: Sequence[PaperRule] = ()) -> list[Item]:
    """Clean every item, giving each a guid unique within the feed.

    The guid is the feed's own, else the link, else a hash of title and date. Feeds do repeat guids
    for different posts; the repeats get a suffix derived from their own link and title so that none
    is lost and the suffix stays the same on the next fetch. Exact repeats are one item.
    """
    items: list[Item] = []
    seen: dict[str, str] = {}  # guid -> content hash
    for raw in raws:
        if is_blank(raw):
            continue
        # A link used as guid loses its tracking parameters, which some feeds vary between fetches.
        guid = (raw.guid or "").strip() or strip_tracking((raw.url or "").strip()) or _fallback_guid(raw)
        item = clean_item(raw, guid, rules)
        if guid in seen:
            if seen[guid] == item.content_hash:
                continue
            suffix = hashlib.sha256(f"{item.url}\x1f{item.title}\x1f{item.published}".encode()).hexdigest()[:12]
            guid = f"{guid}#dup-{suffix}"
            if guid in seen:
                continue
            item = replace(item, guid=guid)
        seen[guid] = item.content_hash
        items.append(item)
    return items
