"""The command line as scripts and cron jobs use it: names, output, exit codes, the run lock, the demo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.lock import EX_TEMPFAIL, exclusive
from tests.conftest import Cli, store_rows

ROOT = Path(__file__).resolve().parent.parent

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Small Atom</title><id>urn:small</id><updated>2026-11-20T00:00:00Z</updated>
  <entry><title>First post</title><id>urn:small:1</id><link href="https://small.example/1"/>
    <updated>2026-11-20T00:00:00Z</updated><content type="html">&lt;p&gt;Hello&lt;/p&gt;</content></entry>
  <entry><title>Second post</title><id>urn:small:2</id><link href="https://small.example/2"/>
    <updated>2026-11-21T00:00:00Z</updated><content type="html">&lt;p&gt;World&lt;/p&gt;</content></entry>
</feed>"""


def test_init_writes_the_example_config_and_creates_the_store(cli: Cli, tmp_path: Path) -> None:
    cfg = tmp_path / "conf" / "config.toml"
    result = Cli(cli.db_url, cfg)("init")
    assert cfg.read_text() == (ROOT / "config.example.toml").read_text()
    assert "store ready" in result.stdout
    again = Cli(cli.db_url, cfg)("init")
    assert "already exists" in again.stdout


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    from digest.config import parse_config

    cfg = parse_config((ROOT / "config.example.toml").read_text(), origin="config.example.toml")
    assert cfg.digests[0].name == "digest"


