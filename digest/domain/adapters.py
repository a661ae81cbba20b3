"""The kinds of listing digest reads, by name: the one list that `sources add`, `sources edit`, OPML import, the
CLI's help and the parser (parse/__init__.py) all consult. Adding an adapter is one entry here and a module in
parse/ with a `read` function.

Plain values and pure functions: the CLI builds its help from this at start-up, so it imports no parser; each
adapter names its reader as "module:function", loaded when a document needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Adapter:
    name: str
    summary: str  # what it reads, for help texts
    reader: str  # "module:function" taking (body, *, fmt, url, content_type, rules) and giving a ParsedFeed
    claims: Callable[[str, str], bool]  # (host without "www.", path): whether a URL calls for it
    reads: frozenset[str] = frozenset()  # the certain content formats (parse/sniff.py) it can read
    recognised: frozenset[str] = frozenset()  # the content formats that call for it wherever they are served


def _hf(host: str, path: str) -> bool:
    return host == "huggingface.co" and (
        path.startswith("/api/daily_papers") or path.rstrip("/") == "/papers" or path.startswith("/papers/date/")
    )


def _arxiv_listing(host: str, path: str) -> bool:
    return host in ("arxiv.org", "export.arxiv.org") and path.startswith("/list/")


def _arxiv_rss(host: str, path: str) -> bool:
    return host in ("rss.arxiv.org", "arxiv.org", "export.arxiv.org") and path.startswith(("/rss/", "/atom/"))


def _nowhere(host: str, path: str) -> bool:
    return False


ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter(
            "hf-daily",
            "Hugging Face daily papers (the JSON API or the page)",
            "digest.parse.hf_daily:read",
            _hf,
            reads=frozenset({"hf-daily"}),
            recognised=frozenset({"hf-daily"}),
        ),
        Adapter(
            "arxiv-listing",
            "an arXiv listing page (/list/cs.CL/new, /recent, /pastweek)",
            "digest.parse.arxiv_listing:read",
            _arxiv_listing,
        ),
        Adapter(
            "arxiv-rss",
            "arXiv's RSS or Atom announcement feed",
            "digest.parse.arxiv_rss:read",
            _arxiv_rss,
            reads=frozenset({"arxiv", "rss", "atom", "rdf"}),
            recognised=frozenset({"arxiv"}),
        ),
        Adapter(
            "reading-list",
            "any page or text that lists papers (bookmarks, a group's reading list)",
            "digest.parse.reading_list:read",
            _nowhere,
        ),
    )
}


def adapter_names(joined: str = "or") -> str:
    """ "hf-daily, arxiv-listing, arxiv-rss or reading-list": for help texts and messages."""
    names = list(ADAPTERS)
    return f"{', '.join(names[:-1])} {joined} {names[-1]}"


def detect_adapter(url: str) -> str | None:
    """The listing adapter a URL's host and path call for, or None for an ordinary feed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return next((a.name for a in ADAPTERS.values() if a.claims(host, parts.path)), None)
