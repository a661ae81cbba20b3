"""Semantic Scholar's Academic Graph as a resolver: metadata, and above all the other ids of a paper.

Asked with the batch endpoint, `POST /graph/v1/paper/batch?fields=...` and `{"ids": [...]}`, at most 500 ids
a request. Our ids map to S2's documented forms: `arxiv:X` -> `ARXIV:X`, `doi:X` -> `DOI:X`, `acl:X` ->
`ACL:X`; no other scheme of ours has an S2 form. The answer is a JSON list aligned with the request, `null` for
an id S2 does not know. It is positional, so each answer is checked against the id asked where it can be: an
answer whose `externalIds` hold ids of the asked kind, none of them the asked one, belongs to another paper
and is dropped (not found), and a list of another length than the request is no answer at all.

`externalIds` (`ArXiv`, `DOI`, `ACL`) become `PaperMeta.same_as`: this is how a venue paper merges with its
arXiv preprint. S2 writes arXiv's own DOIs (`10.48550/arXiv.X`) among them; `doi_id` reads those as the arXiv
id they are. S2's `fieldsOfStudy` ("Computer Science") are not arXiv categories and are not reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digest.domain.papers import PaperMeta
from digest.enrich import EnrichUnavailable
from digest.enrich.polite import PoliteApi, failure, json_error, read_json

if TYPE_CHECKING:
    import httpx

API_URL = "https://api.semanticscholar.org/graph/v1"
MAX_BATCH = 500  # the batch endpoint's documented limit
FIELDS = "title,authors,abstract,venue,publicationVenue,journal,year,publicationDate,externalIds,openAccessPdf"
LABEL = "Semantic Scholar API"
_TO_S2 = {"arxiv": "ARXIV", "doi": "DOI", "acl": "ACL"}
_NOT_VENUES = frozenset({"arxiv", "arxiv.org", "corr", "biorxiv", "medrxiv", "ssrn"})  # where preprints live


def s2_id(canonical: str) -> str | None:
    """The S2 form of one of our ids (`arxiv:2106.15928` -> `ARXIV:2106.15928`), None for schemes S2 lacks."""
    scheme, _, rest = canonical.partition(":")
    prefix = _TO_S2.get(scheme)
    return f"{prefix}:{rest}" if prefix and rest else None


def stated_ids(external: object) -> tuple[str, ...]:
    """Our canonical ids for S2's `externalIds` (ArXiv, DOI, ACL), strongest first, without repeats."""
    from digest.domain.paper_ids import arxiv_id, doi_id, id_rank

    if not isinstance(external, Mapping):
        return ()
    found: list[str] = []
    arxiv = external.get("ArXiv")
    if isinstance(arxiv, str) and (canonical := arxiv_id(arxiv)):
        found.append(canonical)
    doi = external.get("DOI")
    if isinstance(doi, str) and (canonical := doi_id(doi)):
        found.append(canonical)  # an arXiv DOI is the arXiv id again: dropped as a repeat below
    acl = external.get("ACL")
    if isinstance(acl, str) and acl.strip():
        found.append(f"acl:{acl.strip()}")
    return tuple(sorted(dict.fromkeys(found), key=id_rank))


def agrees(canonical: str, stated: Sequence[str]) -> bool:
    """Whether an answer can be the paper asked: it states no id of the asked kind, or states the asked one."""
    scheme = canonical.partition(":")[0]
    same_kind = [s for s in stated if s.partition(":")[0] == scheme]
    return not same_kind or canonical in same_kind


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _venue(paper: Mapping[str, Any]) -> str | None:
    """S2's `venue`, else its publication venue's or journal's name; a preprint server is no venue."""
    candidates: list[object] = [paper.get("venue")]
    for key in ("publicationVenue", "journal"):
        nested = paper.get(key)
        if isinstance(nested, Mapping):
            candidates.append(nested.get("name"))
    for candidate in candidates:
        text = _text(candidate)
        if text and text.casefold() not in _NOT_VENUES:
            return text
    return None


def paper_meta(canonical: str, paper: Mapping[str, Any], *, resolver: str = "s2") -> PaperMeta:
    """One S2 paper object as our metadata, keyed by `canonical`; every other id it states goes to same_as."""
    authors = tuple(
        name for a in paper.get("authors") or () if isinstance(a, Mapping) and (name := _text(a.get("name")))
    )
    pdf = paper.get("openAccessPdf")
    pdf_url = _text(pdf.get("url")) if isinstance(pdf, Mapping) else None
    published = _date(paper.get("publicationDate"))
    year = paper.get("year") if isinstance(paper.get("year"), int) else (published.year if published else None)
    return PaperMeta(
        canonical_id=canonical,
        title=_text(paper.get("title")),
        authors=authors,
        abstract=_text(paper.get("abstract")),
        published=published,
        pdf_url=pdf_url,
        venue=_venue(paper),
        year=year,
        same_as=tuple(s for s in stated_ids(paper.get("externalIds")) if s != canonical),
        resolver=resolver,
    )


