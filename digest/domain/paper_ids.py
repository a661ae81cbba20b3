"""Canonical paper ids from URLs: one id per paper whatever URL points at it. Pure functions.

Forms (scripts and tests compare these strings):
  arxiv:2401.05566  arxiv:hep-th/9901001  openreview:<forum id>  neurips:<year>/<32 hex>  neurips:paper/<n>
  pmlr:v<N>/<key>  jmlr:v<N>/<key>  acl:<id>  cvf:<conf>/<key>  doi:<lower-cased doi>  hdl:<prefix>/<suffix>
  url:<host/path>  (a PDF, a publication page on a known scholarly host, or any path that names a paper)
  title:<normalised title>  (a paper a listing names without a link, until a resolver finds its real id)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, quote, unquote, urlsplit

# --- arXiv --------------------------------------------------------------------------------------------

# Archives that existed under the old identifier scheme (before 2007-04), subject classes dropped.
OLD_ARXIV_ARCHIVES = frozenset(
    {
        "acc-phys",
        "adap-org",
        "alg-geom",
        "ao-sci",
        "astro-ph",
        "atom-ph",
        "bayes-an",
        "chao-dyn",
        "chem-ph",
        "cmp-lg",
        "comp-gas",
        "cond-mat",
        "cs",
        "dg-ga",
        "funct-an",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math",
        "math-ph",
        "mtrl-th",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "patt-sol",
        "physics",
        "plasm-ph",
        "q-alg",
        "q-bio",
        "quant-ph",
        "solv-int",
        "supr-con",
    }
)
_NEW_ARXIV = re.compile(r"(\d{2})(\d{2})\.(\d{4,5})(?:v\d+)?")
_OLD_ARXIV = re.compile(r"([A-Za-z][A-Za-z-]*)(?:\.[A-Za-z][A-Za-z-]*)?/(\d{2})(\d{2})(\d{3})(?:v\d+)?")


def arxiv_id(text: str) -> str | None:
    """The version-less arXiv id in `text` (a bare id, `arXiv:` prefixed), if it obeys arXiv's grammar."""
    text = text.strip()
    if text[:6].lower() == "arxiv:":
        text = text[6:]
    m = _NEW_ARXIV.fullmatch(text)
    if m:
        yy, mm, number = int(m[1]), int(m[2]), m[3]
        if not 1 <= mm <= 12 or int(number) == 0:
            return None
        if (yy, mm) < (7, 4) or yy >= 91:  # the new scheme started in April 2007 (9912.x is not 2099)
            return None
        digits = 4 if yy < 15 else 5  # four digits until 2014-12, five from 2015
        if len(number) != digits:
            return None
        return f"arxiv:{m[1]}{m[2]}.{number}"
    m = _OLD_ARXIV.fullmatch(text)
    if m:
        archive, yy, mm, number = m[1].lower(), int(m[2]), int(m[3]), int(m[4])
        if archive not in OLD_ARXIV_ARCHIVES or not 1 <= mm <= 12 or number == 0:
            return None
        year = 1900 + yy if yy >= 91 else 2000 + yy
        if not (1991 <= year <= 2007) or (year, mm) > (2007, 3):
            return None
        return f"arxiv:{archive}/{m[2]}{m[3]}{m[4]}"
    return None


def _arxiv_from_path(path: str) -> str | None:
    # /abs/<id>, /pdf/<id>[.pdf], /html/<id>[/...], /format/<id>; old ids contain one slash.
    m = re.match(r"/(?:abs|pdf|html|format|ps)/(.+?)(?:\.pdf)?/?$", path)
    if not m:
        return None
    rest = unquote(m[1])
    parts = rest.split("/")
    # /html/<id>/<fragment-ish> (HTML versions have sub-pages): try the longest prefix that is an id.
    for n in (2, 1):
        candidate = arxiv_id("/".join(parts[:n]))
        if candidate:
            return candidate
    return None


# --- DOI and handles ----------------------------------------------------------------------------------

_DOI = re.compile(r"10\.\d{4,9}/\S+")
_TRAILING = re.compile(r"[.,;:'\"\]}>]+$")
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(.+)", re.IGNORECASE)


