"""Text of a feed's fields as readers see it: titles and names in plain text, people's names, several authors in
one string. Shared by both parsing paths (parse/feed.py with feedparser, parse/fastfeed.py without)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

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


_EMAIL_NAME = re.compile(r"^\s*\S+@\S+\s*\((.+)\)\s*$")


def person_name(text: str | None) -> str | None:
    """A person's name as a feed states it: "jo@example.org (Jo)" gives "Jo"; a bare e-mail address is no name."""
    if not text or not text.strip():
        return None
    text = text.strip()
    m = _EMAIL_NAME.match(text)
    if m:
        return m.group(1).strip()
    return None if "@" in text else text


def join_names(names: Iterable[str | None]) -> str | None:
    """Every author of an item, as readers see them everywhere ("Ann, Bo, Cy"): a post or paper with three
    authors has three, not the first or the last (feedparser's `author` is the last <author> of an entry)."""
    kept: list[str] = []
    for name in names:
        if name and name not in kept:
            kept.append(name)
    return ", ".join(kept) or None
