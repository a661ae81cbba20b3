"""Papers in the store: one row per paper across URL forms, posts and sources; mentions follow the posts; titles
keep the best evidence; `digest papers`, `digest export` and `digest db rescan`. Real SQLite, real loopback HTTP."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from pytest_httpserver import HTTPServer

from tests.conftest import Cli, store_rows

RSS = "application/rss+xml; charset=utf-8"
NO_ENRICH = "[enrich]\nafter_fetch = false\n\n"  # titles as the posts give them: no arXiv API lookups after fetch
ATTENTION = "Attention Is All You Need"


def post(guid: str, html: str, *, title: str | None = None, day: int = 2) -> str:
    date = format_datetime(datetime(2026, 11, day, 10, 0, tzinfo=UTC), usegmt=True)
    return (
        f'<item><title>{escape(title or guid)}</title><guid isPermaLink="false">{guid}</guid>'
        f"<link>https://blog.example/{guid}</link><pubDate>{date}</pubDate>"
        f"<description>{escape(html)}</description></item>"
    )


def rss(*items: str, title: str = "Blog") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://blog.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


def link(href: str, text: str) -> str:
    return f'<p>We discuss <a href="{escape(href)}">{escape(text)}</a> at length.</p>'


def serve(httpserver: HTTPServer, path: str, body: bytes) -> str:
    """(Re)serve `path`: a later call replaces what an earlier one served there."""
    httpserver.handlers[:] = [h for h in httpserver.handlers if h.matcher.uri != path]
    httpserver.expect_request(path).respond_with_data(body, content_type=RSS)
    return httpserver.url_for(path)


def papers(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    return store_rows(engine, "SELECT canonical_id, title, title_quality FROM papers ORDER BY canonical_id")


def mentions(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    return store_rows(
        engine,
        """
        SELECT sources.name, items.guid, papers.canonical_id, mentions.url, mentions.anchor_text FROM mentions
        JOIN items ON items.id = mentions.item_id JOIN sources ON sources.id = items.source_id
        JOIN papers ON papers.id = mentions.paper_id ORDER BY sources.name, items.guid, papers.canonical_id""",
    )


def aliases(engine, canonical: str) -> set[str]:  # type: ignore[no-untyped-def]
    """Every name the store resolves to the paper: its own id (its row) and its alias rows."""
    rows = store_rows(
        engine,
        """SELECT alias FROM paper_aliases JOIN papers ON papers.id = paper_aliases.paper_id
                                 WHERE papers.canonical_id = :c UNION SELECT canonical_id FROM papers
                                 WHERE canonical_id = :c""",
        c=canonical,
    )
    return {alias for (alias,) in rows}


def export(cli: Cli) -> dict:
    return json.loads(cli("export", "--format", "json").stdout)


# --- one paper, many URLs, posts and sources ------------------------------------------------------------------


def test_two_sources_linking_one_paper_through_different_url_forms_give_one_paper_with_two_sources(
    engine, add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(httpserver, "/a.xml", rss(post("a1", link("https://arxiv.org/abs/1706.03762", ATTENTION)))), name="alpha"
    )
    add_source(
        serve(
            httpserver,
            "/b.xml",
            rss(
                post("b1", link("https://arxiv.org/pdf/1706.03762v5", "the paper")),
                post("b2", link("https://huggingface.co/papers/1706.03762", "Transformers"), day=3),
                title="Beta",
            ),
        ),
        name="beta",
    )
    assert fetch_all().failed == 0

    assert papers(engine) == [("arxiv:1706.03762", ATTENTION, 60)]
    assert aliases(engine, "arxiv:1706.03762") == {
        "arxiv:1706.03762",
        "https://arxiv.org/abs/1706.03762",
        "https://arxiv.org/pdf/1706.03762v5",
        "https://huggingface.co/papers/1706.03762",
    }
    assert mentions(engine) == [
        ("alpha", "a1", "arxiv:1706.03762", "https://arxiv.org/abs/1706.03762", ATTENTION),
        ("beta", "b1", "arxiv:1706.03762", "https://arxiv.org/pdf/1706.03762v5", "the paper"),
        ("beta", "b2", "arxiv:1706.03762", "https://huggingface.co/papers/1706.03762", "Transformers"),
    ]
    doc = export(cli)
    assert doc["papers"] == [{"id": "arxiv:1706.03762", "title": ATTENTION, "mentions": 3, "sources": 2}]
    assert {i["guid"]: i["papers"] for i in doc["items"]} == {
        "a1": ["arxiv:1706.03762"],
        "b1": ["arxiv:1706.03762"],
        "b2": ["arxiv:1706.03762"],
    }


def test_one_paper_in_two_posts_of_one_source_is_one_paper_with_two_mentions(
    engine, add_source, fetch_all, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve_feed(
            "/feed.xml",
            rss(
                post("p1", link("https://arxiv.org/abs/2401.05566", "Sleeper Agents")),
                post("p2", link("http://export.arxiv.org/abs/2401.05566v3", "Sleeper Agents"), day=3),
            ),
        )
    )
    fetch_all()
    assert papers(engine) == [("arxiv:2401.05566", "Sleeper Agents", 45)]
    assert [(guid, pid) for _, guid, pid, _, _ in mentions(engine)] == [
        ("p1", "arxiv:2401.05566"),
        ("p2", "arxiv:2401.05566"),
    ]


def test_two_urls_of_one_paper_in_one_post_are_one_mention(engine, add_source, fetch_all, serve_feed) -> None:  # type: ignore[no-untyped-def]
    html = link("https://arxiv.org/abs/2401.05566", "the paper") + link(
        "https://arxiv.org/pdf/2401.05566v2.pdf", "Sleeper Agents: Training Deceptive LLMs"
    )
    add_source(serve_feed("/feed.xml", rss(post("p1", html))))
    fetch_all()
    assert [(pid, url, anchor) for _, _, pid, url, anchor in mentions(engine)] == [
        ("arxiv:2401.05566", "https://arxiv.org/pdf/2401.05566v2.pdf", "Sleeper Agents: Training Deceptive LLMs")
    ]


# --- mentions follow the posts -----------------------------------------------------------------------------------


def test_an_edited_post_that_drops_a_link_drops_that_mention_on_the_next_fetch(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    both = link("https://arxiv.org/abs/1706.03762", ATTENTION) + link(
        "https://openreview.net/forum?id=abcDE12", "Some Other Paper"
    )
    add_source(
        serve(
            httpserver, "/feed.xml", rss(post("p1", both), post("p2", link("https://arxiv.org/abs/1810.04805", "BERT")))
        )
    )
    fetch_all()
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("p1", "arxiv:1706.03762"),
        ("p1", "openreview:abcDE12"),
        ("p2", "arxiv:1810.04805"),
    ]

    serve(
        httpserver,
        "/feed.xml",
        rss(
            post("p1", link("https://arxiv.org/abs/1706.03762", ATTENTION) + "<p>Edited: the second link is gone.</p>"),
            post("p2", link("https://arxiv.org/abs/1810.04805", "BERT")),
        ),
    )
    summary = fetch_all()
    assert (summary.new_items, summary.updated_items) == (0, 1)
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("p1", "arxiv:1706.03762"),
        ("p2", "arxiv:1810.04805"),
    ]
    # the paper itself stays known (its row and aliases), only the mention went
    assert "openreview:abcDE12" in [p[0] for p in papers(engine)]
    assert store_rows(
        engine, "SELECT count(*) FROM mentions WHERE item_id = (SELECT id FROM items WHERE guid='p1')"
    ) == [(1,)]


def test_an_unchanged_post_keeps_its_mentions_across_fetches(engine, add_source, fetch_all, serve_feed) -> None:  # type: ignore[no-untyped-def]
    add_source(serve_feed("/feed.xml", rss(post("p1", link("https://arxiv.org/abs/1706.03762", ATTENTION)))))
    fetch_all()
    before = mentions(engine)
    fetch_all()
    assert mentions(engine) == before != []


# --- titles --------------------------------------------------------------------------------------------------------


def test_a_title_upgrades_to_better_evidence_and_never_downgrades(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    url = serve(
        httpserver,
        "/feed.xml",
        rss(post("p1", f"<h2>{ATTENTION}</h2>" + link("https://arxiv.org/abs/1706.03762", "the paper"))),
    )
    add_source(url)
    fetch_all()
    assert papers(engine) == [("arxiv:1706.03762", None, 0)]  # a heading is never a paper's title

    serve(
        httpserver,
        "/feed.xml",
        rss(
            post("p1", f"<h2>{ATTENTION}</h2>" + link("https://arxiv.org/abs/1706.03762", "the paper")),
            post("p2", link("https://arxiv.org/pdf/1706.03762", "Transformer"), day=3),
        ),
    )
    fetch_all()
    assert papers(engine) == [("arxiv:1706.03762", "Transformer", 45)]  # a name in the anchor is a title

    serve(
        httpserver,
        "/feed.xml",
        rss(
            post("p1", f"<h2>{ATTENTION}</h2>" + link("https://arxiv.org/abs/1706.03762", "the paper")),
            post("p2", link("https://arxiv.org/pdf/1706.03762", "Transformer"), day=3),
            post("p3", link("https://arxiv.org/abs/1706.03762v7", "Attention is all you need (Vaswani)"), day=4),
        ),
    )
    fetch_all()
    assert papers(engine) == [("arxiv:1706.03762", "Attention is all you need (Vaswani)", 60)]  # a full title

    serve(
        httpserver,
        "/feed.xml",
        rss(
            post("p4", "<h2>Sequence models</h2>" + link("https://arxiv.org/abs/1706.03762", "this"), day=5),
            post("p5", link("https://arxiv.org/abs/1706.03762", "Vaswani"), day=6),
            post("p6", link("https://arxiv.org/abs/1706.03762", "https://arxiv.org/abs/1706.03762"), day=7),
        ),
    )
    fetch_all()
    assert papers(engine) == [("arxiv:1706.03762", "Attention is all you need (Vaswani)", 60)]  # kept


# --- papers without a canonical id ------------------------------------------------------------------------------


def test_url_papers_with_the_same_normalised_title_are_one_paper_within_a_source_and_two_across_sources(
    engine, add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(
            httpserver,
            "/a.xml",
            rss(
                post("a1", link("https://people.example.edu/~ada/engines.pdf", "Sketch of the Analytical Engine")),
                post(
                    "a2",
                    link("https://mirror.example.org/docs/engine-sketch.pdf", "Sketch of the  analytical engine!"),
                    day=3,
                ),
            ),
        ),
        name="alpha",
    )
    add_source(
        serve(
            httpserver,
            "/b.xml",
            rss(post("b1", link("https://archive.example.net/ada-sketch.pdf", "Sketch of the Analytical Engine"))),
        ),
        name="beta",
    )
    fetch_all()
    rows = store_rows(engine, "SELECT canonical_id FROM papers ORDER BY canonical_id")
    assert rows == [("url:archive.example.net/ada-sketch.pdf",), ("url:people.example.edu/~ada/engines.pdf",)]
    assert aliases(engine, "url:people.example.edu/~ada/engines.pdf") == {
        "url:people.example.edu/~ada/engines.pdf",
        "https://people.example.edu/~ada/engines.pdf",
        "url:mirror.example.org/docs/engine-sketch.pdf",
        "https://mirror.example.org/docs/engine-sketch.pdf",
    }
    assert [(s, g, pid) for s, g, pid, _, _ in mentions(engine)] == [
        ("alpha", "a1", "url:people.example.edu/~ada/engines.pdf"),
        ("alpha", "a2", "url:people.example.edu/~ada/engines.pdf"),
        ("beta", "b1", "url:archive.example.net/ada-sketch.pdf"),
    ]
    assert [(p["id"], p["mentions"], p["sources"]) for p in export(cli)["papers"]] == [
        ("url:archive.example.net/ada-sketch.pdf", 1, 1),
        ("url:people.example.edu/~ada/engines.pdf", 2, 1),
    ]


def test_url_papers_with_different_titles_in_one_source_stay_apart(engine, add_source, fetch_all, serve_feed) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve_feed(
            "/feed.xml",
            rss(
                post("p1", link("https://people.example.edu/a.pdf", "Sketch of the Analytical Engine")),
                post("p2", link("https://people.example.edu/b.pdf", "Notes on the Analytical Engine"), day=3),
            ),
        )
    )
    fetch_all()
    assert len(papers(engine)) == 2


def test_a_store_that_also_kept_each_papers_own_id_as_an_alias_resolves_and_grows_the_same(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    """Stores written before a paper's own id stopped being an alias row have both; nothing may clash."""
    first = post("p1", link("https://people.example.edu/~v/attention.pdf", ATTENTION))
    add_source(serve(httpserver, "/feed.xml", rss(first)))
    fetch_all()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO paper_aliases (alias, paper_id) SELECT canonical_id, id FROM papers")

    serve(
        httpserver,
        "/feed.xml",
        rss(
            first,
            post("p2", link("https://arxiv.org/abs/1706.03762v2", ATTENTION + "."), day=3),
            post("p3", link("https://arxiv.org/abs/1706.03762", "the same paper"), day=4),
        ),
    )
    assert fetch_all().failed == 0
    assert papers(engine) == [("arxiv:1706.03762", ATTENTION, 60)]
    assert aliases(engine, "arxiv:1706.03762") == {
        "url:people.example.edu/~v/attention.pdf",
        "https://people.example.edu/~v/attention.pdf",
        "arxiv:1706.03762",
        "https://arxiv.org/abs/1706.03762v2",
        "https://arxiv.org/abs/1706.03762",
    }
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("p1", "arxiv:1706.03762"),
        ("p2", "arxiv:1706.03762"),
        ("p3", "arxiv:1706.03762"),
    ]


