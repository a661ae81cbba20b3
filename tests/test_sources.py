"""Sources in (issue 14): OPML round trip and lenient import, autodiscovery, unreachable URLs, `sources edit`.

Real parts only: the real CLI, a real SQLite store, pages and feeds served over loopback by pytest-httpserver, and
a real third-party OPML export (tests/fixtures/opml/, see tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from lxml import etree
from pytest_httpserver import HTTPServer

from digest.domain.adapters import detect_adapter
from tests.conftest import FIXTURES, Cli, store_rows

PLENARY = FIXTURES / "opml" / "plenary-awesome-rss-feeds__science_with_category.opml"


def listed(cli: Cli) -> list[dict[str, object]]:
    """`sources list --json` without the item counts (a fresh store has none)."""
    return [{k: v for k, v in s.items() if k != "items"} for s in json.loads(cli("sources", "list", "--json").stdout)]


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- 1. OPML round trip ------------------------------------------------------------------------------------------


def _seed_every_kind(add_source) -> None:  # type: ignore[no-untyped-def]
    add_source("https://huggingface.co/api/daily_papers", "hf", kind="listing", adapter="hf-daily")
    add_source(
        "https://rss.arxiv.org/rss/cs.CL",
        "cs-cl",
        kind="listing",
        adapter="arxiv-rss",
        tags=["arxiv", "nlp"],
        interval=180,
    )
    add_source("https://arxiv.org/list/cs.AI/new", "cs-ai", kind="listing", adapter="arxiv-listing", tags=["arxiv"])
    add_source(
        "https://lab.example.edu/reading-group/",
        "reading",
        kind="listing",
        adapter="reading-list",
        tags=["reading & notes"],
    )
    add_source("https://www.aipapertrails.com/feed", "AI PaperTrails", tags=["substack", "papers"], interval=30)
    add_source("https://plain.example/rss", "plain")


def test_export_then_import_into_a_fresh_store_gives_the_same_sources(
    add_source, cli: Cli, engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _seed_every_kind(add_source)
    with engine.begin() as conn:  # a disabled source stays disabled
        from sqlalchemy import text

        conn.execute(text("UPDATE sources SET enabled = 0 WHERE name = 'plain'"))
    before = listed(cli)
    exported = tmp_path / "out.opml"
    exported.write_text(cli("sources", "export").stdout)
    fresh = Cli(f"sqlite:///{tmp_path / 'fresh.db'}")
    result = fresh("sources", "import", str(exported))
    assert "imported 6 sources" in result.stdout and "0 skipped" in result.stdout
    assert listed(fresh) == before
    # and once more: every source is already followed, each one is named with the reason
    again = fresh("sources", "import", str(exported))
    assert "imported 0 sources" in again.stdout and "6 skipped" in again.stdout
    assert "skipped 'hf' (https://huggingface.co/api/daily_papers): already followed as hf" in again.stderr


def test_export_is_opml_other_readers_read_folders_from(add_source, cli: Cli) -> None:  # type: ignore[no-untyped-def]
    """Tags are folders (one level, as Miniflux, FreshRSS and NetNewsWire read them); each source once."""
    _seed_every_kind(add_source)
    root = etree.fromstring(cli("sources", "export").stdout.encode())
    body = root.find("body")
    assert body is not None
    folders = {o.get("text"): o for o in body.findall("outline") if o.get("xmlUrl") is None}
    assert sorted(folders) == ["arxiv", "papers", "reading & notes"]
    in_folder = {o.get("xmlUrl"): (f, o.get("category")) for f, el in folders.items() for o in el.findall("outline")}
    assert in_folder == {
        "https://rss.arxiv.org/rss/cs.CL": ("arxiv", "nlp"),
        "https://arxiv.org/list/cs.AI/new": ("arxiv", None),
        "https://lab.example.edu/reading-group/": ("reading & notes", None),
        "https://www.aipapertrails.com/feed": ("papers", "substack"),
    }
    top = [o.get("xmlUrl") for o in body.findall("outline") if o.get("xmlUrl")]
    assert top == ["https://huggingface.co/api/daily_papers", "https://plain.example/rss"]
    assert len(root.findall(".//outline[@xmlUrl]")) == 6  # each source exactly once
    assert all(o.get("type") == "rss" for o in root.findall(".//outline[@xmlUrl]"))


def test_import_recognises_listings_exactly_as_add_does(cli: Cli, tmp_path: Path) -> None:
    urls = [
        "https://huggingface.co/api/daily_papers",
        "https://huggingface.co/papers",
        "https://rss.arxiv.org/rss/cs.CL",
        "https://export.arxiv.org/rss/cs.LG",
        "https://arxiv.org/list/cs.AI/new",
        "https://blog.example/feed.xml",
    ]
    opml = tmp_path / "other-reader.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        + "".join(f'<outline type="rss" text="s{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls))
        + "</body></opml>"
    )
    cli("sources", "import", str(opml))
    got = {s["url"]: (s["kind"], s["adapter"]) for s in listed(cli)}
    assert got == {u: ("listing" if detect_adapter(u) else "feed", detect_adapter(u)) for u in urls}
    assert got["https://huggingface.co/api/daily_papers"] == ("listing", "hf-daily")


def test_a_real_export_that_is_not_well_formed_xml_imports_as_other_readers_read_it(cli: Cli) -> None:
    result = cli("sources", "import", str(PLENARY))
    assert "imported 24 sources" in result.stdout and "0 skipped" in result.stdout
    got = {s["name"]: s for s in listed(cli)}
    bbc = got["BBC News - Science & Environment"]  # the unescaped "&" is kept, as Miniflux's decoder keeps it
    assert bbc["url"] == "http://feeds.bbci.co.uk/news/science_and_environment/rss.xml"
    assert bbc["tags"] == ["Science"] and bbc["kind"] == "feed"
    assert "Gastropod" in got  # the outline with a raw <br> in its description
    assert all(s["tags"] == ["Science"] for s in got.values())


def test_every_skipped_entry_is_named_with_its_reason(cli: Cli, tmp_path: Path) -> None:
    cli("sources", "add", "https://known.example/feed", "--name", "known", "--as-is")
    opml = tmp_path / "mixed.opml"
    opml.write_text("""<?xml version="1.0"?>
