"""Parse RSS 0.9x/1.0/2.0 and Atom with feedparser, after disarming the document; JSON Feed by hand."""

from __future__ import annotations

import calendar
import codecs
import html
import io
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from digest.parse.text import join_names, person_name, plain_text
from digest.parse.types import NO_ITEMS, ParsedFeed, ParseError, RawItem

if TYPE_CHECKING:
    from digest.parse.sniff import Format

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_XML_DECL = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*[\"'])([A-Za-z0-9._:-]+)([\"'])")
# The possessive `*+` matters: with backtracking, a run of empty comments took exponential time.
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*+<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)
# The single-byte charsets servers and templates claim by default, by Python's names for them (latin-1, l1,
# iso_8859-1 and us-ascii are all one of these).
_SINGLE_BYTE_CODECS = frozenset({"iso8859-1", "cp1252", "ascii", "iso8859-15"})


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
        subset = subset or b"[" in body[m.start() : end]
        kept += (body[pos : m.start()], b" ")
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


# Byte order marks, UTF-32 before UTF-16 (FF FE 00 00 begins with FF FE); the codec named reads and drops its mark.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _without_bom(body: bytes) -> tuple[bytes, bool]:
    """The body as UTF-8 without its byte order mark, and whether it had one (UTF-16 and -32 are transcoded)."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:], True
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, "replace").encode("utf-8"), True
    return body, False


def _is_multibyte_utf8(body: bytes) -> bool:
    """Non-ASCII bytes that decode as UTF-8: practically never windows-1252 or Latin-1 text by accident."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _declare(body: bytes, encoding: str) -> bytes:
    """The prolog made to name `encoding`, so that lxml and feedparser read the bytes the same way."""
    m = _XML_DECL.match(body)
    if not m or m.group(2).decode("ascii").lower() == encoding.lower():
        return body
    return body[: m.start(2)] + encoding.encode("ascii") + body[m.end(2) :]


def _codec(name: str) -> str | None:
    """Python's name for a charset, or None when Python does not know it."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _single_byte(name: str) -> bool:
    return _codec(name) in _SINGLE_BYTE_CODECS


def settle_encoding(body: bytes, http_charset: str | None) -> tuple[bytes, str | None, list[str]]:
    """(body, encoding, warnings): the encoding decided once for both parsers, in RFC 7303's order.

    A byte order mark decides first (the body comes back as UTF-8 without it), then the HTTP charset, then the
    prolog. One exception, in either of the last two: a single-byte charset (Latin-1, windows-1252, ASCII) over
    bytes that are valid multi-byte UTF-8 is a lie often told (a server's default, a template's prolog), and the
    bytes are read as UTF-8 with a warning, as Miniflux does. `encoding` is None when the prolog (or XML's
    default, UTF-8) decides; the prolog, when there is one, is rewritten to name what was decided.
    """
    body, had_bom = _without_bom(body)
    if had_bom:
        return _declare(body, "utf-8"), "utf-8", []
    warnings: list[str] = []
    if http_charset and _codec(http_charset) is None:
        warnings.append(f"unknown charset {http_charset!r} in Content-Type; the prolog's is used")
    elif http_charset:
        if _single_byte(http_charset) and _is_multibyte_utf8(body):
            return (
                _declare(body, "utf-8"),
                "utf-8",
                [f"the server said the document is {http_charset} but it is UTF-8; read as UTF-8"],
            )
        return _declare(body, http_charset), http_charset, []
    m = _XML_DECL.match(body)
    if m and _single_byte(m.group(2).decode("ascii")) and _is_multibyte_utf8(body):
        warnings.append(f"document declared {m.group(2).decode('ascii')} but is UTF-8; read as UTF-8")
        return _declare(body, "utf-8"), "utf-8", warnings
    return body, None, warnings


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


def _names(source: Any) -> str | None:
    """All the names feedparser collected for an entry or a feed (<author>, <dc:creator>...), in document order."""
    listed = join_names(person_name(a.get("name")) for a in source.get("authors") or [] if isinstance(a, dict))
    return listed or person_name((source.get("author_detail") or {}).get("name")) or person_name(source.get("author"))


def _first_name(source: Any) -> str | None:
    """The first name feedparser collected for a feed: an RSS channel names one author (dc:creator,
    managingEditor...), and the fast path takes the first it finds."""
    names = (person_name(a.get("name")) for a in source.get("authors") or [] if isinstance(a, dict))
    return next((name for name in names if name), None) or person_name(source.get("author"))


def _author(entry: Any, feed: Any, *, atom: bool) -> str | None:
    """The entry's authors, else the feed's: all of them for Atom, whose entries inherit the feed's authors."""
    return _names(entry) or (_names(feed) if atom else _first_name(feed))


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