def doi_id(raw: str) -> str | None:
    """`doi:` + the DOI lower-cased and percent-decoded; trailing sentence punctuation is not part of it."""
    doi = _TRAILING.sub("", unquote(raw).strip())
    while doi.endswith(")") and doi.count("(") < doi.count(")"):  # DOIs may hold balanced parentheses
        doi = _TRAILING.sub("", doi[:-1])
    if not _DOI.fullmatch(doi):
        return None
    m = _ARXIV_DOI.fullmatch(doi)
    if m:
        return arxiv_id(m[1])
    return f"doi:{doi.lower()}"


def _hdl(path: str) -> str | None:
    m = re.fullmatch(r"/([^/]+)/(.+?)/?", unquote(path))
    if not m or not re.fullmatch(r"[\w.-]+", m[1]):
        return None
    return f"hdl:{m[1]}/{m[2]}"


# --- venues --------------------------------------------------------------------------------------------

_NEURIPS_HASH = re.compile(r"/paper(?:_files/paper)?/(\d{4})/(?:hash|file)/([0-9a-f]{32})-", re.IGNORECASE)
_NEURIPS_VIRTUAL = re.compile(r"/virtual/(\d{4})/public/poster_([0-9a-f]{32})\.html$", re.IGNORECASE)
_NIPS_LEGACY = re.compile(r"/paper/(\d+)-[^/]+?(?:\.pdf)?/?$")
_PMLR = re.compile(r"/(v\d+)/([^/]+?)(?:/\2)?(?:\.html|\.pdf|-supp\.pdf)?/?$")
_JMLR = re.compile(r"/papers/(?:v|volume)(\d+)/([^/]+?)(?:/\2)?(?:\.html|\.pdf)?/?$")
_ACL = re.compile(r"/(?:anthology/)?(\d{4}\.[a-z0-9-]+\.\d+|[A-Z]\d{2}-\d{4})(?:v\d+)?(?:\.pdf)?/?$")
_CVF = re.compile(
    r"/content[_/]([A-Za-z]+_?\d{4}(?:_workshops/[^/]+)?)/(?:html|papers)/(?:[^/]+/)?([^/]+?)\.(?:html|pdf)$"
)
_ICLR_VIRTUAL = re.compile(r"/virtual(?:_\d{4}|/\d{4})?/poster_([A-Za-z0-9_-]+)\.html$")
_OPENREVIEW_ID = re.compile(r"[A-Za-z0-9_-]{5,}")
_CONF_VIRTUAL_NUMERIC = re.compile(r"/virtual/(\d{4})/(?:poster|oral|spotlight)/(\d+)$")

# Hosts whose publication pages are papers without a canonical scheme: their id is url:<host/path>.
SCHOLARLY_HOSTS: dict[str, re.Pattern[str]] = {
    "researchgate.net": re.compile(r"^/publication/\d+"),
    "ieeexplore.ieee.org": re.compile(r"^/(?:abstract/)?document/\d+"),
    "sciencedirect.com": re.compile(r"^/science/article/(?:abs/)?pii/\w+"),
    "semanticscholar.org": re.compile(r"^/paper/(?:[^/]+/)?[0-9a-f]{40}$"),
    "icml.cc": _CONF_VIRTUAL_NUMERIC,
    "iclr.cc": _CONF_VIRTUAL_NUMERIC,
    "neurips.cc": _CONF_VIRTUAL_NUMERIC,
    "nips.cc": _CONF_VIRTUAL_NUMERIC,
}
# Hosts whose article URLs carry a DOI in the path: the id is that DOI, so they merge with doi.org links.
_DOI_IN_PATH = re.compile(r"/(?:doi/(?:abs/|full/|pdf/|epdf/|book/)?|article/|chapter/|book/)(10\.\d{4,9}/[^?#]+)")
DOI_HOSTS = frozenset(
    {
        "dl.acm.org",
        "link.springer.com",
        "onlinelibrary.wiley.com",
        "science.org",
        "pnas.org",
        "tandfonline.com",
        "journals.sagepub.com",
        "pubs.acs.org",
        "iopscience.iop.org",
        "academic.oup.com",
        "journals.plos.org",
        "cell.com",
        "aps.org",
        "journals.aps.org",
    }
)
# Never papers, even when they end in .pdf: code hosts, social media, images.
NOT_PAPER_HOSTS = frozenset(
    {
        "github.com",
        "gitlab.com",
        "bitbucket.org",
        "twitter.com",
        "x.com",
        "facebook.com",
        "linkedin.com",
        "youtube.com",
        "youtu.be",
        "reddit.com",
        "instagram.com",
        "substackcdn.com",
        "medium.com",
        "cdn-images-1.medium.com",
        "miro.medium.com",
        "unsplash.com",
        "imgur.com",
        "i.imgur.com",
        "join.slack.com",
        "discord.gg",
        "t.me",
        "docs.google.com",
        "drive.google.com",
        "wikipedia.org",
        "en.wikipedia.org",
        "colab.research.google.com",
        "kaggle.com",
        "paperswithcode.com",
    }
)
_IMAGE_EXT = re.compile(r"\.(?:png|jpe?g|gif|webp|svg|bmp|tiff?)$", re.IGNORECASE)