<opml version="2.0" xmlns:digest="https://digest.invalid/opml"><head/><body>
  <outline text="FTP" type="rss" xmlUrl="ftp://files.example/rss"/>
  <outline text="Known again" type="rss" xmlUrl="https://known.example/feed"/>
  <outline text="No URL" type="rss"/>
  <outline text="Odd adapter" type="rss" xmlUrl="https://odd.example/feed" digest:adapter="hf-weekly"/>
  <outline text="Good" type="rss" xmlUrl="https://good.example/feed"/>
  <outline text="Good twice" type="rss" xmlUrl="https://good.example/feed"/>
</body></opml>""")
    result = cli("sources", "import", str(opml))
    assert "imported 1 source from" in result.stdout and "(5 skipped)" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "skipped 'FTP' (ftp://files.example/rss): not an http(s) URL",
        "skipped 'Known again' (https://known.example/feed): already followed as known",
        "skipped 'No URL': an rss outline without xmlUrl",
        "skipped 'Odd adapter' (https://odd.example/feed): unknown adapter 'hf-weekly' "
        "(known: hf-daily, arxiv-listing, arxiv-rss, reading-list)",
        "skipped 'Good twice' (https://good.example/feed): listed twice in this file (as 'Good')",
    ]


def test_an_entry_the_file_damages_beyond_repair_is_named_not_dropped(cli: Cli, tmp_path: Path) -> None:
    opml = tmp_path / "damaged.opml"
    opml.write_bytes(b"""<opml version="1.0"><body><outline text="Folder">
<outline text="Good" xmlUrl="https://good.example/feed"/>
<outline text="Broken xmlUrl="https://broken.example/feed"/>
<outline text="AT&T &nbsp;news" xmlUrl="https://att.example/feed?a=1&b=2"/>
</outline></body></opml>""")
    result = cli("sources", "import", str(opml))
    assert "imported 2 sources" in result.stdout and "(1 skipped)" in result.stdout
    assert (
        result.stderr.strip() == "skipped (https://broken.example/feed): the file is damaged around this entry "
        "(not read)"
    )
    assert {s["name"]: s["url"] for s in listed(cli)} == {
        "Good": "https://good.example/feed",
        "AT&T \xa0news": "https://att.example/feed?a=1&b=2",
    }


def test_an_opml_file_declaring_an_external_entity_is_refused_and_nothing_is_read(cli: Cli, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = tmp_path / "xxe.opml"
    xxe.write_text(
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline text="&x;" xmlUrl="https://x.example/"/></body></opml>'
    )
    result = cli("sources", "import", str(xxe), ok=False)
    assert result.exit_code == 1 and str(xxe) in result.stderr and "entit" in result.stderr
    assert "TOP-SECRET" not in result.stdout + result.stderr
    assert listed(cli) == []


# --- 2. Autodiscovery --------------------------------------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:blog</id><updated>2026-11-20T00:00:00Z</updated>
<entry><id>urn:blog:1</id><title>A post</title><link href="https://blog.example/a-post"/>
<updated>2026-11-20T00:00:00Z</updated><content type="html">&lt;p&gt;Read
&lt;a href="https://arxiv.org/abs/2401.05566"&gt;Sleeper Agents&lt;/a&gt;.&lt;/p&gt;</content></entry></feed>"""

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Letters</title><link>https://x.substack.com</link>
<item><title>Issue 1</title><link>https://x.substack.com/p/issue-1</link><guid>issue-1</guid></item></channel></rss>"""


