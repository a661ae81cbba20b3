"""Listing sources: Hugging Face daily papers (API and page), arXiv listing pages, arXiv RSS/Atom, reading lists.

Golden files: each document in tests/fixtures/listings/ sits beside `<file>.expected.py`, whose EXPECTED holds
the values read off the document by hand. End to end: the documents are served over loopback HTTP at the paths
the real sites use, fetched through the real CLI or pipeline into a real SQLite store, and read back.
"""

from __future__ import annotations

import functools
import html
import json
import re
import runpy
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from digest.clean.mentions import TITLE_FROM_LISTING
from digest.domain.adapters import detect_adapter
from digest.parse import parse_document
from digest.parse.types import ParseError
from tests.conftest import FIXTURES, Cli, store_rows

LISTINGS = FIXTURES / "listings"
DOCUMENTS = sorted(p.name for p in LISTINGS.iterdir() if p.is_file() and not p.name.endswith(".py"))

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
NO_ENRICH = "[enrich]\nafter_fetch = false\n"  # listings as fetched: no arXiv API lookups after fetch

HF_JSON = "hf_daily_papers_2026-08-13.json"
HF_PAGE = "hf_papers_date_2026-08-13.html"
LISTING = "polaris__arxiv_listing_sample.html"
ARXIV_RSS = "arxiv_rss_cs.AI.rss.xml"
ARXIV_ATOM = "arxiv_atom_cs.AI.atom.xml"
WEEKEND = "arxiv_rss_cs.CL_weekend_empty.rss.xml"
JEKYLL = "seed000_jekyll_publications_bookmark.txt"
NOTION = "seed001_notion_papers.txt"
HF_TEXT = "seed003_hf_papers_text.txt"  # tested in test_reading_lists.py
LIST_ITEMS = "reading_group_list_items.html"


@functools.cache
def load_expected(name: str) -> dict:
    return runpy.run_path(str(LISTINGS / f"{name}.expected.py"))["EXPECTED"]


def document(name: str) -> bytes:
    return (LISTINGS / name).read_bytes()


PARSED = [name for name in DOCUMENTS if not load_expected(name).get("api")]


def note_text(fragment: str | None) -> str:
    """The words of a note as a reader sees them: inline tags dropped, block tags a space, entities decoded."""
    text = re.sub(r"</?(?:a|strong|em|b|i|code|span|small)\b[^>]*>", "", fragment or "")
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


# --- HTTP helpers --------------------------------------------------------------------------------------------------

LISTING_HOSTS = frozenset({"huggingface.co", "arxiv.org", "rss.arxiv.org", "export.arxiv.org"})


