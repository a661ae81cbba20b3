"""Read a paper's landing page: is the link a paper, and which one? Highwire `citation_*` tags, then Dublin Core.

A post often links a paper through a page on a host `domain/paper_ids.py` has no rule for (a conference virtual
site, a lab page, a publisher, a "paper finder"). Almost every scholarly site states what the page is in
`<meta>` tags for Google Scholar (Highwire Press `citation_*`), many in Dublin Core (`DC.*`); a blog post
states at most `og:title`, which says nothing about being a paper. So one read of the page's first part
decides: a title in those tags makes it a paper, with the ids it states.

Two halves: `parse_landing` is pure (text in, `PaperMeta` or None out); `LandingReader` fetches many pages
politely (one request in flight per host, spaced, a 429 silences the host for the run) through
`digest/fetch/http.py`'s client, so TLS verification, decompression, redirects and size limits are the
ones feeds get. Results are plain frozen values; remembering them across runs is the store's job.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from digest import __version__
from digest.domain.papers import PaperMeta

if TYPE_CHECKING:
    import http.client

    from digest.fetch.http import Client, Limits

DEFAULT_USER_AGENT = f"digest/{__version__} (+paper metadata; polite)"
# The <head> is what we want; a page's first 2 MiB hold it (a full arXiv abstract page is ~45 KiB).
DEFAULT_MAX_BODY = 2 * 1024 * 1024

LandingStatus = Literal["paper", "not_paper", "unreadable"]


@dataclass(frozen=True)
class LandingResult:
    """What reading one URL said. "unreadable" is worth asking again on a later run; the others are answers.

    `error` says why a page is unreadable, or why a page that was read is no paper when there is more to say
    than "it carries no paper tags" (a PDF, a 404). `final_url` is the page read, after redirects.
    """

    url: str
    status: LandingStatus
    meta: PaperMeta | None = None
    error: str | None = None
    final_url: str | None = None


# --- the pure parser ------------------------------------------------------------------------------------------

# Lengths past which a value is junk or an attack, not metadata: kept short so a hostile page cannot bloat rows.
MAX_TITLE = 1000
MAX_NAME = 300
MAX_AUTHORS = 1000
MAX_ABSTRACT = 20000
MAX_VENUE = 500
MAX_URL = 2000  # the papers.thumbnail_url column

# Dublin Core names as sites write them ("DC.Title", "dc:title", "DCTERMS.abstract"), lower-cased to "dc.title".
_DC_PREFIX = re.compile(r"^(dc|dcterms)[.:]")
_DC_TITLE = ("dc.title", "dcterms.title")
_DC_CREATORS = ("dc.creator", "dcterms.creator", "dc.creator.personalname", "dc.contributor.author")
_DC_CONTRIBUTORS = ("dc.contributor", "dcterms.contributor")  # bioRxiv lists its authors so
_DC_DATES = (
    "dcterms.issued",
    "dc.date.issued",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "dc.date.created",
    "dcterms.available",
)
_DC_IDENTIFIERS = ("dc.identifier", "dcterms.identifier", "dc.identifier.doi", "dc.identifier.uri")
_DC_ABSTRACTS = ("dcterms.abstract", "dc.description.abstract", "dc.description", "dcterms.description")
_DC_VENUES = ("dcterms.ispartof", "dc.relation.ispartof")

# A value holding a complete tag is markup (an abstract in <p>s, a title with <i>), as Zotero reads it too; "n<k"
# or "p < 0.05" in a title is not. Comments and <!...>/<?...> declarations, which a browser hides, count as well.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->|<[!?][^<>]*>", re.DOTALL)
# A second level of entities (`&amp;nbsp;` in the source reads `&nbsp;` once decoded): only complete ones, so
# the text "x&notation" keeps its letters (HTML would read "&not" as ¬).
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_DROP_WITH_CONTENT = [
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "textarea",
    "select",
]
_BLOCKS = (
    "p, div, br, li, ul, ol, h1, h2, h3, h4, h5, h6, tr, td, th, table, section, article, blockquote, "
    "title, dt, dd, pre, hr"
)
_DOI_IN = re.compile(r"10\.\d{4,9}/\S+")
_YMD = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?!\d)")
_MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})\b")
_ANY_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_ONE_PIXEL = re.compile(r"[01](?:px)?")


def _markup_text(value: str) -> str:
    """The text a browser would show for `value` read as HTML: scripts and styles dropped with their content,
    blocks kept apart by a space, entities decoded. selectolax does the reading, so no markup survives."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(value)
    tree.strip_tags(_DROP_WITH_CONTENT)
    for node in tree.css(_BLOCKS):
        node.insert_before(" ")
        node.insert_after(" ")
    root = tree.root
    return root.text(separator="") if root is not None else ""


