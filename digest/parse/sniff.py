"""What a document is, read from its first bytes: the format that decides which reader parses it. Pure.

Servers label feeds badly (XML as application/json, JSON as text/xml, arXiv's feed behind a proxy URL), so the
content decides and the Content-Type only breaks a tie when the first bytes say nothing. Only a prefix is read:
a regular expression over 2 KB costs microseconds, where parsing to find out would read every document twice.
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

# "arxiv": RSS or Atom declaring arXiv's namespace (rss.arxiv.org, the arXiv API). "json-feed": a JSON object
# naming jsonfeed.org's version. "hf-daily": a JSON list whose first entry holds a "paper" object (Hugging Face's
# daily papers). "json": other JSON (an object or a list), "xml": XML whose root is no feed's, "unknown": neither.
Format = Literal["arxiv", "rss", "atom", "rdf", "json-feed", "hf-daily", "json", "html", "xml", "unknown"]

# The formats a document is known to be by its first bytes alone: a reader chosen for one of them may be
# overruled by them (a JSON body at a source set to read arXiv's RSS).
CERTAIN: frozenset[Format] = frozenset({"arxiv", "rss", "atom", "rdf", "json-feed", "hf-daily"})
FEED_ROOTS: frozenset[Format] = frozenset({"arxiv", "rss", "atom", "rdf"})

PREFIX_BYTES = 2048
ARXIV_NAMESPACE = b"http://arxiv.org/schemas/atom"

# Before the root: an XML declaration, processing instructions, comments and a DOCTYPE, in any order. The
# possessive `*+` keeps a run of comments linear (with backtracking, empty comments took exponential time).
_ROOT = re.compile(
    rb"(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>\[]*(?:\[.*?\]\s*)?>\s*)*+<([A-Za-z_][\w.:-]*)([^>]*)",
    re.DOTALL | re.IGNORECASE,
)
_HTML_DOCTYPE = re.compile(rb"(?:<\?.*?\?>\s*|<!--.*?-->\s*)*+<!DOCTYPE\s+html\b", re.DOTALL | re.IGNORECASE)
_HTML_ROOTS = frozenset({b"html", b"head", b"body"})
_HF_ENTRY = re.compile(rb'^\[\s*\{[^\[\]]*?"paper"\s*:\s*\{')
_JSON_FEED_VERSION = re.compile(rb'"version"\s*:\s*"https?://jsonfeed\.org/version/')
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


_XML_ROOTS: dict[bytes, Format] = {b"rss": "rss", b"feed": "atom", b"rdf": "rdf"}


def _head(body: bytes) -> bytes:
    """The document's first bytes as ASCII-compatible bytes, byte order mark and leading blanks removed."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3 : PREFIX_BYTES + 3].lstrip()
    if body.startswith(_UTF16_BOMS):  # only the prefix is decoded: the markup we look for is ASCII
        return body[: 2 * PREFIX_BYTES].decode("utf-16", "ignore").encode("utf-8", "ignore").lstrip()
    return body[:PREFIX_BYTES].lstrip()


def _markup(head: bytes) -> Format:
    if _HTML_DOCTYPE.match(head):
        return "html"
    m = _ROOT.match(head)
    if m is None:
        return "xml"  # a prolog longer than the prefix, or markup the parsers will judge
    name = m.group(1).rsplit(b":", 1)[-1]
    local = name.lower()
    if local in _HTML_ROOTS:
        return "html"
    kind = _XML_ROOTS.get(local)
    if kind is None:
        return "xml"
    # The namespace is declared on the root, so the root's start tag holds it (arXiv declares it there).
    return "arxiv" if ARXIV_NAMESPACE in m.group(2) else kind


def _json(head: bytes) -> Format:
    if head[:1] == b"[":
        return "hf-daily" if _HF_ENTRY.match(head) else "json"
    return "json-feed" if _JSON_FEED_VERSION.search(head) else "json"


def sniff(body: bytes, content_type: str | None = None) -> Format:
    """The format of `body`, from its first PREFIX_BYTES bytes; the Content-Type only when they say nothing."""
    head = _head(body)
    first = head[:1]
    if first == b"<":
        return _markup(head)
    if first in (b"{", b"["):
        return _json(head)
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media.endswith("json"):
        return "json"
    if media == "text/html":
        return "html"
    return "unknown"
