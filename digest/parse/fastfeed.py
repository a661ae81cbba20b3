"""A fast path for well-formed RSS 2.0 and Atom 1.0: lxml instead of feedparser, same RawItems.

feedparser makes Python callbacks per element and character run; lxml reads the tree in C, an order of magnitude faster
on a Substack feed (docs/performance.md). Anything this module is not sure about (not well-formed, RSS 1.0/RDF, odd
dates, unknown entities) raises NotFast and feedparser reads the document instead, so the fast path can only
be faster, never different: a test runs both paths over every fixture feed and compares the results.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from digest.parse.text import join_names, person_name, plain_text
from digest.parse.types import ParsedFeed, RawItem

if TYPE_CHECKING:
    from lxml.etree import _Element

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
XHTML = "{http://www.w3.org/1999/xhtml}"

# feedparser's rule for RSS text that may be HTML: a close tag or an entity, and only known tags.
_HTMLISH_TAGS = frozenset(
    """a abbr acronym address area b big blockquote br button caption center cite code col
colgroup dd del dfn dir div dl dt em fieldset font form h1 h2 h3 h4 h5 h6 hr i img input ins kbd label legend li map
menu ol optgroup option p pre q s samp select small span strike strong sub sup table tbody td textarea tfoot th
thead tr tt u ul var""".split()
)
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ENTITY = re.compile(r"&#?\w+;")
_TAG = re.compile(r"</?(\w+)")


class NotFast(Exception):
    """This document needs feedparser's leniency."""


def _looks_like_html(text: str) -> bool:
    if not (_CLOSE_TAG.search(text) or _ENTITY.search(text)):
        return False
    return all(t.lower() in _HTMLISH_TAGS for t in _TAG.findall(text))


def _rss_text(text: str | None) -> str | None:
    if text is None:
        return None
    return plain_text(text, htmlish=_looks_like_html(text))


def _child_text(el: _Element, tag: str) -> str | None:
    """An element's text, stripped like feedparser strips it."""
    child = el.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()


_YEAR = re.compile(r"\b(\d{4})\b")


