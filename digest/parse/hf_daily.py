"""Hugging Face daily papers: the JSON API (/api/daily_papers) and the HTML page (/papers, /papers/date/...)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from digest.parse.jsonvalues import iso_datetime, json_error
from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from collections.abc import Sequence

    from digest.domain.paper_ids import PaperRule


def _str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _paper_item(entry: dict[str, Any]) -> RawItem | None:
    paper: dict[str, Any] = entry["paper"] if isinstance(entry.get("paper"), dict) else entry
    arxiv = _str(paper.get("id"))
    if arxiv is None:
        return None
    title = _str(paper.get("title")) or _str(entry.get("title"))
    abstract = _str(paper.get("summary")) or _str(entry.get("summary"))
    authors = tuple(
        a["name"].strip()
        for a in paper.get("authors") or []
        if isinstance(a, dict) and _str(a.get("name")) and not a.get("hidden")
    )
    upvotes = paper.get("upvotes")
    abs_url = f"https://arxiv.org/abs/{arxiv}"
    info = PaperInfo(
        url=abs_url,
        title=title,
        authors=authors,
        abstract=abstract,
        upvotes=upvotes if isinstance(upvotes, int) and not isinstance(upvotes, bool) else None,
        code_url=_str(paper.get("githubRepo")),
        project_url=_str(paper.get("projectPage")),
        thumbnail=_str(entry.get("thumbnail")),
    )
    return RawItem(
        guid=f"arxiv:{arxiv}",
        url=f"https://huggingface.co/papers/{arxiv}",
        title=title,
        author=", ".join(authors) or None,
        published=iso_datetime(paper.get("submittedOnDailyAt"))
        or iso_datetime(entry.get("publishedAt"))
        or iso_datetime(paper.get("publishedAt")),
        summary_html=None,
        content_html=f"<p>{html.escape(abstract)}</p>" if abstract else None,
        base_url="https://huggingface.co/papers",
        image_url=_str(entry.get("thumbnail")),
        paper=info,
    )


def parse_hf_api(body: bytes, *, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"not readable Hugging Face daily papers JSON: {json_error(exc)}") from None
    if isinstance(doc, dict) and "error" in doc:
        raise ParseError(f"Hugging Face API error: {str(doc['error'])[:200]}")
    if not isinstance(doc, list):
        raise ParseError("not Hugging Face daily papers JSON: expected a list of papers")
    items = [item for entry in doc if isinstance(entry, dict) and (item := _paper_item(entry)) is not None]
    if doc and not items:
        raise ParseError("not Hugging Face daily papers JSON: no entry has a paper id")
    return ParsedFeed(title="Hugging Face daily papers", site_url="https://huggingface.co/papers", items=items)


def parse_hf_page(body: bytes, *, url: str) -> ParsedFeed:
    """The HTML page: every card links /papers/<arXiv id>; its heading is the title."""
    from selectolax.lexbor import LexborHTMLParser

    from digest.domain.paper_ids import arxiv_id

    tree = LexborHTMLParser(body.decode("utf-8", "replace"))
    items: dict[str, RawItem] = {}
    for a in tree.css("a[href]"):
        href = urljoin(url, a.attributes.get("href") or "")
        if "/papers/" not in href:
            continue
        canonical = arxiv_id(href.rstrip("/").rsplit("/papers/", 1)[-1].split("#")[0].split("?")[0])
        if canonical is None:
            continue
        title = " ".join(a.text(separator=" ").split())
        known = items.get(canonical)
        # A card links the paper several times (thumbnail, title, comments): keep the longest text.
        if known is not None and len(known.title or "") >= len(title):
            continue
        arxiv = canonical.removeprefix("arxiv:")
        items[canonical] = RawItem(
            guid=canonical,
            url=f"https://huggingface.co/papers/{arxiv}",
            title=title or None,
            author=None,
            published=None,
            summary_html=None,
            content_html=None,
            base_url=url,
            paper=PaperInfo(url=f"https://arxiv.org/abs/{arxiv}", title=title or None),
        )
    if not items:
        raise ParseError("no paper links (/papers/<arXiv id>) found on the Hugging Face page")
    return ParsedFeed(title="Hugging Face papers", site_url=url, items=list(items.values()))


def read(body: bytes, *, fmt: str, url: str, content_type: str | None, rules: Sequence[PaperRule]) -> ParsedFeed:
    """The adapter's reader (domain/adapters.py): the JSON API's answer, or the page."""
    looks_json = fmt in ("hf-daily", "json", "json-feed")
    return parse_hf_api(body, url=url) if looks_json else parse_hf_page(body, url=url)
