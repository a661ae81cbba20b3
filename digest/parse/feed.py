"""Parse RSS 0.9x/1.0/2.0 and Atom with feedparser, after disarming the document; JSON Feed by hand."""

from __future__ import annotations

import calendar
import html
import io
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from digest.parse.types import ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from digest.parse.sniff import Format

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_XML_DECL = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)([\"'])")
# The possessive `*+` matters: with backtracking, a run of empty comments took exponential time.
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*+<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)
_SINGLE_BYTE_ENCODINGS = {"windows-1252", "cp1252", "iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii",
                          "iso-8859-15"}


def _end_of_doctype(body: bytes, start: int) -> int:
    """Index just past the `>` closing the DOCTYPE at `start`, honouring quotes and the [...] subset."""
    depth = 0
    quote = 0
    i = start + 9
    n = len(body)
    while i < n:
        c = body[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):  # " '
            quote = c
        elif c == 0x5B:  # [
            depth += 1
        elif c == 0x5D:  # ]
            depth = max(0, depth - 1)
        elif c == 0x3E and depth == 0:  # >
            return i + 1
        i += 1
    return n


def disarm(body: bytes) -> tuple[bytes, list[str]]:
    """Remove DTDs and entity declarations before feedparser sees them.

    feedparser's loose parser expands internal entities without any limit (a 40 KB feed became a
    326 MB summary), and no feed needs a DTD, so every DOCTYPE goes, with a warning.

    Each removed declaration leaves a space, never nothing: closing the gap could join the text around
    it into a new declaration ("<!<!ENTITY x>ENTITY ..."), and one pass must be enough (linear time).
    """
    warnings: list[str] = []
    kept: list[bytes] = []
    pos = 0
    subset = False
    m = _DOCTYPE.search(body)
    while m:
        end = _end_of_doctype(body, m.start())
        subset = subset or b"[" in body[m.start():end]
        kept += (body[pos:m.start()], b" ")
        pos = end
        m = _DOCTYPE.search(body, end)
    if kept:
        body = b"".join(kept) + body[pos:]
    if subset:
        warnings.append("removed a DOCTYPE with an internal subset (entity declarations are not allowed)")
    if _ENTITY_DECL.search(body):
        body = re.sub(rb"<!ENTITY[^>]*>?", b" ", body, flags=re.IGNORECASE)
        warnings.append("removed stray entity declarations")
    return body, warnings


def fix_declared_encoding(body: bytes, http_charset: str | None) -> tuple[bytes, list[str]]:
    """A prolog claiming a single-byte encoding over bytes that are valid UTF-8 is a lie often told.

    Multi-byte UTF-8 sequences practically never occur by accident in windows-1252 text, so when
    the server said nothing and the bytes decode as UTF-8, trust the bytes (as Miniflux does).
    """
    m = _XML_DECL.match(body)
    if http_charset:
        # The HTTP charset wins over the prolog (RFC 7303); say so in the prolog too, so that every
        # parser (lxml on the fast path, feedparser otherwise) reads the bytes the same way.
        if m and m.group(2).decode("ascii").lower() != http_charset.lower():
            import codecs

            try:
                codecs.lookup(http_charset)
            except LookupError:
                return body, [f"unknown charset {http_charset!r} in Content-Type; the prolog's is used"]
            return body[:m.start(2)] + http_charset.encode("ascii") + body[m.end(2):], []
        return body, []
    if not m or m.group(2).decode("ascii").lower() not in _SINGLE_BYTE_ENCODINGS:
        return body, []
    if body.isascii():
        return body, []
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body, []
    declared = m.group(2).decode("ascii")
    fixed = body[:m.start(2)] + b"utf-8" + body[m.end(2):]
    return fixed, [f"document declared {declared} but is UTF-8; read as UTF-8"]


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type)
    return m.group(1) if m else None


def to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


_TAGS = re.compile(r"<[^>]*>")
_ENTITY_REF = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});")


def plain_text(value: str | None, *, htmlish: bool) -> str | None:
    """Titles and names as plain text: tags dropped from HTML-typed values, entities decoded.

    Parsers unescape text fields themselves, so a plain-text value that still holds an entity
    reference was escaped twice by its publisher (common in RSS titles). Both parsing paths use this.
    """
    if value is None:
        return None
    if htmlish:
        return html.unescape(_TAGS.sub("", value))
    return html.unescape(value) if _ENTITY_REF.search(value) else value


def _text(value: str | None, detail: Any = None) -> str | None:
    """plain_text for a feedparser field, typed by its detail."""
    return plain_text(value, htmlish="html" in str((detail or {}).get("type", "")))


def _entry_image(entry: Any) -> str | None:
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            return str(thumb["url"])
    for media in entry.get("media_content") or []:
        if media.get("url") and str(media.get("medium", media.get("type", ""))).startswith("image"):
            return str(media["url"])
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image") and link.get("href"):
            return str(link["href"])
    return None


def _author(entry: Any, feed: Any) -> str | None:
    """The entry's author name, else the feed's (Atom entries inherit it); never a bare e-mail address."""
    for source in (entry, feed):
        detail = source.get("author_detail") or {}
        if detail.get("name"):
            return str(detail["name"])
        name = source.get("author")
        if name and "@" not in name:
            return str(name)
    return None