def _rss_date(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    year = _YEAR.search(value)
    if year and int(year.group(1)) < 1900:  # email.utils reads "0001" as 2001; feedparser does not
        raise NotFast(f"date out of range {value!r}")
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        raise NotFast(f"date {value!r}") from None
    return _utc(when, value)


def _utc(when: datetime, value: str) -> datetime:
    """Only dates feedparser would read the same way: with a zone, and in a plausible century."""
    if when.tzinfo is None or when.year < 1900:
        raise NotFast(f"date without zone or out of range {value!r}")
    return when.astimezone(UTC)


def _iso_date(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise NotFast(f"date {value!r}") from None
    return _utc(when, value)


def _rss_authors(item: _Element) -> str | None:
    """Every <dc:creator> and <author> of an item, in document order, as feedparser collects them. lxml picks them
    out of the item's children itself: cheaper than the one find() per tag of one author before."""
    found = list(item.iterchildren(f"{DC}creator", "author"))
    if len(found) == 1:
        return person_name(found[0].text)
    return join_names(person_name(el.text) for el in found)


def _rss_image(item: _Element) -> str | None:
    for thumb in item.iter(f"{MEDIA}thumbnail"):
        if url := thumb.get("url"):
            return str(url)
    for media in item.iter(f"{MEDIA}content"):
        if (url := media.get("url")) and (media.get("medium") or media.get("type") or "").startswith("image"):
            return str(url)
    for enc in item.findall("enclosure"):
        if (enc.get("type") or "").startswith("image") and (url := enc.get("url")):
            return str(url)
    return None


def _parse_rss(root: _Element, url: str) -> ParsedFeed:
    channel = root.find("channel")
    if channel is None:
        raise NotFast("RSS without a channel")
    feed_link = _child_text(channel, "link")
    site_url = _http(feed_link, url)
    feed_base = site_url or url
    feed_author = next(
        (
            a
            for a in (
                person_name(_child_text(channel, f"{DC}creator")),
                person_name(_child_text(channel, "managingEditor")),
                person_name(_child_text(channel, f"{ITUNES}author")),
            )
            if a
        ),
        None,
    )
    items = []
    for item in channel.findall("item"):
        guid_el = item.find("guid")
        guid = (guid_el.text or "").strip() if guid_el is not None else ""
        link = _child_text(item, "link")
        if not (link or "").strip() and guid and (guid_el.get("isPermaLink") or "true").lower() != "false":
            link = guid
        link = _http(link, url)
        description = _child_text(item, "description")
        content = _child_text(item, f"{CONTENT}encoded")
        author = _rss_authors(item)
        published = _rss_date(_child_text(item, "pubDate"))
        if published is None and item.find(f"{DC}date") is not None:
            published = _iso_date(_child_text(item, f"{DC}date"))
        items.append(
            RawItem(
                guid=guid or None,
                url=link,
                title=_rss_text(_child_text(item, "title")),
                author=author or feed_author,
                published=published,
                summary_html=description or None,
                content_html=content or None,
                base_url=link or feed_base,
                image_url=_rss_image(item),
            )
        )
    return ParsedFeed(title=_rss_text(_child_text(channel, "title")), site_url=site_url, items=items)


def _http(link: str | None, base: str) -> str | None:
    if not link or not link.strip():
        return None
    resolved = urljoin(base, link.strip())
    return resolved if resolved.startswith(("http://", "https://")) else None


def _atom_text(el: _Element | None) -> tuple[str | None, str]:
    """(value, type) the way feedparser reports an Atom text construct."""
    if el is None:
        return None, "text/plain"
    kind = (el.get("type") or "text").lower()
    if kind == "xhtml":
        div = el.find(f"{XHTML}div")
        if div is None:
            raise NotFast("xhtml content without a div")
        from lxml import etree

        inner = (div.text or "") + "".join(etree.tostring(c, encoding="unicode", with_tail=True) for c in div)
        return re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", inner).strip(), "application/xhtml+xml"
    if kind in ("html", "text/html"):
        return (el.text or "").strip(), "text/html"
    if kind in ("text", "text/plain"):
        return (el.text or "").strip(), "text/plain"
    raise NotFast(f"content type {kind!r}")


def _atom_author(el: _Element) -> str | None:
    """Every <author> of an entry or feed; else its <dc:creator>s (arXiv's Atom feeds name authors there)."""
    return join_names(person_name(a.findtext(f"{ATOM}name")) for a in el.findall(f"{ATOM}author")) or join_names(
        person_name(c.text) for c in el.findall(f"{DC}creator")
    )


def _atom_link(entry: _Element) -> str | None:
    for link in entry.findall(f"{ATOM}link"):
        if (link.get("rel") or "alternate") == "alternate" and (href := link.get("href")):
            return urljoin(link.base or "", str(href).strip())
    return None


def _parse_atom(root: _Element, url: str) -> ParsedFeed:
    feed_author = _atom_author(root)
    # feedparser's feed link: the alternate link, else the first link of any kind (arXiv gives only "self").
    site = _atom_link(root) or next(
        (urljoin(x.base or "", x.get("href", "").strip()) for x in root.findall(f"{ATOM}link") if x.get("href")), None
    )
    site_url = _http(site, url)
    feed_base = site_url or url
    items = []
    for entry in root.findall(f"{ATOM}entry"):
        link = _http(_atom_link(entry), url)
        title, title_type = _atom_text(entry.find(f"{ATOM}title"))
        summary, summary_type = _atom_text(entry.find(f"{ATOM}summary"))
        content, content_type = _atom_text(entry.find(f"{ATOM}content"))
        if content is not None and content_type == "text/plain":
            content = html.escape(content)
        if summary is not None and summary_type == "text/plain":
            summary = html.escape(summary)
        published = _iso_date(entry.findtext(f"{ATOM}published")) or _iso_date(entry.findtext(f"{ATOM}updated"))
        thumb = next((t.get("url") for t in entry.iter(f"{MEDIA}thumbnail") if t.get("url")), None)
        items.append(
            RawItem(
                guid=(entry.findtext(f"{ATOM}id") or "").strip() or None,
                url=link,
                title=plain_text(title, htmlish="html" in title_type) if title is not None else None,
                author=_atom_author(entry) or feed_author,
                published=published,
                summary_html=summary or None,
                content_html=content or None,
                base_url=link or feed_base,
                image_url=thumb,
            )
        )
    title, title_type = _atom_text(root.find(f"{ATOM}title"))
    return ParsedFeed(
        title=plain_text(title, htmlish="html" in title_type) if title is not None else None,
        site_url=site_url,
        items=items,
    )


def parse_fast(body: bytes, *, url: str) -> ParsedFeed:
    """Raises NotFast when feedparser should read the document instead."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=False, remove_blank_text=False, load_dtd=False
    )
    try:
        root = etree.fromstring(body, parser=parser, base_url=url)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise NotFast(str(exc)) from None
    if root.tag == "rss" and (root.get("version") or "").startswith(("2.", "0.9")):
        return _parse_rss(root, url)
    if root.tag == f"{ATOM}feed":
        return _parse_atom(root, url)
    raise NotFast(f"root element {root.tag!r}")
