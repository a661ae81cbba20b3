"""OPML import and export of sources. Parsing goes through defusedxml: an OPML file is untrusted input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element, SubElement, indent, tostring


class OpmlError(Exception):
    pass


@dataclass(frozen=True)
class OpmlSource:
    url: str
    name: str | None
    tags: tuple[str, ...] = ()


def parse_opml(data: bytes, *, origin: str) -> list[OpmlSource]:
    """Every outline with an xmlUrl; enclosing outlines without one become tags (OPML folders)."""
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException

    try:
        root = safe_et.fromstring(data)
    except (safe_et.ParseError, DefusedXmlException) as exc:
        raise OpmlError(f"{origin}: not a readable OPML file: {exc}") from None
    if root.tag.lower() != "opml":
        raise OpmlError(f"{origin}: not an OPML file (root element is <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise OpmlError(f"{origin}: OPML file has no <body>")
    found: list[OpmlSource] = []

    def walk(node: Element, folders: tuple[str, ...]) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            label = (outline.get("title") or outline.get("text") or "").strip()
            if url:
                cats = tuple(c.strip().strip("/") for c in (outline.get("category") or "").split(",") if c.strip())
                found.append(OpmlSource(url=url, name=label or None, tags=folders + cats))
            walk(outline, folders + ((label,) if label and not url else ()))

    walk(body, ())
    return found


@dataclass(frozen=True)
class ExportedSource:
    name: str
    url: str
    site_url: str | None
    tags: tuple[str, ...]


def to_opml(sources: Iterable[ExportedSource], *, title: str = "digest sources") -> str:
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = title
    SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = SubElement(root, "body")
    for src in sources:
        attrs = {"type": "rss", "text": src.name, "title": src.name, "xmlUrl": src.url}
        if src.site_url:
            attrs["htmlUrl"] = src.site_url
        if src.tags:
            attrs["category"] = ",".join(src.tags)
        SubElement(body, "outline", attrs)
    indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"
