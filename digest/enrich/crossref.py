"""Crossref's REST API as a resolver for `doi:` ids: the registration agency's own record of a DOI.

DOIs are asked in batches with one filter repeated, `GET /works?filter=doi:A,doi:B&rows=N`: Crossref applies
the same filter given several times with OR semantics (rest-api-doc, README "Filter names"). The answer is a
`work-list` whose items are matched to the asked DOIs by their `DOI` field, never by position; DOIs Crossref
does not hold (DataCite's, arXiv's among them) are absent. A DOI with a comma cannot be written in a filter and
is asked alone at `GET /works/{doi}` (404: unknown). A batch Crossref refuses as malformed (HTTP 400) is halved
until the DOI it refused stands alone, which is then asked at `/works/{doi}`: one odd DOI costs its own lookup.

Requests carry `mailto` when one is configured, which sends them to Crossref's "polite" pool. Titles and
abstracts are JATS XML fragments (`<jats:p>`, `<scp>`, entities): they are read as text. `relation` entries
`has-preprint`, `is-preprint-of` and `is-identical-to` name the same paper under another DOI (or arXiv id) and
become `same_as`.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from digest.domain.papers import PaperMeta
from digest.enrich import EnrichUnavailable
from digest.enrich.polite import PoliteApi, failure, read_json

if TYPE_CHECKING:
    import httpx

API_URL = "https://api.crossref.org"
LABEL = "Crossref API"
MAX_BATCH = 100  # DOIs per filter: keeps the URL well under what servers accept (rows may go to 1000)
SAME_PAPER = ("has-preprint", "is-preprint-of", "is-identical-to")

_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w:.-]*)[^>]*?>")
# JATS/HTML elements inside a run of text: removed without a space ("<scp>T</scp>reebase" is "Treebase").
_INLINE = frozenset(
    {
        "italic",
        "bold",
        "sup",
        "sub",
        "sc",
        "scp",
        "underline",
        "monospace",
        "roman",
        "sans-serif",
        "inline-formula",
        "tex-math",
        "mml:math",
        "i",
        "b",
        "em",
        "strong",
        "u",
        "span",
        "a",
        "ext-link",
        "named-content",
        "styled-content",
        "xref",
        "strike",
        "overline",
    }
)
_ABSTRACT_HEADING = re.compile(
    r"<\s*(?:jats:)?title\s*>\s*abstract\s*[.:]?\s*<\s*/\s*(?:jats:)?title\s*>", re.IGNORECASE
)


def jats_text(fragment: object) -> str | None:
    """Plain text of a JATS or HTML fragment: tags removed (block ones leave a space), entities decoded."""
    if not isinstance(fragment, str):
        return None
    fragment = _ABSTRACT_HEADING.sub(" ", fragment)  # the "Abstract" heading an abstract opens with

    def replace(m: re.Match[str]) -> str:
        name = m[2].lower()
        local = name.rsplit(":", 1)[-1]
        return "" if name in _INLINE or local in _INLINE else " "

    text = html.unescape(_TAG.sub(replace, fragment))
    return " ".join(text.split()) or None


def _first_text(value: object) -> str | None:
    """Crossref gives titles and container titles as lists; the first one that has text."""
    for candidate in value if isinstance(value, list) else [value]:
        text = jats_text(candidate)
        if text:
            return text
    return None


def _date_parts(value: object) -> list[int | None]:
    """`{"date-parts": [[2015, 11, 19]]}` -> [2015, 11, 19]; Crossref also sends `[[null]]` and partial dates."""
    if not isinstance(value, Mapping):
        return []
    parts = value.get("date-parts")
    if not (isinstance(parts, list) and parts and isinstance(parts[0], list)):
        return []
    return [p if isinstance(p, int) and not isinstance(p, bool) else None for p in parts[0]]


def _published(item: Mapping[str, Any]) -> datetime | None:
    """The day of publication when Crossref knows the day; a month or a year alone is no date. `published` is
    Crossref's earliest of print and online; when it lacks the day, `published-online` may be a later
    digitisation (a 1997 article put online in 2005), so only `issued` is consulted after it."""
    for key in ("published", "issued"):
        parts = _date_parts(item.get(key))
        if len(parts) >= 3 and all(parts[:3]):
            try:
                return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)  # type: ignore[arg-type]
            except ValueError:
                return None
    return None


def _year(item: Mapping[str, Any]) -> int | None:
    for key in ("issued", "published", "published-online", "published-print"):
        parts = _date_parts(item.get(key))
        if parts and parts[0]:
            return parts[0]
    return None


def _author(entry: object) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    if entry.get("name"):  # an organisation, a consortium
        return jats_text(entry.get("name"))
    name = " ".join(t for t in (jats_text(entry.get("given")), jats_text(entry.get("family"))) if t)
    return name or None


def same_paper_ids(relation: object) -> tuple[str, ...]:
    """Our ids for the relations that name the same paper elsewhere (its preprint, its published version)."""
    from digest.domain.paper_ids import arxiv_id, doi_id

    if not isinstance(relation, Mapping):
        return ()
    found: list[str] = []
    for kind in SAME_PAPER:
        for entry in relation.get(kind) or ():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
                continue
            id_type = str(entry.get("id-type", "")).lower()
            read = {"doi": doi_id, "arxiv": arxiv_id}.get(id_type)
            canonical = read(entry["id"]) if read else None
            if canonical:
                found.append(canonical)
    return tuple(dict.fromkeys(found))


def work_meta(item: Mapping[str, Any], *, resolver: str = "crossref") -> PaperMeta | None:
    """One Crossref work as our metadata, keyed by the DOI it states (None when it states none)."""
    from digest.domain.paper_ids import doi_id

    canonical = doi_id(item["DOI"]) if isinstance(item.get("DOI"), str) else None
    if canonical is None:
        return None
    return PaperMeta(
        canonical_id=canonical,
        title=_first_text(item.get("title")),
        authors=tuple(name for a in item.get("author") or () if (name := _author(a))),
        abstract=jats_text(item.get("abstract")),
        published=_published(item),
        venue=_first_text(item.get("container-title")),
        year=_year(item),
        same_as=tuple(i for i in same_paper_ids(item.get("relation")) if i != canonical),
        resolver=resolver,
    )


def parse_works(body: bytes) -> list[Mapping[str, Any]]:
    """The works of a Crossref answer: a `work-list`'s items, or a single `work`."""
    doc = read_json(LABEL, body)
    if not isinstance(doc, Mapping) or doc.get("status") != "ok":
        raise EnrichUnavailable(f"{LABEL} answered without status ok")
    message = doc.get("message")
    kind = doc.get("message-type")
    if kind == "work" and isinstance(message, Mapping):
        return [message]
    if kind == "work-list" and isinstance(message, Mapping) and isinstance(message.get("items"), list):
        return [item for item in message["items"] if isinstance(item, Mapping)]
    raise EnrichUnavailable(f"{LABEL} answered a {kind!r} message, not works")