def clean_text(value: str, limit: int) -> str:
    """Untrusted attribute text as plain, one-line text: markup read as HTML, leftover entities decoded,
    control and invisible characters dropped, whitespace folded, cut at `limit` characters."""
    import html

    if "<" in value and _TAG.search(value):
        value = _markup_text(value)
    elif "&" in value:
        value = _ENTITY.sub(lambda m: html.unescape(m[0]), value)
    if "<" in value:  # what decoding turned into a tag ("&amp;lt;b&amp;gt;") is dropped too: no tag comes out
        value = _TAG.sub(" ", value)
    value = " ".join(_CONTROL.sub(" ", value).split())
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


# Lower-case words a surname may hold ("van der Berg, Pieter"); any other ("University of X, Y") is no surname.
_PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "du",
        "dos",
        "das",
        "le",
        "la",
        "ten",
        "ter",
        "bin",
        "al",
        "el",
        "y",
        "zu",
    }
)


def _author(value: str) -> str:
    """A name as "First Last". Highwire tags often say "Vaswani, Ashish"; the arXiv API says "Ashish Vaswani",
    and a card should not show both styles. Only a plain "Last, First" turns round: an institution with a
    comma ("University of California, Berkeley"), a suffix ("Smith, Jr., John") or digits stays as written."""
    name = clean_text(value, MAX_NAME)
    last, sep, first = name.partition(",")
    if sep and "," not in first and not any(ch.isdigit() for ch in name):
        last, first = last.strip(), first.strip()
        surname = last.split()
        if (
            first
            and surname
            and len(surname) <= 3
            and len(first.split()) <= 4
            and all(w[0].isupper() or w.lower() in _PARTICLES for w in surname)
        ):
            return f"{first} {last}"
    return name


def _valid_date(year: int, month: int | None, day: int | None) -> tuple[int | None, datetime | None]:
    if not 1800 <= year <= 2100:
        return None, None
    if month is None or day is None:
        return year, None
    try:
        return year, datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return year, None


def parse_date(value: str) -> tuple[int | None, datetime | None]:
    """(year, date) of a stated date: "2017/06/12", "2021-07-15T00:00:00Z", "2021/08" (year only), "2020",
    "Dec 20, 2006", "20 December 2006". A date without a day gives the year alone."""
    text = value.strip()
    m = _YMD.match(text)
    if m:
        month = int(m[2]) if m[2] else None
        if month is not None and not 1 <= month <= 12:
            month = None
        return _valid_date(int(m[1]), month, int(m[3]) if m[3] and month else None)
    for pattern, order in ((_MONTH_DAY_YEAR, (1, 2)), (_DAY_MONTH_YEAR, (2, 1))):
        m = pattern.search(text)
        if m and m[order[0]].lower() in _MONTHS:
            return _valid_date(int(m[3]), _MONTHS[m[order[0]].lower()], int(m[order[1]]))
    m = _ANY_YEAR.search(text)
    return (int(m[1]), None) if m else (None, None)


def _meta_tags(body: str) -> dict[str, list[str]]:
    """Every <meta name|property=... content=...> by lower-cased name, Dublin Core names made "dc."/"dcterms.",
    values in document order (attribute entities already decoded by the parser)."""
    from selectolax.lexbor import LexborHTMLParser

    tags: dict[str, list[str]] = {}
    for node in LexborHTMLParser(body).css("meta"):
        attrs = node.attributes
        content = attrs.get("content")
        if not content:
            continue
        for key in ("name", "property"):
            name = (attrs.get(key) or "").strip().lower()
            if name:
                name = _DC_PREFIX.sub(lambda m: f"{m[1]}.", name)
                tags.setdefault(name, []).append(content)
    return tags


def _first(tags: Mapping[str, list[str]], names: Sequence[str], limit: int) -> str | None:
    for name in names:
        for value in tags.get(name, ()):
            text = clean_text(value, limit)
            if text:
                return text
    return None


