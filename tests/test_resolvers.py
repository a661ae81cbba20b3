"""Metadata resolvers beyond arXiv: OpenReview, Semantic Scholar, Crossref, and resolution by title.

Each API is a loopback fake answering in the real API's shape: Semantic Scholar and Crossref from recorded
answers (semanticscholar's and habanero's test recordings, MIT; see tests/fixtures/SOURCES.md), OpenReview from
notes written in API v2's and v1's shapes. The resolvers' clocks are fake, so spacing and Retry-After are checked
without waiting. Nothing here leaves 127.0.0.1 (conftest refuses it).
"""

from __future__ import annotations

import copy
import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from digest.domain.papers import PaperMeta
from digest.enrich import Enricher, EnrichUnavailable
from digest.enrich.crossref import CrossrefEnricher, CrossrefTitleSearch, jats_text, parse_works, work_meta
from digest.enrich.openreview import OpenReviewEnricher, content_value, note_meta
from digest.enrich.semantic_scholar import S2TitleSearch, SemanticScholarEnricher, parse_batch, s2_id, stated_ids
from digest.enrich.titles import TitleResolver, exact_match
from tests.conftest import FIXTURES, FakeClock

API = FIXTURES / "api"
JSON = "application/json"


def fixture_json(name: str) -> Any:
    return json.loads((API / name).read_text(encoding="utf-8"))


S2_PAPERS: list[dict[str, Any]] = fixture_json("s2_papers.json")
S2_BATCH = fixture_json("s2_batch_recorded.json")
S2_MATCH = fixture_json("s2_match_recorded.json")
CROSSREF = fixture_json("crossref_works_habanero.json")
NOTES_V2: dict[str, Any] = fixture_json("openreview_notes_v2.json")
NOTES_V1: dict[str, Any] = fixture_json("openreview_notes_v1.json")

EVOGRAD = "EvoGrad: A Dynamic Take on the Winograd Schema Challenge with Human Adversaries"
EVOGRAD_ID = "title:evograd a dynamic take on the winograd schema challenge with human adversaries"
GAMES_ID = (
    "title:after the games are over life history trade offs drive dispersal attenuation following range expansion"
)


# --- fakes shared by every API ------------------------------------------------------------------------------------


class FakeApi:
    """What every fake keeps: the requests it got (with the fake clock's time) and answers to give first."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[Request] = []
        self.at: list[float] = []
        self.queued: list[Response] = []  # answers given before the normal ones (429, 503, 500...)
        self.on_request: dict[int, Response] = {}  # the n-th request (from 1) gets this answer instead

    def record(self, request: Request) -> Response | None:
        self.requests.append(request)
        self.at.append(self.clock.now)
        if len(self.requests) in self.on_request:
            return self.on_request[len(self.requests)]
        return self.queued.pop(0) if self.queued else None


def as_json(doc: object, status: int = 200) -> Response:
    return Response(json.dumps(doc), status=status, content_type=JSON)


def free_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0), trust_env=False) as c:
        yield c


def polite(clock: FakeClock) -> dict[str, Any]:
    return {"clock": clock, "sleep": clock.sleep}


# --- the fake Semantic Scholar --------------------------------------------------------------------------------------


def s2_index() -> dict[str, dict[str, Any]]:
    """The recorded papers by the S2 ids that name them (ARXIV:, DOI: lower-cased, ACL:)."""
    index: dict[str, dict[str, Any]] = {}
    for paper in S2_PAPERS:
        ext = paper["externalIds"]
        for key, prefix in (("ArXiv", "ARXIV"), ("DOI", "DOI"), ("ACL", "ACL")):
            if ext.get(key):
                index[f"{prefix}:{ext[key].lower() if prefix == 'DOI' else ext[key]}"] = paper
    return index


class FakeS2(FakeApi):
    """`POST /graph/v1/paper/batch` (a list aligned with the ids, `null` for unknown ones) and
    `GET /graph/v1/paper/search/match` (`{"data": [paper]}` or 404 `{"error": "Title match not found"}`). Papers
    carry only the fields asked for, as the real API's do."""

    def __init__(self, httpserver: HTTPServer, clock: FakeClock) -> None:
        super().__init__(clock)
        self.index = s2_index()
        self.matches: dict[str, Response | dict[str, Any]] = {}  # title query -> paper or a whole answer
        self.rotate = 0  # answer the batch shifted by this many places (a misaligned answer)
        self.drop_last = False  # answer one paper fewer than asked
        httpserver.expect_request("/graph/v1/paper/batch", method="POST").respond_with_handler(self.batch)
        httpserver.expect_request("/graph/v1/paper/search/match", method="GET").respond_with_handler(self.match)
        self.url = httpserver.url_for("/graph/v1")

    def asked(self) -> list[list[str]]:
        return [json.loads(r.get_data())["ids"] for r in self.requests if r.path.endswith("/batch")]

    def shaped(self, paper: dict[str, Any], fields: str) -> dict[str, Any]:
        wanted = {"paperId", *fields.split(",")}
        return {k: v for k, v in paper.items() if k in wanted}

    def batch(self, request: Request) -> Response:
        if (early := self.record(request)) is not None:
            return early
        ids = json.loads(request.get_data())["ids"]
        fields = request.args.get("fields", "")
        answers: list[dict[str, Any] | None] = []
        for s2 in ids:
            prefix, _, rest = s2.partition(":")
            paper = self.index.get(f"{prefix}:{rest.lower() if prefix == 'DOI' else rest}")
            answers.append(self.shaped(paper, fields) if paper else None)
        if self.rotate:
            answers = answers[self.rotate :] + answers[: self.rotate]
        if self.drop_last:
            answers = answers[:-1]
        return as_json(answers)

    def match(self, request: Request) -> Response:
        if (early := self.record(request)) is not None:
            return early
        found = self.matches.get(request.args.get("query", ""))
        if found is None:
            return as_json({"error": "Title match not found"}, status=404)
        if isinstance(found, Response):
            return found
        return as_json({"data": [{**self.shaped(found, request.args.get("fields", "")), "matchScore": 204.1}]})


