"""arXiv listing pages (/list/<category>/new): <dt>/<dd> entries by section; replacements are not new."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from digest.parse.types import PaperInfo, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from collections.abc import Sequence

    from selectolax.lexbor import LexborNode

    from digest.domain.paper_ids import PaperRule

_SECTION = re.compile(r"^\s*(New|Cross|Replacement)[a-z -]*\(showing (?:first )?(\d+) of (\d+) entries\)", re.I)
_WS = re.compile(r"\s+")


def _text(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return _WS.sub(" ", node.text(separator=" ")).strip()


def _field(dd: LexborNode, cls: str) -> str:
    node = dd.css_first(f"div.{cls}")
    if node is None:
        return ""
    descriptor = node.css_first("span.descriptor")
    text = _text(node)
    if descriptor is not None:
        text = text.removeprefix(_text(descriptor)).strip()
    return text


def _entry(dt: LexborNode, dd: LexborNode, page_url: str, kind: str) -> RawItem:
    from digest.domain.paper_ids import arxiv_id

    link = dt.css_first('a[title="Abstract"]') or dt.css_first('a[href*="/abs/"]')
    href = (link.attributes.get("href") or "") if link is not None else ""
    canonical = arxiv_id(href.rstrip("/").rsplit("/abs/", 1)[-1]) if "/abs/" in href else None
    if canonical is None:  # ids come from <dt> only, never from an abstract that cites another paper
        raise ParseError(f"an entry's <dt> has no valid arXiv id (link {href!r})")
    arxiv = canonical.removeprefix("arxiv:")
    title = _field(dd, "list-title")
    authors = tuple(_text(a) for a in dd.css("div.list-authors a") if _text(a))
    subjects = _field(dd, "list-subjects")
    categories = tuple(re.findall(r"\(([a-z-]+(?:\.[A-Za-z-]+)?)\)", subjects))
    abstract_node = dd.css_first("p.mathjax") or dd.css_first("p")
    abstract = _text(abstract_node) or None
    info = PaperInfo(
        url=f"https://arxiv.org/abs/{arxiv}",
        title=title or None,
        authors=authors,
        abstract=abstract,
        categories=categories,
        announce=kind,
    )
    return RawItem(
        guid=canonical,
        url=urljoin(page_url, f"/abs/{arxiv}"),
        title=title or None,
        author=", ".join(authors) or None,
        published=None,
        summary_html=None,
        content_html=f"<p>{html.escape(abstract)}</p>" if abstract else None,
        base_url=page_url,
        paper=info,
    )


def parse_arxiv_listing(body: bytes, *, url: str) -> ParsedFeed:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(body.decode("utf-8", "replace"))
    root = tree.body or tree.root
    if root is None:
        raise ParseError("empty arXiv listing page")
    section: str | None = None
    stated: dict[str, tuple[int, int]] = {}
    parsed: dict[str, int] = {}
    items: list[RawItem] = []
    pending_dt: LexborNode | None = None
    for node in root.traverse():
        if node.tag == "h3":
            m = _SECTION.match(_text(node))
            if m:
                section = m[1].lower()
                stated[section] = (int(m[2]), int(m[3]))
                parsed.setdefault(section, 0)
        elif node.tag == "dt":
            pending_dt = node
        elif node.tag == "dd" and pending_dt is not None:
            if section is None:
                raise ParseError("arXiv listing entry before any 'New/Cross/Replacement submissions' heading")
            parsed[section] += 1
            if section != "replacement":  # a replaced paper is not a new paper
                items.append(_entry(pending_dt, node, url, "new" if section == "new" else "cross"))
            pending_dt = None
    if not stated:
        raise ParseError("not an arXiv listing page: no 'New submissions (showing X of Y entries)' heading")
    for name, (showing, total) in stated.items():
        if parsed.get(name, 0) != showing:
            raise ParseError(
                f"arXiv listing is incomplete: {name} submissions say 'showing {showing}' but "
                f"{parsed.get(name, 0)} entries were found; nothing stored"
            )
        if showing < total:
            raise ParseError(
                f"arXiv listing shows {showing} of {total} {name} submissions; add ?skip=0&show=2000 "
                "to the source URL to get the whole day"
            )
    heading = root.css_first("h3")
    return ParsedFeed(title=_text(heading) or "arXiv listing", site_url=url, items=items)


def read(body: bytes, *, fmt: str, url: str, content_type: str | None, rules: Sequence[PaperRule]) -> ParsedFeed:
    """The adapter's reader (domain/adapters.py)."""
    return parse_arxiv_listing(body, url=url)