def by_doi(asked: Sequence[str], works: Sequence[Mapping[str, Any]]) -> dict[str, PaperMeta]:
    """The works that answer an asked id, matched by the DOI they state; others are ignored."""
    wanted = set(asked)
    found: dict[str, PaperMeta] = {}
    for item in works:
        meta = work_meta(item)
        if meta is not None and meta.canonical_id in wanted:
            found[meta.canonical_id] = meta
    return found


class CrossrefEnricher:
    """`doi:` ids, up to `batch_size` a request, requests `spacing` seconds apart."""

    name = "crossref"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_url: str = API_URL,
        mailto: str | None = None,
        batch_size: int = 50,
        spacing: float = 1.0,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.mailto = mailto
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.api = PoliteApi(
            client, label=LABEL, spacing=spacing, max_retry_wait=max_retry_wait, clock=clock, sleep=sleep
        )

    def wants(self, canonical_id: str) -> bool:
        return canonical_id.startswith("doi:")

    def _params(self, **params: Any) -> dict[str, Any]:
        return {**params, "mailto": self.mailto} if self.mailto else params

    def _one(self, canonical: str) -> dict[str, PaperMeta]:
        doi = canonical.removeprefix("doi:")
        response = self.api.request("GET", f"{self.api_url}/works/{quote(doi, safe='/')}", params=self._params())
        if response.status_code in (400, 404):
            return {}  # "Resource not found." (plain text): not a Crossref DOI
        if response.status_code != 200:
            raise failure(LABEL, response)
        return by_doi([canonical], parse_works(response.content))

    def _batch(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        filter_ = ",".join(f"doi:{i.removeprefix('doi:')}" for i in ids)
        response = self.api.request("GET", f"{self.api_url}/works", params=self._params(filter=filter_, rows=len(ids)))
        if response.status_code == 400:  # a DOI Crossref cannot filter on refuses its batch: find it, keep the rest
            if len(ids) == 1:
                return self._one(ids[0])
            half = len(ids) // 2
            return {**self._batch(ids[:half]), **self._batch(ids[half:])}
        if response.status_code != 200:
            raise failure(LABEL, response)
        return by_doi(ids, parse_works(response.content))

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        wanted = list(dict.fromkeys(i for i in ids if self.wants(i)))
        alone = [i for i in wanted if "," in i]  # a comma would split the filter
        together = [i for i in wanted if "," not in i]
        found: dict[str, PaperMeta] = {}
        for start in range(0, len(together), self.batch_size):
            found.update(self._batch(together[start : start + self.batch_size]))
        for canonical in alone:
            found.update(self._one(canonical))
        return found


class CrossrefTitleSearch:
    """Crossref's bibliographic search, `GET /works?query.bibliographic=<title>&rows=N`: the best-scored works
    for a title, best first. Scores are relevance, not identity: the caller compares titles."""

    name = "crossref"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_url: str = API_URL,
        mailto: str | None = None,
        rows: int = 5,
        spacing: float = 1.0,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.mailto = mailto
        self.rows = rows
        self.api = PoliteApi(
            client, label=LABEL, spacing=spacing, max_retry_wait=max_retry_wait, clock=clock, sleep=sleep
        )

    def candidates(self, title: str) -> list[PaperMeta]:
        params: dict[str, Any] = {"query.bibliographic": title, "rows": self.rows}
        if self.mailto:
            params["mailto"] = self.mailto
        response = self.api.request("GET", f"{self.api_url}/works", params=params)
        if response.status_code != 200:
            raise failure(LABEL, response)
        return [meta for item in parse_works(response.content) if (meta := work_meta(item)) is not None]