def _home(*links: str) -> bytes:
    return (
        "<!doctype html><html><head><title>Blog</title>" + "".join(links) + "</head><body><h1>Blog</h1></body></html>"
    ).encode()


def test_adding_a_home_page_finds_its_feed_from_link_rel_alternate(httpserver: HTTPServer, cli: Cli, engine) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/").respond_with_data(
        _home(
            '<link rel="stylesheet" href="/s.css">',
            '<link rel="alternate" type="application/atom+xml" title="Blog (Atom)" href="/feed.xml">',
        ),
        content_type="text/html; charset=utf-8",
    )
    httpserver.expect_request("/feed.xml").respond_with_data(ATOM, content_type="application/atom+xml")
    home, feed = httpserver.url_for("/"), httpserver.url_for("/feed.xml")
    result = cli("sources", "add", home, "--name", "blog")
    assert result.stdout.strip() == f"added blog: {feed} (the feed linked from {home})"
    assert [(s["url"], s["kind"]) for s in listed(cli)] == [(feed, "feed")]
    fetched = cli("fetch", "--all")
    assert "failed 0" in fetched.stdout
    assert store_rows(engine, "SELECT title FROM items") == [("A post",)]


def test_a_page_with_several_feeds_lists_them_and_pick_chooses_one(httpserver: HTTPServer, cli: Cli) -> None:
    httpserver.expect_request("/").respond_with_data(
        _home(
            '<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Feed" href="/feed/">',
            '<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Comments Feed" '
            'href="/comments/feed/">',
            '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/1">',
            '<link rel="alternate" type="application/feed+json" href="https://blog.example/feed.json">',
        ),
        content_type="text/html",
    )
    home = httpserver.url_for("/")
    refused = cli("sources", "add", home, ok=False)
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"digest: error: {home} links 3 feeds; add one with --pick N (or add its URL):",
        f"  1  {httpserver.url_for('/feed/')}  RSS  Blog » Feed",
        f"  2  {httpserver.url_for('/comments/feed/')}  RSS  Blog » Comments Feed",
        "  3  https://blog.example/feed.json  JSON Feed",
    ]
    assert listed(cli) == []
    out_of_range = cli("sources", "add", home, "--pick", "4", ok=False)
    assert out_of_range.exit_code == 2 and "--pick must be between 1 and 3" in out_of_range.stderr
    picked = cli("sources", "add", home, "--pick", "2", "--name", "comments")
    assert (
        picked.stdout.strip() == f"added comments: {httpserver.url_for('/comments/feed/')} "
        f"(the feed linked from {home})"
    )


@pytest.mark.parametrize("where", ["/feed", "/index.xml"])
def test_a_page_without_feed_links_is_tried_at_the_usual_feed_paths(
    where: str, httpserver: HTTPServer, cli: Cli
) -> None:
    httpserver.expect_request("/").respond_with_data(_home(), content_type="text/html")
    httpserver.expect_request(where).respond_with_data(RSS, content_type="text/xml")
    home = httpserver.url_for("/")
    result = cli("sources", "add", home, "--name", "letters")
    assert result.stdout.strip() == f"added letters: {httpserver.url_for(where)} (found at {where} of {home})"


def test_a_page_without_any_feed_is_refused_with_a_hint(httpserver: HTTPServer, cli: Cli) -> None:
    httpserver.expect_request("/").respond_with_data(_home(), content_type="text/html")
    home = httpserver.url_for("/")
    result = cli("sources", "add", home, ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f'digest: error: {home} is a web page and no feed was found on it (no <link rel="alternate">, none at '
        "/feed, /rss, /atom.xml, /feed.xml, /index.xml, /rss.xml); to follow the page itself as a reading list "
        "add it with --kind listing"
    )
    assert listed(cli) == []