def _host(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    for prefix in ("www.", "export.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host


def _on_any(host: str, domains: Container[str]) -> str | None:
    """The listed domain `host` is on (itself or a subdomain), if any: "a.b.example.org" is looked up as itself,
    b.example.org, example.org and org, one set lookup per label. Slicing at each dot rather than building the list
    of parent domains: a link is checked against three such lists, and building the list was a large share of
    canonical_id."""
    at = 0
    while True:
        if host[at:] in domains:
            return host[at:]
        at = host.find(".", at) + 1
        if not at:
            return None


def normalized_url_id(host: str, path: str) -> str:
    path = re.sub(r"/{2,}", "/", unquote(path)).rstrip("/")
    return f"url:{host}{path}"


ARXIV_HOSTS = frozenset({"arxiv.org", "ar5iv.org", "ar5iv.labs.arxiv.org", "alphaxiv.org"})
# Hosts with id forms of their own (_from_known_host): a path there that is none of them names no paper.
_OWN_FORMS = frozenset(
    {
        "huggingface.co",
        "openreview.net",
        "doi.org",
        "dx.doi.org",
        "hdl.handle.net",
        "proceedings.neurips.cc",
        "papers.nips.cc",
        "papers.neurips.cc",
        "proceedings.mlr.press",
        "jmlr.org",
        "aclanthology.org",
        "aclweb.org",
        "openaccess.thecvf.com",
        "nature.com",
    }
)


def _from_known_host(host: str, path: str, query: str) -> str | None:
    if host in ARXIV_HOSTS:
        if host == "alphaxiv.org":
            m = re.match(r"/(?:abs|overview|pdf)/(.+?)/?$", path)
            return arxiv_id(unquote(m[1])) if m else None
        return _arxiv_from_path(path)
    if host == "huggingface.co":
        m = re.fullmatch(r"/papers/([^/]+?)/?", path)
        return arxiv_id(m[1]) if m else None  # model and dataset pages are not papers
    if host == "openreview.net":
        if path.rstrip("/") in ("/forum", "/pdf", "/attachment"):
            ids = parse_qs(query).get("id")
            if ids and _OPENREVIEW_ID.fullmatch(ids[0]):
                return f"openreview:{ids[0]}"
        return None
    if host in ("doi.org", "dx.doi.org"):
        return doi_id(path.lstrip("/"))
    if host == "hdl.handle.net":
        return _hdl(path)
    if host in ("proceedings.neurips.cc", "papers.nips.cc", "papers.neurips.cc", "neurips.cc", "nips.cc"):
        m = _NEURIPS_HASH.search(path) or _NEURIPS_VIRTUAL.search(path)
        if m:
            return f"neurips:{m[1]}/{m[2].lower()}"
        if host == "papers.nips.cc":
            m = _NIPS_LEGACY.search(path)
            if m:
                return f"neurips:paper/{m[1]}"
        return None
    if host == "proceedings.mlr.press":
        m = _PMLR.fullmatch(path)
        return f"pmlr:{m[1]}/{m[2]}" if m else None
    if host == "jmlr.org":
        m = _JMLR.fullmatch(path)
        return f"jmlr:v{m[1]}/{m[2]}" if m else None
    if host in ("aclanthology.org", "aclweb.org"):
        m = _ACL.fullmatch(path)
        return f"acl:{m[1]}" if m else None
    if host == "openaccess.thecvf.com":
        m = _CVF.fullmatch(path)
        return f"cvf:{m[1]}/{m[2]}" if m else None
    if host == "iclr.cc":
        m = _ICLR_VIRTUAL.search(path)
        if m:
            return f"openreview:{m[1]}"
    if host == "nature.com":
        m = re.fullmatch(r"/articles/([A-Za-z0-9.-]+?)(?:\.pdf)?/?", path)
        return f"doi:10.1038/{m[1].lower()}" if m else None
    if _on_any(host, DOI_HOSTS):
        m = _DOI_IN_PATH.search(path)
        return doi_id(m[1]) if m else None
    return None


@dataclass(frozen=True)
class PaperRule:
    """A user's rule from config: URLs matching `pattern` are the paper `template` (e.g. "openreview:{id}")."""

    pattern: re.Pattern[str]
    template: str

    def apply(self, url: str) -> str | None:
        m = self.pattern.search(url)
        if not m:
            return None
        try:
            produced = self.template.format(*m.groups(), **m.groupdict())
        except (IndexError, KeyError):
            return None
        return canonical_from_id(produced)


def canonical_from_id(text: str) -> str | None:
    """Re-canonicalise an id produced by a rule, so `arxiv:2401.05566v2` from a rule still merges."""
    scheme, _, rest = text.partition(":")
    scheme = scheme.strip().lower()
    rest = rest.strip()
    if not rest or not re.fullmatch(r"[a-z][a-z0-9-]*", scheme):
        return None
    if scheme == "arxiv":
        return arxiv_id(rest)
    if scheme == "doi":
        return doi_id(rest)
    return f"{scheme}:{rest}"


# An http(s) URL of printable ASCII without brackets (no IPv6 host to validate, nothing for urlsplit to strip
# or remove) splits as urlsplit splits it; a post links several URLs, mostly each once, and urlsplit's Python
# was much of finding a post's papers.
_PLAIN_HTTP = re.compile(
    r"([hH][tT][tT][pP][sS]?)://([^/?#\[\]\x00-\x20\x7f]*)((?:/[^?#\x00-\x20\x7f]*)?)"
    r"(?:\?([^#\x00-\x20\x7f]*))?(?:#[^\x00-\x20\x7f]*)?"
)


def http_parts(url: str) -> tuple[str, str, str] | None:
    """(netloc, path, query) of an http(s) URL as urlsplit gives them; None for any other URL."""
    m = _PLAIN_HTTP.fullmatch(url) if url.isascii() else None
    if m is not None:
        return m[2], m[3], m[4] or ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return (parts.netloc, parts.path, parts.query) if parts.scheme in ("http", "https") else None


def canonical_id(url: str, rules: Sequence[PaperRule] = ()) -> str | None:
    """The paper a URL points at, or None when it is not a paper."""
    return _canonical_cached(url, tuple(rules))


@lru_cache(maxsize=65536)
def _canonical_cached(url: str, rules: tuple[PaperRule, ...]) -> str | None:
    # Pure, and the same links recur across posts and feeds (subscribe, share, the week's papers).
    for rule in rules:
        found = rule.apply(url)
        if found:
            return found
    split = http_parts(url.strip())
    if split is None:
        return None
    netloc, path, query = split
    host = _host(netloc)
    path = path or "/"
    if _IMAGE_EXT.search(path):  # a figure is not its paper, even under the paper's own URL
        return None
    known = _from_known_host(host, path, query)
    if known:
        return known
    if host in ARXIV_HOSTS:  # an arXiv URL whose id fails arXiv's grammar is not a paper, PDF or not
        return None
    if host in _OWN_FORMS and not path.lower().endswith(".pdf"):
        return None  # a host whose paper URLs we know: what is not one of them is not a paper
    if _on_any(host, NOT_PAPER_HOSTS):
        return None
    scholarly = _on_any(host, SCHOLARLY_HOSTS)
    if scholarly and SCHOLARLY_HOSTS[scholarly].search(path):
        return normalized_url_id(host, path)
    if path.lower().endswith(".pdf"):
        return normalized_url_id(host, path)
    return path_named_id(host, path, query)


# The hosts _from_known_host reads ids from, beside DOI_HOSTS (and SCHOLARLY_HOSTS), which count with subdomains.
_ID_HOSTS = ARXIV_HOSTS | _OWN_FORMS | {"neurips.cc", "nips.cc", "iclr.cc"}


def publication_id(url: str, rules: Sequence[PaperRule] = ()) -> str | None:
    """The paper a URL *is*, for an item's own link: canonical_id, less the `url:` ids only a path names
    (/papers/<slug>): a site's own posts may live there, and a post is not the paper it discusses. A PDF and a
    scholarly host's publication page are the paper.

    Every item of every feed asks, and most are posts on their blog: without a rule, a URL off the hosts with id
    forms that is no PDF is answered from its host, not through canonical_id (slower, and a cache entry)."""
    split = http_parts(url.strip())
    if split is None:
        return None
    netloc, path, _query = split
    host = _host(netloc)
    pdf = path.lower().endswith(".pdf")
    scholarly = _on_any(host, SCHOLARLY_HOSTS)
    if not (rules or pdf or scholarly or host in _ID_HOSTS or _on_any(host, DOI_HOSTS)):
        return None
    paper_id = canonical_id(url, rules)
    if paper_id is None or not paper_id.startswith("url:"):
        return paper_id
    if pdf or (scholarly is not None and SCHOLARLY_HOSTS[scholarly].search(path)):
        return paper_id
    return None


# A path that names one paper on any host: /paper/<id>, /papers/<id>, /poster/<n>, /forum?id=<id> (conference
# virtual sites, paper finders, lab pages, OpenReview mirrors). The id segment must look like an id, not a
# listing ("/papers/", "/papers/2024", "/paper/index.html", "/papers/tags/rl").
_PAPER_PATH = re.compile(r"/(?:papers?|posters?)/(\d+|[A-Za-z0-9][\w.~-]{2,})(?:/[\w.~%-]*)?/?$")
_NOT_AN_ID = re.compile(
    r"(?:19|20)\d{2}|index(?:\.\w+)?|all|list|search|tags?|page|latest|new|top|trending"
    r"|browse|accepted|submit|about|feed|rss",
    re.IGNORECASE,
)


_NOT_THE_PAPER = frozenset(
    {
        "slides",
        "code",
        "video",
        "videos",
        "poster",
        "supplementary",
        "supplemental",
        "supp",
        "bib",
        "bibtex",
        "reviews",
        "review",
        "comments",
        "discussion",
        "data",
        "figures",
    }
)


def path_named_id(host: str, path: str, query: str = "") -> str | None:
    """`url:<host/path>` for a link whose path names a paper on a host without an id scheme of its own."""
    if path.rstrip("/").endswith("/forum") and query:
        ids = parse_qs(query).get("id")
        if ids and _OPENREVIEW_ID.fullmatch(ids[0]):
            return f"{normalized_url_id(host, path)}?id={ids[0]}"
        return None
    m = _PAPER_PATH.search(path)
    if m is None or _NOT_AN_ID.fullmatch(m[1]):
        return None
    tail = path[m.end(1) :].strip("/").lower()
    if tail and (tail in _NOT_THE_PAPER or "." in tail):
        return None  # /paper/<id>/slides, /paper/<id>/code, /papers/<id>/figure.html: about the paper
    kind = path[m.start() + 1 :].split("/", 1)[0]
    if kind.startswith("poster") and not m[1].isdigit() and not re.fullmatch(r"[\w-]*\d[\w-]*", m[1]):
        return None  # /poster/<n>: a poster page is numbered; /posters/about is a page about posters
    return normalized_url_id(host, path)


def candidate_id(url: str) -> str | None:
    """The id a link would have were its page a paper: `url:<host/path>[?query]`, for http(s) links off the
    hosts that are never papers. Only a landing page read later makes it one (see clean/mentions.py)."""
    split = http_parts(url.strip())
    if split is None:
        return None
    netloc, path, query = split
    host = _host(netloc)
    if not host or _IMAGE_EXT.search(path) or host in ARXIV_HOSTS or _on_any(host, NOT_PAPER_HOSTS):
        return None
    paper_id = normalized_url_id(host, path or "/")
    return f"{paper_id}?{query}" if query else paper_id


# When two ids turn out to be one paper, the paper keeps the one that ranks first; the others become aliases.
ID_PRECEDENCE = ("arxiv", "openreview", "neurips", "pmlr", "jmlr", "acl", "cvf", "doi", "hdl", "url", "title")


def id_rank(paper_id: str) -> float:
    """Lower is stronger: arxiv 0 ... title 10; an unknown scheme (a user rule's) ranks just above url:."""
    scheme = paper_id.partition(":")[0]
    try:
        return ID_PRECEDENCE.index(scheme)
    except ValueError:
        return ID_PRECEDENCE.index("url") - 0.5


@lru_cache(maxsize=1 << 14)  # a run asks again for the same titles (batch lookups, then resolving)
def normalize_title(title: str) -> str:
    """Case, punctuation and whitespace folded: "BERT: Pre-training…" == "bert pre training"."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", title).casefold()))


def title_id(title: str) -> str | None:
    """`title:` + the normalised title: the id of a paper known only by its title (a pasted listing)."""
    norm = normalize_title(title)
    return f"title:{norm}" if len(norm) >= 8 else None  # "HyperNetworks" is one; "BERT" says too little


def compile_rules(rules: Sequence[tuple[str, str]]) -> list[PaperRule]:
    return [PaperRule(re.compile(pattern), template) for pattern, template in rules]


# --- where a paper lives --------------------------------------------------------------------------------

_PATH_SAFE = "/:;()[]@!$&'*+,="


_LANDING: dict[str, Callable[[str], str]] = {
    "arxiv": lambda r: f"https://arxiv.org/abs/{r}",
    "openreview": lambda r: f"https://openreview.net/forum?id={r}",
    # DOIs and handles may hold "#", "?" or "%": escaped, so the URL still names the whole id
    "doi": lambda r: f"https://doi.org/{quote(r, safe=_PATH_SAFE)}",
    "hdl": lambda r: f"https://hdl.handle.net/{quote(r, safe=_PATH_SAFE)}",
    "acl": lambda r: f"https://aclanthology.org/{r}/",
    "pmlr": lambda r: f"https://proceedings.mlr.press/{r}.html",
}


def landing_url(paper_id: str, seen_url: str | None = None) -> str | None:
    """The page a reader should open for a paper: the abstract page for known schemes."""
    scheme, _, rest = paper_id.partition(":")
    build = _LANDING.get(scheme)
    return build(rest) if build is not None else (seen_url or None)


def pdf_url(paper_id: str, seen_url: str | None = None) -> str | None:
    scheme, _, rest = paper_id.partition(":")
    if scheme == "arxiv":
        return f"https://arxiv.org/pdf/{rest}"
    if scheme == "openreview":
        return f"https://openreview.net/pdf?id={rest}"
    if scheme == "acl":
        return f"https://aclanthology.org/{rest}.pdf"
    if seen_url and ".pdf" in seen_url.lower() and urlsplit(seen_url).path.lower().endswith(".pdf"):
        return seen_url
    return None


_SCHEME_NAMES = {
    "arxiv": "arXiv",
    "openreview": "OpenReview",
    "neurips": "NeurIPS",
    "pmlr": "PMLR",
    "jmlr": "JMLR",
    "acl": "ACL Anthology",
    "cvf": "CVF",
    "doi": "DOI",
    "hdl": "Handle",
}


def display_id(canonical_id: str) -> str:
    """How a card names a paper nobody named: by its id, readable ("arXiv 2301.00001", "lab.org/paper/7"),
    never by a guess."""
    scheme, _, rest = canonical_id.partition(":")
    if scheme in ("url", "title"):
        return rest
    return f"{_SCHEME_NAMES.get(scheme, scheme)} {rest}"