@pytest.fixture
def s2(httpserver: HTTPServer, clock: FakeClock) -> FakeS2:
    return FakeS2(httpserver, clock)


def s2_enricher(api: FakeS2 | str, client: httpx.Client, clock: FakeClock, **kw: Any) -> SemanticScholarEnricher:
    url = api if isinstance(api, str) else api.url
    return SemanticScholarEnricher(client, api_url=url, **polite(clock), **kw)


# --- the fake Crossref ----------------------------------------------------------------------------------------------


class FakeCrossref(FakeApi):
    """`GET /works?filter=doi:A,doi:B&rows=N` (a work-list of the DOIs it holds, in its own order),
    `GET /works?query.bibliographic=...` and `GET /works/{doi}` (a work, or 404 "Resource not found.")."""

    def __init__(self, httpserver: HTTPServer, clock: FakeClock) -> None:
        super().__init__(clock)
        self.items = {item["DOI"].lower(): item for item in CROSSREF["items"]}
        self.searches: dict[str, list[str]] = {}  # query.bibliographic -> DOIs answered, best first
        self.extra: list[str] = []  # DOIs answered although nobody asked
        self.unfilterable: set[str] = set()  # DOIs that make a filter invalid (HTTP 400)
        httpserver.expect_request("/works", method="GET").respond_with_handler(self.works)
        httpserver.expect_request(re.compile(r"^/works/.+"), method="GET").respond_with_handler(self.work)
        self.url = httpserver.url_for("")

    def filters(self) -> list[list[str]]:
        return [
            [f.removeprefix("doi:") for f in r.args["filter"].split(",")] for r in self.requests if "filter" in r.args
        ]

    def envelope(self, items: list[dict[str, Any]], rows: int) -> dict[str, Any]:
        doc = copy.deepcopy({k: v for k, v in CROSSREF["envelope"].items() if not k.startswith("_")})
        doc["message"].update({"items": items, "total-results": len(items), "items-per-page": rows})
        return doc

    def works(self, request: Request) -> Response:
        if (early := self.record(request)) is not None:
            return early
        rows = int(request.args.get("rows", 20))
        if "query.bibliographic" in request.args:
            dois = self.searches.get(request.args["query.bibliographic"], [])
        else:
            dois = [f.removeprefix("doi:").lower() for f in request.args.get("filter", "").split(",")]
            if self.unfilterable & set(dois):
                return as_json(
                    {
                        "status": "failed",
                        "message-type": "validation-failure",
                        "message": [
                            {"type": "filter-value-invalid", "value": "doi", "message": "Filter value is not valid"}
                        ],
                    },
                    status=400,
                )
            dois = list(reversed(dois)) + self.extra  # not the order asked
        items = [self.items[d] for d in dois if d in self.items]
        return as_json(self.envelope(items[:rows], rows))

    def work(self, request: Request) -> Response:
        if (early := self.record(request)) is not None:
            return early
        item = self.items.get(request.path.removeprefix("/works/").lower())
        if item is None:
            return Response("Resource not found.", status=404, content_type="text/plain")
        return as_json({"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": item})


@pytest.fixture
def crossref(httpserver: HTTPServer, clock: FakeClock) -> FakeCrossref:
    return FakeCrossref(httpserver, clock)


def crossref_enricher(api: FakeCrossref | str, client: httpx.Client, clock: FakeClock, **kw: Any) -> CrossrefEnricher:
    url = api if isinstance(api, str) else api.url
    return CrossrefEnricher(client, api_url=url, **polite(clock), **kw)


# --- the fake OpenReview --------------------------------------------------------------------------------------------


class FakeOpenReview(FakeApi):
    """`GET /notes?ids=A,B` (and `?id=A`) on API v2 (`/v2`) and v1 (`/v1`): `{"notes": [...], "count": N}` with
    the notes it holds, in its own order; 403 `ForbiddenError` for the whole request when one note is private."""

    def __init__(self, httpserver: HTTPServer, clock: FakeClock) -> None:
        super().__init__(clock)
        self.notes = {"v2": {n["id"]: n for n in NOTES_V2["notes"]}, "v1": {n["id"]: n for n in NOTES_V1["notes"]}}
        self.private: set[str] = set()
        self.asked: list[tuple[str, list[str]]] = []
        for version in ("v2", "v1"):
            httpserver.expect_request(f"/{version}/notes", method="GET").respond_with_handler(self.handler(version))
        self.v2, self.v1 = httpserver.url_for("/v2"), httpserver.url_for("/v1")

    def handler(self, version: str) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            ids = [i for i in (request.args.get("ids") or request.args.get("id", "")).split(",") if i]
            self.asked.append((version, ids))
            if (early := self.record(request)) is not None:
                return early
            if self.private & set(ids):
                return as_json(
                    {
                        "name": "ForbiddenError",
                        "message": "You don't have permission to read this note",
                        "status": 403,
                        "details": {"path": "notes"},
                    },
                    status=403,
                )
            notes = [self.notes[version][i] for i in reversed(ids) if i in self.notes[version]]
            return as_json({"notes": notes, "count": len(notes)})

        return answer


@pytest.fixture
def openreview(httpserver: HTTPServer, clock: FakeClock) -> FakeOpenReview:
    return FakeOpenReview(httpserver, clock)