def _all(tags: Mapping[str, list[str]], names: Sequence[str]) -> list[str]:
    return [value for name in names for value in tags.get(name, ())]


def _http_url(value: str, base: str) -> str | None:
    """An absolute http(s) URL from a tag (relative ones resolved against the page), or None."""
    from urllib.parse import urljoin, urlsplit

    value = "".join(_CONTROL.sub("", value).split())
    if not value:
        return None
    try:
        url = urljoin(base, value)
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def _thumbnail(tags: Mapping[str, list[str]], page_url: str) -> str | None:
    """The page's picture of the paper (`og:image`), when it is one: an http(s) URL that fits its column, not the
    site's logo (arXiv's and bioRxiv's pages give theirs: "logo" in its URL or its og:image:alt) and not a pixel
    (an og:image:width or height of 1)."""
    if any(_ONE_PIXEL.fullmatch(v.strip()) for v in _all(tags, ("og:image:width", "og:image:height"))):
        return None
    if any("logo" in v.lower() for v in tags.get("og:image:alt", ())):
        return None
    for value in _all(tags, ("og:image:secure_url", "og:image", "og:image:url")):
        image = _http_url(value, page_url)
        if image is not None:
            return None if "logo" in image.lower() or len(image) > MAX_URL else image
    return None


def _doi_of(value: str) -> str | None:
    """The id a stated DOI gives ("doi:10.x/y", an arXiv DOI as "arxiv:..."), whatever wraps it: "doi:", a doi.org
    URL, "info:doi/"."""
    from digest.domain.paper_ids import doi_id

    m = _DOI_IN.search(value.strip())
    return doi_id(m[0]) if m else None


def _stated_ids(tags: Mapping[str, list[str]], pdf_url: str | None, page_url: str) -> tuple[str, tuple[str, ...]]:
    """(canonical id, the other ids) the page states. The arXiv id ranks first, then a DOI, else "" (the caller
    keeps its id). A second, different arXiv id or DOI is dropped, not merged: a page naming two is confused
    or names another work (a dataset, the journal), and merging would join two papers. Ids of other schemes
    that the PDF's or the page's own URL carries (an ACL or OpenReview id) go along in `same_as`."""
    from digest.domain.paper_ids import arxiv_id, canonical_id

    candidates: list[str] = []
    for value in _all(tags, ("citation_arxiv_id",)):
        found = arxiv_id(value) or (canonical_id(value.strip()) if value.strip().startswith("http") else None)
        if found:
            candidates.append(found)
    for value in _all(tags, ("citation_technical_report_number",)):
        if found := arxiv_id(value):
            candidates.append(found)
    for value in _all(tags, ("citation_doi", *_DC_IDENTIFIERS)):
        found = _doi_of(value)
        if found is None and value.strip().lower().startswith("arxiv:"):
            found = arxiv_id(value)
        if found:
            candidates.append(found)
    for url in (pdf_url, page_url):
        found = canonical_id(url) if url else None
        if found and not found.startswith(("url:", "title:")):
            candidates.append(found)
    arxiv = next((c for c in candidates if c.startswith("arxiv:")), None)
    doi = next((c for c in candidates if c.startswith("doi:")), None)
    kept = [c for c in dict.fromkeys(candidates) if c in (arxiv, doi) or not c.startswith(("arxiv:", "doi:"))]
    canonical = arxiv or doi or ""
    return canonical, tuple(c for c in kept if c != canonical)


