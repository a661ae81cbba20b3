"""Enrichment: arXiv papers that arrived as bare links get their title, authors and abstract from the arXiv API.

The API is a loopback fake that answers `id_list` queries with entries of a real arXiv API response (arxiv.py's
recording, MIT); the enricher's clock and sleep are a fake clock, so spacing and Retry-After are checked without
waiting. Papers reach the store through the real fetch pipeline and CLI, over loopback HTTP, into real SQLite.
"""

from __future__ import annotations

import json
import re
import runpy
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from digest.clean.mentions import TITLE_FROM_ANCHOR, TITLE_FROM_API, TITLE_FROM_LISTING
from digest.enrich import EnrichUnavailable
from digest.enrich.arxiv import ArxivEnricher, parse_api_response
from digest.enrich.run import enrich_papers
from tests.conftest import FIXTURES, Cli, FakeClock, store_rows

LISTINGS = FIXTURES / "listings"
RECORDING = "arxiv.py__q_testing_s0_m10_bc5a6c384fe9.json"
ERROR_RECORDING = "arxiv.py__id_abc_s0_m100_b79c8dcf6bc3.json"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=UTF-8"


def recording(name: str) -> dict:
    return json.loads((LISTINGS / name).read_text(encoding="utf-8"))


def load_expected(name: str) -> dict:
    return runpy.run_path(str(LISTINGS / f"{name}.expected.py"))["EXPECTED"]


# --- the fake arXiv API --------------------------------------------------------------------------------------------

BODY: str = recording(RECORDING)["body"]
FEED_HEAD = BODY[: BODY.index("  <entry>")]
ENTRIES: dict[str, str] = {
    "arxiv:" + re.search(r"<id>http://arxiv\.org/abs/(\S+?)v\d+</id>", block)[1]: block  # type: ignore[index]
    for block in re.findall(r"  <entry>.*?</entry>\n", BODY, flags=re.DOTALL)
}
TEMPLATE = ENTRIES["arxiv:2202.12139"]


def api_title(canonical: str) -> str:
    return f"API title of {canonical.removeprefix('arxiv:')}"


def made_entry(canonical: str) -> str:
    """An entry for an id the recording does not hold: its first entry with the id and title replaced."""
    arxiv = canonical.removeprefix("arxiv:")
    entry = TEMPLATE.replace("2202.12139", arxiv)
    return re.sub(r"<title>.*?</title>", f"<title>{api_title(canonical)}</title>", entry, flags=re.DOTALL)


class FakeArxivApi:
    """`/api/query?id_list=...&start=0&max_results=N`: the asked entries, newest-asked first (not the asked order)."""

    def __init__(self, httpserver: HTTPServer, clock: FakeClock | None = None) -> None:
        self.asked: list[list[str]] = []
        self.params: list[dict[str, str]] = []
        self.at: list[float] = []  # the fake clock's time at each request
        self.queued: list[Response] = []  # answers given before the normal ones (429, 503, 500...)
        self.on_request: dict[int, Response] = {}  # the n-th request (from 1) gets this answer instead
        self.missing: set[str] = set()  # ids the API does not know
        self.extra: list[str] = []  # ids answered although nobody asked
        self.response_time = 0.0
        self.clock = clock
        httpserver.expect_request("/api/query").respond_with_handler(self.answer)
        self.url = httpserver.url_for("/api/query")

    def answer(self, request: Request) -> Response:
        ids = ["arxiv:" + i for i in request.args.get("id_list", "").split(",") if i]
        self.asked.append(ids)
        self.params.append(dict(request.args))
        if self.clock is not None:
            self.at.append(self.clock.now)
            self.clock.now += self.response_time
        if len(self.asked) in self.on_request:
            return self.on_request[len(self.asked)]
        if self.queued:
            return self.queued.pop(0)
        answered = [i for i in reversed(ids) if i not in self.missing] + self.extra
        body = FEED_HEAD + "".join(ENTRIES.get(i) or made_entry(i) for i in answered) + "</feed>\n"
        return Response(body.encode("utf-8"), content_type=ATOM)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(httpserver: HTTPServer, clock: FakeClock) -> FakeArxivApi:
    return FakeArxivApi(httpserver, clock)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0), trust_env=False) as c:
        yield c