def openreview_enricher(api: FakeOpenReview, client: httpx.Client, clock: FakeClock, **kw: Any) -> OpenReviewEnricher:
    return OpenReviewEnricher(client, **{"api_url": api.v2, "legacy_api_url": api.v1, **polite(clock), **kw})


# === Semantic Scholar ===============================================================================================


def test_a_recorded_batch_answer_is_read_in_place_with_null_for_an_unknown_id() -> None:
    # The answer semanticscholar's tests recorded for four ids; here asked as the DOIs the papers state.
    assert S2_BATCH["method"] == "POST" and S2_BATCH["status_code"] == 200
    asked = ["doi:10.9999/unknown", "doi:10.2139/ssrn.288970", "doi:10.2139/ssrn.2250500", "doi:10.1257/rct.1355"]
    found = parse_batch(asked, S2_BATCH["body"].encode())
    assert list(found) == asked[1:]  # the null is not found, not an error
    trust = found["doi:10.2139/ssrn.288970"]
    assert trust.title == "How Much Should We Trust Differences-in-Differences Estimates?"
    assert trust.authors == ("Marianne Bertrand", "E. Duflo", "S. Mullainathan")
    assert trust.abstract.startswith("Most Difference-in-Difference (DD) papers rely on many years")  # type: ignore[union-attr]
    assert (trust.year, trust.published) == (2001, datetime(2001, 10, 1, tzinfo=UTC))
    assert trust.pdf_url == "http://papers.nber.org/papers/w8841.pdf"
    assert trust.venue == "Experimental & Empirical Studies eJournal"  # venue "" falls back to the journal's name
    assert (trust.resolver, trust.same_as) == ("s2", ())
    assert found["doi:10.1257/rct.1355"].venue is None and found["doi:10.1257/rct.1355"].published is None


def test_papers_are_asked_in_s2_id_forms_with_fields_and_key_and_answered_by_our_ids_with_their_other_ids(
    s2: FakeS2, client: httpx.Client, clock: FakeClock
) -> None:
    asked = ["arxiv:2402.13372", "acl:2023.gem-1.31", "doi:10.1093/mind/lix.236.433", "arxiv:2401.99999"]
    found = s2_enricher(s2, client, clock, api_key="k-123").lookup(asked)
    assert s2.asked() == [["ARXIV:2402.13372", "ACL:2023.gem-1.31", "DOI:10.1093/mind/lix.236.433", "ARXIV:2401.99999"]]
    request = s2.requests[0]
    assert request.headers["x-api-key"] == "k-123" and request.headers["content-type"] == JSON
    assert set(request.args["fields"].split(",")) >= {
        "title",
        "authors",
        "abstract",
        "externalIds",
        "venue",
        "year",
        "publicationDate",
        "openAccessPdf",
    }
    assert list(found) == asked[:3]  # the unknown preprint is absent
    evograd = found["arxiv:2402.13372"]
    assert (evograd.canonical_id, evograd.title, evograd.authors) == (
        "arxiv:2402.13372",
        EVOGRAD,
        ("Jing Han Sun", "Ali Emami"),
    )
    assert evograd.abstract.startswith("While Large Language Models (LLMs) excel at the Winograd")  # type: ignore[union-attr]
    assert (evograd.venue, evograd.year) == ("International Conference on Language Resources and Evaluation", 2024)
    assert evograd.published == datetime(2024, 2, 20, tzinfo=UTC)
    # externalIds: ArXiv, ACL, and DOI 10.48550/arXiv.2402.13372 (the arXiv id again), DBLP and CorpusId ignored
    assert evograd.same_as == ("acl:2024.lrec-main.592",)
    assert found["acl:2023.gem-1.31"].same_as == ("arxiv:2311.02049",)  # the venue paper merges with its preprint
    turing = found["doi:10.1093/mind/lix.236.433"]  # S2 writes the DOI upper-cased
    assert (turing.title, turing.year, turing.same_as) == ("Computing Machinery and Intelligence", 1950, ())
    assert all(m.resolver == "s2" for m in found.values())


def test_no_key_no_key_header(s2: FakeS2, client: httpx.Client, clock: FakeClock) -> None:
    s2_enricher(s2, client, clock).lookup(["arxiv:2402.13372"])
    assert "x-api-key" not in s2.requests[0].headers


def test_only_arxiv_doi_and_acl_ids_have_s2_forms(s2: FakeS2, client: httpx.Client, clock: FakeClock) -> None:
    assert [
        s2_id(i)
        for i in (
            "arxiv:2402.13372",
            "doi:10.1038/srep16696",
            "acl:W12-3903",
            "openreview:Qv3mKz7pYd",
            "url:example.org/paper.pdf",
            "title:some title here",
            "pmlr:v202/x23a",
        )
    ] == ["ARXIV:2402.13372", "DOI:10.1038/srep16696", "ACL:W12-3903", None, None, None, None]
    enricher = s2_enricher(s2, client, clock)
    enricher.lookup(["openreview:Qv3mKz7pYd", "arxiv:2311.02049", "url:example.org/paper.pdf"])
    assert s2.asked() == [["ARXIV:2311.02049"]]
    assert enricher.lookup(["openreview:Qv3mKz7pYd"]) == {} and len(s2.requests) == 1  # nothing to ask: no request


def test_1200_ids_are_asked_500_500_and_200_requests_spaced_by_the_injected_clock(
    s2: FakeS2, client: httpx.Client, clock: FakeClock
) -> None:
    wanted = [f"arxiv:2401.{k:05d}" for k in range(1, 1201)]
    started = time.monotonic()
    found = s2_enricher(s2, client, clock, spacing=1.5).lookup(wanted)
    assert time.monotonic() - started < 5.0
    assert found == {}  # S2 knows none of them: every answer null
    assert [len(b) for b in s2.asked()] == [500, 500, 200]
    assert [i for b in s2.asked() for i in b] == [f"ARXIV:{i.removeprefix('arxiv:')}" for i in wanted]
    assert clock.slept == [1.5, 1.5]
    assert [b - a for a, b in zip(s2.at, s2.at[1:], strict=False)] == [1.5, 1.5]