def test_a_url_paper_later_seen_with_a_real_id_and_the_same_title_becomes_that_id(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    first = post("p1", link("https://people.example.edu/~v/attention.pdf", ATTENTION))
    add_source(serve(httpserver, "/feed.xml", rss(first)))
    fetch_all()
    assert papers(engine) == [("url:people.example.edu/~v/attention.pdf", ATTENTION, 60)]

    serve(
        httpserver,
        "/feed.xml",
        rss(first, post("p2", link("https://arxiv.org/abs/1706.03762v2", ATTENTION + "."), day=3)),
    )
    fetch_all()
    assert papers(engine) == [("arxiv:1706.03762", ATTENTION, 60)]
    assert aliases(engine, "arxiv:1706.03762") == {
        "url:people.example.edu/~v/attention.pdf",
        "https://people.example.edu/~v/attention.pdf",
        "arxiv:1706.03762",
        "https://arxiv.org/abs/1706.03762v2",
    }
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("p1", "arxiv:1706.03762"),
        ("p2", "arxiv:1706.03762"),
    ]
    assert store_rows(engine, "SELECT landing_url FROM papers") == [("https://arxiv.org/abs/1706.03762",)]


def test_a_url_paper_in_another_source_does_not_take_a_real_id_by_title(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(httpserver, "/a.xml", rss(post("a1", link("https://people.example.edu/~v/attention.pdf", ATTENTION)))),
        name="alpha",
    )
    add_source(
        serve(httpserver, "/b.xml", rss(post("b1", link("https://arxiv.org/abs/1706.03762", ATTENTION)))), name="beta"
    )
    fetch_all()
    assert [p[0] for p in papers(engine)] == ["arxiv:1706.03762", "url:people.example.edu/~v/attention.pdf"]