def enricher_for(api_url: str, client: httpx.Client, clock: FakeClock, **kw: object) -> ArxivEnricher:
    return ArxivEnricher(client, api_url=api_url, clock=clock, sleep=clock.sleep, **kw)  # type: ignore[arg-type]


def free_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- papers in the store, the way they arrive: links in posts ------------------------------------------------------


def blog(*links: tuple[str, str], guid: str = "p1", title: str = "Reading notes") -> bytes:
    date = format_datetime(datetime(2026, 8, 14, 9, 0, tzinfo=UTC), usegmt=True)
    body = "".join(f'<p>We read <a href="{escape(url)}">{escape(text)}</a> this week.</p>' for url, text in links)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Lab blog</title>'
        f'<link>https://blog.example/</link><item><title>{title}</title><guid isPermaLink="false">{guid}</guid>'
        f"<link>https://blog.example/{guid}</link><pubDate>{date}</pubDate>"
        f"<description>{escape(body)}</description></item></channel></rss>"
    ).encode()


def serve(httpserver: HTTPServer, path: str, body: bytes, content_type: str = RSS) -> str:
    """(Re)serve `path`: a later call replaces what an earlier one served there."""
    httpserver.handlers[:] = [h for h in httpserver.handlers if h.matcher.uri != path]
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for(path)


def papers(engine) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    """canonical id -> (title, title_quality, enriched?)"""
    rows = store_rows(engine, "SELECT canonical_id, title, title_quality, enriched_at IS NOT NULL FROM papers")
    return {pid: (title, quality, bool(done)) for pid, title, quality, done in rows}


def asked_ids(api: FakeArxivApi) -> list[str]:
    return [i for batch in api.asked for i in batch]


def ids(first: int, n: int) -> list[str]:
    return [f"arxiv:2401.{k:05d}" for k in range(first, first + n)]


# --- golden files: what the enricher reads from a real API answer -----------------------------------------------


def test_a_real_api_answer_is_read_by_canonical_id_as_the_golden_file_says() -> None:
    expected = load_expected(RECORDING)
    rec = recording(RECORDING)
    assert rec["status_code"] == expected["status_code"]
    found = parse_api_response(rec["body"].encode("utf-8"))
    assert list(found) == expected["ids"]
    for canonical, want in expected["entries"].items():
        meta = found[canonical]
        assert meta.canonical_id == canonical
        for field, value in want.items():
            if field == "abstract_starts":
                assert (meta.abstract or "").startswith(value), canonical
            elif field == "abstract_ends":
                assert (meta.abstract or "").endswith(value), canonical
            else:
                assert getattr(meta, field) == value, (canonical, field)


def test_a_real_api_error_feed_is_unavailability_not_an_empty_answer() -> None:
    expected = load_expected(ERROR_RECORDING)
    rec = recording(ERROR_RECORDING)
    assert rec["status_code"] == expected["status_code"]
    with pytest.raises(EnrichUnavailable, match=re.escape(expected["error"])):
        parse_api_response(rec["body"].encode("utf-8"))


# --- the enricher: batching, spacing, Retry-After ---------------------------------------------------------------


def test_250_ids_are_asked_in_three_requests_of_100_100_and_50_with_max_results_set(
    api: FakeArxivApi, client: httpx.Client, clock: FakeClock
) -> None:
    wanted = ids(1, 250)
    started = time.monotonic()
    found = enricher_for(api.url, client, clock).lookup(wanted)
    assert time.monotonic() - started < 5.0  # the two 3 s waits were served by the fake clock, not slept
    assert [len(batch) for batch in api.asked] == [100, 100, 50]
    assert [batch for batch in api.asked] == [wanted[:100], wanted[100:200], wanted[200:]]
    assert [(p["start"], p["max_results"]) for p in api.params] == [("0", "100"), ("0", "100"), ("0", "50")]
    assert {k: v.title for k, v in found.items()} == {i: api_title(i) for i in wanted}


def test_a_batch_size_above_the_apis_limit_is_capped_at_100(
    api: FakeArxivApi, client: httpx.Client, clock: FakeClock
) -> None:
    enricher_for(api.url, client, clock, batch_size=500).lookup(ids(1, 150))
    assert [len(batch) for batch in api.asked] == [100, 50]