def parse_batch(asked: Sequence[str], body: bytes) -> dict[str, PaperMeta]:
    """The answer to one batch request for `asked` (our ids, in the order sent), by our id."""
    doc = read_json(LABEL, body)
    if not isinstance(doc, list):
        raise EnrichUnavailable(f"{LABEL} answered a batch with {type(doc).__name__}, not a list")
    if len(doc) != len(asked):  # positional: a list of another length cannot be matched to what was asked
        raise EnrichUnavailable(f"{LABEL} answered {len(doc)} papers for {len(asked)} ids")
    found: dict[str, PaperMeta] = {}
    for canonical, paper in zip(asked, doc, strict=True):
        if paper is None:
            continue  # S2 does not know this id
        if not isinstance(paper, Mapping):
            raise EnrichUnavailable(f"{LABEL} answered a batch entry that is not a paper: {paper!r:.80}")
        if not agrees(canonical, stated_ids(paper.get("externalIds"))):
            continue  # another paper's answer in this one's place: nothing is better than the wrong one
        found[canonical] = paper_meta(canonical, paper)
    return found


def api_key_headers(api_key: str | None) -> dict[str, str] | None:
    return {"x-api-key": api_key} if api_key else None


class SemanticScholarEnricher:
    """`arxiv:`, `doi:` and `acl:` ids, up to 500 a request, requests `spacing` seconds apart (S2 allows one a
    second with a key; without one, requests share a pool that answers 429 when busy)."""

    name = "s2"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_url: str = API_URL,
        api_key: str | None = None,
        batch_size: int = MAX_BATCH,
        spacing: float = 1.0,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.api = PoliteApi(
            client, label=LABEL, spacing=spacing, max_retry_wait=max_retry_wait, clock=clock, sleep=sleep
        )

    def wants(self, canonical_id: str) -> bool:
        return s2_id(canonical_id) is not None

    def _batch(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        response = self.api.request(
            "POST",
            f"{self.api_url}/paper/batch",
            params={"fields": FIELDS},
            body={"ids": [s2_id(i) for i in ids]},
            headers=api_key_headers(self.api_key),
        )
        if response.status_code != 200:
            raise failure(LABEL, response)  # 400 (a malformed request), 403 (a bad key), 5xx: all the batch's
        return parse_batch(ids, response.content)

    def lookup(self, ids: Sequence[str]) -> dict[str, PaperMeta]:
        wanted = list(dict.fromkeys(i for i in ids if self.wants(i)))
        found: dict[str, PaperMeta] = {}
        for start in range(0, len(wanted), self.batch_size):
            found.update(self._batch(wanted[start : start + self.batch_size]))
        return found


def parse_match(body: bytes) -> list[Mapping[str, Any]]:
    """The papers of a `/paper/search/match` answer (`{"data": [paper]}`; S2 gives at most one)."""
    doc = read_json(LABEL, body)
    data = doc.get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, list) or not all(isinstance(p, Mapping) for p in data):
        raise EnrichUnavailable(f"{LABEL} answered a title match without a list of papers")
    return data


class S2TitleSearch:
    """S2's title match, `GET /graph/v1/paper/search/match?query=<title>`: the single paper whose title best
    matches, or HTTP 404 (`{"error": "Title match not found"}`). "Best" may be far off: the caller compares."""

    name = "s2"

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_url: str = API_URL,
        api_key: str | None = None,
        spacing: float = 1.0,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.api = PoliteApi(
            client, label=LABEL, spacing=spacing, max_retry_wait=max_retry_wait, clock=clock, sleep=sleep
        )

    def candidates(self, title: str) -> list[PaperMeta]:
        """What S2 offers for `title`, each keyed by its strongest stated id ("" when it states none of ours),
        with its other stated ids in same_as."""
        response = self.api.request(
            "GET",
            f"{self.api_url}/paper/search/match",
            params={"query": title, "fields": FIELDS},
            headers=api_key_headers(self.api_key),
        )
        if response.status_code == 404 and json_error(response.content):
            return []  # no title matched
        if response.status_code != 200:
            raise failure(LABEL, response)
        out = []
        for paper in parse_match(response.content):
            stated = stated_ids(paper.get("externalIds"))
            out.append(paper_meta(stated[0] if stated else "", paper))
        return out