def _entry_link(entry: Any) -> str | None:
    if entry.get("link"):
        return str(entry["link"])
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _entry_content(entry: Any) -> str | None:
    contents = entry.get("content") or []
    # Prefer the HTML body (Substack's content:encoded) over any plain-text alternative.
    for c in contents:
        if c.get("type", "").endswith("html") and c.get("value"):
            return str(c["value"])
    for c in contents:
        if c.get("value"):
            return html.escape(str(c["value"])) if c.get("type") == "text/plain" else str(c["value"])
    return None


def _summary(entry: Any) -> str | None:
    detail = entry.get("summary_detail") or {}
    value = entry.get("summary")
    if not value:
        return None
    if any(c.get("value") == value for c in entry.get("content") or []):
        return None  # feedparser copies the body into an absent description: that is no summary
    return html.escape(value) if detail.get("type") == "text/plain" else str(value)


def parse_feed(body: bytes, *, url: str, content_type: str | None = None, fmt: Format | None = None) -> ParsedFeed:
    """bytes -> items, whatever the Content-Type says (`fmt`, sniffed when not given, decides JSON or XML).
    Raises ParseError when the document is not a feed at all."""
    if fmt is None:
        from digest.parse.sniff import sniff

        fmt = sniff(body, content_type)
    if fmt in ("json-feed", "json", "hf-daily"):
        from digest.parse.jsonfeed import parse_json_feed

        return parse_json_feed(body, url=url)
    body, warnings = disarm(body)
    body, more = fix_declared_encoding(body, _charset(content_type))
    warnings += more
    from digest.parse.fastfeed import NotFast, parse_fast

    try:
        parsed = parse_fast(body, url=url)
    except NotFast:
        parsed = _parse_with_feedparser(body, url=url, content_type=content_type)
    if warnings:
        parsed = ParsedFeed(title=parsed.title, site_url=parsed.site_url, items=parsed.items,
                            warnings=[*warnings, *parsed.warnings], built=parsed.built)
    return parsed


def run_feedparser(body: bytes, content_type: str | None) -> Any:
    """The one way digest calls feedparser; `body` must already be disarmed.

    Always a file object: given bytes or str, feedparser may read a local path or fetch a URL itself.
    Its sanitiser and URI resolution are off (8x faster; clean/ does both). No content-location:
    feedparser would resolve plain <guid>s against it, so a feed that moved would re-key every item;
    links are resolved by the callers instead, and xml:base still applies inside feedparser.
    The media type it is told is always XML, with the server's charset: under the server's own (text/xml without a
    charset, application/json) it would try US-ASCII first and call any non-ASCII feed "not well-formed".
    """
    import feedparser

    charset = _charset(content_type)
    media = f"application/xml; charset={charset}" if charset else "application/xml"
    return feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False,
                            response_headers={"content-type": media})


def _parse_with_feedparser(body: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """The lenient path, for everything the fast path declines. `body` is already disarmed."""
    warnings: list[str] = []
    d = run_feedparser(body, content_type)
    if not d.entries and not d.get("version"):
        # Checked for well-formed pages too: an XHTML page is XML but still not a feed.
        if _HTML_START.match(body) or (content_type or "").startswith("text/html"):
            raise ParseError("not a feed: the server sent an HTML page")
        if d.bozo:
            raise ParseError(f"not a readable feed: {_one_line(d.get('bozo_exception'))}")
        raise ParseError("not a feed: no RSS or Atom elements found")
    if d.bozo:
        what = "read leniently" if d.entries else "and no items could be read"
        warnings.append(f"feed is not well-formed, {what}: {_one_line(d.get('bozo_exception'))}")
    feed = d.feed
    site_url = _http_url(feed.get("link"), url)
    feed_base = site_url or url
    items = []
    for entry in d.entries:
        link = _http_url(_entry_link(entry), url)
        items.append(
            RawItem(
                guid=str(entry["id"]).strip() if entry.get("id") else None,
                url=link,
                title=_text(entry.get("title"), entry.get("title_detail")),
                author=_text(_author(entry, feed)),
                published=to_datetime(entry.get("published_parsed") or entry.get("updated_parsed")),
                summary_html=_summary(entry),
                content_html=_entry_content(entry),
                base_url=link or feed_base,
                image_url=_entry_image(entry),
            )
        )
    title = _text(feed.get("title"), feed.get("title_detail"))
    return ParsedFeed(title=title, site_url=site_url, items=items, warnings=warnings)


def _http_url(link: str | None, base: str) -> str | None:
    """`link` resolved against the feed's URL; None unless http(s) (an Atom id such as urn:... is no link)."""
    if not link:
        return None
    resolved = urljoin(base, link.strip())
    return resolved if resolved.startswith(("http://", "https://")) else None


def _one_line(exc: object) -> str:
    text = str(exc) if exc is not None else "unknown error"
    name = exc.__class__.__name__ if exc is not None else ""
    text = " ".join(text.split())
    if name in ("SAXParseException", "CharacterEncodingOverride", "NonXMLContentType"):
        return text
    return f"{name}: {text}" if name else text
