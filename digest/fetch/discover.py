"""Feed autodiscovery for `sources add`: from a home page to its feed.

People paste the address they read, not the feed's. A page names its feeds with
`<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">`; when it names none, the usual paths
(`/feed`: WordPress, Substack, Ghost; `/rss`; `/atom.xml`, `/feed.xml`: Jekyll; `/index.xml`: Hugo; `/rss.xml`) are
tried and the first that answers with a feed is taken. Every request goes through the project's fetcher
(fetch/http.py) with the configured limits; a failure to reach the URL is an outcome, not an error, because `add`
never refuses what it cannot reach now.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urljoin, urlsplit

from digest.fetch.http import Client, Fetched, FetchError, Limits, fetch_url, make_client

FEED_TYPES = {
    "application/rss+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/rdf+xml": "RSS 1.0",  # only with rel=alternate, where it names an RSS 1.0 feed
}
USUAL_PATHS = ("feed", "rss", "atom.xml", "feed.xml", "index.xml", "rss.xml")


@dataclass(frozen=True)
class FeedLink:
    url: str
    format: str  # "RSS", "Atom", "JSON Feed"
    title: str | None = None


@dataclass(frozen=True)
class Discovery:
    """What the URL turned out to be.

    `feed`: the URL is a feed (or something a parser should judge: JSON, XML other than a web page).
    `page`: a web page; `feeds` are the feeds it links (`how` == "link") or the one found at a usual path
    (`how` == "/feed" ...), or none. `unreachable`: no answer now; `reason` says why in one line.
    """

    outcome: Literal["feed", "page", "unreachable"]
    url: str
    feeds: list[FeedLink] = field(default_factory=list)
    how: str | None = None
    reason: str | None = None


def sniff(body: bytes) -> Literal["feed", "page", "other"]:
    """What a body is, from its first bytes: a feed, a web page, or something else (text, markdown, a PDF)."""
    text = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "feed"  # JSON: a JSON Feed, or a listing's API; the parser decides
    while text.startswith(b"<?") or text.startswith(b"<!--") or text[:9].upper() == b"<!DOCTYPE":
        if text[:9].upper() == b"<!DOCTYPE":
            if b"html" in text[9:40].lower():
                return "page"
            end = text.find(b">")
        else:
            end = text.find(b"?>" if text.startswith(b"<?") else b"-->")
        if end < 0:
            return "other"
        text = text[end:].lstrip(b"?->").lstrip()
    if not text.startswith(b"<"):
        return "other"
    name = text[1:64].split(None, 1)[0].split(b">", 1)[0].rstrip(b"/").lower()
    local = name.rsplit(b":", 1)[-1].decode("ascii", "replace")
    if local in ("html", "head", "body", "meta", "title", "link", "script", "div"):
        return "page"
    return "feed"  # rss, feed, rdf:RDF, or XML the feed parser should judge (and name the problem of)


def feed_links(body: bytes, base_url: str) -> list[FeedLink]:
    """The feeds a page names in `<link rel="alternate">`, in page order, resolved against `<base>` and the URL."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(body)
    base = base_url
    base_tag = tree.css_first("base[href]")
    if base_tag is not None and base_tag.attributes.get("href"):
        base = urljoin(base_url, (base_tag.attributes.get("href") or "").strip())
    found: list[FeedLink] = []
    seen: set[str] = set()
    for link in tree.css("link[rel][href]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        kind = (link.attributes.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = urljoin(base, (link.attributes.get("href") or "").strip())
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        title = " ".join((link.attributes.get("title") or "").split()) or None
        found.append(FeedLink(url=url, format=FEED_TYPES[kind], title=title))
    return found


def _usual_places(page_url: str) -> list[tuple[str, str]]:
    """(path shown to the user, URL) for each usual feed path: beside the page first, then at the site's root."""
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}/"
    here = page_url.split("?", 1)[0].split("#", 1)[0]
    here = here if here.endswith("/") else here.rsplit("/", 1)[0] + "/"
    places: list[tuple[str, str]] = []
    for base in dict.fromkeys((here, root)):
        for path in USUAL_PATHS:
            url = urljoin(base, path)
            places.append((urlsplit(url).path, url))
    return list(dict.fromkeys(places))


def discover(url: str, *, user_agent: str, limits: Limits | None = None) -> Discovery:
    """Fetch `url` once and say what it is; for a page without feed links, try the usual feed paths."""
    limits = limits or Limits()
    with make_client(user_agent=user_agent, limits=limits, max_connections=2) as client:
        return _discover(client, url, limits)


def _discover(client: Client, url: str, limits: Limits) -> Discovery:
    try:
        got = fetch_url(client, url, limits=limits)
    except FetchError as exc:
        return Discovery("unreachable", url, reason=exc.reason)
    what = sniff(got.body)
    if what == "feed":
        return Discovery("feed", url)
    if what == "other":
        return Discovery("page", url, how="not a web page")
    feeds, how = _feeds_of_page(client, got, limits)
    return Discovery("page", url, feeds=feeds, how=how)


def _feeds_of_page(client: Client, page: Fetched, limits: Limits) -> tuple[list[FeedLink], str | None]:
    """The feeds a fetched web page links, else the first found at a usual path (and the path), else none."""
    links = feed_links(page.body, page.url)
    if links:
        return links, "link"
    for shown, candidate in _usual_places(page.url):
        try:
            answer = fetch_url(client, candidate, limits=limits)
        except FetchError:
            continue
        if sniff(answer.body) == "feed" and answer.body.strip():
            return [FeedLink(url=candidate, format="feed")], shown
    return [], None


@dataclass(frozen=True)
class FeedBehind:
    """The feed found behind a page a feed source fetched, and one line saying how it was found."""

    fetched: Fetched
    note: str


def feed_behind(client: Client, page: Fetched, limits: Limits) -> FeedBehind | None:
    """For a source stored as a home page (`sources add` could not reach it, or it was added with --as-is): the
    feed the page names, fetched, with `moved_to` set so the source's URL is updated as after a permanent move.

    Several linked feeds: the first is taken, as the page lists them, and the note says so; `sources edit --url`
    picks another. None when the page names no feed and none answers at a usual path (the parser then says "not
    a feed"), or the feed found cannot be fetched now (tried again on the next fetch).
    """
    feeds, how = _feeds_of_page(client, page, limits)
    if not feeds:
        return None
    chosen = feeds[0].url
    try:
        got = fetch_url(client, chosen, limits=limits)
    except FetchError:
        return None
    if sniff(got.body) != "feed":
        return None
    where = f"linked from the page {page.url}" if how == "link" else f"found at {how} of {page.url}"
    note = f"the URL is a web page: now following its feed {chosen} ({where})"
    if len(feeds) > 1:
        note += (
            f"; the page links {len(feeds)} feeds, the first was taken "
            f"(others: {', '.join(f.url for f in feeds[1:4])}{' ...' if len(feeds) > 4 else ''})"
        )
    return FeedBehind(replace(got, moved_to=got.moved_to or chosen), note)