def test_a_feed_url_is_stored_as_given(serve_feed, cli: Cli) -> None:  # type: ignore[no-untyped-def]
    url = serve_feed("/atom", ATOM, content_type="application/atom+xml")
    assert cli("sources", "add", url, "--name", "blog").stdout.strip() == f"added blog: {url}"


# --- 3. Never refuse what cannot be reached now --------------------------------------------------------------------


def test_add_stores_an_unreachable_url_as_given_and_its_first_fetch_reads_it(cli: Cli, engine) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    url = f"http://127.0.0.1:{port}/feed.xml"
    result = cli("sources", "add", url, "--name", "later")
    assert result.stdout.strip() == f"added later: {url}"
    assert result.stderr.strip() == (
        f"note: could not check {url} now (connection refused); stored as given, it is recognised on its first fetch"
    )
    assert [s["url"] for s in listed(cli)] == [url]
    server = HTTPServer(host="127.0.0.1", port=port)  # the host comes back
    server.expect_request("/feed.xml").respond_with_data(ATOM, content_type="application/atom+xml")
    server.start()
    try:
        assert "failed 0, new items 1" in cli("fetch", "--all").stdout
    finally:
        server.stop()
    assert store_rows(engine, "SELECT title FROM items") == [("A post",)]


def test_a_home_page_stored_while_unreachable_is_followed_by_its_feed_on_first_fetch(cli: Cli, engine) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    home = f"http://127.0.0.1:{port}/"
    cli("sources", "add", home, "--name", "blog")  # the host is down: stored as given
    server = HTTPServer(host="127.0.0.1", port=port)
    server.expect_request("/").respond_with_data(
        _home(
            '<link rel="alternate" type="application/atom+xml" href="/feed.xml">',
            '<link rel="alternate" type="application/rss+xml" href="/comments.rss">',
        ),
        content_type="text/html",
    )
    server.expect_request("/feed.xml").respond_with_data(
        ATOM, content_type="application/atom+xml", headers={"ETag": '"v1"'}
    )
    server.start()
    try:
        first = cli("fetch", "--all")
        feed = server.url_for("/feed.xml")
        assert "failed 0, new items 1" in first.stdout
        assert (
            f"blog: the URL is a web page: now following its feed {feed} (linked from the page {home}); the "
            f"page links 2 feeds, the first was taken (others: {server.url_for('/comments.rss')})"
        ) in first.stderr
        assert [s["url"] for s in listed(cli)] == [feed]  # stored as after a permanent move
        assert store_rows(engine, "SELECT etag FROM sources") == [('"v1"',)]
        server.clear_log()
        assert "failed 0, new items 0" in cli("fetch", "--all").stdout
        # the feed itself now, conditionally, with the validators its first answer gave
        assert [(r.path, r.headers.get("If-None-Match")) for r, _ in server.log] == [("/feed.xml", '"v1"')]
    finally:
        server.stop()
    assert store_rows(engine, "SELECT title FROM items") == [("A post",)]


def test_a_home_page_without_links_is_followed_to_the_feed_at_a_usual_path(httpserver: HTTPServer, cli: Cli) -> None:
    httpserver.expect_request("/").respond_with_data(_home(), content_type="text/html")
    httpserver.expect_request("/feed").respond_with_data(RSS, content_type="application/rss+xml")
    home = httpserver.url_for("/")
    cli("sources", "add", home, "--name", "letters", "--as-is")
    fetched = cli("fetch", "--all")
    assert "failed 0, new items 1" in fetched.stdout
    assert f"now following its feed {httpserver.url_for('/feed')} (found at /feed of {home})" in fetched.stderr
    assert [s["url"] for s in listed(cli)] == [httpserver.url_for("/feed")]


def test_a_home_page_with_no_feed_anywhere_fails_as_not_a_feed_and_keeps_its_url(
    httpserver: HTTPServer, cli: Cli
) -> None:
    httpserver.expect_request("/").respond_with_data(_home(), content_type="text/html")
    home = httpserver.url_for("/")
    cli("sources", "add", home, "--name", "page", "--as-is")
    fetched = cli("fetch", "--all", ok=False)
    assert "failed 1" in fetched.stdout and "not a feed: the server sent an HTML page" in fetched.stderr
    assert [s["url"] for s in listed(cli)] == [home]