# --- digest papers ---------------------------------------------------------------------------------------------


def _ranking_store(add_source, fetch_all, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    """X: 2 sources, 2 posts. Y: 1 source, 3 posts. Z: 1 source, 1 post on the 20th. W: 1 source, 1 post on the 5th."""
    x = "https://arxiv.org/abs/1706.03762"
    y = "https://openreview.net/forum?id=YyyYY11"
    add_source(
        serve(
            httpserver,
            "/a.xml",
            rss(
                post("a1", link(x, "Paper X Title") + link(y, "Paper Y Title"), day=10),
                post("a2", link(y, "Paper Y Title"), day=11),
                post("a3", link(y, "the paper"), day=12),
                post("a4", link("https://aclanthology.org/N19-1423.pdf", "Paper W Title"), day=5),
                title="Alpha Blog",
            ),
        ),
        name="alpha",
    )
    add_source(
        serve(
            httpserver,
            "/b.xml",
            rss(
                post("b1", link(x, "here"), day=1),
                post("b2", link("https://doi.org/10.1038/nature14539", "Paper Z Title"), day=20),
                title="Beta Blog",
            ),
        ),
        name="beta",
    )
    assert fetch_all().failed == 0


def test_digest_papers_lists_titles_ranked_by_sources_then_posts_then_recency(
    add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    _ranking_store(add_source, fetch_all, httpserver)
    out = cli("papers").stdout
    heads = [line.strip() for line in out.splitlines() if line[:4].strip().rstrip(".").isdigit()]
    assert heads == ["1. Paper X Title", "2. Paper Y Title", "3. Paper Z Title", "4. Paper W Title"]
    assert "http" not in "\n".join(heads)
    assert "arxiv:1706.03762 · 2 sources, 2 posts" in out
    assert "openreview:YyyYY11 · 1 source, 3 posts" in out
    assert "Alpha Blog: a1" in out and "Beta Blog: b1" in out

    top2 = cli("papers", "--top", "2").stdout
    assert "Paper Y Title" in top2 and "Paper Z Title" not in top2 and "Paper W Title" not in top2


def test_digest_papers_names_a_paper_nobody_named_by_its_id_as_a_digest_does(
    add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(httpserver, "/n.xml", rss(post("n1", link("https://openreview.net/forum?id=MPTlWIVSMU", "this paper")))),
        name="n",
    )
    assert fetch_all().failed == 0
    heads = [line.strip() for line in cli("papers").stdout.splitlines() if line.strip().startswith("1.")]
    assert heads == ["1. OpenReview MPTlWIVSMU"]


def test_digest_papers_json_has_the_documented_shape(add_source, fetch_all, httpserver: HTTPServer, cli: Cli) -> None:  # type: ignore[no-untyped-def]
    _ranking_store(add_source, fetch_all, httpserver)
    ranked = json.loads(cli("papers", "--json").stdout)
    assert [p["id"] for p in ranked] == [
        "arxiv:1706.03762",
        "openreview:YyyYY11",
        "doi:10.1038/nature14539",
        "acl:N19-1423",
    ]
    x = ranked[0]
    assert set(x) == {
        "id",
        "title",
        "url",
        "pdf",
        "sources",
        "mentions",
        "latest",
        "mentioned_in",
        "authors",
        "abstract",
        "venue",
        "year",  # the paper's metadata: tests/test_quotes.py
        "title_source",
    }
    assert x["title_source"] == "anchor"  # who named it: the post's link text
    assert (x["title"], x["url"], x["pdf"], x["sources"], x["mentions"], x["latest"]) == (
        "Paper X Title",
        "https://arxiv.org/abs/1706.03762",
        "https://arxiv.org/pdf/1706.03762",
        2,
        2,
        "2026-11-10T10:00:00Z",
    )
    assert x["mentioned_in"] == [
        {
            "source": "Alpha Blog",
            "title": "a1",
            "url": "https://blog.example/a1",
            "published": "2026-11-10T10:00:00Z",
            "quote": "We discuss Paper X Title at length.",
        },
        {
            "source": "Beta Blog",
            "title": "b1",
            "url": "https://blog.example/b1",
            "published": "2026-11-01T10:00:00Z",
            "quote": "We discuss here at length.",
        },
    ]
    assert ranked[3]["pdf"] == "https://aclanthology.org/N19-1423.pdf"
    assert len(json.loads(cli("papers", "--json", "--top", "1").stdout)) == 1


def test_an_undated_post_is_listed_without_a_date_but_still_counts_as_recent(
    add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    undated = post("u1", link("https://arxiv.org/abs/1706.03762", "Paper X Title"))
    undated = re.sub(r"<pubDate>[^<]*</pubDate>", "", undated)
    add_source(serve(httpserver, "/u.xml", rss(undated, title="Undated Blog")), name="undated")
    assert fetch_all().failed == 0
    [paper] = json.loads(cli("papers", "--json").stdout)
    assert [(m["title"], m["published"]) for m in paper["mentioned_in"]] == [("u1", None)]  # not the day it was seen
    assert paper["latest"] is not None  # ranked by when it was first seen
    assert len(json.loads(cli("papers", "--json", "--since", "2000-01-01").stdout)) == 1


def test_digest_papers_since_counts_only_mentions_in_that_window(
    add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    _ranking_store(add_source, fetch_all, httpserver)
    ranked = json.loads(cli("papers", "--json", "--since", "2026-11-11").stdout)
    # X's mentions (10th, 1st) and W's (5th) fall before; Y keeps the 11th and 12th, so it still beats Z
    assert [(p["id"], p["sources"], p["mentions"]) for p in ranked] == [
        ("openreview:YyyYY11", 1, 2),
        ("doi:10.1038/nature14539", 1, 1),
    ]
    assert [x["title"] for x in ranked[0]["mentioned_in"]] == ["a3", "a2"]
    assert json.loads(cli("papers", "--json", "--since", "2026-12-01").stdout) == []
    assert "no papers yet" in cli("papers", "--since", "2026-12-01").stdout
    bad = cli("papers", "--since", "last week", ok=False)
    assert bad.exit_code == 2 and "--since" in bad.stderr


def test_digest_papers_on_an_empty_store(cli: Cli) -> None:
    assert "no papers yet" in cli("papers").stdout
    assert json.loads(cli("papers", "--json").stdout) == []


# --- digest export -------------------------------------------------------------------------------------------------


def test_export_fills_item_papers_sorted_and_distinct_and_lists_papers_with_counts(
    add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    _ranking_store(add_source, fetch_all, httpserver)
    doc = export(cli)
    by_guid = {i["guid"]: i["papers"] for i in doc["items"]}
    assert by_guid == {
        "a1": ["arxiv:1706.03762", "openreview:YyyYY11"],
        "a2": ["openreview:YyyYY11"],
        "a3": ["openreview:YyyYY11"],
        "a4": ["acl:N19-1423"],
        "b1": ["arxiv:1706.03762"],
        "b2": ["doi:10.1038/nature14539"],
    }
    assert doc["papers"] == [
        {"id": "acl:N19-1423", "title": "Paper W Title", "mentions": 1, "sources": 1},
        {"id": "arxiv:1706.03762", "title": "Paper X Title", "mentions": 2, "sources": 2},
        {"id": "doi:10.1038/nature14539", "title": "Paper Z Title", "mentions": 1, "sources": 1},
        {"id": "openreview:YyyYY11", "title": "Paper Y Title", "mentions": 3, "sources": 1},
    ]


def test_export_of_items_without_papers_has_empty_paper_lists(
    engine,
    add_source,
    fetch_all,
    serve_feed,  # type: ignore[no-untyped-def]
    cli: Cli,
) -> None:
    add_source(serve_feed("/feed.xml", rss(post("p1", '<p><a href="https://github.com/o/r">code</a></p>'))))
    fetch_all()
    doc = export(cli)
    assert [i["papers"] for i in doc["items"]] == [[]] and doc["papers"] == []


# --- digest db rescan ------------------------------------------------------------------------------------------


def test_db_rescan_after_adding_a_rule_picks_up_newly_recognised_papers(
    engine, db_url: str, tmp_path: Path, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    finder = "https://neurips.aipapertrails.com/paper/GqYSunGmp7"
    feed = rss(
        post("p1", link(finder, "Reasoning Gym") + link("https://arxiv.org/abs/2501.12948", "DeepSeek-R1")),
        post("p2", link("https://openreview.net/forum?id=GqYSunGmp7", "the paper"), day=3),
    )
    config = tmp_path / "config.toml"
    config.write_text(NO_ENRICH)
    cli = Cli(db_url, config)
    cli("sources", "add", serve_feed("/feed.xml", feed), "--name", "trails")
    cli("fetch", "--all")
    # the finder's page names a paper by its path: a url: paper until a rule (or its landing page) says more
    before = [
        ("p1", "arxiv:2501.12948"),
        ("p1", "url:neurips.aipapertrails.com/paper/GqYSunGmp7"),
        ("p2", "openreview:GqYSunGmp7"),
    ]
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == before
    assert "0 items" not in cli("db", "rescan").stdout  # a rescan without new rules changes nothing
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == before

    config.write_text(
        NO_ENRICH + "[[papers.rules]]\n"
        "pattern = '^https?://neurips\\.aipapertrails\\.com/paper/(?P<id>[A-Za-z0-9_-]+)'\n"
        "id = 'openreview:{id}'\n"
    )
    out = cli("db", "rescan").stdout
    assert out.strip() == "rescanned 2 items: 3 paper mentions"
    assert [(g, pid, url) for _, g, pid, url, _ in mentions(engine)] == [
        ("p1", "arxiv:2501.12948", "https://arxiv.org/abs/2501.12948"),
        ("p1", "openreview:GqYSunGmp7", finder),
        ("p2", "openreview:GqYSunGmp7", "https://openreview.net/forum?id=GqYSunGmp7"),
    ]
    # the mirror's page joined the paper p2 already linked: one row, named by the better evidence
    assert [p for p in papers(engine) if p[0] == "openreview:GqYSunGmp7"] == [
        ("openreview:GqYSunGmp7", "Reasoning Gym", 45)
    ]
    assert finder in aliases(engine, "openreview:GqYSunGmp7")


def test_db_rescan_gives_a_pdf_known_only_by_url_the_id_a_new_rule_recognises(
    engine, db_url: str, tmp_path: Path, serve_feed
) -> None:  # type: ignore[no-untyped-def]
    pdf = "https://mirror.example.org/pdf/GqYSunGmp7.pdf"
    feed = rss(
        post("p1", link(pdf, "[pdf]")),
        post("p2", link("https://openreview.net/forum?id=GqYSunGmp7", "Reasoning Gym"), day=3),
        post("p3", link("https://mirror.example.org/pdf/AbCdE12345.pdf", "Mirror Only Paper"), day=4),
    )
    config = tmp_path / "config.toml"
    config.write_text(NO_ENRICH)
    cli = Cli(db_url, config)
    cli("sources", "add", serve_feed("/feed.xml", feed), "--name", "mirror")
    cli("fetch", "--all")
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("p1", "url:mirror.example.org/pdf/GqYSunGmp7.pdf"),
        ("p2", "openreview:GqYSunGmp7"),
        ("p3", "url:mirror.example.org/pdf/AbCdE12345.pdf"),
    ]
    config.write_text(
        NO_ENRICH + "[[papers.rules]]\npattern = '^https://mirror\\.example\\.org/pdf/(?P<id>\\w+)\\.pdf$'\n"
        "id = 'openreview:{id}'\n"
    )
    cli("db", "rescan")
    # the URL now names a paper the store knows by that id: the mention moves to it
    # the other PDF was a paper of its own: that row takes the id, keeping its title
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("p1", "openreview:GqYSunGmp7"),
        ("p2", "openreview:GqYSunGmp7"),
        ("p3", "openreview:AbCdE12345"),
    ]
    # and the url: row the first PDF had joined the paper it is: one row, the old id an alias
    assert papers(engine) == [
        ("openreview:AbCdE12345", "Mirror Only Paper", 60),
        ("openreview:GqYSunGmp7", "Reasoning Gym", 45),
    ]
    assert "url:mirror.example.org/pdf/GqYSunGmp7.pdf" in aliases(engine, "openreview:GqYSunGmp7")
    assert store_rows(
        engine, "SELECT landing_url, pdf_url FROM papers WHERE canonical_id = 'openreview:AbCdE12345'"
    ) == [("https://openreview.net/forum?id=AbCdE12345", "https://mirror.example.org/pdf/AbCdE12345.pdf")]
