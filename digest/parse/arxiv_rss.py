"""arXiv's RSS and Atom feeds (rss.arxiv.org, and the API's answers): new and cross-listed papers, not replacements."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from collections.abc import Sequence

    from digest.domain.paper_ids import PaperRule

_OAI = re.compile(r"oai:arXiv\.org:(.+)$", re.IGNORECASE)
_ABSTRACT = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.IGNORECASE | re.DOTALL)
# dc:creator holds every author in one element: "A, B, C", "A and B", "A, B, and C".
_NAME_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
KEEP = frozenset({"new", "cross"})


def paper_id(entry: Any) -> str | None:
    """The entry's canonical arXiv id, from its OAI id (rss.arxiv.org), else from its id or link as a URL (the
    API's `http://arxiv.org/abs/<id>vN`); old-style ids (`hep-th/9901001`, `math.GT/0309136`) included."""
    from digest.domain.paper_ids import arxiv_id, canonical_id

    m = _OAI.match(str(entry.get("id", "")).strip())
    if m:
        return arxiv_id(m[1])
    for url in (str(entry.get("link", "")), str(entry.get("id", ""))):
        found = canonical_id(url) if "/abs/" in url else None
        if found is not None and found.startswith("arxiv:"):
            return found
    return None


def author_names(entry: Any) -> tuple[str, ...]:
    """Every author: each <author> of an Atom entry, each <dc:creator>, each name inside one ("A, B, C")."""
    from digest.parse.text import person_name

    stated = [a.get("name") for a in entry.get("authors") or [] if isinstance(a, dict)] or [entry.get("author")]
    names: list[str] = []
    for text in stated:
        for part in _NAME_SEPARATOR.split(str(text or "")):
            name = person_name(part)
            if name and name not in names:
                names.append(name)
    return tuple(names)


def parse_arxiv_feed(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """Reuses the disarmed feedparser path, then reads arXiv's own fields from the entries.

    An announcement without papers says nothing: arXiv announces none on weekends and holidays (and the ingest
    stage's staleness check notices a feed that stopped moving)."""
    from digest.parse.feed import lenient_warning, prepare_xml, run_feedparser, to_datetime

    body, encoding, warnings = prepare_xml(body, content_type)
    d = run_feedparser(body, encoding)
    if not d.get("version") and not d.entries:
        raise ParseError("not an arXiv RSS/Atom feed")
    if (warning := lenient_warning(d, body)) is not None:
        warnings.append(warning)
    items: list[RawItem] = []
    for e in d.entries:
        kind = str(e.get("arxiv_announce_type", "new")).strip().lower()
        if kind not in KEEP:  # replacements are not new papers
            continue
        canonical = paper_id(e)
        if canonical is None:
            warnings.append(f"skipped an entry without an arXiv id ({str(e.get('id', ''))[:80]!r})")
            continue
        arxiv = canonical.removeprefix("arxiv:")
        summary = _ABSTRACT.sub("", html.unescape(re.sub(r"<[^>]+>", " ", str(e.get("summary", ""))))).strip()
        abstract = " ".join(summary.split()) or None
        authors = author_names(e)
        categories = tuple(t.get("term") for t in e.get("tags") or [] if t.get("term"))
        title = " ".join(str(e.get("title", "")).split()) or None
        items.append(
            RawItem(
                guid=canonical,
                url=f"https://arxiv.org/abs/{arxiv}",
                title=title,
                author=", ".join(authors) or None,
                published=to_datetime(e.get("published_parsed") or e.get("updated_parsed")),
                summary_html=None,
                content_html=f"<p>{html.escape(abstract)}</p>" if abstract else None,
                base_url=url,
                paper=PaperInfo(
                    url=f"https://arxiv.org/abs/{arxiv}",
                    title=title,
                    authors=authors,
                    abstract=abstract,
                    categories=categories,
                    announce=kind,
                ),
            )
        )
    feed = d.feed
    built = feed.get("updated") or feed.get("published")
    return ParsedFeed(
        title=feed.get("title"), site_url=url, items=items, warnings=warnings, built=str(built) if built else None
    )


def read(body: bytes, *, fmt: str, url: str, content_type: str | None, rules: Sequence[PaperRule]) -> ParsedFeed:
    """The adapter's reader (domain/adapters.py)."""
    return parse_arxiv_feed(body, url=url, content_type=content_type)