def test_a_batch_size_above_the_documented_500_is_capped(s2: FakeS2, client: httpx.Client, clock: FakeClock) -> None:
    enricher = s2_enricher(s2, client, clock, batch_size=2000)
    assert enricher.batch_size == 500
    enricher.lookup([f"doi:10.1000/x{k}" for k in range(600)])
    assert [len(b) for b in s2.asked()] == [500, 100]


def test_a_misaligned_answer_gives_no_paper_another_papers_metadata(
    s2: FakeS2, client: httpx.Client, clock: FakeClock
) -> None:
    s2.rotate = 1  # each place holds the next id's paper
    asked = ["arxiv:2402.13372", "arxiv:2311.02049", "arxiv:2310.20320"]
    assert s2_enricher(s2, client, clock).lookup(asked) == {}
    s2.rotate = 0
    assert set(s2_enricher(s2, client, clock).lookup(asked)) == set(asked)  # the same ids, aligned: all found


def test_an_answer_of_another_length_than_the_request_is_unavailability(
    s2: FakeS2, client: httpx.Client, clock: FakeClock
) -> None:
    s2.drop_last = True
    with pytest.raises(EnrichUnavailable, match="answered 2 papers for 3 ids"):
        s2_enricher(s2, client, clock).lookup(["arxiv:2402.13372", "arxiv:2311.02049", "arxiv:2310.20320"])


def test_an_answer_is_checked_only_against_ids_of_the_asked_kind() -> None:
    stated = stated_ids(
        {
            "ArXiv": "2402.13372",
            "ACL": "2024.lrec-main.592",
            "DOI": "10.48550/arXiv.2402.13372",
            "DBLP": "conf/coling/SunE24",
            "CorpusId": 267770271,
        }
    )
    assert stated == ("arxiv:2402.13372", "acl:2024.lrec-main.592")
    only_corpus = json.dumps(
        [{"paperId": "x", "title": "A paper S2 knows by no id of ours", "externalIds": {"CorpusId": 1}}]
    ).encode()
    assert parse_batch(["doi:10.1000/asked"], only_corpus)["doi:10.1000/asked"].title.startswith("A paper")  # type: ignore[union-attr]
    other_doi = json.dumps([{"paperId": "y", "title": "Another", "externalIds": {"DOI": "10.1000/OTHER"}}]).encode()
    assert parse_batch(["doi:10.1000/asked"], other_doi) == {}
    garbage = json.dumps(["not a paper"]).encode()
    with pytest.raises(EnrichUnavailable, match="not a paper"):
        parse_batch(["doi:10.1000/asked"], garbage)


# === Crossref =======================================================================================================


def test_dois_are_asked_in_one_filter_and_answered_by_the_doi_each_work_states(
    crossref: FakeCrossref, client: httpx.Client, clock: FakeClock
) -> None:
    asked = [
        "doi:10.1038/srep16696",
        "doi:10.1002/jor.1100150407",
        "doi:10.1109/icdcsw.2003.1203662",
        "doi:10.3892/ijo_00000353",
        "doi:10.1002/fee.70021",
        "doi:10.1177/2053951719836258",
        "doi:10.9999/not-registered",
    ]
    crossref.extra = ["10.1002/ece3.2314"]  # the answer also holds a work nobody asked about
    found = crossref_enricher(crossref, client, clock, mailto="digest@example.org").lookup(asked)
    assert len(crossref.requests) == 1
    args = crossref.requests[0].args
    assert args["filter"] == ",".join(f"doi:{i.removeprefix('doi:')}" for i in asked)
    assert (args["rows"], args["mailto"]) == ("7", "digest@example.org")
    assert set(found) == set(asked[:-1])  # unknown: absent; unasked: ignored
    fret = found["doi:10.1038/srep16696"]
    assert fret.title == (
        "Single-molecule FRET studies on alpha-synuclein oligomerization of Parkinson\u2019s disease "
        "genetically related mutants"
    )
    assert fret.authors[:2] == ("Laura Tosatto", "Mathew H. Horrocks") and len(fret.authors) == 8
    assert fret.abstract.startswith("Oligomers of alpha-synuclein are toxic to cells")  # type: ignore[union-attr]
    assert "<" not in fret.abstract and "Abstract" not in fret.abstract  # type: ignore[operator]
    assert (fret.venue, fret.year, fret.published) == ("Scientific Reports", 2015, datetime(2015, 11, 19, tzinfo=UTC))
    assert fret.resolver == "crossref" and fret.same_as == ()
    # a month-only date is a year, not a day; online (2005) is a later digitisation of a 1997 article
    assert (found["doi:10.1002/jor.1100150407"].year, found["doi:10.1002/jor.1100150407"].published) == (1997, None)
    assert (found["doi:10.1109/icdcsw.2003.1203662"].year, found["doi:10.1109/icdcsw.2003.1203662"].abstract) == (
        None,
        None,
    )  # issued [[null]]
    assert found["doi:10.3892/ijo_00000353"].authors == ("Stravopodis",)  # a family name alone
    assert found["doi:10.1002/fee.70021"].title == "The role of AI in ecology\u2019s computational carbon footprint"
    assert found["doi:10.1177/2053951719836258"].venue == "Big Data & Society"