def test_requests_are_at_least_three_seconds_apart_by_the_injected_clock_and_nothing_sleeps_for_real(
    api: FakeArxivApi, client: httpx.Client, clock: FakeClock
) -> None:
    api.response_time = 1.25  # each answer takes 1.25 s of (fake) time: only the rest of the 3 s is waited
    enricher = enricher_for(api.url, client, clock)
    started = time.monotonic()
    enricher.lookup(ids(1, 250))
    enricher.lookup(ids(251, 10))  # a later lookup by the same enricher keeps the spacing too
    assert time.monotonic() - started < 5.0  # sleeping for real would take 3 x 1.75 s
    gaps = [b - a for a, b in zip(api.at, api.at[1:], strict=False)]
    assert len(api.at) == 4 and all(gap >= 3.0 for gap in gaps), gaps
    assert clock.slept == [1.75, 1.75, 1.75]  # never more than needed either


@pytest.mark.parametrize(
    ("status", "retry_after", "waited"),
    [
        (429, "7", 7.0),
        (503, "4", 4.0),
        (503, None, 3.0),  # no Retry-After: the usual spacing
        (429, "1", 3.0),  # a shorter Retry-After does not shorten the spacing arXiv asks for
    ],
)
def test_a_refusal_is_waited_out_as_retry_after_says_then_the_request_succeeds(
    status: int, retry_after: str | None, waited: float, api: FakeArxivApi, client: httpx.Client, clock: FakeClock
) -> None:
    api.queued.append(
        Response("Rate exceeded.", status=status, headers={"Retry-After": retry_after} if retry_after else {})
    )
    found = enricher_for(api.url, client, clock).lookup(["arxiv:2202.12139", "arxiv:2302.03287"])
    assert set(found) == {"arxiv:2202.12139", "arxiv:2302.03287"}
    assert found["arxiv:2302.03287"].title == "ChatGPT and Software Testing Education: Promises & Perils"
    assert api.asked == [["arxiv:2202.12139", "arxiv:2302.03287"]] * 2  # the same batch, asked again
    assert clock.slept == [waited]
    assert api.at[1] - api.at[0] >= waited


