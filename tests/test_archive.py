"""The static archive: an index page, one page per delivered issue (its HTML as mailed) and an Atom feed."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import time_machine
from defusedxml import ElementTree

from digest.deliver.archive import NAV_END, NAV_START
from digest.store import digests as store
from digest.store.repository import session
from tests.conftest import Cli, store_rows
from tests.mailserver import Received, smtp_server
from tests.test_delivery import MONDAY, Feed, write_config

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://digest.example.org/archive"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self.links.append((self._href, ""))

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None


def _atom_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _three_issues(db_url: str, engine, tmp_path: Path, httpserver) -> tuple[Cli, list[tuple], list[Received]]:  # type: ignore[no-untyped-def]
    """Monday's and Tuesday's issues are mailed; Wednesday's is refused by the server and stays pending."""
    feed = Feed(httpserver, [("alpha", "Alpha post", MONDAY - timedelta(hours=5))])
    with smtp_server() as server, time_machine.travel(MONDAY, tick=True) as clock:
        cli = Cli(db_url, write_config(tmp_path / "digest.toml", server.port))
        cli("sources", "add", feed.url, "--name", "blog")
        cli("run")
        for day, (guid, title) in enumerate((("beta", "Beta post"), ("gamma", "Gamma post")), start=1):
            when = MONDAY + timedelta(days=day)
            feed.items.append((guid, title, when - timedelta(hours=1)))
            clock.move_to(when)
            if guid == "gamma":
                server.mailbox.fail_data.append(451)
            cli("run", ok=guid != "gamma")
    assert len(server.received) == 2
    return cli, store_rows(engine, "SELECT id, status, subject FROM digests ORDER BY id"), server.received


def _mailed_part(page: str) -> str:
    """An archived issue page without the archive's own bar: what was mailed, if the page is right."""
    assert page.count(NAV_START) == 1 and page.count(NAV_END) == 1
    start, end = page.index(NAV_START), page.index(NAV_END) + len(NAV_END)
    return page[:start] + page[end:]


def test_the_archive_has_an_index_a_page_per_sent_issue_and_an_atom_feed(db_url, engine, tmp_path, httpserver) -> None:
    cli, issues, _ = _three_issues(db_url, engine, tmp_path, httpserver)
    assert [status for _, status, _ in issues] == ["sent", "sent", "pending"]
    with session(engine) as s:
        sent = {i.id: (i.subject, i.html, i.sent_at) for i in store.sent_issues(s)}
    pending_subject = issues[2][2]
    out = tmp_path / "site"
    result = cli("archive", "--out", str(out), "--base-url", BASE)
    assert f"archived 2 issues to {out}" in result.stdout

    parser = _Links()
    parser.feed((out / "index.html").read_text())
    pages = [(href, " ".join(text.split())) for href, text in parser.links if href.startswith("issues/")]
    assert [text for _, text in pages] == [sent[2][0], sent[1][0]]  # newest first, titled by subject
    assert ("feed.atom", "Atom feed") in parser.links
    for (href, _), issue_id in zip(pages, (2, 1), strict=True):
        # the issue's HTML exactly as mailed, and the archive's bar back to the index (test below)
        assert _mailed_part((out / href).read_text()) == sent[issue_id][1]
    assert sorted(p.name for p in (out / "issues").iterdir()) == sorted(Path(href).name for href, _ in pages)
    assert pending_subject not in (out / "index.html").read_text()

    feed = ElementTree.parse(out / "feed.atom").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == f"{BASE}/feed.atom"
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == f"{BASE}/index.html"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry, (href, _), issue_id in zip(entries, pages, (2, 1), strict=True):
        subject, html, sent_at = sent[issue_id]
        assert entry.findtext(f"{ATOM}title") == subject
        assert entry.findtext(f"{ATOM}id").startswith(f"urn:digest:daily:{issue_id}:")
        assert _atom_time(entry.findtext(f"{ATOM}updated")) == sent_at.replace(microsecond=0)
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href") == f"{BASE}/{href}"
        assert entry.findtext(f"{ATOM}content") == html
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 2
    assert feed.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")
    assert pending_subject not in (out / "feed.atom").read_text()

    cli("archive", "--out", str(out), "--base-url", BASE)  # writing again keeps the entries' ids
    again = ElementTree.parse(out / "feed.atom").getroot().findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in again] == [e.findtext(f"{ATOM}id") for e in entries]