def parse_landing(body: str, url: str) -> PaperMeta | None:
    """What a page's `citation_*` (else Dublin Core) tags say, or None when they give no title: then the page is
    not a paper (a blog post has `og:title` at most). `url` is the page's own (final) URL, against which a
    relative PDF link is resolved. Every value is untrusted text: markup in it is read, never kept."""
    tags = _meta_tags(body)
    title = _first(tags, ("citation_title",), MAX_TITLE) or _first(tags, _DC_TITLE, MAX_TITLE)
    if not title:
        return None
    raw_authors = tags.get("citation_author") or _all(tags, _DC_CREATORS) or _all(tags, _DC_CONTRIBUTORS)
    authors = tuple(a for a in (_author(v) for v in raw_authors[:MAX_AUTHORS]) if a)
    year: int | None = None
    published: datetime | None = None
    for value in _all(tags, ("citation_publication_date", "citation_date", "citation_online_date", *_DC_DATES)):
        y, when = parse_date(clean_text(value, 100))
        year = year or y
        # The first full date of the paper's year: "2021/08" in print, 2021-07-15 online. A date of another
        # year is another event (arXiv's citation_online_date is the latest version's).
        if published is None and when is not None and when.year == year:
            published = when
        if year and published:
            break
    pdf_url = next((u for u in (_http_url(v, url) for v in tags.get("citation_pdf_url", ())) if u), None)
    canonical, same_as = _stated_ids(tags, pdf_url, url)
    return PaperMeta(
        canonical_id=canonical,
        title=title,
        authors=authors,
        abstract=_first(tags, ("citation_abstract", *_DC_ABSTRACTS), MAX_ABSTRACT),
        published=published,
        pdf_url=pdf_url,
        venue=_first(
            tags, ("citation_conference_title", "citation_conference", "citation_journal_title", *_DC_VENUES), MAX_VENUE
        ),
        year=year,
        same_as=same_as,
        resolver="landing",
        thumbnail=_thumbnail(tags, url),
    )


# --- the polite reader -----------------------------------------------------------------------------------------