def test_a_retry_after_longer_than_a_run_should_wait_ends_the_run_without_waiting(
    api: FakeArxivApi, client: httpx.Client, clock: FakeClock
) -> None:
    api.queued.append(Response("Slow down", status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(EnrichUnavailable, match=r"HTTP 429, retry after 3600s"):
        enricher_for(api.url, client, clock).lookup(ids(1, 5))
    assert clock.slept == [] and len(api.asked) == 1


def test_a_second_refusal_in_a_row_ends_the_run(api: FakeArxivApi, client: httpx.Client, clock: FakeClock) -> None:
    api.queued += [
        Response("busy", status=503, headers={"Retry-After": "5"}),
        Response("busy", status=503, headers={"Retry-After": "5"}),
    ]
    with pytest.raises(EnrichUnavailable, match="HTTP 503"):
        enricher_for(api.url, client, clock).lookup(ids(1, 5))
    assert clock.slept == [5.0] and len(api.asked) == 2


def test_answers_in_another_order_than_asked_are_matched_by_id_and_unasked_ones_ignored(
    api: FakeArxivApi, client: httpx.Client, clock: FakeClock
) -> None:
    asked = ["arxiv:2202.12139", "arxiv:1202.4527", "arxiv:2302.03287"]
    api.extra = ["arxiv:2005.14124"]  # the answer also holds a paper nobody asked about
    found = enricher_for(api.url, client, clock).lookup(asked)
    assert list(found) == list(reversed(asked))  # the fake answered last-asked first
    assert found["arxiv:2202.12139"].title.startswith("Testing Deep Learning Models")
    assert found["arxiv:1202.4527"].authors == ("A. Isabella", "Emi Retna")
    assert found["arxiv:2302.03287"].authors[0] == "Sajed Jalil"
    assert "arxiv:2005.14124" not in found


def test_only_arxiv_ids_are_asked_about(api: FakeArxivApi, client: httpx.Client, clock: FakeClock) -> None:
    enricher = enricher_for(api.url, client, clock)
    assert not enricher.wants("openreview:yzkSU5zdwD") and not enricher.wants("url:example.org/paper.pdf")
    enricher.lookup(["openreview:yzkSU5zdwD", "arxiv:2202.12139", "doi:10.1109/ICSTW55395.2022.00035"])
    assert api.asked == [["arxiv:2202.12139"]]


# --- the API down, slow or answering nonsense -------------------------------------------------------------------


def slow(request: Request) -> Response:
    time.sleep(0.6)
    return Response("too late", status=200)


DOWN = {
    "connection refused": None,
    "HTTP 500": Response("Internal Server Error", status=500),
    "HTTP 400 error feed": Response(recording(ERROR_RECORDING)["body"], status=400, content_type=ATOM),
    "HTML instead of Atom": Response("<html><body>Maintenance</body></html>", status=200, content_type="text/html"),
    "too slow": slow,
}


@pytest.fixture(params=list(DOWN), ids=list(DOWN))
def down_api(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Iterator[str]:
    answer = DOWN[request.param]
    if answer is None:
        yield f"http://127.0.0.1:{free_port()}/api/query"
        return
    if callable(answer) and not isinstance(answer, Response):
        httpserver.expect_request("/api/query").respond_with_handler(answer)
    else:
        httpserver.expect_request("/api/query").respond_with_response(answer)
    yield httpserver.url_for("/api/query")


def test_an_api_that_is_down_slow_or_erroring_is_unavailable(down_api: str, clock: FakeClock) -> None:
    with httpx.Client(timeout=httpx.Timeout(0.3), trust_env=False) as c, pytest.raises(EnrichUnavailable):
        enricher_for(down_api, c, clock).lookup(ids(1, 3))


def test_when_the_api_is_down_the_run_stops_quietly_marks_nothing_and_the_next_run_asks_again(
    down_api: str, httpserver: HTTPServer, add_source, fetch_all, engine, clock: FakeClock, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(
            httpserver,
            "/blog.xml",
            blog(
                ("https://arxiv.org/abs/2202.12139", "Testing DL models"),
                ("https://arxiv.org/pdf/2302.03287v3", "ChatGPT and testing"),
            ),
        )
    )
    assert fetch_all().failed == 0
    with httpx.Client(timeout=httpx.Timeout(0.3), trust_env=False) as c:
        summary = enrich_papers(engine, enricher_for(down_api, c, clock), now=now)
    assert (summary.asked, summary.found) == (0, 0) and summary.error
    assert "will retry next run" in summary.line()
    assert not any(done for _, _, done in papers(engine).values())

    httpserver.clear()  # the API is back
    api = FakeArxivApi(httpserver, clock)
    with httpx.Client(timeout=httpx.Timeout(5.0), trust_env=False) as c:
        summary = enrich_papers(engine, enricher_for(api.url, c, clock), now=now)
    assert sorted(asked_ids(api)) == ["arxiv:2202.12139", "arxiv:2302.03287"]
    assert (summary.asked, summary.found, summary.error) == (2, 2, None)
    assert all(done for _, _, done in papers(engine).values())


def test_a_run_that_fails_part_way_keeps_the_batches_already_answered_and_asks_only_the_rest_next_time(
    api: FakeArxivApi,
    httpserver: HTTPServer,
    add_source,
    fetch_all,
    engine,
    client: httpx.Client,
    clock: FakeClock,
    now: datetime,
) -> None:  # type: ignore[no-untyped-def]
    links = [
        (f"https://arxiv.org/abs/{i.removeprefix('arxiv:')}", f"Paper number {n}") for n, i in enumerate(ids(1, 250))
    ]
    add_source(serve(httpserver, "/blog.xml", blog(*links)))
    fetch_all()
    api.on_request[2] = Response("Internal Server Error", status=500)
    first = enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    assert (first.asked, first.found) == (100, 100) and "HTTP 500" in (first.error or "")
    done = {pid for pid, (_, _, enriched) in papers(engine).items() if enriched}
    assert done == set(api.asked[0])

    api.asked.clear()
    api.on_request.clear()
    second = enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    assert (second.asked, second.found, second.error) == (150, 150, None)
    assert sorted(asked_ids(api)) == sorted(set(ids(1, 250)) - done)


# --- the store: asked once, best evidence wins ------------------------------------------------------------------


def test_ids_the_api_does_not_know_are_marked_looked_up_and_never_asked_again(
    api: FakeArxivApi,
    httpserver: HTTPServer,
    add_source,
    fetch_all,
    engine,
    client: httpx.Client,
    clock: FakeClock,
    now: datetime,
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(
            httpserver,
            "/blog.xml",
            blog(
                ("https://arxiv.org/abs/2202.12139", "Testing DL models"),
                ("https://arxiv.org/abs/2401.99999", "A Withdrawn Preprint"),
            ),
        )
    )
    fetch_all()
    api.missing = {"arxiv:2401.99999"}
    summary = enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    assert (summary.asked, summary.found) == (2, 1)
    assert papers(engine) == {
        "arxiv:2202.12139": (
            "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques",
            TITLE_FROM_API,
            True,
        ),
        "arxiv:2401.99999": ("A Withdrawn Preprint", TITLE_FROM_ANCHOR, True),  # looked up, not found: kept
    }
    again = enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    assert (again.asked, again.found) == (0, 0)
    assert len(api.asked) == 1  # the cache held: one request in all


def test_the_api_fills_in_authors_abstract_categories_year_and_pdf(
    api: FakeArxivApi,
    httpserver: HTTPServer,
    add_source,
    fetch_all,
    engine,
    client: httpx.Client,
    clock: FakeClock,
    now: datetime,
) -> None:  # type: ignore[no-untyped-def]
    add_source(serve(httpserver, "/blog.xml", blog(("https://huggingface.co/papers/2202.12139", "this paper"))))
    fetch_all()
    enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    [(title, authors, abstract, categories, year, meta)] = store_rows(
        engine, "SELECT title, authors, abstract, categories, year, meta_quality FROM papers"
    )
    assert title == "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques"
    assert json.loads(authors) == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]
    assert abstract.startswith("Deep Learning (DL) has revolutionized the capabilities of vision-based systems")
    assert (json.loads(categories), year, meta) == (["cs.SE", "cs.LG"], 2022, TITLE_FROM_API)


def test_an_anchor_title_gives_way_to_the_api_title_and_a_later_anchor_never_replaces_it(
    api: FakeArxivApi,
    httpserver: HTTPServer,
    add_source,
    fetch_all,
    engine,
    client: httpx.Client,
    clock: FakeClock,
    now: datetime,
) -> None:  # type: ignore[no-untyped-def]
    url = serve(httpserver, "/blog.xml", blog(("https://arxiv.org/abs/2302.03287", "ChatGPT in the Classroom")))
    add_source(url)
    fetch_all()
    assert papers(engine)["arxiv:2302.03287"] == ("ChatGPT in the Classroom", TITLE_FROM_ANCHOR, False)
    enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    api_answer = ("ChatGPT and Software Testing Education: Promises & Perils", TITLE_FROM_API, True)
    assert papers(engine)["arxiv:2302.03287"] == api_answer

    serve(
        httpserver,
        "/blog.xml",
        blog(("https://arxiv.org/pdf/2302.03287v3", "Teaching Testing with LLMs Badly"), guid="p2", title="More notes"),
    )
    fetch_all()
    assert store_rows(engine, "SELECT count(*) FROM mentions") == [(2,)]
    assert papers(engine)["arxiv:2302.03287"] == api_answer


def test_a_paper_a_listing_described_in_full_is_not_looked_up_but_a_bare_link_is(
    api: FakeArxivApi,
    httpserver: HTTPServer,
    add_source,
    fetch_all,
    engine,
    client: httpx.Client,
    clock: FakeClock,
    now: datetime,
) -> None:  # type: ignore[no-untyped-def]
    listing = (LISTINGS / "polaris__arxiv_listing_sample.html").read_bytes()
    add_source(
        serve(httpserver, "/list/cs.AI/new", listing, "text/html; charset=utf-8"),
        name="cs-ai",
        kind="listing",
        adapter="arxiv-listing",
    )
    add_source(
        serve(httpserver, "/blog.xml", blog(("https://arxiv.org/abs/2202.12139", "Testing DL models"))), name="blog"
    )
    assert fetch_all().failed == 0
    summary = enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    assert api.asked == [["arxiv:2202.12139"]]  # title, authors and abstract of the listed four are known
    assert (summary.asked, summary.found) == (1, 1)
    assert papers(engine)["arxiv:2608.09949"] == (
        "Closed-Loop LLM Co-Pilots for Digital Agriculture",
        TITLE_FROM_LISTING,
        False,
    )


def test_a_listing_that_gave_only_a_title_still_gets_authors_and_abstract_from_the_api(
    api: FakeArxivApi,
    httpserver: HTTPServer,
    add_source,
    fetch_all,
    engine,
    client: httpx.Client,
    clock: FakeClock,
    now: datetime,
) -> None:  # type: ignore[no-untyped-def]
    page = (
        b'<html><body><article><h3><a href="/papers/2202.12139">Testing Deep Learning Models</a></h3>'
        b"</article></body></html>"
    )  # a Hugging Face page card: a title, nothing else
    add_source(
        serve(httpserver, "/papers", page, "text/html; charset=utf-8"), name="hf", kind="listing", adapter="hf-daily"
    )
    fetch_all()
    assert papers(engine)["arxiv:2202.12139"] == ("Testing Deep Learning Models", TITLE_FROM_LISTING, False)
    enrich_papers(engine, enricher_for(api.url, client, clock), now=now)
    [(title, quality, authors, abstract)] = store_rows(
        engine, "SELECT title, title_quality, authors, abstract FROM papers"
    )
    assert (title, quality) == (
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques",
        TITLE_FROM_API,
    )
    assert json.loads(authors)[0] == "Mohit Kumar Ahuja" and abstract.startswith("Deep Learning (DL)")


# --- the CLI: `digest enrich`, and enrichment after `digest fetch` ----------------------------------------------


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_digest_enrich_looks_up_the_bare_links_once_and_reports_what_it_did(
    tmp_path: Path, db_url: str, httpserver: HTTPServer, engine
) -> None:  # type: ignore[no-untyped-def]
    api = FakeArxivApi(httpserver)
    cli = Cli(
        db_url,
        write_config(
            tmp_path,
            f'[enrich]\nafter_fetch = false\narxiv_api = "{api.url}"\nspacing = 0\nresolvers = ["landing", "arxiv"]\n',
        ),
    )
    cli(
        "sources",
        "add",
        serve(
            httpserver,
            "/blog.xml",
            blog(
                ("https://arxiv.org/abs/2202.12139", "the testing paper"),
                ("https://arxiv.org/abs/2204.08348v3", "REST"),
                ("https://openreview.net/forum?id=yzkSU5zdwD", "Emergent Abilities of Large Language Models"),
            ),
        ),
    )
    cli("fetch", "--all")
    assert api.asked == []  # after_fetch = false

    assert cli("enrich").stdout.strip() == "enriched 2 of 2 papers looked up"
    assert sorted(asked_ids(api)) == ["arxiv:2202.12139", "arxiv:2204.08348"]
    titles = {p["id"]: p["title"] for p in json.loads(cli("papers", "--json").stdout)}
    assert titles == {
        "arxiv:2202.12139": "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques",
        "arxiv:2204.08348": "Automated Test Generation for REST APIs: No Time to Rest Yet",
        "openreview:yzkSU5zdwD": "Emergent Abilities of Large Language Models",  # not arXiv: not asked
    }
    assert cli("enrich").stdout.strip() == "nothing to look up"
    assert len(api.asked) == 1


def test_digest_enrich_with_the_api_down_succeeds_and_says_it_will_retry(
    tmp_path: Path, db_url: str, httpserver: HTTPServer, engine
) -> None:  # type: ignore[no-untyped-def]
    down = f"http://127.0.0.1:{free_port()}/api/query"
    cli = Cli(db_url, write_config(tmp_path, f'[enrich]\nafter_fetch = false\narxiv_api = "{down}"\n'))
    cli("sources", "add", serve(httpserver, "/blog.xml", blog(("https://arxiv.org/abs/2202.12139", "the paper"))))
    cli("fetch", "--all")
    out = cli("enrich").stdout.strip()
    assert out.startswith("looked up nothing (stopped: arXiv API unreachable: ConnectError")
    assert out.endswith("will retry next run)")
    assert store_rows(engine, "SELECT count(*) FROM papers WHERE enriched_at IS NOT NULL") == [(0,)]


@pytest.mark.parametrize("after_fetch", [True, False])
def test_fetch_enriches_new_papers_afterwards_only_when_configured(
    after_fetch: bool, tmp_path: Path, db_url: str, httpserver: HTTPServer, engine
) -> None:  # type: ignore[no-untyped-def]
    api = FakeArxivApi(httpserver)
    cli = Cli(
        db_url,
        write_config(
            tmp_path,
            f"[enrich]\nafter_fetch = {str(after_fetch).lower()}\n"
            f'arxiv_api = "{api.url}"\nspacing = 0\nresolvers = ["arxiv"]\n',
        ),
    )
    cli("sources", "add", serve(httpserver, "/blog.xml", blog(("https://arxiv.org/abs/2202.12139", "the paper"))))
    lines = cli("fetch", "--all").stdout.strip().splitlines()
    assert lines[0].startswith("fetched 1, not modified 0, failed 0, new items 1")
    if after_fetch:
        assert lines[1:] == ["enriched 1 of 1 papers looked up"] and api.asked == [["arxiv:2202.12139"]]
        assert store_rows(engine, "SELECT title_quality FROM papers") == [(TITLE_FROM_API,)]
    else:
        assert lines[1:] == [] and api.asked == []
        assert store_rows(engine, "SELECT enriched_at FROM papers") == [(None,)]


# --- one paper, three kinds of source ---------------------------------------------------------------------------


def test_the_same_arxiv_paper_from_a_blog_post_the_hf_api_and_an_arxiv_listing_is_one_paper_with_three_sources(
    tmp_path: Path, db_url: str, httpserver: HTTPServer, engine
) -> None:  # type: ignore[no-untyped-def]
    cli = Cli(db_url, write_config(tmp_path, "[enrich]\nafter_fetch = false\n"))
    blog_url = serve(httpserver, "/blog.xml", blog(("https://arxiv.org/pdf/2608.09949v2", "LLM co-pilots for farms")))
    hf_url = serve(
        httpserver, "/api/daily_papers", (LISTINGS / "hf_daily_papers_2026-08-13.json").read_bytes(), "application/json"
    )
    listing_url = serve(
        httpserver,
        "/list/cs.AI/new",
        (LISTINGS / "polaris__arxiv_listing_sample.html").read_bytes(),
        "text/html; charset=utf-8",
    )
    cli("sources", "add", blog_url, "--name", "blog")
    cli("fetch", "--all")  # the blog first: the paper is known by its anchor text only
    assert papers(engine)["arxiv:2608.09949"] == ("LLM co-pilots for farms", TITLE_FROM_ANCHOR, False)

    cli("sources", "add", hf_url, "--name", "hf", "--adapter", "hf-daily")
    cli("sources", "add", listing_url, "--name", "cs-ai", "--adapter", "arxiv-listing")
    cli("fetch", "--all")

    assert store_rows(engine, "SELECT count(*) FROM papers WHERE canonical_id = 'arxiv:2608.09949'") == [(1,)]
    doc = json.loads(cli("export", "--format", "json").stdout)
    [paper] = [p for p in doc["papers"] if p["id"] == "arxiv:2608.09949"]
    assert paper == {
        "id": "arxiv:2608.09949",
        "title": "Closed-Loop LLM Co-Pilots for Digital Agriculture",
        "mentions": 3,
        "sources": 3,
    }
    linking = sorted((i["source"], i["guid"]) for i in doc["items"] if "arxiv:2608.09949" in i["papers"])
    assert linking == sorted([(blog_url, "p1"), (hf_url, "arxiv:2608.09949"), (listing_url, "arxiv:2608.09949")])
    # the HF listing brought its upvotes and code link, the arXiv listing its categories, to the same row
    [(upvotes, code, categories)] = store_rows(
        engine, "SELECT upvotes, code_url, categories FROM papers WHERE canonical_id = 'arxiv:2608.09949'"
    )
    assert (upvotes, code) == (12, "https://github.com/kernbach-lab/phyto-copilot")
    assert json.loads(categories) == ["cs.AI", "physics.bio-ph"]