def test_archive_files_get_ordinary_permissions_so_a_web_server_can_read_them(
    db_url, engine, tmp_path, httpserver
) -> None:
    cli, _, _ = _three_issues(db_url, engine, tmp_path, httpserver)
    old = os.umask(0o022)
    try:
        cli("archive", "--out", str(tmp_path / "site"))
    finally:
        os.umask(old)
    modes = {
        p.relative_to(tmp_path / "site").as_posix(): p.stat().st_mode & 0o777
        for p in (tmp_path / "site").rglob("*")
        if p.is_file()
    }
    assert len(modes) == 4 and set(modes.values()) == {0o644}, modes


def test_each_issue_page_leads_back_to_the_index_and_the_mail_stays_as_it_was_sent(
    db_url, engine, tmp_path, httpserver
) -> None:
    cli, _, received = _three_issues(db_url, engine, tmp_path, httpserver)
    stored = store_rows(engine, "SELECT message, html FROM digests WHERE status = 'sent' ORDER BY id")
    out = tmp_path / "site"
    cli("archive", "--out", str(out))
    for page in (out / "issues").iterdir():
        parser = _Links()
        parser.feed(page.read_text())
        back = [(href, " ".join(text.split())) for href, text in parser.links if href == "../index.html"]
        assert back == [("../index.html", "← Daily papers: all issues")], page.name
        assert (page.parent / back[0][0]).resolve() == (out / "index.html").resolve()
        bar = page.read_text().split("<body", 1)[1].split(">", 1)[1]
        assert bar.startswith(NAV_START)  # first thing in the body: seen before the issue
    # archiving changes nothing of what was mailed: the stored messages are the bytes the server took
    assert store_rows(engine, "SELECT message, html FROM digests WHERE status = 'sent' ORDER BY id") == stored
    assert [message for message, _ in stored] == [r.data.decode() for r in received]


def test_the_index_shows_the_counts_each_issue_showed(engine, add_source, cli: Cli, now, tmp_path) -> None:
    """An issue's entries hold the listing entries of its papers too; those are papers to the reader, not posts."""
    from digest.config import DigestConfig
    from digest.publish import compose_issue
    from digest.store import repository as repo
    from tests.test_compose import SMTP, _item, _listing_item

    blog = add_source("https://blog.example/feed", name="blog")
    hf = add_source("https://huggingface.co/api/daily_papers", name="HF daily", kind="listing", adapter="hf-daily")
    with repo.session(engine) as s, s.begin():
        repo.upsert_items(
            s,
            hf,
            [
                _listing_item("arxiv:2402.00001", "2402.00001", "A listed paper", now),
                _listing_item("arxiv:2402.00002", "2402.00002", "Another listed paper", now),
            ],
            now,
        )
        repo.upsert_items(s, blog, [_item("p", "The one post", now)], now)
    issue = compose_issue(engine, DigestConfig(name="daily"), SMTP, now=now)
    assert issue.status == "sent" and (issue.view.paper_count, issue.view.post_count) == (2, 1)
    out = tmp_path / "site"
    cli("archive", "--out", str(out))
    index = " ".join((out / "index.html").read_text().split())
    assert "2 papers, 1 post</span>" in index
    feed = ElementTree.parse(out / "feed.atom").getroot()
    assert [e.findtext(f"{ATOM}summary") for e in feed.findall(f"{ATOM}entry")] == ["2 papers, 1 post"]


def test_an_archive_of_nothing_is_an_empty_index_and_a_valid_feed(cli: Cli, tmp_path) -> None:
    out = tmp_path / "site"
    assert "archived 0 issues" in cli("archive", "--out", str(out)).stdout
    assert "No issues yet." in (out / "index.html").read_text()
    feed = ElementTree.parse(out / "feed.atom").getroot()
    assert feed.tag == f"{ATOM}feed" and feed.findall(f"{ATOM}entry") == []