def test_a_preprint_relation_is_the_same_paper(crossref: FakeCrossref, client: httpx.Client, clock: FakeClock) -> None:
    found = crossref_enricher(crossref, client, clock).lookup(["doi:10.1002/ece3.2314", "doi:10.1101/014852"])
    assert found["doi:10.1002/ece3.2314"].same_as == ("doi:10.1101/014852",)
    assert found["doi:10.1002/ece3.2314"].venue == "Ecology and Evolution"
    assert found["doi:10.1101/014852"].venue is None  # bioRxiv's posted content has no container
    assert "mailto" not in crossref.requests[0].args  # no address configured: none sent


def test_jats_and_html_in_crossref_text_is_read_as_text() -> None:
    assert (
        jats_text("<jats:title>Abstract</jats:title><jats:p>First.</jats:p><jats:p>Second &amp; last.</jats:p>")
        == "First. Second & last."
    )
    assert jats_text("A Shiny\n   <scp>r</scp>\n   app") == "A Shiny r app"
    assert jats_text("H<sub>2</sub>O and <i>E. coli</i>") == "H2O and E. coli"
    assert (
        jats_text("<jats:sec><jats:title>Background</jats:title><jats:p>Text.</jats:p></jats:sec>")
        == "Background Text."
    )
    assert jats_text(None) is None and jats_text("<jats:p> </jats:p>") is None


def test_a_doi_with_a_comma_is_asked_alone_and_a_404_is_not_found(
    crossref: FakeCrossref, client: httpx.Client, clock: FakeClock
) -> None:
    found = crossref_enricher(crossref, client, clock).lookup(["doi:10.1000/a,b", "doi:10.1038/srep16696"])
    assert set(found) == {"doi:10.1038/srep16696"}
    assert crossref.filters() == [["10.1038/srep16696"]]
    assert [r.path for r in crossref.requests if "filter" not in r.args] == ["/works/10.1000/a,b"]


def test_a_batch_crossref_refuses_is_halved_until_the_refused_doi_is_asked_alone(
    crossref: FakeCrossref, client: httpx.Client, clock: FakeClock
) -> None:
    crossref.unfilterable = {"10.1000/odd:doi"}
    asked = ["doi:10.1038/srep16696", "doi:10.1002/jor.1100150407", "doi:10.1000/odd:doi", "doi:10.1002/ece3.2314"]
    found = crossref_enricher(crossref, client, clock).lookup(asked)
    assert set(found) == set(asked) - {"doi:10.1000/odd:doi"}
    assert crossref.filters()[0] == [i.removeprefix("doi:") for i in asked]
    alone = [r.path for r in crossref.requests if "filter" not in r.args]
    assert alone == ["/works/10.1000/odd:doi"]  # alone, at last, at its own URL: not registered
    assert len(crossref.requests) == 6  # 4 ids: the batch, two halves, two quarters of the bad half, the DOI


def test_crossref_batches_are_capped_and_spaced(crossref: FakeCrossref, client: httpx.Client, clock: FakeClock) -> None:
    crossref_enricher(crossref, client, clock, batch_size=50).lookup([f"doi:10.1000/x{k}" for k in range(120)])
    assert [len(f) for f in crossref.filters()] == [50, 50, 20]
    assert clock.slept == [1.0, 1.0]
    assert crossref_enricher(crossref, client, clock, batch_size=5000).batch_size == 100


def test_a_single_work_answer_reads_as_a_work() -> None:
    item = CROSSREF["items"][0]
    body = json.dumps({"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": item})
    assert [work_meta(w).canonical_id for w in parse_works(body.encode())] == ["doi:10.1038/srep16696"]  # type: ignore[union-attr]
    with pytest.raises(EnrichUnavailable, match="not works"):
        parse_works(json.dumps({"status": "ok", "message-type": "member", "message": {}}).encode())


# === OpenReview =====================================================================================================


def test_notes_are_asked_by_ids_on_v2_then_the_rest_on_v1_and_read_by_id(
    openreview: FakeOpenReview, client: httpx.Client, clock: FakeClock
) -> None:
    asked = [
        "openreview:Qv3mKz7pYd",
        "openreview:R2kLp0XwQe",
        "openreview:aX9d2Fk1Ls",
        "openreview:HkgXq3C5Fm",
        "openreview:rEvW4127aa",
        "openreview:NoSuchNote1",
    ]
    found = openreview_enricher(openreview, client, clock).lookup(asked)
    assert openreview.asked == [
        ("v2", [i.removeprefix("openreview:") for i in asked]),
        ("v1", ["HkgXq3C5Fm", "rEvW4127aa", "NoSuchNote1"]),
    ]
    assert set(found) == set(asked[:4])  # a review is no paper; an unknown note is absent
    poster = found["openreview:Qv3mKz7pYd"]
    assert poster.title == "Sparse Rewards, Dense Plans: Hindsight Subgoals for Long-Horizon Control"
    assert poster.authors == ("Mira Castellanos", "Tobias Wen", "Adaeze Okafor")
    assert poster.abstract.startswith("Long-horizon control with sparse rewards remains hard because credit must")  # type: ignore[union-attr]
    assert "\n" not in poster.abstract and "  " not in poster.abstract  # type: ignore[operator]
    assert (poster.venue, poster.year) == ("ICLR 2024 poster", 2024)
    assert poster.published == datetime(2024, 1, 16, tzinfo=UTC)  # pdate
    assert poster.pdf_url == "https://openreview.net/pdf/5f0c1d2e3b4a59687766554433221100ffeeddcc.pdf"
    assert (poster.resolver, poster.same_as) == ("openreview", ())
    rejected = found["openreview:R2kLp0XwQe"]
    assert rejected.venue is None  # "Submitted to ICLR 2024": not a venue it appeared at
    assert (rejected.published, rejected.year) == (datetime(2023, 10, 15, tzinfo=UTC), 2023)  # odate: no pdate
    imported = found["openreview:aX9d2Fk1Ls"]
    assert imported.same_as == ("arxiv:2310.01234",)  # externalIds arxiv:2310.01234v2, version dropped
    assert imported.venue is None and imported.pdf_url == "https://arxiv.org/pdf/2310.01234v2"
    legacy = found["openreview:HkgXq3C5Fm"]  # a v1 note: plain content values
    assert (legacy.title, legacy.authors) == (
        "Curriculum Dropout for Recurrent Policies",
        ("Henrike Vogt", "Samir Haddad"),
    )
    assert (legacy.venue, legacy.year) == ("ICLR 2019 Conference", 2019)
    assert legacy.pdf_url == "https://openreview.net/pdf/4c9a7a1f0f3b2e1d0c9b8a7f6e5d4c3b2a1f0e9d.pdf"