class _HostGate:
    """At most one request in flight per host, and `spacing` seconds from the end of one to the start of the
    next (the end, not the start: a slow server gets its full pause). Hosts are independent of each other."""

    def __init__(self, spacing: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.spacing = spacing
        self.clock = clock
        self.sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    @contextmanager
    def turn(self, host: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            last = self._last.get(host)
            if last is not None:
                wait = last + self.spacing - self.clock()
                if wait > 0:
                    self.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = self.clock()


def _where(url: str) -> tuple[str, str] | None:
    """(host, host:port) of an http(s) URL: politeness is owed to a host, reachability is a port's."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".")
    return host, f"{host}:{port or (443 if scheme == 'https' else 80)}"


def _host_of(url: str) -> str | None:
    where = _where(url)
    return where[0] if where else None


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# What _connect_failure (fetch/http.py) says when a host cannot be reached at all: its other pages are skipped.
_UNREACHABLE = ("timed out connecting", "connection refused", "host not found", "cannot connect")
_LOOKS_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|meta|title|body)[\s>/]", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


def _charset(content_type: str) -> str | None:
    m = re.search(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", content_type, re.IGNORECASE)
    return m[1] if m else None


def decode_html(body: bytes, content_type: str = "") -> str:
    """Bytes of a page as text: the HTTP charset, else a <meta charset> near the top, else UTF-8 when the bytes
    are UTF-8, else windows-1252 (HTML's default). A body cut at the cap may end inside a character, which is
    dropped (or replaced): the cut is ours, not the page's."""
    import codecs

    for name in (_charset(content_type), *(m.decode("ascii") for m in _META_CHARSET.findall(body[:4096])[:1])):
        if not name:
            continue
        try:
            codec = codecs.lookup(name)
        except LookupError:
            continue
        if codec.name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32") and b"\x00" not in body[:200]:
            continue  # a <meta> claiming UTF-16 over ASCII bytes is wrong, as browsers assume
        return body.decode(codec.name, errors="replace")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(body.removeprefix(b"\xef\xbb\xbf"), final=False)  # a cut mid-character is fine
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


class _Stop(Exception):
    """A result decided mid-exchange (a PDF, a 404, a busy host): carries it out of the reading loop."""

    def __init__(self, status: LandingStatus, error: str | None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class _SkipList:
    """What not to ask again during one call, with the reason to report: a host that said 429, a host:port that
    cannot be reached (its other pages would each wait out the connect timeout)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, str] = {}

    def add(self, host: str, reason: str) -> None:
        with self._lock:
            self._hosts.setdefault(host, reason)

    def get(self, host: str) -> str | None:
        with self._lock:
            return self._hosts.get(host)


def _refused(status: int, headers: Mapping[str, str], host: str, skip: _SkipList) -> None:
    """An answer that is not a page. A page that is gone is no paper (asking again will not help); anything else
    may pass, so it is "unreadable". A 429, or a 503 that says when to come back, silences the host for the
    rest of the call: its other pages are not asked for either."""
    from digest.fetch.http import status_reason

    reason = status_reason(status)
    retry_after = " ".join(headers.get("retry-after", "").split())[:60]
    if status == 429 or (status == 503 and retry_after):
        if retry_after:
            reason += f", Retry-After: {retry_after}"
        skip.add(host, f"skipped: {host} asked us to slow down ({reason})")
        raise _Stop("unreadable", f"{reason}; {host} is skipped for the rest of this run")
    raise _Stop("not_paper" if status in (404, 410) else "unreadable", reason)


class LandingReader:
    """Fetch landing pages politely and say for each whether it is a paper.

    Per host: one request in flight and `host_spacing` seconds between requests (redirect hops count for the
    host they go to); different hosts run at once on `workers` threads. A 429, or a 503 with Retry-After,
    silences its host for the rest of the call: that URL and the host's remaining ones come back
    "unreadable", to be read on a later run. At most `max_pages` distinct pages per call; URLs past the cap
    are left out of the answer (nothing was learned, and "unreadable" would count as a failed attempt).
    The same URL (fragment aside) is read once. Only HTML is read, and only its first `max_body_bytes`.
    `clock` and `sleep` are injected so tests check the spacing without waiting.
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        host_spacing: float = 1.0,
        max_pages: int = 200,
        timeout: float = 30.0,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        max_redirects: int = 5,
        workers: int = 4,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from digest.fetch.http import Limits, make_client

        self.max_pages = max_pages
        self.workers = max(1, workers)
        self.limits: Limits = Limits(
            timeout_connect=min(10.0, timeout),
            timeout_total=timeout,
            max_body_bytes=max_body_bytes,
            max_redirects=max_redirects,
        )
        self.client: Client = make_client(user_agent=user_agent, limits=self.limits, max_connections=self.workers)
        self._gate = _HostGate(host_spacing, clock, sleep)

    def __enter__(self) -> LandingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def read(self, urls: Sequence[str]) -> dict[str, LandingResult]:
        """A result for each URL read, keyed by the URL as given (see the class for those left out)."""
        from urllib.parse import urldefrag

        pages: dict[str, list[str]] = {}  # page URL (no fragment) -> the URLs given for it
        for url in urls:
            try:
                key = urldefrag(url.strip())[0]
            except ValueError:  # an unparsable URL ("http://[::1") is answered below, as not http(s)
                key = url.strip()
            if key in pages:
                pages[key].append(url)
            elif len(pages) < self.max_pages:
                pages[key] = [url]
        by_host: dict[str, list[str]] = {}
        answers: dict[str, LandingResult] = {}
        for page in pages:
            host = _host_of(page)
            if host is None:
                answers[page] = LandingResult(page, "not_paper", error=f"not an http(s) URL: {page[:200]!r}")
            else:
                by_host.setdefault(host, []).append(page)
        skip = _SkipList()

        def run(host_pages: list[str]) -> list[LandingResult]:
            return [self._read_safely(page, skip) for page in host_pages]

        groups = list(by_host.values())
        if self.workers == 1 or len(groups) <= 1:
            done = [run(group) for group in groups]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(self.workers, len(groups)), thread_name_prefix="landing") as pool:
                done = list(pool.map(run, groups))
        for results in done:
            for result in results:
                answers[result.url] = result
        out: dict[str, LandingResult] = {}
        for page, given in pages.items():
            result = answers[page]
            for url in given:
                out[url] = (
                    result
                    if url == page
                    else LandingResult(url, result.status, result.meta, result.error, result.final_url)
                )
        return out

    def _read_safely(self, page: str, skip: _SkipList) -> LandingResult:
        """One page's result; a failure of any kind is that page's "unreadable", never the whole call's."""
        from digest.fetch.http import FetchError

        try:
            return self._read_page(page, skip)
        except FetchError as exc:
            if exc.reason.startswith(_UNREACHABLE) and (where := _where(exc.url or page)):
                skip.add(where[1], f"skipped: {where[1]} could not be reached ({exc.reason})")
            return LandingResult(page, "unreadable", error=exc.reason, final_url=exc.url or page)
        except Exception as exc:  # a bug must not lose the other pages' answers; it is reported, and retried
            return LandingResult(
                page, "unreadable", error=f"could not read the page: {type(exc).__name__}: {exc}", final_url=page
            )

    def _read_page(self, page: str, skip: _SkipList) -> LandingResult:
        """Follow redirects hop by hop (each hop waits for its own host's turn), then read the HTML's first part."""
        import http.client
        from urllib.parse import urljoin

        from digest.fetch.http import (
            REDIRECTS,
            FetchError,
            exchange_failure,
            finish_exchange,
            headers_of,
            open_exchange,
        )

        deadline = time.monotonic() + self.limits.timeout_total
        current = page
        hops = 0
        while True:
            where = _where(current)
            if where is None:
                return LandingResult(
                    page, "not_paper", error=f"redirected to a non-http(s) URL: {current[:200]!r}", final_url=current
                )
            host, endpoint = where
            if (reason := skip.get(host) or skip.get(endpoint)) is not None:  # before waiting for a wasted turn
                return LandingResult(page, "unreadable", error=reason, final_url=current)
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {self.limits.timeout_total:g}s", url=current)
            with self._gate.turn(host):
                if (reason := skip.get(host) or skip.get(endpoint)) is not None:  # learned while this one waited
                    return LandingResult(page, "unreadable", error=reason, final_url=current)
                conn, response, key = open_exchange(self.client, current, {"Accept": _ACCEPT}, self.limits, deadline)
                reusable = False
                try:
                    status = response.status
                    headers = headers_of(response)
                    if status in REDIRECTS and "location" in headers:
                        reusable = len(response.read(65537)) <= 65536  # a "moved" note, read to keep the connection
                        if hops >= self.limits.max_redirects:
                            raise FetchError(f"more than {self.limits.max_redirects} redirects", url=current)
                        hops += 1
                        current = urljoin(current, headers["location"].strip())
                        continue
                    if not 200 <= status < 300:
                        _refused(status, headers, host, skip)
                    body, reusable = self._read_html(response, headers, deadline)
                except _Stop as stop:
                    return LandingResult(page, stop.status, error=stop.error, final_url=current)
                except (OSError, http.client.HTTPException) as exc:
                    raise FetchError(exchange_failure(exc, self.limits), url=current) from None
                finally:
                    finish_exchange(self.client, key, conn, response, reusable)
            meta = parse_landing(decode_html(body, headers.get("content-type", "")), current)
            if meta is None:
                return LandingResult(page, "not_paper", final_url=current)
            return LandingResult(page, "paper", meta=meta, final_url=current)

    def _read_html(
        self, response: http.client.HTTPResponse, headers: Mapping[str, str], deadline: float
    ) -> tuple[bytes, bool]:
        """The first `max_body_bytes` of an HTML answer (decompressed, bounded as fetch/http.py bounds it) and
        whether the whole answer was read (then the connection can be kept). Another type is no paper, and is
        not read: a PDF's megabytes say nothing about a landing page."""
        from digest.fetch.http import Decoder, FetchError

        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type and content_type not in _HTML_TYPES:
            raise _Stop("not_paper", f"not a web page: {content_type[:100]}")
        cap = self.limits.max_body_bytes
        # http.py's decoder refuses a body past its limit; here a body past the cap is cut, not refused. With a
        # limit of twice the cap and compressed input fed in pieces that cannot inflate past the cap (deflate
        # expands a byte at most ~1032-fold), the decoder never refuses while less than the cap is read.
        encoding = headers.get("content-encoding", "")
        decoder = Decoder(encoding, 2 * cap)
        step = max(64, cap // 1040) if encoding.strip().lower() not in ("", "identity") else 16384
        parts: list[bytes] = []
        size = 0
        complete = False
        while size < cap:
            chunk = response.read1(16384)
            try:
                if not chunk:
                    parts.append(decoder.flush())
                    complete = True
                    break
                for at in range(0, len(chunk), step):
                    data = decoder.feed(chunk[at : at + step])
                    parts.append(data)
                    size += len(data)
                    if size >= cap:
                        break
            except FetchError:
                if not size:
                    raise
                break  # a corrupt tail after a readable start: the start holds the <head>
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {self.limits.timeout_total:g}s reading the body")
        body = b"".join(parts)[:cap]
        if not content_type and (body.lstrip()[:5] == b"%PDF-" or not _LOOKS_HTML.search(body[:4096])):
            raise _Stop("not_paper", "not a web page: no Content-Type, and the body is not HTML")
        return body, complete