def test_a_bad_config_key_is_one_clear_line_naming_file_and_key(tmp_path: Path, db_url: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[fetch]\ntimeout_total = 'soon'\n")
    result = Cli(db_url, cfg)("sources", "list", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert str(cfg) in result.stderr and "fetch.timeout_total" in result.stderr


def test_sources_add_list_remove(cli: Cli) -> None:
    cli(
        "sources",
        "add",
        "https://www.aipapertrails.com/feed",
        "--tag",
        "substack",
        "--tag",
        "papers",
        "--interval",
        "30",
    )
    cli("sources", "add", "https://blog.example/atom.xml", "--name", "blog", "--kind", "feed")
    listed = json.loads(cli("sources", "list", "--json").stdout)
    assert [(s["name"], s["url"], s["tags"], s["interval"]) for s in listed] == [
        ("aipapertrails.com", "https://www.aipapertrails.com/feed", ["papers", "substack"], 30),
        ("blog", "https://blog.example/atom.xml", [], None),
    ]
    dup = cli("sources", "add", "https://blog.example/atom.xml", ok=False)
    assert dup.exit_code == 1 and "already exists" in dup.stderr
    cli("sources", "remove", "blog")
    cli("sources", "remove", "https://www.aipapertrails.com/feed")
    assert json.loads(cli("sources", "list", "--json").stdout) == []
    missing = cli("sources", "remove", "nope", ok=False)
    assert missing.exit_code == 1 and "nope" in missing.stderr


def test_sources_add_refuses_what_is_not_an_http_url(cli: Cli) -> None:
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "not a url"):
        result = cli("sources", "add", bad, ok=False)
        assert result.exit_code == 2 and "not an http(s) URL" in result.stderr


def test_opml_import_makes_folders_tags_and_export_round_trips(cli: Cli, tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text("""<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="ML">
    <outline type="rss" text="AI PaperTrails" xmlUrl="https://www.aipapertrails.com/feed"/>
    <outline type="rss" text="Lil'Log" xmlUrl="https://lilianweng.github.io/index.xml" category="/blogs"/>
  </outline>
  <outline type="rss" text="Plain" xmlUrl="https://plain.example/rss"/>
  <outline type="rss" text="Bad" xmlUrl="ftp://plain.example/rss"/>
</body></opml>""")
    result = cli("sources", "import", str(opml))
    assert "imported 3 sources" in result.stdout and "1 skipped" in result.stdout
    again = cli("sources", "import", str(opml))
    assert "imported 0 sources" in again.stdout
    listed = {s["url"]: s["tags"] for s in json.loads(cli("sources", "list", "--json").stdout)}
    assert listed == {
        "https://www.aipapertrails.com/feed": ["ML"],
        "https://lilianweng.github.io/index.xml": ["ML", "blogs"],
        "https://plain.example/rss": [],
    }
    exported = tmp_path / "out.opml"
    exported.write_text(cli("sources", "export").stdout)
    other = Cli(f"sqlite:///{tmp_path / 'other.db'}")
    other("sources", "import", str(exported))
    assert {s["url"]: s["tags"] for s in json.loads(other("sources", "list", "--json").stdout)} == listed


def test_a_hostile_opml_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.opml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>'
    )
    result = cli("sources", "import", str(bomb), ok=False)
    assert result.exit_code == 1 and str(bomb) in result.stderr
    assert json.loads(cli("sources", "list", "--json").stdout) == []


# The fixture feeds have fixed dates: a digest looking back far enough keeps these tests true on any day.
EVERYTHING = '[enrich]\nafter_fetch = false\n[[digests]]\nname = "all"\nlookback_days = 36500\n'


def _cli_with(db_url: str, tmp_path: Path, text: str = EVERYTHING) -> Cli:
    cfg = tmp_path / "digest.toml"
    cfg.write_text(text)
    return Cli(db_url, cfg)


def test_a_first_issue_with_only_old_items_says_why_it_is_empty_and_how_to_see_them(
    db_url: str, serve_feed, seed_feed: bytes, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    cli = _cli_with(db_url, tmp_path, '[enrich]\nafter_fetch = false\n[[digests]]\nname = "week"\nlookback_days = 7\n')
    empty = cli("compose", "--out", str(tmp_path / "none"))
    assert "note: nothing is stored for week yet: `digest fetch` first" in empty.stderr
    cli("sources", "add", serve_feed("/seed.rss", seed_feed), "--name", "seed")
    cli("fetch")
    out = tmp_path / "first"
    composed = cli("compose", "--out", str(out))
    window = (datetime.now(UTC) - timedelta(days=7)).date()
    assert "composed week: 0 papers, 0 posts" in composed.stderr
    assert (
        f"note: the newest item stored for week is dated 2025-11-30 and a first issue looks back [[digests]] "
        f"lookback_days, to {window:%Y-%m-%d}; `digest compose --since 2025-11-30` shows what is stored"
    ) in composed.stderr
    text = (out / "digest.txt").read_text()
    assert f"Nothing dated since {window.day} {window:%b %Y}." in text and "last issue" not in text
    assert "Nothing dated since" in (out / "digest.html").read_text()
    cli("compose", "--since", "2025-11-30", "--out", str(tmp_path / "old"))
    assert "The frontier of LLMs" in (tmp_path / "old" / "digest.txt").read_text()


def test_fetch_then_compose_then_nothing_new(db_url: str, serve_feed, seed_feed: bytes, tmp_path: Path) -> None:
    cli = _cli_with(db_url, tmp_path)
    cli("sources", "add", serve_feed("/seed.rss", seed_feed), "--name", "seed")
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    fetched = cli("fetch")
    assert "fetched 2, not modified 0, failed 0, new items 14" in fetched.stdout
    assert "fetched 0" in cli("fetch").stdout  # nothing is due right after a fetch
    out = tmp_path / "issue1"
    composed = cli("compose", "--out", str(out))
    assert composed.stdout.split() == [str(out / "digest.html"), str(out / "digest.txt"), str(out / "digest.eml")]
    html = (out / "digest.html").read_text()
    text = (out / "digest.txt").read_text()
    for title in ("The frontier of LLMs @ NeurIPS '25", "First post", "Second post"):
        assert title in html
    assert "The frontier of LLMs @ NeurIPS '25" in text and "<https://small.example/2>" in text
    second = tmp_path / "issue2"
    cli("compose", "--out", str(second))
    assert "Nothing new since the last issue" in (second / "digest.txt").read_text()
    since = tmp_path / "since"
    cli("compose", "--since", "2026-11-21", "--out", str(since))
    assert "Second post" in (since / "digest.txt").read_text()
    assert "First post" not in (since / "digest.txt").read_text()


def test_compose_preview_does_not_claim_the_items(db_url: str, serve_feed, tmp_path: Path) -> None:
    cli = _cli_with(db_url, tmp_path)
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    cli("fetch")
    cli("compose", "--preview", "--out", str(tmp_path / "p"))
    cli("compose", "--out", str(tmp_path / "real"))
    assert "First post" in (tmp_path / "real" / "digest.txt").read_text()


def test_compose_errors_are_clear(cli: Cli, tmp_path: Path) -> None:
    bad_theme = cli("compose", "--theme", "nope", "--out", str(tmp_path), ok=False)
    assert bad_theme.exit_code == 1 and "theme 'nope' not found" in bad_theme.stderr and "default" in bad_theme.stderr
    bad_date = cli("compose", "--since", "yesterday", ok=False)
    assert bad_date.exit_code == 2 and "--since" in bad_date.stderr
    unknown = cli("compose", "weekly", ok=False)  # the default config has one digest, named "digest"
    assert unknown.exit_code == 1 and "no digest named 'weekly'" in unknown.stderr


def test_fetch_of_one_named_source_and_of_an_unknown_one(cli: Cli, serve_feed) -> None:
    cli("sources", "add", serve_feed("/a.atom", ATOM, "application/atom+xml"), "--name", "a")
    cli("sources", "add", serve_feed("/b.atom", ATOM, "application/atom+xml"), "--name", "b")
    assert "fetched 1," in cli("fetch", "--source", "a").stdout
    assert "fetched 1," in cli("fetch").stdout  # b was still due
    assert "not modified 0" in cli("fetch", "--all").stdout
    unknown = cli("fetch", "--source", "zzz", ok=False)
    assert unknown.exit_code == 1 and "zzz" in unknown.stderr


def test_status_shows_an_issue_delivered_to_files_as_written_not_sent(
    db_url: str, serve_feed, seed_feed: bytes, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    cli = _cli_with(db_url, tmp_path)  # a digest without recipients: its issues go to files
    cli("sources", "add", serve_feed("/seed.rss", seed_feed), "--name", "seed")
    cli("fetch")
    cli("compose", "--out", str(tmp_path / "issue"))
    [row] = [line for line in cli("status").stdout.splitlines() if line.startswith("│ all ")]
    state = [cell.strip() for cell in row.strip("│").split("│")][3]
    assert state == "written"  # stored as `sent`: files were its delivery (docs/architecture.md)


def test_a_failing_source_is_reported_and_shown_in_status(cli: Cli, httpserver, serve_feed) -> None:
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    cli("sources", "add", httpserver.url_for("/broken"), "--name", "broken")
    cli("sources", "add", serve_feed("/ok.atom", ATOM, "application/atom+xml"), "--name", "ok")
    result = cli("fetch", ok=False)
    assert result.exit_code == 1  # any source that failed fails the run (docs/cron.md), the others are stored
    assert "fetched 1, not modified 0, failed 1, new items 2" in result.stdout
    assert f"broken ({httpserver.url_for('/broken')}): HTTP 500 Internal Server Error" in result.stderr
    table = cli("status").stdout
    broken_row = next(line for line in table.splitlines() if "broken" in line)
    assert "500" in broken_row and "HTTP 500 Internal Server Error" in broken_row
    rows = {r["name"]: r for r in json.loads(cli("status", "--json").stdout)}
    assert rows["broken"]["error_count"] == 1 and rows["ok"]["items"] == 2


def test_fetch_exits_1_when_any_source_failed_and_0_when_none_did(cli: Cli, httpserver, serve_feed) -> None:
    cli("sources", "add", serve_feed("/ok.atom", ATOM, "application/atom+xml"), "--name", "ok")
    assert cli("fetch").exit_code == 0
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    cli("sources", "add", httpserver.url_for("/broken"), "--name", "broken")
    assert cli("fetch", ok=False).exit_code == 1


def test_export_json_has_the_documented_shape(cli: Cli, serve_feed) -> None:
    url = serve_feed("/small.atom", ATOM, "application/atom+xml")
    cli("sources", "add", url, "--name", "small")
    cli("fetch")
    doc = json.loads(cli("export", "--format", "json").stdout)
    assert doc["sources"] == [
        {"name": "small", "url": url, "kind": "feed", "enabled": True, "last_status": 200, "error_count": 0}
    ]
    assert doc["items"][0] == {
        "source": url,
        "guid": "urn:small:1",
        "url": "https://small.example/1",
        "title": "First post",
        "author": None,
        "published": "2026-11-20T00:00:00Z",
        "papers": [],
    }
    assert len(doc["items"]) == 2 and doc["papers"] == []
    assert cli("export", "--format", "csv", ok=False).exit_code == 2


def test_run_fetches_and_composes_once_per_schedule_slot(tmp_path: Path, db_url: str, serve_feed) -> None:
    cfg = tmp_path / "config.toml"
    out = tmp_path / "issues"
    cfg.write_text(f'[[digests]]\nname = "daily"\nschedule = "daily 00:00"\nout = "{out}"\nlookback_days = 36500\n')
    cli = Cli(db_url, cfg)
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    first = cli("run")
    assert "new items 2" in first.stdout
    issues = list(out.glob("*/digest.html"))
    assert len(issues) == 1 and "First post" in issues[0].read_text()
    cli("run")
    assert len(list(out.glob("*/digest.html"))) == 1  # the daily slot has been served
    assert store_rows(
        __import__("digest.store.db", fromlist=["x"]).open_engine(db_url), "SELECT name, status FROM digests"
    ) == [("daily", "sent")]  # no recipients: files


def test_a_second_run_while_one_holds_the_lock_exits_75(cli: Cli, tmp_path: Path, db_url: str) -> None:
    from digest.store.url import sqlite_path

    with exclusive(Path(f"{sqlite_path(db_url)}.lock")):
        started = time.monotonic()
        proc = cli.spawn("run")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == EX_TEMPFAIL
        assert "another digest run holds" in err and err.count("\n") == 1
        assert time.monotonic() - started < 30
    assert cli("run").exit_code == 0  # and once it is released, run works


def test_a_killed_run_does_not_leave_the_lock_stuck(tmp_path: Path, db_url: str) -> None:
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import time; from digest.lock import exclusive\n"
            f"from pathlib import Path\nwith exclusive(Path({str(lock)!r})):\n"
            f"    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with exclusive(lock):
        pass


def test_python_dash_m_digest_works_like_digest() -> None:
    result = subprocess.run([sys.executable, "-m", "digest", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("digest ")


@pytest.mark.slow
def test_demo_runs_end_to_end_offline(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "digest", "demo", "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "first fetch:  fetched 5, not modified 0, failed 0, new items 38" in result.stdout
    assert "second fetch: fetched 0, not modified 5, failed 0, new items 0" in result.stdout
    html = (out / "digest.html").read_text()
    text = (out / "digest.txt").read_text()
    assert "30 papers and 20 posts" in text
    for title in (
        "Test-time compute: when does thinking longer pay off?",
        "Week 46: Mixture of experts & routing",
        "Chain of thought is computation",
        # from the Hugging Face sample, with its abstract, and from the reading list
        "Testing Deep Learning Models: A First Comparative Study of Multiple Testing Techniques",
        "Deep Learning (DL) has revolutionized the capabilities of vision-based systems",
        "Attention Is All You Need",
    ):
        assert title in " ".join(text.split())  # the text part wraps long lines
    for theme in ("dark", "compact"):
        for part in ("digest.html", "digest.txt", "digest.eml"):
            assert (out / "themes" / theme / part).stat().st_size > 1000
    for hostile in ("<script", "javascript:", "onclick", "pixel.example.com", "utm_"):
        assert hostile not in html
    assert "aipapertrails" in result.stdout and "304" in result.stdout  # the status table
    # the demo's loopback resolvers: OpenReview, a NeurIPS page's citation tags, JMLR's, Crossref, and Semantic
    # Scholar naming the ACL paper's arXiv preprint (the two merge under the arXiv id)
    assert re.search(r"metadata: +enriched [1-9]\d* of \d+ papers looked up\n", result.stdout), result.stdout
    db = ["--db", str(out / "demo.db")]
    ranked = {
        p["id"]: p
        for p in json.loads(
            subprocess.run(
                [sys.executable, "-m", "digest", *db, "papers", "--json", "--top", "500"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
        )
    }
    for paper_id, author in (
        ("openreview:MPTlWIVSMU", "Rishi Hazra"),
        ("doi:10.1038/nature14539", "Yann LeCun"),
        ("neurips:2020/b6af2c9703f203a2794be03d443af2e3", "Tianlong Chen"),
        ("jmlr:v15/srivastava14a", "Nitish Srivastava"),
        ("arxiv:1810.04805", "Jacob Devlin"),
    ):
        assert author in ranked[paper_id]["authors"] and ranked[paper_id]["abstract"], paper_id
    assert "acl:N19-1423" not in ranked
    # every paper card a post discusses quotes what a post says about it
    cards = [card for card in text.split("\n* ")[1:] if "Discussed in" in card]
    assert cards and all("“" in card for card in cards)
    rerun = subprocess.run(
        [sys.executable, "-m", "digest", "demo", "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0 and "new items 38" in rerun.stdout  # a fresh store every time


def test_a_due_digest_with_no_news_writes_nothing_and_counts_the_slot_as_served(
    tmp_path: Path, db_url: str, serve_feed
) -> None:
    """Cron runs every half hour: a day without news must not leave a "nothing new" folder on every run."""
    import time_machine

    from digest.store.db import open_engine

    cfg = tmp_path / "config.toml"
    out = tmp_path / "issues"
    cfg.write_text(
        f'[enrich]\nafter_fetch = false\n[[digests]]\nname = "daily"\nschedule = "daily 06:00"\n'
        f'out = "{out}"\nlookback_days = 36500\n'
    )
    cli = Cli(db_url, cfg)
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    monday = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        cli("run")
    assert len(list(out.iterdir())) == 1
    for hours in (24, 24.5, 25):  # Tuesday's slot and two later runs that day: nothing new anywhere
        with time_machine.travel(monday + timedelta(hours=hours), tick=False):
            result = cli("run")
        assert result.exit_code == 0
    assert len(list(out.iterdir())) == 1
    assert store_rows(open_engine(db_url), "SELECT status FROM digests ORDER BY id") == [("sent",), ("empty",)]