def test_without_a_legacy_api_v1_is_never_asked(
    openreview: FakeOpenReview, client: httpx.Client, clock: FakeClock
) -> None:
    found = openreview_enricher(openreview, client, clock, legacy_api_url=None).lookup(
        ["openreview:HkgXq3C5Fm", "openreview:Qv3mKz7pYd"]
    )
    assert set(found) == {"openreview:Qv3mKz7pYd"}
    assert [version for version, _ in openreview.asked] == ["v2"]


def test_a_private_note_refusing_its_batch_costs_only_its_own_lookup(
    openreview: FakeOpenReview, client: httpx.Client, clock: FakeClock
) -> None:
    openreview.private = {"Priv4teNote"}
    asked = [
        "openreview:Qv3mKz7pYd",
        "openreview:R2kLp0XwQe",
        "openreview:Priv4teNote",
        "openreview:aX9d2Fk1Ls",
        "openreview:HkgXq3C5Fm",
    ]
    found = openreview_enricher(openreview, client, clock).lookup(asked)
    assert set(found) == set(asked) - {"openreview:Priv4teNote"}
    v2 = [ids for version, ids in openreview.asked if version == "v2"]
    assert ["Priv4teNote"] in v2 and len(v2) <= 7  # halved until it stood alone, not asked one by one


def test_openreview_batches_are_100_and_only_openreview_ids_are_asked(
    openreview: FakeOpenReview, client: httpx.Client, clock: FakeClock
) -> None:
    ids = [f"openreview:note{k:05d}" for k in range(250)]
    openreview_enricher(openreview, client, clock, legacy_api_url=None).lookup(
        [*ids, "arxiv:2402.13372", "doi:10.1038/srep16696", "openreview:"]
    )
    assert [len(batch) for _, batch in openreview.asked] == [100, 100, 50]
    assert clock.slept == [1.0, 1.0]


def test_v2_wrapped_and_v1_plain_content_read_alike() -> None:
    assert content_value({"title": {"value": "T"}}, "title") == content_value({"title": "T"}, "title") == "T"
    withdrawn = {
        "id": "W1thdrawnX",
        "forum": "W1thdrawnX",
        "cdate": 1695398400000,
        "content": {
            "title": {"value": "A Withdrawn Paper"},
            "venue": {"value": "ICLR 2024 Conference Withdrawn Submission"},
            "venueid": {"value": "ICLR.cc/2024/Conference/Withdrawn_Submission"},
        },
    }
    meta = note_meta(withdrawn)
    assert meta is not None and (meta.venue, meta.year) == (None, 2023)  # cdate: the only date it has
    assert note_meta({"id": "x", "forum": "y", "content": {}}) is None  # a reply
    assert note_meta({"content": {"title": "no id"}}) is None


# === resolution by title ============================================================================================


def title_resolver(
    client: httpx.Client, clock: FakeClock, s2: FakeS2 | None = None, crossref: FakeCrossref | None = None
) -> TitleResolver:
    searches: list[Any] = []
    if s2 is not None:
        searches.append(S2TitleSearch(client, api_url=s2.url, **polite(clock)))
    if crossref is not None:
        searches.append(CrossrefTitleSearch(client, api_url=crossref.url, mailto="digest@example.org", **polite(clock)))
    return TitleResolver(searches)


def test_an_exact_title_match_gives_the_title_paper_its_real_ids(
    s2: FakeS2, client: httpx.Client, clock: FakeClock
) -> None:
    s2.matches[EVOGRAD_ID.removeprefix("title:")] = next(p for p in S2_PAPERS if p["title"] == EVOGRAD)
    found = title_resolver(client, clock, s2=s2).lookup([EVOGRAD_ID])
    meta = found[EVOGRAD_ID]
    assert meta.canonical_id == EVOGRAD_ID  # the asked id: the store re-keys it through same_as
    assert meta.same_as == ("arxiv:2402.13372", "acl:2024.lrec-main.592")
    assert (meta.title, meta.authors, meta.year) == (EVOGRAD, ("Jing Han Sun", "Ali Emami"), 2024)
    assert meta.resolver == "title"
    assert s2.requests[0].args["query"] == EVOGRAD_ID.removeprefix("title:")


def test_the_recorded_best_match_for_a_shorter_title_is_rejected(
    s2: FakeS2, client: httpx.Client, clock: FakeClock
) -> None:
    # The real answer S2 gave to "mining association rules between": a longer title, a different paper for us.
    s2.matches["mining association rules between"] = Response(S2_MATCH["body"], status=200, content_type=JSON)
    assert title_resolver(client, clock, s2=s2).lookup(["title:mining association rules between"]) == {}
    assert len(s2.requests) == 1


