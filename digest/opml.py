"""OPML import and export of sources.

Export: what other readers understand (a folder per tag, each source once) plus what only digest needs (kind,
adapter, interval, enabled) in attributes of our own namespace, which other readers ignore.

Import: real exports are often not well-formed XML (a bare `&` in a title, a raw `<br>` in a description, HTML's
`&nbsp;`). Other readers read them anyway (Miniflux decodes with Go's non-strict XML decoder and HTML entities), so
we repair those three faults, then parse with lxml in recover mode, never expanding an entity: a file that declares
entities is refused whole (no billion laughs, no XXE), and no DTD or network resource is ever loaded. Every entry that
cannot be imported is reported with its reason; nothing is dropped silently.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, SubElement, indent, register_namespace, tostring

if TYPE_CHECKING:
    from lxml.etree import _Element

NS = "https://digest.invalid/opml"  # our attributes' namespace (a name, not a place: .invalid never resolves)
PREFIX = "digest"
FEED_TYPES = ("rss", "atom", "feed")  # outline types that promise an xmlUrl


class OpmlError(Exception):
    pass


@dataclass(frozen=True)
class OpmlSource:
    """One subscription as the file states it. `kind`/`adapter`/`interval`/`enabled` are None when not stated."""

    url: str
    name: str | None
    tags: tuple[str, ...] = ()
    kind: str | None = None
    adapter: str | None = None
    interval: int | None = None
    enabled: bool | None = None
    site_url: str | None = None
    problem: str | None = None  # set when one of our own attributes is unreadable: the entry is skipped


@dataclass(frozen=True)
class Skipped:
    """An entry that was not imported, and why (shown to the user one line each)."""

    label: str | None
    url: str | None
    reason: str

    def line(self) -> str:
        label = _shown(self.label, 80)
        what = f"{label!r}" if label else ""
        url = _shown(self.url, 120)
        where = f"({url})" if url else ""
        return f"skipped {' '.join(p for p in (what, where) if p)}: {self.reason}"


def _shown(text: str | None, limit: int) -> str | None:
    """`text` for one line of a report: control characters escaped, a long text cut."""
    if text is None:
        return None
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[: limit - 20] + "..."


@dataclass
class OpmlDocument:
    """Every entry in the order of the file: the sources to add and those skipped, so reports follow the file."""

    entries: list[OpmlSource | Skipped] = field(default_factory=list)

    @property
    def sources(self) -> list[OpmlSource]:
        return [e for e in self.entries if isinstance(e, OpmlSource)]

    @property
    def skipped(self) -> list[Skipped]:
        return [e for e in self.entries if isinstance(e, Skipped)]


# --- reading -------------------------------------------------------------------------------------------------------

_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_REFERENCE = re.compile(rb"&(#[0-9]+;|#[xX][0-9a-fA-F]+;|([A-Za-z][A-Za-z0-9._-]*);)?")
_START_TAG = re.compile(rb"<[A-Za-z_](?:[^<>\"']|\"[^\"]*\"|'[^']*')*/?>")
_QUOTED = re.compile(rb"\"[^\"]*\"|'[^']*'")
_DECLARES_ENTITY = re.compile(rb"<!ENTITY\b")
_XML_URL = re.compile(rb"\bxmlUrl\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.IGNORECASE)


def _fix_reference(match: re.Match[bytes]) -> bytes:
    """A bare `&` becomes `&amp;`; an HTML named entity (`&nbsp;`) its character reference; the rest stays."""
    if match.group(1) is None:
        return b"&amp;"
    name = match.group(2)
    if name is None or name.decode() in _XML_ENTITIES:
        return match.group(0)
    text = html.entities.html5.get(name.decode() + ";")
    if text is None:
        return b"&amp;" + match.group(1)  # an unknown name is text, as an HTML parser reads it
    return b"".join(b"&#%d;" % ord(ch) for ch in text)


def _fix_tag(match: re.Match[bytes]) -> bytes:
    return _QUOTED.sub(lambda q: q.group(0).replace(b"<", b"&lt;"), match.group(0))


def repair(data: bytes) -> bytes:
    """Make the usual faults of hand-made and exported OPML well-formed, as a lenient reader understands them."""
    data = _REFERENCE.sub(_fix_reference, data)
    return _START_TAG.sub(_fix_tag, data)


def _attr(outline: _Element, name: str) -> str | None:
    """An attribute by name, whatever its case (`xmlUrl`, `xmlurl`, `XMLURL` all occur in the wild)."""
    value = outline.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in outline.attrib.items() if isinstance(k, str) and k.lower() == lowered), None)
    return value.strip() if value is not None else None


def _ours(outline: _Element, name: str) -> str | None:
    """One of our attributes: namespaced, or with its prefix kept as text when a hand edit lost the declaration."""
    value = outline.get(f"{{{NS}}}{name}")
    if value is None:
        value = outline.get(f"{PREFIX}:{name}")
    return value.strip() if value is not None else None


def _source(outline: _Element, url: str, label: str | None, folders: tuple[str, ...]) -> OpmlSource:
    cats = tuple(c.strip().strip("/") for c in (_attr(outline, "category") or "").split(",") if c.strip().strip("/"))
    problem = None
    interval: int | None = None
    raw_interval = _ours(outline, "interval")
    if raw_interval:
        if raw_interval.isdigit() and int(raw_interval) >= 1:
            interval = int(raw_interval)
        else:
            problem = f"interval must be a whole number of minutes, not {raw_interval!r}"
    raw_enabled = _ours(outline, "enabled")
    enabled = None if raw_enabled is None else raw_enabled.lower() not in ("false", "0", "no")
    return OpmlSource(
        url=url,
        name=label,
        tags=tuple(dict.fromkeys(folders + cats)),
        kind=_ours(outline, "kind"),
        adapter=_ours(outline, "adapter"),
        interval=interval,
        enabled=enabled,
        site_url=_attr(outline, "htmlUrl") or None,
        problem=problem,
    )


def parse_opml(data: bytes, *, origin: str) -> OpmlDocument:
    """Every outline with an xmlUrl; enclosing outlines without one become tags (OPML folders).

    A feed listed in several folders (NetNewsWire and others write it so) is one source with every folder's tag.
    """
    from lxml import etree

    if _DECLARES_ENTITY.search(data):
        raise OpmlError(
            f"{origin}: refused: the file declares XML entities (an OPML file never needs them, "
            "and expanding them is how XML bombs and XXE work)"
        )
    parser = etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    fixed = repair(data)
    try:
        root = etree.fromstring(fixed, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"{origin}: not a readable OPML file: {exc}") from None
    if root is None:
        raise OpmlError(f"{origin}: not a readable OPML file (no element found)")
    tag = etree.QName(root).localname if isinstance(root.tag, str) else str(root.tag)
    if tag.lower() != "opml":
        raise OpmlError(f"{origin}: not an OPML file (root element is <{tag}>)")
    body = next((el for el in root if isinstance(el.tag, str) and el.tag.lower() == "body"), None)
    if body is None:
        raise OpmlError(f"{origin}: OPML file has no <body>")
    doc = OpmlDocument()
    first: dict[str, int] = {}

    def walk(node: _Element, folders: tuple[str, ...]) -> None:
        for outline in node:
            if not isinstance(outline.tag, str) or outline.tag.lower() != "outline":
                continue
            url = _attr(outline, "xmlUrl") or ""
            label = _attr(outline, "title") or _attr(outline, "text") or None
            if url:
                src = _source(outline, url, label, folders)
                if url in first:
                    known = doc.entries[first[url]]
                    assert isinstance(known, OpmlSource)
                    if set(src.tags) - set(known.tags):  # the same feed in another folder: one source, both tags
                        doc.entries[first[url]] = replace(known, tags=tuple(dict.fromkeys(known.tags + src.tags)))
                    else:
                        doc.entries.append(Skipped(label, url, f"listed twice in this file (as {known.name!r})"))
                else:
                    first[url] = len(doc.entries)
                    doc.entries.append(src)
            elif (_attr(outline, "type") or "").lower() in FEED_TYPES and not len(outline):
                doc.entries.append(Skipped(label, None, f"an {_attr(outline, 'type')} outline without xmlUrl"))
            walk(outline, folders + ((label,) if label and not url else ()))

    walk(body, ())
    # An outline lxml could not recover at all would vanish without a word: name each such URL.
    seen = set(first)
    for match in _XML_URL.finditer(fixed):
        raw = (match.group(1) if match.group(1) is not None else match.group(2)) or b""
        url = html.unescape(raw.decode("utf-8", "replace")).strip()
        if url and url not in seen:
            seen.add(url)
            doc.entries.append(Skipped(None, url, "the file is damaged around this entry (not read)"))
    return doc


# --- writing -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedSource:
    name: str
    url: str
    site_url: str | None
    tags: tuple[str, ...]
    kind: str = "feed"
    adapter: str | None = None
    interval: int | None = None
    enabled: bool = True


def _outline(parent: Element, src: ExportedSource, rest: tuple[str, ...]) -> None:
    attrs = {"type": "rss", "text": src.name, "title": src.name, "xmlUrl": src.url}
    if src.site_url:
        attrs["htmlUrl"] = src.site_url
    if rest:
        attrs["category"] = ",".join(rest)
    attrs[f"{{{NS}}}kind"] = src.kind
    if src.adapter:
        attrs[f"{{{NS}}}adapter"] = src.adapter
    if src.interval is not None:  # unset stays unset: the config's default_interval applies
        attrs[f"{{{NS}}}interval"] = str(src.interval)
    if not src.enabled:
        attrs[f"{{{NS}}}enabled"] = "false"
    SubElement(parent, "outline", attrs)


def to_opml(sources: Iterable[ExportedSource], *, title: str = "digest sources") -> str:
    """Each source once: in the folder of its first tag, its other tags in `category` (docs/architecture.md)."""
    register_namespace(PREFIX, NS)
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = SubElement(root, "body")
    folders: dict[str, list[ExportedSource]] = {}
    loose: list[ExportedSource] = []
    for src in sources:
        if src.tags:
            folders.setdefault(src.tags[0], []).append(src)
        else:
            loose.append(src)
    for tag in sorted(folders):
        folder = SubElement(body, "outline", {"text": tag, "title": tag})
        for src in folders[tag]:
            _outline(folder, src, src.tags[1:])
    for src in loose:
        _outline(body, src, ())
    indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"