@pytest.fixture
def real_host(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> Callable[[str, str], str]:
    """URLs that name the real listing hosts but reach the loopback server.

    The real host names resolve to 127.0.0.1 (plain http on the test server's port), so a source added as
    http://huggingface.co:PORT/api/daily_papers is recognised by its host and path exactly like the real one,
    while every connection still goes to loopback (and conftest refuses any other).
    """
    real = socket.getaddrinfo

    def resolve(host, *args, **kw):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host.lower() in LISTING_HOSTS:
            host = "127.0.0.1"
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return lambda host, path: f"http://{host}:{httpserver.port}{path}"


def serve(httpserver: HTTPServer, path: str, body: bytes, content_type: str, query: str | None = None) -> None:
    """(Re)serve `path`: a later call replaces what an earlier one served there."""
    httpserver.handlers[:] = [h for h in httpserver.handlers if h.matcher.uri != path]
    httpserver.expect_request(path, query_string=query).respond_with_data(body, content_type=content_type)


@pytest.fixture
def cli_no_enrich(tmp_path: Path, db_url: str) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text(NO_ENRICH)
    return Cli(db_url, config)


def item_guids(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return {guid for (guid,) in store_rows(engine, "SELECT guid FROM items")}


def paper_ids(engine) -> set[str]:  # type: ignore[no-untyped-def]
    return {pid for (pid,) in store_rows(engine, "SELECT canonical_id FROM papers")}


def paper_row(engine, canonical: str) -> dict:  # type: ignore[no-untyped-def]
    cols = (
        "title",
        "title_quality",
        "authors",
        "abstract",
        "categories",
        "upvotes",
        "code_url",
        "project_url",
        "meta_quality",
        "landing_url",
    )
    rows = store_rows(engine, f"SELECT {', '.join(cols)} FROM papers WHERE canonical_id = :c", c=canonical)
    assert len(rows) == 1, f"{canonical}: {len(rows)} paper rows"
    row = dict(zip(cols, rows[0], strict=True))
    row["authors"] = json.loads(row["authors"]) if isinstance(row["authors"], str) else row["authors"]
    row["categories"] = json.loads(row["categories"]) if isinstance(row["categories"], str) else row["categories"]
    return row


def own_paper_of_each_item(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """item guid -> the paper of its first mention (a listing item's own paper comes first)."""
    rows = store_rows(
        engine,
        """SELECT items.guid, papers.canonical_id FROM mentions
                                 JOIN items ON items.id = mentions.item_id JOIN papers ON papers.id = mentions.paper_id
                                 WHERE mentions.position = 0""",
    )
    return dict(rows)


def status_json(cli: Cli) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(cli("status", "--json").stdout)}


# --- golden files --------------------------------------------------------------------------------------------------


def test_every_listing_fixture_has_a_golden_file() -> None:
    goldens = sorted(p.name.removesuffix(".expected.py") for p in LISTINGS.glob("*.expected.py"))
    assert goldens == DOCUMENTS
    # one golden document per adapter at least, and each adapter's documents are the ones named here
    adapters = {
        name: load_expected(name).get("adapter") or detect_adapter(load_expected(name)["url"]) or "reading-list"
        for name in PARSED
    }
    assert adapters == {
        HF_JSON: "hf-daily",
        HF_PAGE: "hf-daily",
        LISTING: "arxiv-listing",
        ARXIV_RSS: "arxiv-rss",
        ARXIV_ATOM: "arxiv-rss",
        WEEKEND: "arxiv-rss",
        JEKYLL: "reading-list",
        NOTION: "reading-list",
        LIST_ITEMS: "reading-list",
        HF_TEXT: "reading-list",
    }


@functools.cache  # a parsed document is only read by the tests: parse each one once
def parse_golden(name: str):  # type: ignore[no-untyped-def]
    expected = load_expected(name)
    return parse_document(
        document(name),
        url=expected["url"],
        content_type=expected["content_type"],
        kind="listing",
        adapter=expected["adapter"],
    )


@pytest.mark.parametrize("name", PARSED)
def test_listing_level_values_match_the_golden_file(name: str) -> None:
    expected = load_expected(name)
    feed = parse_golden(name)
    assert feed.title == expected["title"]
    assert feed.site_url == expected["site_url"]
    assert feed.built == expected["built"]
    assert feed.warnings == expected["warnings"]
    assert [item.guid for item in feed.items] == expected["guids"]
    for absent in expected.get("absent", []):
        assert absent not in [item.guid for item in feed.items]


@pytest.mark.parametrize("name", [n for n in PARSED if load_expected(n).get("items")])
def test_listing_item_values_match_the_golden_file(name: str) -> None:
    expected = load_expected(name)
    items = parse_golden(name).items
    for index, want in expected["items"].items():
        item = items[index]
        for field in ("url", "title", "author", "published", "image_url"):
            if field in want:
                assert getattr(item, field) == want[field], (index, field)
        if "content_starts" in want:
            assert (item.content_html or "").startswith(want["content_starts"]), index
        paper = item.paper
        assert paper is not None, index
        for field, value in want.get("paper", {}).items():
            if field == "abstract_starts":
                assert (paper.abstract or "").startswith(value), index
            elif field == "abstract_ends":
                assert (paper.abstract or "").endswith(value), index
            elif field == "abstract_contains":
                assert value in (paper.abstract or ""), index
            else:
                assert getattr(paper, field) == value, (index, field)


@pytest.mark.parametrize("name", [n for n in PARSED if "papers" in load_expected(n)])
def test_every_paper_of_a_reading_list_matches_the_golden_file(name: str) -> None:
    expected = load_expected(name)
    items = parse_golden(name).items
    assert [(i.guid, i.url, i.title) for i in items] == expected["papers"]
    assert [(i.paper.url, i.paper.title) for i in items if i.paper] == [(u, t) for _, u, t in expected["papers"]]


@pytest.mark.parametrize("name", [n for n in PARSED if "notes" in load_expected(n)])
def test_each_reading_list_note_holds_its_own_text_and_not_its_neighbours(name: str) -> None:
    notes = {item.guid: note_text(item.content_html) for item in parse_golden(name).items}
    for guid, want in load_expected(name)["notes"].items():
        for phrase in want.get("contains", []):
            assert phrase in notes[guid], (guid, phrase)
        for phrase in want.get("excludes", []):
            assert phrase not in notes[guid], (guid, phrase)


@pytest.mark.parametrize("name", [n for n in PARSED if load_expected(n).get("template_free")])
def test_template_syntax_is_never_a_link_or_an_item(name: str) -> None:
    expected = load_expected(name)
    for item in parse_golden(name).items:
        for text in (item.guid, item.url, item.title, item.content_html):
            assert "{{" not in (text or "") and "{%" not in (text or ""), item.guid
        assert item.url != expected["url"]  # an empty href left by `({{ site.baseurl }}...)` is not the page


@pytest.mark.parametrize("name", PARSED)
def test_every_listing_item_is_a_paper_with_an_id_and_an_absolute_url(name: str) -> None:
    items = parse_golden(name).items
    assert len({i.guid for i in items}) == len(items)
    for item in items:
        assert item.paper is not None and item.guid and ":" in item.guid
        if item.guid.startswith("title:"):  # a text listing names papers without links: no URL at all
            assert item.url is None and item.paper.url == ""
            continue
        assert item.url and item.url.startswith(("http://", "https://"))
        assert item.paper.url.startswith(("http://", "https://"))


# --- recognising a listing by its URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "adapter"),
    [
        ("https://huggingface.co/api/daily_papers", "hf-daily"),
        ("https://huggingface.co/api/daily_papers?date=2026-08-13", "hf-daily"),
        ("https://huggingface.co/papers", "hf-daily"),
        ("https://huggingface.co/papers/", "hf-daily"),
        ("https://huggingface.co/papers/date/2026-08-13", "hf-daily"),
        ("https://arxiv.org/list/cs.AI/new", "arxiv-listing"),
        ("https://export.arxiv.org/list/cs.CL/new?skip=0&show=2000", "arxiv-listing"),
        ("https://rss.arxiv.org/rss/cs.AI", "arxiv-rss"),
        ("https://rss.arxiv.org/atom/cs.AI+cs.LG", "arxiv-rss"),
        ("http://export.arxiv.org/rss/cs.AI", "arxiv-rss"),
        # one paper's page, a paper, a blog: not listings
        ("https://huggingface.co/papers/2608.10231", None),
        ("https://arxiv.org/abs/2608.09949", None),
        ("https://blog.example.com/rss/cs.AI", None),
        ("https://huggingface.co/blog/feed.xml", None),
    ],
)
def test_the_adapter_is_chosen_from_the_urls_host_and_path(url: str, adapter: str | None) -> None:
    assert detect_adapter(url) == adapter


DETECTED = [
    # (host, path, query, fixture, content type, adapter the URL calls for)
    ("huggingface.co", "/api/daily_papers", "date=2026-08-13", HF_JSON, JSON, "hf-daily"),
    ("huggingface.co", "/papers/date/2026-08-13", None, HF_PAGE, HTML, "hf-daily"),
    ("arxiv.org", "/list/cs.AI/new", None, LISTING, HTML, "arxiv-listing"),
    ("rss.arxiv.org", "/rss/cs.AI", None, ARXIV_RSS, RSS, "arxiv-rss"),
    ("rss.arxiv.org", "/atom/cs.AI", None, ARXIV_ATOM, ATOM, "arxiv-rss"),
]


@pytest.mark.parametrize(
    ("host", "path", "query", "name", "content_type", "adapter"), DETECTED, ids=[f"{h}{p}" for h, p, *_ in DETECTED]
)
def test_a_listing_added_by_its_real_url_is_recognised_and_its_papers_reach_the_store(
    host: str,
    path: str,
    query: str | None,
    name: str,
    content_type: str,
    adapter: str,
    real_host,
    httpserver: HTTPServer,
    cli_no_enrich: Cli,
    engine,
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, path, document(name), content_type, query)
    url = real_host(host, path + (f"?{query}" if query else ""))
    added = cli_no_enrich("sources", "add", url, "--name", "listing")  # no --kind, no --adapter
    assert added.stdout.strip() == f"added listing: {url} (listing, {adapter})"
    assert [(s["kind"], s["adapter"]) for s in json.loads(cli_no_enrich("sources", "list", "--json").stdout)] == [
        ("listing", adapter)
    ]

    fetched = cli_no_enrich("fetch", "--all")
    expected = load_expected(name)
    assert fetched.stdout.startswith(f"fetched 1, not modified 0, failed 0, new items {len(expected['guids'])},")
    assert item_guids(engine) == set(expected["guids"])
    # each item is its paper: one paper row per item, titled by the listing, and the item's first mention
    assert paper_ids(engine) == set(expected["guids"])
    assert own_paper_of_each_item(engine) == {guid: guid for guid in expected["guids"]}
    for index, want in expected["items"].items():
        row = paper_row(engine, expected["guids"][index])
        assert (row["title"], row["title_quality"]) == (want["title"], TITLE_FROM_LISTING)
        assert row["landing_url"] == "https://arxiv.org/abs/" + expected["guids"][index].removeprefix("arxiv:")


EXPLICIT = [
    # (adapter, loopback path, fixture, content type, extra options)
    ("hf-daily", "/mirror/daily_papers.json", HF_JSON, JSON),
    ("hf-daily", "/mirror/papers-2026-08-13.html", HF_PAGE, HTML),
    ("arxiv-listing", "/mirror/cs.AI-new.html", LISTING, HTML),
    ("arxiv-rss", "/mirror/cs.AI.rss", ARXIV_RSS, RSS),
    ("arxiv-rss", "/mirror/cs.AI.atom", ARXIV_ATOM, ATOM),
    ("reading-list", "/publications/", JEKYLL, TEXT),
    ("reading-list", "/notes/Papers.md", NOTION, "text/markdown; charset=utf-8"),
    ("reading-list", "/reading-group/spring-2026/index.html", LIST_ITEMS, HTML),
]


@pytest.mark.parametrize(
    ("adapter", "path", "name", "content_type"), EXPLICIT, ids=[f"{a}:{n}" for a, _, n, _ in EXPLICIT]
)
def test_an_adapter_named_with_dash_dash_adapter_reads_a_url_it_could_not_recognise(
    adapter: str, path: str, name: str, content_type: str, serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed(path, document(name), content_type=content_type)
    assert detect_adapter(url) is None
    added = cli_no_enrich("sources", "add", url, "--name", "mirror", "--kind", "listing", "--adapter", adapter)
    assert added.stdout.strip() == f"added mirror: {url} (listing, {adapter})"
    cli_no_enrich("fetch", "--all")
    # (the list-item page's relative links resolve against where it is served: 127.0.0.1, not the lab's host)
    want = {guid.replace("lab.example.edu", "127.0.0.1") for guid in load_expected(name)["guids"]}
    assert item_guids(engine) == want


def test_a_named_adapter_alone_makes_the_source_a_listing_and_an_unknown_one_is_refused(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/mirror/daily.json", document(HF_JSON), content_type=JSON)
    assert "(listing, hf-daily)" in cli_no_enrich("sources", "add", url, "--adapter", "hf-daily").stdout
    refused = cli_no_enrich("sources", "add", url + "?x=1", "--adapter", "hf-weekly", ok=False)
    assert refused.exit_code == 2
    assert "--adapter must be one of hf-daily, arxiv-listing, arxiv-rss, reading-list" in refused.stderr
    assert len(store_rows(engine, "SELECT id FROM sources")) == 1


def test_a_listing_without_a_recognised_url_or_adapter_is_a_reading_list(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/publications/", document(JEKYLL), content_type=TEXT)
    assert cli_no_enrich("sources", "add", url, "--kind", "listing").stdout.strip().endswith("(listing, reading-list)")
    cli_no_enrich("fetch", "--all")
    assert item_guids(engine) == set(load_expected(JEKYLL)["guids"])


# --- Hugging Face --------------------------------------------------------------------------------------------------


def test_hugging_face_upvotes_code_and_project_links_and_abstract_are_stored_on_the_paper(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, "/api/daily_papers", document(HF_JSON), JSON)
    cli_no_enrich("sources", "add", real_host("huggingface.co", "/api/daily_papers"), "--name", "hf")
    cli_no_enrich("fetch", "--all")

    experts = paper_row(engine, "arxiv:2608.10231")
    assert experts["upvotes"] == 41
    assert experts["code_url"] == "https://github.com/rse-lab/recursive-experts"
    assert experts["project_url"] == "https://rse-lab.github.io/recursive-experts/"
    assert experts["authors"] == ["Mei Tanaka", "Priya Raman"]
    assert experts["abstract"].startswith("We route each token through a small set of experts")
    assert experts["meta_quality"] == TITLE_FROM_LISTING
    tabular = paper_row(engine, "arxiv:2608.09812")
    assert (tabular["upvotes"], tabular["code_url"], tabular["project_url"]) == (
        7,
        None,
        "https://tabshift-bench.github.io",
    )
    assert paper_row(engine, "arxiv:2607.31544")["upvotes"] == 0
    # the item is the Hugging Face page of the paper; the paper lands on arXiv
    assert store_rows(engine, "SELECT url, author FROM items WHERE guid = 'arxiv:2608.10231'") == [
        ("https://huggingface.co/papers/2608.10231", "Mei Tanaka, Priya Raman")
    ]
    assert experts["landing_url"] == "https://arxiv.org/abs/2608.10231"


def test_a_hugging_face_thumbnail_becomes_the_papers_thumbnail_and_a_landing_page_never_replaces_it(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from digest.domain.papers import PaperMeta
    from digest.store.enrichment import record_landing
    from digest.store.repository import session

    serve(httpserver, "/api/daily_papers", document(HF_JSON), JSON)
    cli_no_enrich("sources", "add", real_host("huggingface.co", "/api/daily_papers"), "--name", "hf")
    cli_no_enrich("fetch", "--all")
    hf = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/"
    assert dict(store_rows(engine, "SELECT canonical_id, thumbnail_url FROM papers")) == {
        f"arxiv:{n}": f"{hf}{n}.png" for n in ("2608.10231", "2608.09949", "2608.09812", "2607.31544")
    }
    # a page that states the same paper, with a picture of its own: the listing's thumbnail stays
    now = datetime(2026, 8, 14, tzinfo=UTC)
    with session(engine) as s, s.begin():
        record_landing(
            s,
            "https://lab.example.org/pubs/experts",
            "paper",
            PaperMeta("arxiv:2608.10231", "Recursive Sparse Experts", thumbnail="https://lab.example.org/fig1.png"),
            now,
        )
        # a paper with no picture yet takes the page's
        record_landing(
            s,
            "https://lab.example.org/pubs/other",
            "paper",
            PaperMeta("", "Another lab paper", thumbnail="https://lab.example.org/other.png"),
            now,
        )
    assert store_rows(engine, "SELECT thumbnail_url FROM papers WHERE canonical_id = 'arxiv:2608.10231'") == [
        (f"{hf}2608.10231.png",)
    ]
    assert store_rows(
        engine, "SELECT thumbnail_url FROM papers WHERE canonical_id = 'url:lab.example.org/pubs/other'"
    ) == [("https://lab.example.org/other.png",)]


def test_a_later_day_with_more_upvotes_updates_the_paper(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, "/api/daily_papers", document(HF_JSON), JSON)
    cli_no_enrich("sources", "add", real_host("huggingface.co", "/api/daily_papers"), "--name", "hf")
    cli_no_enrich("fetch", "--all")
    assert paper_row(engine, "arxiv:2608.10231")["upvotes"] == 41
    serve(httpserver, "/api/daily_papers", document(HF_JSON).replace(b'"upvotes":41', b'"upvotes":57'), JSON)
    cli_no_enrich("fetch", "--all")
    assert paper_row(engine, "arxiv:2608.10231")["upvotes"] == 57


def test_a_hugging_face_api_error_document_fails_the_fetch_and_stores_nothing(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, "/api/daily_papers", b'{"error":"Invalid date format"}', JSON, "date=2026-13-01")
    cli_no_enrich("sources", "add", real_host("huggingface.co", "/api/daily_papers?date=2026-13-01"), "--name", "hf")
    result = cli_no_enrich("fetch", "--all", ok=False)
    assert result.exit_code == 1
    assert "Hugging Face API error: Invalid date format" in result.stderr
    assert item_guids(engine) == set() and paper_ids(engine) == set()


# --- arXiv listing pages -----------------------------------------------------------------------------------------

ENTRY = r"<dt>\s*<a name='item\d+'>\[\d+\]</a>\s*<a href =\"/abs/{id}\".*?</dd>"


def without_entry(page: bytes, arxiv: str) -> bytes:
    text, n = re.subn(ENTRY.format(id=re.escape(arxiv)), "", page.decode(), count=1, flags=re.DOTALL)
    assert n == 1
    return text.encode()


def test_the_arxiv_listing_stores_new_and_cross_listed_papers_with_their_metadata_and_no_replacements(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, "/list/cs.AI/new", document(LISTING), HTML)
    cli_no_enrich("sources", "add", real_host("arxiv.org", "/list/cs.AI/new"), "--name", "cs-ai")
    cli_no_enrich("fetch", "--all")
    assert paper_ids(engine) == {"arxiv:2608.09949", "arxiv:2608.09967", "arxiv:2505.11635", "arxiv:2607.28646"}
    assert not {"arxiv:2112.07752", "arxiv:2505.23399"} & (paper_ids(engine) | item_guids(engine))
    spot = paper_row(engine, "arxiv:2608.09967")
    assert spot["authors"] == ["Tamar Gozlan", "Claudia V. Goldman"]
    assert spot["categories"] == ["cs.AI", "cs.LG"]
    assert "the policy's action preferences" in spot["abstract"]
    assert spot["meta_quality"] == TITLE_FROM_LISTING
    # a replaced entry's comment links its code on GitHub: that is not any listed paper's code link
    assert store_rows(engine, "SELECT count(*) FROM papers WHERE code_url IS NOT NULL") == [(0,)]


def test_a_listing_page_with_fewer_entries_than_it_states_fails_loudly_and_stores_nothing(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    truncated = without_entry(document(LISTING), "2608.09967")  # "showing 2 of 2 entries", one <dt>/<dd> left
    serve(httpserver, "/list/cs.AI/new", truncated, HTML)
    cli_no_enrich("sources", "add", real_host("arxiv.org", "/list/cs.AI/new"), "--name", "cs-ai")
    result = cli_no_enrich("fetch", "--all", ok=False)
    assert result.exit_code == 1
    assert "arXiv listing is incomplete: new submissions say 'showing 2' but 1 entries were found" in result.stderr
    assert item_guids(engine) == set() and paper_ids(engine) == set()  # not even the entries that were there
    row = status_json(cli_no_enrich)["cs-ai"]
    assert (row["error_count"], row["items"], row["last_status"]) == (1, 0, 200)
    assert "incomplete" in row["last_error"]

    serve(httpserver, "/list/cs.AI/new", document(LISTING), HTML)  # the whole day, next time
    cli_no_enrich("fetch", "--all")
    assert len(item_guids(engine)) == 4 and status_json(cli_no_enrich)["cs-ai"]["error_count"] == 0


def test_a_cross_list_section_missing_an_entry_fails_too(serve_feed, add_source, fetch_all, engine) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve_feed("/list/cs.AI/new", without_entry(document(LISTING), "2607.28646"), content_type=HTML),
        name="cs-ai",
        kind="listing",
        adapter="arxiv-listing",
    )
    report = fetch_all().reports[0]
    assert report.outcome == "error"
    assert "cross submissions say 'showing 2' but 1 entries were found" in (report.error or "")
    assert item_guids(engine) == set()


def test_a_listing_showing_only_part_of_the_day_fails_and_says_how_to_get_all_of_it(
    serve_feed, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    page = document(LISTING).replace(
        b"New submissions (showing 2 of 2 entries)", b"New submissions (showing first 2 of 148 entries)"
    )
    add_source(
        serve_feed("/list/cs.AI/new", page, content_type=HTML), name="cs-ai", kind="listing", adapter="arxiv-listing"
    )
    report = fetch_all().reports[0]
    assert report.outcome == "error"
    assert "shows 2 of 148 new submissions" in (report.error or "") and "show=2000" in (report.error or "")
    assert item_guids(engine) == set()


def test_listing_ids_come_from_the_dt_never_from_an_abstract_that_cites_other_papers(
    serve_feed, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    cites = (
        b'This study builds on <a href="https://arxiv.org/abs/2401.00001">arXiv:2401.00001</a> and '
        b"arXiv:2312.12345v2. This study evaluates"
    )
    page = document(LISTING).replace(b"This study evaluates", cites, 1)
    feed = parse_document(page, url="https://arxiv.org/list/cs.AI/new", content_type=HTML, kind="listing")
    assert [i.guid for i in feed.items] == load_expected(LISTING)["guids"]
    assert "arXiv:2401.00001" in (feed.items[0].paper.abstract or "")  # the abstract keeps its words

    add_source(
        serve_feed("/list/cs.AI/new", page, content_type=HTML), name="cs-ai", kind="listing", adapter="arxiv-listing"
    )
    assert fetch_all().failed == 0
    assert paper_ids(engine) == set(load_expected(LISTING)["guids"])


def test_an_entry_whose_dt_has_no_arxiv_id_fails_the_listing_instead_of_taking_one_from_its_abstract(
    serve_feed, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    page = document(LISTING).decode()
    page = page.replace('<a href ="/abs/2608.09949" title="Abstract" id="2608.09949">', '<a id="2608.09949">', 1)
    page = page.replace('<a href="/pdf/2608.09949"', '<a href="#"', 1)
    page = page.replace("This study evaluates", 'See <a href="/abs/2401.00001">arXiv:2401.00001</a>. This study', 1)
    with pytest.raises(ParseError, match="no valid arXiv id"):
        parse_document(page.encode(), url="https://arxiv.org/list/cs.AI/new", content_type=HTML, kind="listing")
    add_source(
        serve_feed("/list/cs.AI/new", page.encode(), content_type=HTML),
        name="cs-ai",
        kind="listing",
        adapter="arxiv-listing",
    )
    assert fetch_all().reports[0].outcome == "error"
    assert paper_ids(engine) == set() and item_guids(engine) == set()


# --- arXiv RSS / Atom --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "content_type", "skipped"),
    [
        ("/rss/cs.AI", ARXIV_RSS, RSS, {"arxiv:2507.01234", "arxiv:2406.05555"}),
        ("/atom/cs.AI", ARXIV_ATOM, ATOM, {"arxiv:2608.05003", "arxiv:2505.04004"}),
    ],
)
def test_arxiv_feeds_store_new_and_cross_announcements_and_skip_replacements(
    path: str,
    name: str,
    content_type: str,
    skipped: set[str],
    real_host,
    httpserver: HTTPServer,
    cli_no_enrich: Cli,
    engine,
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, path, document(name), content_type)
    cli_no_enrich("sources", "add", real_host("rss.arxiv.org", path), "--name", "feed")
    cli_no_enrich("fetch", "--all")
    expected = load_expected(name)
    assert item_guids(engine) == paper_ids(engine) == set(expected["guids"])
    assert not skipped & paper_ids(engine)
    # the abstract of 2608.11001 cites arXiv:2501.12948 in its text: that is not a paper of the feed
    assert "arxiv:2501.12948" not in paper_ids(engine)
    first = paper_row(engine, expected["guids"][0])
    assert first["authors"] == list(expected["items"][0]["paper"]["authors"])
    assert not first["abstract"].startswith("arXiv:")  # "arXiv:... Announce Type: new Abstract:" is gone


def serve_changing(httpserver: HTTPServer, path: str, content_type: str) -> dict[str, bytes]:
    """Serve whatever `state["body"]` holds at the time of each request."""
    state: dict[str, bytes] = {}

    def answer(request: Request) -> Response:
        return Response(state["body"], content_type=content_type)

    httpserver.expect_request(path).respond_with_handler(answer)
    return state


def built_on(feed: bytes, stamp: str) -> bytes:
    return re.sub(rb"<lastBuildDate>[^<]*</lastBuildDate>", f"<lastBuildDate>{stamp}</lastBuildDate>".encode(), feed)


def test_an_empty_arxiv_feed_on_a_weekend_is_quiet_not_broken_and_not_stale(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    state = serve_changing(httpserver, "/rss/cs.CL", RSS)
    cli_no_enrich("sources", "add", real_host("rss.arxiv.org", "/rss/cs.CL"), "--name", "cs-cl")
    for stamp in (
        "Sat, 15 Aug 2026 04:00:09 +0000",
        "Sun, 16 Aug 2026 04:00:11 +0000",
        "Sat, 22 Aug 2026 04:00:10 +0000",
        "Sun, 23 Aug 2026 04:00:08 +0000",
    ):
        state["body"] = built_on(document(WEEKEND), stamp)
        result = cli_no_enrich("fetch", "--all")
        assert result.stdout.startswith("fetched 1, not modified 0, failed 0, new items 0, updated 0")
        assert result.stderr == ""
    row = status_json(cli_no_enrich)["cs-cl"]
    assert (row["last_status"], row["items"], row["error_count"], row["last_error"], row["stale"]) == (
        200,
        0,
        0,
        None,
        False,
    )
    assert store_rows(engine, "SELECT DISTINCT outcome, error, warning FROM fetches") == [("ok", None, None)]
    assert "stale" not in cli_no_enrich("status").stdout


def test_an_arxiv_feed_whose_build_moves_while_its_items_do_not_is_flagged_stale_in_status(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli
) -> None:  # type: ignore[no-untyped-def]
    from digest.ingest import STALE_AFTER

    assert STALE_AFTER == 3
    state = serve_changing(httpserver, "/rss/cs.AI", RSS)
    cli_no_enrich("sources", "add", real_host("rss.arxiv.org", "/rss/cs.AI"), "--name", "cs-ai")

    def fetch_built(stamp: str) -> bool:
        state["body"] = built_on(document(ARXIV_RSS), stamp)
        assert cli_no_enrich("fetch", "--all").stdout.startswith("fetched 1, not modified 0, failed 0")
        return status_json(cli_no_enrich)["cs-ai"]["stale"]

    # the first fetch, then the same build fetched again (hourly runs between announcements): nothing moved
    assert fetch_built("Thu, 13 Aug 2026 04:00:12 +0000") is False
    assert fetch_built("Thu, 13 Aug 2026 04:00:12 +0000") is False
    # three announcement days rebuild the feed with the very same items
    assert fetch_built("Fri, 14 Aug 2026 04:00:10 +0000") is False
    assert fetch_built("Mon, 17 Aug 2026 04:00:15 +0000") is False
    assert fetch_built("Tue, 18 Aug 2026 04:00:09 +0000") is True
    row = status_json(cli_no_enrich)["cs-ai"]
    assert (row["error_count"], row["last_error"], row["last_status"]) == (0, None, 200)  # a flag, not a failure
    table = cli_no_enrich("status").stdout
    assert "stale: 3 builds without new items" in " ".join(table.replace("│", " ").split())

    # a day with new items clears the flag
    state["body"] = built_on(document(ARXIV_RSS), "Wed, 19 Aug 2026 04:00:11 +0000").replace(
        b"2608.11002", b"2608.11702"
    )
    cli_no_enrich("fetch", "--all")
    assert status_json(cli_no_enrich)["cs-ai"]["stale"] is False
    assert "stale" not in cli_no_enrich("status").stdout


def _without_arxiv_markers(feed: bytes) -> bytes:
    """arXiv's RSS made an ordinary RSS feed: no arXiv namespace, no announce types."""
    feed = re.sub(rb"<arxiv:announce_type>[^<]*</arxiv:announce_type>", b"", feed)
    return re.sub(rb'\s+xmlns:arxiv="[^"]*"', b"", feed)


def test_staleness_is_only_judged_for_arxiv_announcement_feeds(
    httpserver: HTTPServer, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    state = serve_changing(httpserver, "/blog/feed.xml", RSS)
    add_source(httpserver.url_for("/blog/feed.xml"), name="blog")  # an ordinary feed rebuilt on every request
    for day in ("13", "14", "17", "18", "19"):
        state["body"] = _without_arxiv_markers(built_on(document(ARXIV_RSS), f"Thu, {day} Aug 2026 04:00:12 +0000"))
        assert b"arxiv:" not in state["body"]
        fetch_all()
    assert store_rows(engine, "SELECT stale_count, adapter FROM sources") == [(0, None)]
    assert store_rows(engine, "SELECT count(*) FROM items") == [(len(re.findall(rb"<item>", state["body"])),)]


def test_an_arxiv_feed_recognised_by_content_at_another_url_is_judged_stale_too(
    httpserver: HTTPServer, add_source, fetch_all, engine
) -> None:  # type: ignore[no-untyped-def]
    state = serve_changing(httpserver, "/mirror/cs.AI", RSS)
    add_source(httpserver.url_for("/mirror/cs.AI"), name="mirror")  # a plain feed source: arXiv by content only
    for day in ("13", "14", "17", "18"):
        state["body"] = built_on(document(ARXIV_RSS), f"Thu, {day} Aug 2026 04:00:12 +0000")
        fetch_all()
    assert store_rows(engine, "SELECT stale_count, adapter FROM sources") == [(3, None)]


# --- recognised by content, wherever it is served ------------------------------------------------------------------

API_ANSWER = "arxiv.py__q_testing_s0_m10_bc5a6c384fe9.json"


def arxiv_api_answer() -> bytes:
    """arxiv.py's recording of a real arXiv API answer: Atom in arXiv's namespace, each entry with its <author>s."""
    return json.loads(document(API_ANSWER))["body"].encode()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        (ARXIV_RSS, JSON),
        (ARXIV_RSS, "text/xml"),
        (ARXIV_ATOM, "application/octet-stream"),
        (ARXIV_ATOM, ATOM),
    ],
)
def test_an_arxiv_feed_at_a_url_that_does_not_say_so_is_read_as_arxiv_announcements(
    name: str, content_type: str, serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/mirror/cs-ai.xml", document(name), content_type=content_type)
    cli_no_enrich("sources", "add", url, "--name", "mirror", "--as-is")  # a plain feed: no adapter stored
    cli_no_enrich("fetch", "--all")
    expected = load_expected(name)
    # each item is its paper, by canonical id; replacements are skipped as from rss.arxiv.org itself
    assert item_guids(engine) == paper_ids(engine) == set(expected["guids"])
    assert own_paper_of_each_item(engine) == {guid: guid for guid in expected["guids"]}
    first = paper_row(engine, expected["guids"][0])
    assert first["authors"] == list(expected["items"][0]["paper"]["authors"])
    assert first["title_quality"] == TITLE_FROM_LISTING


@pytest.mark.parametrize("content_type", [JSON, TEXT, "text/xml; charset=utf-8"])
def test_hugging_face_daily_papers_json_at_a_url_that_does_not_say_so_is_read_as_papers(
    content_type: str, serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/daily.json", document(HF_JSON), content_type=content_type)
    cli_no_enrich("sources", "add", url, "--name", "daily", "--as-is")
    cli_no_enrich("fetch", "--all")
    assert item_guids(engine) == paper_ids(engine) == set(load_expected(HF_JSON)["guids"])
    assert paper_row(engine, "arxiv:2608.10231")["upvotes"] == 41


def test_the_hugging_face_page_served_as_json_is_still_read_as_the_page(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    serve(httpserver, "/papers/date/2026-08-13", document(HF_PAGE), JSON)
    cli_no_enrich("sources", "add", real_host("huggingface.co", "/papers/date/2026-08-13"), "--name", "hf")
    cli_no_enrich("fetch", "--all")
    assert item_guids(engine) == set(load_expected(HF_PAGE)["guids"])


def test_a_source_set_to_read_arxiv_that_serves_a_json_feed_is_read_as_one_and_says_so(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    feed = (FIXTURES / "feeds" / "feedjira__json_feed_inessential.json").read_bytes()
    url = serve_feed("/moved/feed", feed, content_type=RSS)
    cli_no_enrich("sources", "add", url, "--name", "moved", "--adapter", "arxiv-rss", "--as-is")
    result = cli_no_enrich("fetch", "--all")
    said = "the source is set to read arxiv-rss, but the document is a JSON Feed; read as such"
    assert f"digest: moved: {said}" in result.stderr
    assert len(item_guids(engine)) == 20
    assert store_rows(engine, "SELECT warning FROM fetches") == [(said,)]


# --- every author --------------------------------------------------------------------------------------------------


def test_a_real_arxiv_api_answer_served_anywhere_gives_its_papers_with_every_author(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/saved/query.xml", arxiv_api_answer(), content_type="application/xml")
    cli_no_enrich("sources", "add", url, "--name", "saved-query", "--as-is")
    cli_no_enrich("fetch", "--all")
    expected = load_expected(API_ANSWER)
    assert item_guids(engine) == paper_ids(engine) == set(expected["ids"])
    for paper, entry in expected["entries"].items():
        assert paper_row(engine, paper)["authors"] == list(entry["authors"])
    assert store_rows(engine, "SELECT author FROM items WHERE guid = 'arxiv:2202.12139'") == [
        ("Mohit Kumar Ahuja, Arnaud Gotlieb, Helge Spieker",)
    ]


def test_dc_creator_lists_keep_every_author_however_they_are_joined() -> None:
    feed = document(ARXIV_RSS).replace(
        b"<dc:creator>Hannah M\xc3\xbcller, Diego Alvarez, Kofi Mensah</dc:creator>",
        b"<dc:creator>Hannah M\xc3\xbcller, Diego Alvarez, and Kofi Mensah</dc:creator>",
    )
    feed = feed.replace(
        b"<dc:creator>Sofia Lindqvist</dc:creator>",
        b"<dc:creator>Sofia Lindqvist</dc:creator><dc:creator>Tom Okafor and Ana Silva</dc:creator>",
    )
    first, second, _ = parse_document(feed, url="https://rss.arxiv.org/rss/cs.AI", content_type=RSS).items
    assert first.paper is not None and second.paper is not None
    assert first.paper.authors == ("Hannah M\u00fcller", "Diego Alvarez", "Kofi Mensah")
    assert second.paper.authors == ("Sofia Lindqvist", "Tom Okafor", "Ana Silva")
    assert second.author == "Sofia Lindqvist, Tom Okafor, Ana Silva"


# --- old-style arXiv ids -------------------------------------------------------------------------------------------


def test_old_style_arxiv_ids_in_an_arxiv_feed_are_kept_in_their_canonical_form(
    real_host, httpserver: HTTPServer, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    """The API names papers by URL (http://arxiv.org/abs/<id>vN); ids before 2007-04 hold a slash, and a subject
    class (math.GT) is not part of the id (domain/paper_ids.py's form: arxiv:math/0309136)."""
    body = (
        arxiv_api_answer()
        .replace(b"2202.12139v1", b"hep-th/9901001v2")
        .replace(b"2405.13786v1", b"math.GT/0309136v1")
        .replace(b"2005.14124v2", b"astro-ph/0601001v3")
    )
    serve(httpserver, "/atom/cs.SE", body, ATOM)
    cli_no_enrich("sources", "add", real_host("rss.arxiv.org", "/atom/cs.SE"), "--name", "old")
    result = cli_no_enrich("fetch", "--all")
    assert "without an arXiv id" not in result.stderr
    old = {"arxiv:hep-th/9901001", "arxiv:math/0309136", "arxiv:astro-ph/0601001"}
    assert old <= item_guids(engine) and old <= paper_ids(engine)
    assert len(item_guids(engine)) == 10
    assert paper_row(engine, "arxiv:hep-th/9901001")["landing_url"] == "https://arxiv.org/abs/hep-th/9901001"
    assert store_rows(engine, "SELECT url FROM items WHERE guid = 'arxiv:math/0309136'") == [
        ("https://arxiv.org/abs/math/0309136",)
    ]


# --- reading lists -------------------------------------------------------------------------------------------------


def test_pipes_inside_math_code_or_escaped_do_not_split_a_markdown_table_row() -> None:
    page = (
        b"| Paper | Why |\n"
        b"|---|---|\n"
        b"| [Deep Sets](https://arxiv.org/abs/1703.06114) | invariance: $f(\\{x_1,\\ldots,x_n\\}) = \\rho(|X|)$, "
        b"norm $\\|w\\|_2$ and `a | b` in code |\n"
        b"| | a \\| b outside math, then more notes |\n"
        b"| [Set Transformer](papers/set-transformer.pdf) | attention over sets |\n"
    )
    feed = parse_document(page, url="https://notes.example.org/sets/reading.md", content_type=TEXT, kind="listing")
    assert [(i.guid, i.url) for i in feed.items] == [
        ("arxiv:1703.06114", "https://arxiv.org/abs/1703.06114"),
        (
            "url:notes.example.org/sets/papers/set-transformer.pdf",  # relative to the page's folder
            "https://notes.example.org/sets/papers/set-transformer.pdf",
        ),
    ]
    first = feed.items[0].content_html or ""
    assert first.count("<td>") == 2 + 2  # its own row and the continuation row, two cells each
    assert "\\rho(|X|)$" in note_text(first) and "`a | b`" not in first and "<code>a | b</code>" in first
    assert "a | b outside math, then more notes" in note_text(first)


def test_the_jekyll_bookmark_page_becomes_one_item_per_paper_row_with_its_continuation_rows_as_note(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/publications/", document(JEKYLL), content_type=TEXT)
    cli_no_enrich("sources", "add", url, "--name", "bookmarks", "--kind", "listing")
    cli_no_enrich("fetch", "--all")
    expected = load_expected(JEKYLL)
    assert item_guids(engine) == set(expected["guids"])
    # the notes link no other paper: the papers are exactly the rows' papers, each titled by its row's link
    assert paper_ids(engine) == set(expected["guids"])
    assert paper_row(engine, "arxiv:2203.15556")["title"] == "Training Compute-Optimal Large Language Models"
    stored = dict(store_rows(engine, "SELECT guid, content_html FROM items"))
    vae = note_text(stored["arxiv:1312.6114"])
    assert r"$$p_{\theta}(z|x)$$ is approximated by $$q_\phi(z|x)$$ (the Encoder)" in vae
    assert "An extension of the transformer architecture to images" not in note_text(
        stored["neurips:2021/2d969e2cee8cfa07ce7ca0bb13c7a36d"]
    )
    # no link made of template syntax reached the store, and nothing points at the page itself
    urls = [u for (u,) in store_rows(engine, "SELECT url FROM mentions")]
    urls += [a for (a,) in store_rows(engine, "SELECT alias FROM paper_aliases")]
    assert not [u for u in urls if "{" in u or "%7B" in u or "post_url" in u or u.rstrip("/") == url.rstrip("/")]


def test_the_notion_export_becomes_one_item_per_section_headed_by_a_paper_link(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/notes/Papers.md", document(NOTION), content_type="text/markdown; charset=utf-8")
    cli_no_enrich("sources", "add", url, "--name", "notion", "--kind", "listing")
    cli_no_enrich("fetch", "--all")
    expected = load_expected(NOTION)
    assert item_guids(engine) == paper_ids(engine) == set(expected["guids"])
    stored = dict(store_rows(engine, "SELECT guid, content_html FROM items"))
    lenet = note_text(stored["url:yann.lecun.com/exdb/publis/pdf/lecun-89e.pdf"])
    assert "Network Design" in lenet and "ImageNet Classification" not in lenet
    assert paper_row(engine, "arxiv:1706.03762")["title"] == "Attention Is All You Need"


def test_a_list_item_page_resolves_relative_paper_links_against_the_page_url(
    serve_feed, cli_no_enrich: Cli, engine
) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/reading-group/spring-2026/index.html", document(LIST_ITEMS), content_type=HTML)
    base = url.removesuffix("/reading-group/spring-2026/index.html")  # http://127.0.0.1:PORT
    cli_no_enrich("sources", "add", url, "--name", "reading-group", "--kind", "listing")
    cli_no_enrich("fetch", "--all")
    items = dict(store_rows(engine, "SELECT guid, url FROM items"))
    assert items == {
        "arxiv:1706.03762": "https://arxiv.org/abs/1706.03762v7",
        "url:127.0.0.1/reading-group/spring-2026/papers/lecun-89e.pdf": (
            f"{base}/reading-group/spring-2026/papers/lecun-89e.pdf"
        ),
        "url:127.0.0.1/pdfs/hochreiter97lstm.pdf": f"{base}/pdfs/hochreiter97lstm.pdf",
        "url:127.0.0.1/reading-group/shared/radford2019gpt2.pdf": f"{base}/reading-group/shared/radford2019gpt2.pdf",
        "arxiv:2203.15556": "https://huggingface.co/papers/2203.15556",
        "openreview:nZeVKeeFYf9": "https://openreview.net/forum?id=nZeVKeeFYf9",
    }
    # Bahdanau et al. sits in a nested list item: a paper mentioned by the Attention item, not an item of its own
    assert "arxiv:1409.0473" in paper_ids(engine)
    assert store_rows(
        engine,
        """SELECT items.guid FROM mentions JOIN items ON items.id = mentions.item_id
                                 JOIN papers ON papers.id = mentions.paper_id
                                 WHERE papers.canonical_id = 'arxiv:1409.0473'""",
    ) == [("arxiv:1706.03762",)]
    assert paper_row(engine, "url:127.0.0.1/pdfs/hochreiter97lstm.pdf")["title"] == "Long Short-Term Memory"


def test_every_adapter_of_the_registry_has_a_reader_and_the_cli_help_names_it(cli: Cli) -> None:
    import importlib

    from digest.domain.adapters import ADAPTERS

    for adapter in ADAPTERS.values():
        module, _, function = adapter.reader.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), adapter.name
    for command in (("sources", "add", "--help"), ("sources", "edit", "--help")):
        shown = " ".join(cli(*command).stdout.split())
        assert ", ".join(list(ADAPTERS)[:-1]) + f" or {list(ADAPTERS)[-1]}" in shown