def test_a_title_that_only_starts_the_same_is_not_a_match(
    s2: FakeS2, crossref: FakeCrossref, client: httpx.Client, clock: FakeClock
) -> None:
    shorter = "title:evograd a dynamic take on the winograd schema challenge"  # the subtitle dropped
    s2.matches[shorter.removeprefix("title:")] = next(p for p in S2_PAPERS if p["title"] == EVOGRAD)
    crossref.searches["after the games are over"] = ["10.1002/ece3.2314", "10.1101/014852"]
    found = title_resolver(client, clock, s2=s2, crossref=crossref).lookup([shorter, "title:after the games are over"])
    assert found == {}
    assert [r.args.get("query") or r.args.get("query.bibliographic") for r in s2.requests + crossref.requests] == [
        "evograd a dynamic take on the winograd schema challenge",
        "after the games are over",
        "evograd a dynamic take on the winograd schema challenge",
        "after the games are over",
    ]


def test_when_s2_finds_no_match_crossref_is_asked_and_its_exact_match_wins(
    s2: FakeS2, crossref: FakeCrossref, client: httpx.Client, clock: FakeClock
) -> None:
    crossref.searches[GAMES_ID.removeprefix("title:")] = ["10.1002/ece3.2314", "10.1101/014852"]
    found = title_resolver(client, clock, s2=s2, crossref=crossref).lookup([GAMES_ID])
    assert len(s2.requests) == 1 and len(crossref.requests) == 1  # S2's 404 "Title match not found", then Crossref
    assert crossref.requests[0].args["rows"] == "5" and crossref.requests[0].args["mailto"] == "digest@example.org"
    meta = found[GAMES_ID]
    # "life\u2010history" (U+2010 HYPHEN) in the journal's title equals "life history" once normalised
    assert meta.title == (
        "After the games are over: life\u2010history trade\u2010offs drive dispersal attenuation "
        "following range expansion"
    )
    assert meta.same_as == ("doi:10.1002/ece3.2314", "doi:10.1101/014852")  # the journal paper and its preprint
    assert (meta.venue, meta.year, meta.resolver) == ("Ecology and Evolution", 2016, "title")


def test_exact_match_folds_case_punctuation_and_spacing_only() -> None:
    def paper(title: str) -> PaperMeta:
        return PaperMeta(canonical_id="doi:10.1000/x", title=title)

    asked = "bert pre training of deep bidirectional transformers for language understanding"
    exact = paper("BERT: Pre-training of Deep  Bidirectional Transformers for Language Understanding")
    assert exact_match(asked, [paper("BERT: Pre-training of Deep Bidirectional Transformers"), exact]) is exact
    assert (
        exact_match(
            asked,
            [paper("BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding, Revisited")],
        )
        is None
    )
    assert (
        exact_match(asked, [paper("BERT Pre training of Deep Bidirectional Transformer for Language Understanding")])
        is None
    )  # one letter off
    assert exact_match(asked, [PaperMeta(canonical_id="", title=None)]) is None


def test_only_title_ids_are_searched(s2: FakeS2, client: httpx.Client, clock: FakeClock) -> None:
    resolver = title_resolver(client, clock, s2=s2)
    assert resolver.wants(EVOGRAD_ID) and not resolver.wants("arxiv:2402.13372") and not resolver.wants("title:")
    assert resolver.lookup(["arxiv:2402.13372", "doi:10.1038/srep16696"]) == {} and s2.requests == []


# === what every resolver owes an API: Retry-After, failures, the Enricher protocol ===================================

Make = Callable[[str, httpx.Client, FakeClock], tuple[Enricher, list[str]]]


def make_openreview(base: str, client: httpx.Client, clock: FakeClock) -> tuple[Enricher, list[str]]:
    return (
        OpenReviewEnricher(client, api_url=f"{base}/v2", legacy_api_url=f"{base}/v1", **polite(clock)),
        ["openreview:Qv3mKz7pYd"],
    )


def make_s2(base: str, client: httpx.Client, clock: FakeClock) -> tuple[Enricher, list[str]]:
    return SemanticScholarEnricher(client, api_url=f"{base}/graph/v1", **polite(clock)), ["arxiv:2402.13372"]


def make_crossref(base: str, client: httpx.Client, clock: FakeClock) -> tuple[Enricher, list[str]]:
    return CrossrefEnricher(client, api_url=base, **polite(clock)), ["doi:10.1038/srep16696"]


def make_title_s2(base: str, client: httpx.Client, clock: FakeClock) -> tuple[Enricher, list[str]]:
    return TitleResolver([S2TitleSearch(client, api_url=f"{base}/graph/v1", **polite(clock))]), [EVOGRAD_ID]


def make_title_crossref(base: str, client: httpx.Client, clock: FakeClock) -> tuple[Enricher, list[str]]:
    return TitleResolver([CrossrefTitleSearch(client, api_url=base, **polite(clock))]), [GAMES_ID]


RESOLVERS: dict[str, Make] = {
    "openreview": make_openreview,
    "s2": make_s2,
    "crossref": make_crossref,
    "title-s2": make_title_s2,
    "title-crossref": make_title_crossref,
}


@pytest.fixture
def all_apis(httpserver: HTTPServer, clock: FakeClock) -> tuple[FakeApi, ...]:
    """Every fake on one server; the answers each resolver needs to find its paper."""
    s2, crossref, openreview = (
        FakeS2(httpserver, clock),
        FakeCrossref(httpserver, clock),
        FakeOpenReview(httpserver, clock),
    )
    s2.matches[EVOGRAD_ID.removeprefix("title:")] = next(p for p in S2_PAPERS if p["title"] == EVOGRAD)
    crossref.searches[GAMES_ID.removeprefix("title:")] = ["10.1002/ece3.2314"]
    return s2, crossref, openreview