def test_a_listing_page_is_never_replaced_by_a_feed_it_links(httpserver: HTTPServer, cli: Cli) -> None:
    page = _home('<link rel="alternate" type="application/rss+xml" href="/feed">').replace(
        b"<h1>Blog</h1>", b'<p><a href="https://arxiv.org/abs/2401.05566">Sleeper Agents</a></p>'
    )
    httpserver.expect_request("/reading").respond_with_data(page, content_type="text/html")
    url = httpserver.url_for("/reading")
    cli("sources", "add", url, "--name", "list", "--kind", "listing")
    assert "failed 0" in cli("fetch", "--all").stdout
    assert [s["url"] for s in listed(cli)] == [url]
    assert [r.path for r, _ in httpserver.log] == ["/reading"]


def test_import_stores_unreachable_urls_as_given(cli: Cli, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    opml = tmp_path / "down.opml"
    opml.write_text(f'<opml version="2.0"><body><outline text="Down" xmlUrl="{url}"/></body></opml>')
    assert "imported 1 source" in cli("sources", "import", str(opml)).stdout
    assert [s["url"] for s in listed(cli)] == [url]


# --- 4. sources edit -----------------------------------------------------------------------------------------------


def test_edit_changes_a_source_and_a_new_url_keeps_its_items(serve_feed, cli: Cli, engine) -> None:  # type: ignore[no-untyped-def]
    old = serve_feed("/old.xml", ATOM, content_type="application/atom+xml")
    new = serve_feed("/new.xml", ATOM, content_type="application/atom+xml")
    cli("sources", "add", old, "--name", "blog", "--tag", "a", "--tag", "b", "--interval", "30")
    cli("fetch", "--all")
    items_before = store_rows(engine, "SELECT id, guid FROM items")
    assert len(items_before) == 1

    result = cli(
        "sources",
        "edit",
        "blog",
        "--url",
        new,
        "--name",
        "Blog",
        "--add-tag",
        "c",
        "--remove-tag",
        "a",
        "--no-interval",
    )
    assert result.stdout.strip() == (
        f"edited Blog: name blog -> Blog; url {old} -> {new}; tags a, b -> b, c; interval 30 -> default"
    )
    assert listed(cli) == [
        {
            "name": "Blog",
            "url": new,
            "kind": "feed",
            "adapter": None,
            "tags": ["b", "c"],
            "interval": None,
            "enabled": True,
        }
    ]
    assert store_rows(engine, "SELECT id, guid FROM items") == items_before
    # the new URL is fetched in full (no validators of the old one) and its items are the same items
    assert "failed 0, new items 0" in cli("fetch", "--all").stdout
    assert store_rows(engine, "SELECT id, guid FROM items") == items_before

    cli("sources", "edit", new, "--tag", "x", "--interval", "15", "--disable")
    assert listed(cli)[0] == {
        "name": "Blog",
        "url": new,
        "kind": "feed",
        "adapter": None,
        "tags": ["x"],
        "interval": 15,
        "enabled": False,
    }
    cli("sources", "edit", "Blog", "--enable", "--adapter", "reading-list")
    assert (listed(cli)[0]["kind"], listed(cli)[0]["adapter"], listed(cli)[0]["enabled"]) == (
        "listing",
        "reading-list",
        True,
    )
    cli("sources", "edit", "Blog", "--kind", "feed")
    assert (listed(cli)[0]["kind"], listed(cli)[0]["adapter"]) == ("feed", None)
    assert "nothing changed" in cli("sources", "edit", "Blog", "--kind", "feed").stdout


def test_edit_validates_like_add(cli: Cli) -> None:
    cli("sources", "add", "https://one.example/feed", "--name", "one", "--as-is")
    cli("sources", "add", "https://two.example/feed", "--name", "two", "--as-is")
    cases = [
        (("nope", "--name", "x"), 1, "no source named or at 'nope'"),
        (("one", "--name", "two"), 1, "a source with this name already exists: two (https://two.example/feed)"),
        (("one", "--url", "https://two.example/feed"), 1, "a source with this URL already exists: two"),
        (("one", "--url", "ftp://one.example/"), 2, "not an http(s) URL: 'ftp://one.example/'"),
        (
            ("one", "--adapter", "hf-weekly"),
            2,
            "--adapter must be one of hf-daily, arxiv-listing, arxiv-rss, reading-list, not 'hf-weekly'",
        ),
        (("one", "--kind", "blog"), 2, "--kind must be 'feed' or 'listing', not 'blog'"),
        (
            ("one", "--kind", "feed", "--adapter", "hf-daily"),
            2,
            "an adapter is for listings: --kind feed with --adapter hf-daily",
        ),
        (("one", "--interval", "5", "--no-interval"), 2, "--interval and --no-interval"),
        (("one",), 2, "nothing to change"),
    ]
    for args, code, message in cases:
        result = cli("sources", "edit", *args, ok=False)
        assert (result.exit_code, message in result.stderr) == (code, True), (args, result.stderr)
        assert result.stderr.count("\n") == 1, result.stderr  # one line
    assert [s["name"] for s in listed(cli)] == ["one", "two"]


def test_edit_to_a_listing_url_recognises_it_as_add_does(cli: Cli) -> None:
    cli("sources", "add", "https://one.example/feed", "--name", "one", "--as-is")
    result = cli("sources", "edit", "one", "--url", "https://rss.arxiv.org/rss/cs.CL")
    assert "kind feed -> listing; adapter none -> arxiv-rss" in result.stdout
    assert (listed(cli)[0]["kind"], listed(cli)[0]["adapter"]) == ("listing", "arxiv-rss")


def test_a_source_is_found_by_the_title_a_digest_shows_and_list_shows_title_and_interval(serve_feed, cli: Cli) -> None:  # type: ignore[no-untyped-def]
    cli("sources", "add", serve_feed("/letters.xml", RSS), "--name", "x-letters", "--as-is")
    cli("fetch", "--all")
    edited = cli("sources", "edit", "letters", "--interval", "60")  # the feed's title, in any case
    assert edited.stdout.startswith("edited x-letters: interval default -> 60")
    assert "(Letters)" in cli("sources", "list").stdout and "every 60 min" in cli("sources", "list").stdout
    cli("sources", "add", serve_feed("/letters2.xml", RSS), "--name", "y-letters", "--as-is")
    cli("fetch", "--all")
    ambiguous = cli("sources", "edit", "Letters", "--interval", "30", ok=False)  # two sources have that title
    assert "no source named or at 'Letters'" in ambiguous.stderr


def test_sources_are_listed_by_name_whatever_its_case(cli: Cli) -> None:
    for name in ("Zeta", "alpha", "Beta"):
        cli("sources", "add", f"https://{name.lower()}.example/feed", "--name", name, "--as-is")
    assert [s["name"] for s in listed(cli)] == ["alpha", "Beta", "Zeta"]
    assert [line.split("\t")[0] for line in cli("sources", "list").stdout.splitlines()] == ["alpha", "Beta", "Zeta"]


def test_a_feed_that_worked_and_now_serves_a_page_is_not_moved_to_a_feed_the_page_links(
    httpserver: HTTPServer, cli: Cli
) -> None:
    from tests.test_enrich import serve

    url = serve(httpserver, "/feed.xml", RSS)
    cli("sources", "add", url, "--name", "letters", "--as-is")
    assert "failed 0" in cli("fetch", "--all").stdout
    maintenance = _home('<link rel="alternate" type="application/rss+xml" href="/comments/feed">')
    serve(httpserver, "/feed.xml", maintenance)
    httpserver.expect_request("/comments/feed").respond_with_data(RSS, content_type="application/rss+xml")
    fetched = cli("fetch", "--all", ok=False)
    assert "not a feed: the server sent an HTML page" in fetched.stderr
    assert [s["url"] for s in listed(cli)] == [url]
    assert "/comments/feed" not in [r.path for r, _ in httpserver.log]


def test_status_names_a_feed_whose_posts_are_another_feeds_the_same_blog_at_two_urls(
    serve_feed, seed_feed: bytes, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    cli("sources", "add", serve_feed("/feed", seed_feed), "--name", "blog", "--as-is")
    cli("sources", "add", serve_feed("/mirror/feed", seed_feed), "--name", "mirror", "--as-is")
    cli("sources", "add", serve_feed("/letters.xml", RSS), "--name", "letters", "--as-is")
    cli("fetch", "--all")
    rows = {r["name"]: r for r in json.loads(cli("status", "--json").stdout)}
    assert (rows["blog"]["same_posts_as"], rows["mirror"]["same_posts_as"]) == ("mirror", "blog")
    assert rows["letters"]["same_posts_as"] is None
    [row] = [line for line in cli("status").stdout.splitlines() if "│ mirror" in line]
    assert "the same posts as blog" in row
