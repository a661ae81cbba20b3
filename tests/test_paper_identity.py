"""What resolvers say, applied to a real store: provenance by quality, two ids of one paper merged into one row
(the stronger id kept, the others aliases), candidate links becoming papers only when their page says so.

The resolvers' HTTP sides are tested against loopback fakes in test_resolvers.py and test_landing.py; here their
answers (`PaperMeta` values) go through the real store functions the enrich run calls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pytest_httpserver import HTTPServer

from digest.domain.papers import PaperMeta
from digest.store.enrichment import candidate_urls, papers_needing_metadata, record_landing, record_metadata
from digest.store.repository import session
from tests.conftest import Cli, store_rows
from tests.test_papers_store import NO_ENRICH, aliases, link, mentions, papers, post, rss, serve

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def apply(engine, resolver: str, asked: list[str], *metas: PaperMeta) -> int:  # type: ignore[no-untyped-def]
    with session(engine) as s, s.begin():
        return record_metadata(s, asked, dict(zip(asked, metas, strict=True)), NOW, resolver=resolver)


def test_a_venue_paper_and_its_arxiv_preprint_become_one_paper_keeping_the_arxiv_id(
    engine, add_source, fetch_all, httpserver: HTTPServer, cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(
            httpserver,
            "/a.xml",
            rss(
                post("a1", link("https://aclanthology.org/2023.acl-long.1/", "Fast Attention for Everyone")),
                post("a2", link("https://arxiv.org/abs/2301.00001", "the preprint"), day=3),
            ),
        )
    )
    fetch_all()
    assert [p[0] for p in papers(engine)] == ["acl:2023.acl-long.1", "arxiv:2301.00001"]

    found = apply(
        engine,
        "s2",
        ["acl:2023.acl-long.1"],
        PaperMeta(
            canonical_id="acl:2023.acl-long.1",
            title="Fast Attention for Everyone",
            authors=("Ada Lovelace",),
            abstract="We make attention fast.",
            venue="ACL 2023",
            year=2023,
            same_as=("arxiv:2301.00001",),
            resolver="s2",
        ),
    )
    assert found == 1
    assert papers(engine) == [("arxiv:2301.00001", "Fast Attention for Everyone", 98)]
    assert {"acl:2023.acl-long.1", "https://aclanthology.org/2023.acl-long.1/"} <= aliases(engine, "arxiv:2301.00001")
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("a1", "arxiv:2301.00001"),
        ("a2", "arxiv:2301.00001"),
    ]
    row = store_rows(engine, "SELECT authors, abstract, venue, year, title_source, meta_source FROM papers")
    assert row == [('["Ada Lovelace"]', "We make attention fast.", "ACL 2023", 2023, "s2", "s2")]
    ranked = json.loads(cli("papers", "--json").stdout)
    assert [(p["id"], p["title_source"], p["venue"]) for p in ranked] == [("arxiv:2301.00001", "s2", "ACL 2023")]
    # the export and papers --json name the paper by the id that stayed
    exported = cli("export", "--format", "json").stdout
    assert '"acl:2023.acl-long.1"' not in exported and '"arxiv:2301.00001"' in exported


def test_a_better_resolver_overrules_a_worse_one_and_never_the_reverse(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    add_source(serve(httpserver, "/a.xml", rss(post("a1", link("https://arxiv.org/abs/2301.00001", "Fast Attn")))))
    fetch_all()
    apply(
        engine,
        "crossref",
        ["arxiv:2301.00001"],
        PaperMeta("arxiv:2301.00001", "Fast attention (Crossref)", authors=("A. L.",), resolver="crossref"),
    )
    assert papers(engine) == [("arxiv:2301.00001", "Fast attention (Crossref)", 97)]
    apply(
        engine,
        "arxiv",
        ["arxiv:2301.00001"],
        PaperMeta(
            "arxiv:2301.00001",
            "Fast Attention for Everyone",
            authors=("Ada Lovelace",),
            abstract="Fast.",
            resolver="arxiv",
        ),
    )
    apply(
        engine,
        "landing",
        ["arxiv:2301.00001"],
        PaperMeta("arxiv:2301.00001", "FAST ATTENTION", authors=("X",), resolver="landing"),
    )
    assert papers(engine) == [("arxiv:2301.00001", "Fast Attention for Everyone", 100)]
    assert store_rows(engine, "SELECT authors, title_source, meta_source FROM papers") == [
        ('["Ada Lovelace"]', "arxiv", "arxiv")
    ]
    # each resolver asked once: none of them wants it again
    with session(engine) as s:
        for resolver in ("crossref", "arxiv", "landing"):
            assert papers_needing_metadata(s, lambda _: True, 10, resolver=resolver) == []


def test_a_url_paper_whose_page_states_a_doi_is_rekeyed_to_it_keeping_its_url_id_as_an_alias(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    add_source(serve(httpserver, "/a.xml", rss(post("a1", link("https://conf.example.org/paper/77", "Some Title")))))
    fetch_all()
    apply(
        engine,
        "landing",
        ["url:conf.example.org/paper/77"],
        PaperMeta(
            canonical_id="doi:10.1145/1234.5678", title="Some Title: The Full One", year=2024, resolver="landing"
        ),
    )
    assert papers(engine) == [("doi:10.1145/1234.5678", "Some Title: The Full One", 96)]
    assert "url:conf.example.org/paper/77" in aliases(engine, "doi:10.1145/1234.5678")
    assert store_rows(engine, "SELECT landing_url FROM papers") == [("https://doi.org/10.1145/1234.5678",)]
    # the next fetch of the same post finds the same row through the alias
    fetch_all()
    assert [p[0] for p in papers(engine)] == ["doi:10.1145/1234.5678"]


def test_a_pasted_title_resolved_to_its_arxiv_id_takes_that_id(engine) -> None:  # type: ignore[no-untyped-def]
    with session(engine) as s, s.begin():
        from digest.store.models import Paper

        s.add(
            Paper(
                canonical_id="title:fast attention for everyone",
                title="Fast Attention for Everyone",
                title_quality=90,
                first_seen_at=NOW,
                updated_at=NOW,
            )
        )
    apply(
        engine,
        "title",
        ["title:fast attention for everyone"],
        PaperMeta(
            canonical_id="title:fast attention for everyone",
            title="Fast Attention for Everyone",
            same_as=("arxiv:2301.00001", "doi:10.48550/arxiv.2301.00001"),
            resolver="title",
        ),
    )
    assert papers(engine) == [("arxiv:2301.00001", "Fast Attention for Everyone", 95)]
    assert "title:fast attention for everyone" in aliases(engine, "arxiv:2301.00001")


def test_a_candidate_link_is_no_paper_until_its_page_says_so_and_then_every_post_linking_it_mentions_it(
    engine, add_source, fetch_all, httpserver: HTTPServer, tmp_path, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    page = "https://lab.example.org/pubs/fast"
    blog = "https://lab.example.org/blog/hello"
    add_source(
        serve(
            httpserver,
            "/a.xml",
            rss(
                post("a1", f'<p>Read <a href="{page}">this paper</a> on fast attention.</p>'),
                post(
                    "a2",
                    f'<p>A second look at <a href="{page}">the paper</a>. Also <a href="{blog}">our paper</a>.</p>',
                    day=3,
                ),
            ),
        )
    )
    fetch_all()
    assert papers(engine) == [] and mentions(engine) == []
    with session(engine) as s:
        assert candidate_urls(s, 10) == [blog, page]

    with session(engine) as s, s.begin():
        record_landing(
            s, page, "paper", PaperMeta("", "Fast Attention for Everyone", authors=("Ada",), resolver="landing"), NOW
        )
        record_landing(s, blog, "not_paper", None, NOW)
    assert papers(engine) == [("url:lab.example.org/pubs/fast", "Fast Attention for Everyone", 96)]
    assert [(g, url) for _, g, _, url, _ in mentions(engine)] == [("a1", page), ("a2", page)]
    assert store_rows(engine, "SELECT context FROM mentions ORDER BY item_id") == [
        ("Read this paper on fast attention.",),
        ("A second look at the paper. Also our paper.",),
    ]
    with session(engine) as s:
        assert candidate_urls(s, 10) == []  # each page is read once

    # the posts fetched again (changed) find the paper through its alias at once, and the blog stays no paper
    serve(httpserver, "/a.xml", rss(post("a1", f'<p>Read <a href="{page}">this paper</a> now.</p>')))
    fetch_all()
    assert [(g, pid) for _, g, pid, _, _ in mentions(engine)] == [
        ("a1", "url:lab.example.org/pubs/fast"),
        ("a2", "url:lab.example.org/pubs/fast"),
    ]


def test_an_unreadable_candidate_page_is_tried_again_later_and_a_path_named_paper_stays(
    engine, add_source, fetch_all, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    page = "https://lab.example.org/pubs/fast"
    poster = '<a href="https://conf.example.org/poster/12">Big Model</a>'
    add_source(serve(httpserver, "/a.xml", rss(post("a1", f'<p><a href="{page}">preprint</a> and {poster}</p>'))))
    fetch_all()
    with session(engine) as s, s.begin():
        record_landing(s, page, "unreadable", None, NOW, error="connection refused")
    with session(engine) as s:
        assert candidate_urls(s, 10) == [page]
    assert papers(engine) == [("url:conf.example.org/poster/12", "Big Model", 45)]


def test_db_rescan_forgets_a_title_an_older_digest_took_from_a_heading(
    engine, add_source, fetch_all, httpserver: HTTPServer, db_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    add_source(
        serve(
            httpserver,
            "/a.xml",
            rss(
                post(
                    "a1",
                    "<h2>4. Many limitations of LRMs</h2>"
                    + link("https://arxiv.org/abs/2301.00001", "Another work")
                    + link("https://arxiv.org/abs/2301.00002", "Fast Attn"),
                )
            ),
        )
    )
    fetch_all()
    # as an older digest stored them: both titled by the heading at the anchor's quality
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE papers SET title = '4. Many limitations of LRMs', title_quality = 60")
    config = tmp_path / "config.toml"
    config.write_text(NO_ENRICH)
    Cli(db_url, config)("db", "rescan")
    assert papers(engine) == [("arxiv:2301.00001", None, 0), ("arxiv:2301.00002", "Fast Attn", 45)]


def test_an_old_store_loses_its_heading_titles_on_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from importlib.resources import files

    from alembic import command
    from alembic.config import Config

    from digest.store.db import make_engine, open_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(files("digest.migrations")))
    with old.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    when = "2026-11-30 12:00:00"
    with old.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO papers (canonical_id, title, title_quality, norm_title, authors, categories, meta_quality, "
            "first_seen_at, updated_at, enriched_at) VALUES "
            f"('arxiv:2301.00001', '4. Many limitations', 30, '4 many limitations', '[]', '[]', 0, '{when}', '{when}', "
            f"NULL), ('arxiv:2301.00002', 'Fast Attention', 100, 'fast attention', '[]', '[]', 100, '{when}', "
            f"'{when}', '{when}')"
        )
    old.dispose()
    engine = open_engine(url)
    try:
        assert papers(engine) == [("arxiv:2301.00001", None, 0), ("arxiv:2301.00002", "Fast Attention", 100)]
        # what the arXiv API was asked before stays asked
        with session(engine) as s:
            assert papers_needing_metadata(s, lambda i: i.startswith("arxiv:"), 10) == ["arxiv:2301.00001"]
    finally:
        engine.dispose()


def test_a_paper_nobody_named_is_shown_by_its_id_and_link_never_hidden_nor_misnamed(
    db_url: str, tmp_path, httpserver: HTTPServer
) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(NO_ENRICH + '[[digests]]\nname = "d"\nlookback_days = 36500\n')
    cli = Cli(db_url, config)
    cli(
        "sources",
        "add",
        serve(
            httpserver,
            "/a.xml",
            rss(
                post(
                    "a1",
                    "<h2>4. Many limitations of LRMs</h2><p>As <a "
                    "href='https://arxiv.org/abs/2301.00001'>Another work</a>"
                    " shows, models stop early.</p>",
                    title="Reasoning limits",
                )
            ),
        ),
        "--name",
        "blog",
    )
    cli("fetch", "--all")
    out = tmp_path / "out"
    cli("compose", "--out", str(out))
    html = (out / "digest.html").read_text()
    assert ">arXiv 2301.00001</a>" in html and 'href="https://arxiv.org/abs/2301.00001"' in html
    assert "Many limitations" not in html.split("Reasoning limits")[0]  # the heading names no card
    assert "As Another work shows, models stop early." in html  # what the post says about it


def test_tied_anchors_name_a_paper_the_same_whichever_post_arrives_first(tmp_path, httpserver: HTTPServer) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 7: two runs of the same posts gave different titles when anchors tied."""
    from digest.store.db import open_engine

    first = rss(post("a1", link("https://arxiv.org/abs/2301.00001", "Zebra Nets")))
    second = rss(
        post("b1", link("https://arxiv.org/abs/2301.00001", "Aardvark Nets"), day=3),
        post("b2", link("https://arxiv.org/abs/2301.00002", "Fast attention for all of us"), day=4),
        post("b3", link("https://arxiv.org/abs/2301.00002", "Fast Attention For All Of Us"), day=5),
    )
    titles = []
    for order in ((first, second), (second, first)):
        db = tmp_path / f"store{len(titles)}.db"
        config = tmp_path / "config.toml"
        config.write_text(NO_ENRICH)
        cli = Cli(f"sqlite:///{db}", config)
        for n, body in enumerate(order):
            cli("sources", "add", serve(httpserver, f"/{len(titles)}-{n}.xml", body), "--name", f"s{n}", "--as-is")
            cli("fetch", "--all")
        engine = open_engine(f"sqlite:///{db}")
        titles.append(papers(engine))
        engine.dispose()
    assert (
        titles[0]
        == titles[1]
        == [("arxiv:2301.00001", "Aardvark Nets", 45), ("arxiv:2301.00002", "Fast Attention For All Of Us", 60)]
    )