def fake_for(kind: str, apis: tuple[FakeApi, ...]) -> FakeApi:
    s2, crossref, openreview = apis
    return {"openreview": openreview, "s2": s2, "crossref": crossref, "title-s2": s2, "title-crossref": crossref}[kind]


def test_the_resolvers_follow_the_enricher_protocol_and_name_themselves() -> None:
    with httpx.Client() as c:
        names = {kind: make("http://127.0.0.1:9", c, FakeClock())[0] for kind, make in RESOLVERS.items()}
    assert {k: e.name for k, e in names.items()} == {
        "openreview": "openreview",
        "s2": "s2",
        "crossref": "crossref",
        "title-s2": "title",
        "title-crossref": "title",
    }
    assert all(isinstance(e.batch_size, int) and e.batch_size >= 1 for e in names.values())


@pytest.mark.parametrize("kind", list(RESOLVERS))
@pytest.mark.parametrize(("status", "retry_after", "waited"), [(429, "7", 7.0), (503, None, 1.0)])
def test_a_refusal_is_waited_out_once_as_retry_after_says(
    kind: str,
    status: int,
    retry_after: str | None,
    waited: float,
    all_apis: tuple[FakeApi, ...],
    httpserver: HTTPServer,
    client: httpx.Client,
    clock: FakeClock,
) -> None:
    fake = fake_for(kind, all_apis)
    fake.queued.append(
        Response("Too Many Requests", status=status, headers={"Retry-After": retry_after} if retry_after else {})
    )
    enricher, ids = RESOLVERS[kind](httpserver.url_for("").rstrip("/"), client, clock)
    found = enricher.lookup(ids)
    assert set(found) == set(ids)
    assert clock.slept == [waited]
    assert len(fake.requests) == 2 and fake.at[1] - fake.at[0] >= waited
    assert fake.requests[0].full_path == fake.requests[1].full_path  # the same request, asked again


@pytest.mark.parametrize("kind", list(RESOLVERS))
def test_a_second_refusal_or_a_long_retry_after_ends_the_lookup(
    kind: str, all_apis: tuple[FakeApi, ...], httpserver: HTTPServer, client: httpx.Client, clock: FakeClock
) -> None:
    fake = fake_for(kind, all_apis)
    base = httpserver.url_for("").rstrip("/")
    fake.queued += [
        Response("busy", status=503, headers={"Retry-After": "5"}),
        Response("busy", status=503, headers={"Retry-After": "5"}),
    ]
    enricher, ids = RESOLVERS[kind](base, client, clock)
    with pytest.raises(EnrichUnavailable, match=r"busy \(HTTP 503"):
        enricher.lookup(ids)
    assert clock.slept == [5.0] and len(fake.requests) == 2
    fake.queued[:] = [Response("slow down", status=429, headers={"Retry-After": "3600"})]
    with pytest.raises(EnrichUnavailable, match=r"HTTP 429, retry after 3600s"):
        enricher.lookup(ids)
    assert clock.slept == [5.0, 1.0] and len(fake.requests) == 3  # the spacing, not the hour; not asked again


def slow(request: Request) -> Response:
    time.sleep(0.6)
    return Response("too late", status=200)


DOWN: dict[str, Response | Callable[[Request], Response] | None] = {
    "connection refused": None,
    "HTTP 500": Response("Internal Server Error", status=500),
    "HTTP 502 page": Response("<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html"),
    "HTML instead of JSON": Response("<html><body>Maintenance</body></html>", status=200, content_type="text/html"),
    "JSON of another shape": as_json({"unexpected": True}),
    "cut-off JSON": Response('{"notes": [{"id": "Qv3mKz7pYd", "con', status=200, content_type=JSON),
    "a proxy's 404": Response("<html>Not Found</html>", status=404, content_type="text/html"),
    "too slow": slow,
}


@pytest.fixture(params=list(DOWN), ids=list(DOWN))
def down_base(request: pytest.FixtureRequest, httpserver: HTTPServer) -> str:
    answer = DOWN[request.param]
    if answer is None:
        return f"http://127.0.0.1:{free_port()}"
    if isinstance(answer, Response):
        httpserver.expect_request(re.compile(".*")).respond_with_response(answer)
    else:
        httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    return httpserver.url_for("").rstrip("/")


@pytest.mark.parametrize("kind", list(RESOLVERS))
def test_an_api_that_is_down_slow_or_answering_nonsense_is_unavailable(
    kind: str, down_base: str, clock: FakeClock
) -> None:
    with httpx.Client(timeout=httpx.Timeout(0.3), trust_env=False) as c:
        enricher, ids = RESOLVERS[kind](down_base, c, clock)
        with pytest.raises(EnrichUnavailable):
            enricher.lookup(ids)


@pytest.mark.parametrize("kind", list(RESOLVERS))
def test_a_failed_lookup_costs_only_its_own_ids_and_the_next_lookup_is_answered(
    kind: str, all_apis: tuple[FakeApi, ...], httpserver: HTTPServer, client: httpx.Client, clock: FakeClock
) -> None:
    fake = fake_for(kind, all_apis)
    fake.on_request[1] = Response("Internal Server Error", status=500)
    enricher, ids = RESOLVERS[kind](httpserver.url_for("").rstrip("/"), client, clock)
    with pytest.raises(EnrichUnavailable, match="HTTP 500"):
        enricher.lookup(ids)
    assert set(enricher.lookup(ids)) == set(ids)  # the same enricher, the next batch (here: the same ids again)


def test_the_config_accepts_exactly_the_resolvers_the_registry_builds() -> None:
    """config.py cannot import enrich/ (it is below every stage), so the names are written twice: held equal here."""
    from digest import config
    from digest.enrich import registry

    assert set(config.RESOLVERS) == {*registry.RESOLVERS, "landing"}