# The closing tag of a feed's root, looked for at its end when the parser met an error: without it, the
# document stopped early (a close-delimited body cut short; fetch/http catches those that have a length).
_ROOT_END = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>", re.IGNORECASE)
_TAIL_BYTES = 512


def is_cut_short(body: bytes) -> bool:
    """True when the document's last bytes hold no closing </rss>, </feed> or </rdf:RDF>."""
    return _ROOT_END.search(body, max(0, len(body) - _TAIL_BYTES)) is None


def prepare_xml(body: bytes, content_type: str | None) -> tuple[bytes, str | None, list[str]]:
    """(body, encoding, warnings): a feed disarmed and its encoding settled, for either parser."""
    body, warnings = disarm(body)
    body, encoding, more = settle_encoding(body, _charset(content_type))
    return body, encoding, [*warnings, *more]


def parse_feed(body: bytes, *, url: str, content_type: str | None = None, fmt: Format | None = None) -> ParsedFeed:
    """bytes -> items, whatever the Content-Type says (`fmt`, sniffed when not given, decides JSON or XML).
    Raises ParseError when the document is not a feed at all."""
    if fmt is None:
        from digest.parse.sniff import sniff

        fmt = sniff(body, content_type)
    if fmt in ("json-feed", "json", "hf-daily"):
        from digest.parse.jsonfeed import parse_json_feed

        return parse_json_feed(body, url=url)
    body, encoding, warnings = prepare_xml(body, content_type)
    from digest.parse.fastfeed import NotFast, parse_fast

    try:
        parsed = parse_fast(body, url=url)
        if not parsed.items:
            warnings.append(NO_ITEMS)
    except NotFast:
        parsed = _parse_with_feedparser(body, url=url, content_type=content_type, encoding=encoding)
    if warnings:
        parsed = ParsedFeed(
            title=parsed.title,
            site_url=parsed.site_url,
            items=parsed.items,
            warnings=[*warnings, *parsed.warnings],
            built=parsed.built,
        )
    return parsed


def run_feedparser(body: bytes, encoding: str | None) -> Any:
    """The one way digest calls feedparser; `body` must already be disarmed and its `encoding` settled.

    Always a file object: given bytes or str, feedparser may read a local path or fetch a URL itself.
    Its sanitiser and URI resolution are off (most of its time; clean/ does both). No content-location:
    feedparser would resolve plain <guid>s against it, so a feed that moved would re-key every item;
    links are resolved by the callers instead, and xml:base still applies inside feedparser.
    The media type it is told is always XML: under the server's (text/xml without a charset, application/json)
    it would ignore the settled encoding, try US-ASCII first and call any non-ASCII feed "not well-formed".
    """
    import feedparser

    media = f"application/xml; charset={encoding}" if encoding else "application/xml"
    return feedparser.parse(
        io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False, response_headers={"content-type": media}
    )


def lenient_warning(d: Any, body: bytes) -> str | None:
    """What the reader should know of a document feedparser read despite its faults, or None if it had none."""
    if not d.bozo:
        return None
    what = "read leniently" if d.entries else "and no items could be read"
    why = "the document stops before its end (cut short?)" if is_cut_short(body) else _one_line(d.get("bozo_exception"))
    return f"feed is not well-formed, {what}: {why}"


def _parse_with_feedparser(
    body: bytes, *, url: str, content_type: str | None, encoding: str | None = None
) -> ParsedFeed:
    """The lenient path, for everything the fast path declines. `body` is already disarmed and its `encoding`
    settled; the Content-Type only tells an HTML page apart."""
    d = run_feedparser(body, encoding)
    if not d.entries and not d.get("version"):
        # Checked for well-formed pages too: an XHTML page is XML but still not a feed.
        if _HTML_START.match(body) or (content_type or "").startswith("text/html"):
            raise ParseError("not a feed: the server sent an HTML page")
        if d.bozo:
            raise ParseError(f"not a readable feed: {_one_line(d.get('bozo_exception'))}")
        raise ParseError("not a feed: no RSS or Atom elements found")
    warning = lenient_warning(d, body) or (None if d.entries else NO_ITEMS)
    warnings = [warning] if warning else []
    atom = str(d.get("version", "")).startswith("atom")
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
                author=_text(_author(entry, feed, atom=atom)),
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
