"""Golden file: the papers each post of the seed Substack feed links, through the real pipeline and store.

The expected ids in fixtures/feeds/aipapertrails_substack.papers.expected.py were judged by hand from the posts'
HTML against the spec table; these tests serve the feed over loopback HTTP, fetch it into a real store and read
the ids back from the mentions table.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Cli, store_rows

GOLDEN = runpy.run_path(str(FIXTURES / "feeds" / "aipapertrails_substack.papers.expected.py"))
EXPECTED: dict[str, list[str]] = GOLDEN["EXPECTED"]
EXPECTED_WITH_RULE: dict[str, list[str]] = GOLDEN["EXPECTED_WITH_RULE"]
DEFAULT: dict[str, list[str]] = GOLDEN["DEFAULT"]

MENTIONED_IDS = """
    SELECT items.guid, papers.canonical_id FROM mentions
    JOIN items ON items.id = mentions.item_id JOIN papers ON papers.id = mentions.paper_id
"""


def ids_by_guid(engine) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    found: dict[str, list[str]] = {guid: [] for (guid,) in store_rows(engine, "SELECT guid FROM items")}
    for guid, paper_id in store_rows(engine, MENTIONED_IDS):
        found[guid].append(paper_id)
    return {guid: sorted(ids) for guid, ids in found.items()}


def test_the_golden_file_covers_all_twelve_posts_and_is_sorted_and_distinct() -> None:
    assert len(EXPECTED) == 12 and EXPECTED.keys() == EXPECTED_WITH_RULE.keys()
    for ids in (*EXPECTED.values(), *EXPECTED_WITH_RULE.values()):
        assert ids == sorted(set(ids))
    for guid, extra in EXPECTED_WITH_RULE.items():
        assert not set(extra) & set(EXPECTED[guid])


def test_each_seed_post_links_exactly_the_papers_read_off_it(
    engine,
    add_source,
    fetch_all,
    serve_feed,  # type: ignore[no-untyped-def]
    seed_feed: bytes,
) -> None:
    add_source(serve_feed("/feed", seed_feed), name="aipapertrails")
    summary = fetch_all()
    assert summary.failed == 0
    assert ids_by_guid(engine) == DEFAULT
    # one paper row per canonical id, however many posts link it: two papers are linked by two posts each
    n_ids = len({i for ids in DEFAULT.values() for i in ids})
    assert store_rows(engine, "SELECT count(*) FROM papers") == [(n_ids,)]
    assert store_rows(engine, "SELECT count(DISTINCT canonical_id) FROM papers") == [(n_ids,)]


def test_with_the_paper_finder_rule_the_seed_posts_link_the_extra_openreview_papers(
    tmp_path: Path, serve_feed, seed_feed: bytes
) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(
        f"[enrich]\nafter_fetch = false\n\n"  # papers as the posts name them, no arXiv API lookups
        f"[[papers.rules]]\npattern = '{GOLDEN['RULE_PATTERN']}'\nid = '{GOLDEN['RULE_ID']}'\n"
    )
    db_url = f"sqlite:///{tmp_path / 'rule.db'}"
    cli = Cli(db_url, config)
    cli("sources", "add", serve_feed("/feed", seed_feed), "--name", "aipapertrails")
    cli("fetch", "--all")
    from digest.store.db import open_engine

    engine = open_engine(db_url)
    try:
        found = ids_by_guid(engine)
    finally:
        engine.dispose()
    assert found == {guid: sorted(EXPECTED[guid] + EXPECTED_WITH_RULE[guid]) for guid in EXPECTED}


@pytest.mark.parametrize("url", GOLDEN["NOT_PAPERS"])
def test_the_links_judged_not_papers_get_no_id(url: str) -> None:
    from digest.domain.paper_ids import canonical_id

    assert canonical_id(url) is None
