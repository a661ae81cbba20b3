"""HTTP retrieval and whole ingest runs: real HTTP on 127.0.0.1, real SQLite through the migrations."""

from __future__ import annotations

import gzip
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from digest.store import repository as repo
from digest.store.models import Fetch, Item, Source
from tests.conftest import serve_tls, store_rows

RSS = "application/rss+xml; charset=utf-8"
HOUR = timedelta(hours=1)

SEED_ITEMS = [
    ("The frontier of LLMs @ NeurIPS '25", datetime(2025, 11, 30, 15, 59, 12, tzinfo=UTC)),
    ("Chain of thought is computation", datetime(2025, 11, 7, 7, 4, 2, tzinfo=UTC)),
    ("Large reasoning models research at COLM 2025", datetime(2025, 9, 13, 23, 48, 38, tzinfo=UTC)),
    ("ICML 2024 Orals (top 10%): Summaries of interesting papers", datetime(2024, 7, 23, 16, 14, 59, tzinfo=UTC)),
    ("Knowledge Distillation Research Review", datetime(2021, 2, 5, 14, 46, 44, tzinfo=UTC)),
    ("Neural Network Quantization Research Review", datetime(2021, 1, 19, 13, 49, 45, tzinfo=UTC)),
    ("Neural Network Pruning Research Review 2020", datetime(2020, 12, 24, 14, 13, 34, tzinfo=UTC)),
    (
        "NeurIPS 2020 Papers: Takeaways of a Deep Learning Engineer (Part 2 of 3)\u2014 Computer Vision",
        datetime(2020, 12, 5, 15, 59, 41, tzinfo=UTC),
    ),
    ("NeurIPS 2020 Papers: A Deep Learning Engineer\u2019s Takeaway", datetime(2020, 11, 27, 19, 50, 21, tzinfo=UTC)),
    (
        "ICLR 2020 papers: On Compositional/Systematic generalization (including ours)",
        datetime(2020, 4, 26, 5, 56, 46, tzinfo=UTC),
    ),
    ("Computer Vision and Computer Vision applied", datetime(2019, 10, 24, 9, 8, 17, tzinfo=UTC)),
    ("NIPS/NeurIPS 2018: Best* of the First Two Poster Sessions", datetime(2018, 12, 4, 13, 15, 9, tzinfo=UTC)),
]


# --- helpers ---------------------------------------------------------------------------------------


class Clock:
    """An injectable clock: aware UTC, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def rss(*items: str, title: str = "Test feed") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://127.0.0.1/</link>{''.join(items)}</channel></rss>"
    ).encode()


def entry(
    title: str | None = None,
    *,
    guid: str | None = None,
    link: str | None = None,
    date: str | None = "Mon, 02 Nov 2026 10:00:00 GMT",
    body: str | None = None,
) -> str:
    parts = [
        f"<title>{title}</title>" if title is not None else "",
        f'<guid isPermaLink="false">{guid}</guid>' if guid is not None else "",
        f"<link>{link}</link>" if link is not None else "",
        f"<pubDate>{date}</pubDate>" if date is not None else "",
        f"<description>{body}</description>" if body is not None else "",
    ]
    return "<item>" + "".join(parts) + "</item>"


# A small feed for tests where what the items say does not matter (the seed feed takes ~0.2 s to read).
SMALL = rss(
    *(
        entry(
            f"Post {n}",
            guid=f"https://blog.example/p/{n}",
            link=f"https://blog.example/p/{n}",
            body=f"Body of post {n}",
        )
        for n in (1, 2, 3)
    )
)


def source_row(engine, source_id: int) -> Source:  # type: ignore[no-untyped-def]
    with repo.session(engine) as s:
        src = s.get(Source, source_id)
        assert src is not None
        return src


def items_of(engine, source_id: int) -> list[Item]:  # type: ignore[no-untyped-def]
    with repo.session(engine) as s:
        return list(s.scalars(select(Item).where(Item.source_id == source_id).order_by(Item.id)))


def fetch_log(engine, source_id: int) -> list[Fetch]:  # type: ignore[no-untyped-def]
    with repo.session(engine) as s:
        return list(s.scalars(select(Fetch).where(Fetch.source_id == source_id).order_by(Fetch.id)))


def report_for(summary, name: str):  # type: ignore[no-untyped-def]
    matches = [r for r in summary.reports if r.name == name]
    assert len(matches) == 1, [r.name for r in summary.reports]
    return matches[0]


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [req for req, _ in server.log if req.path == path]


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- 1. the seed feed ------------------------------------------------------------------------------


def test_the_seed_substack_feed_is_stored_with_every_title_and_date(
    engine, add_source, fetch_all, serve_feed, seed_feed
) -> None:
    sid = add_source(serve_feed("/seed", seed_feed), name="aipapertrails")

    summary = fetch_all()

    report = report_for(summary, "aipapertrails")
    assert (report.outcome, report.new_items, report.error) == ("ok", 12, None)
    stored = items_of(engine, sid)
    assert [(i.title, i.published_at) for i in stored] == SEED_ITEMS
    first = stored[0]
    assert first.guid == "https://www.aipapertrails.com/p/the-frontier-of-llms-neurips-25"
    assert first.url == "https://www.aipapertrails.com/p/the-frontier-of-llms-neurips-25"
    assert "We are increasingly talking about AGI/ASI" in first.content_html
    assert all(i.published_at is not None and i.published_at.tzinfo is not None for i in stored)
    src = source_row(engine, sid)
    assert (src.title, src.site_url, src.last_status, src.error_count) == (
        "AI PaperTrails",
        "https://www.aipapertrails.com",
        200,
        0,
    )


# --- 2. conditional requests -----------------------------------------------------------------------

ETAG = '"seed-v1"'
LAST_MODIFIED = "Fri, 17 Apr 2026 05:55:33 GMT"


def test_a_second_fetch_with_matching_validators_is_not_modified(
    engine, add_source, fetch_all, httpserver, seed_feed, now
) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == ETAG or request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return Response(status=304)  # a 304 may omit the validators: the stored ones must stay
        return Response(seed_feed, content_type=RSS, headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    sid = add_source(httpserver.url_for("/feed"), name="seed")
    clock = Clock(now)

    first = fetch_all(clock=clock)
    clock.advance(HOUR)
    second = fetch_all(clock=clock)

    assert report_for(first, "seed").new_items == 12
    report = report_for(second, "seed")
    assert (report.outcome, report.new_items, report.updated_items, report.error) == ("not_modified", 0, 0, None)
    first_req, second_req = requests_to(httpserver, "/feed")
    assert "If-None-Match" not in first_req.headers and "If-Modified-Since" not in first_req.headers
    assert second_req.headers.get("If-None-Match") == ETAG
    assert second_req.headers.get("If-Modified-Since") == LAST_MODIFIED
    src = source_row(engine, sid)
    assert (src.etag, src.last_modified) == (ETAG, LAST_MODIFIED)
    assert (src.last_status, src.error_count, src.last_error) == (304, 0, None)
    assert src.last_ok_at == now + HOUR
    assert src.next_fetch_at == now + 2 * HOUR
    assert len(items_of(engine, sid)) == 12

    clock.advance(HOUR)
    fetch_all(clock=clock)  # the kept validators are sent again
    assert requests_to(httpserver, "/feed")[2].headers.get("If-None-Match") == ETAG


def test_a_304_carrying_a_new_etag_replaces_the_stored_one(engine, add_source, fetch_all, httpserver) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": '"seed-v2"'})
        return Response(SMALL, content_type=RSS, headers={"ETag": ETAG})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    sid = add_source(httpserver.url_for("/feed"), name="cached")

    fetch_all()
    assert report_for(fetch_all(), "cached").outcome == "not_modified"

    assert source_row(engine, sid).etag == '"seed-v2"'


# --- 3. re-fetching --------------------------------------------------------------------------------


def test_refetching_the_same_feed_without_validators_adds_nothing(
    engine, add_source, fetch_all, serve_feed, seed_feed
) -> None:
    sid = add_source(serve_feed("/feed", seed_feed), name="seed")
    fetch_all()
    ids_before = [i.id for i in items_of(engine, sid)]

    summary = fetch_all()

    report = report_for(summary, "seed")
    assert (report.outcome, report.new_items, report.updated_items) == ("ok", 0, 0)
    assert [i.id for i in items_of(engine, sid)] == ids_before
    assert store_rows(engine, "select count(*) from items") == [(12,)]


def test_an_item_whose_content_changed_is_updated_in_place_not_duplicated(
    engine, add_source, fetch_all, httpserver
) -> None:
    before = rss(
        entry("Draft title", guid="post-1", link="https://blog.example/p1", body="first words"),
        entry("Other post", guid="post-2", link="https://blog.example/p2", body="unchanged"),
    )
    after = rss(
        entry("Final title", guid="post-1", link="https://blog.example/p1", body="better words"),
        entry("Other post", guid="post-2", link="https://blog.example/p2", body="unchanged"),
    )
    httpserver.expect_request("/feed").respond_with_data(before, content_type=RSS)
    sid = add_source(httpserver.url_for("/feed"), name="blog")
    fetch_all()
    (old_1, old_2) = items_of(engine, sid)

    httpserver.clear_all_handlers()
    httpserver.expect_request("/feed").respond_with_data(after, content_type=RSS)
    summary = fetch_all()

    report = report_for(summary, "blog")
    assert (report.new_items, report.updated_items) == (0, 1)
    assert summary.updated_items == 1
    (new_1, new_2) = items_of(engine, sid)
    assert new_1.id == old_1.id and new_1.guid == "post-1"
    assert (new_1.title, new_1.content_html) == ("Final title", "better words")
    assert new_1.content_hash != old_1.content_hash
    assert (new_2.id, new_2.content_hash, new_2.updated_at) == (old_2.id, old_2.content_hash, old_2.updated_at)
    assert fetch_log(engine, sid)[-1].updated_items == 1


# --- 4. redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_redirect_moves_the_source_permanently(
    engine, add_source, fetch_all, httpserver, status: int
) -> None:
    httpserver.expect_request("/old").respond_with_data(b"", status=status, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(SMALL, content_type=RSS)
    sid = add_source(httpserver.url_for("/old"), name="moving")

    summary = fetch_all()

    report = report_for(summary, "moving")
    assert (report.outcome, report.new_items) == ("ok", 3)
    assert report.note == f"moved permanently to {httpserver.url_for('/new')}"
    assert source_row(engine, sid).url == httpserver.url_for("/new")

    fetch_all()  # the next run goes straight to the new address
    assert len(requests_to(httpserver, "/old")) == 1
    assert len(requests_to(httpserver, "/new")) == 2


@pytest.mark.parametrize("status", [302, 303, 307])
def test_a_temporary_redirect_does_not_move_the_source(engine, add_source, fetch_all, httpserver, status: int) -> None:
    httpserver.expect_request("/feed").respond_with_data(b"", status=status, headers={"Location": "/today"})
    httpserver.expect_request("/today").respond_with_data(SMALL, content_type=RSS)
    sid = add_source(httpserver.url_for("/feed"), name="temp")

    summary = fetch_all()

    report = report_for(summary, "temp")
    assert (report.outcome, report.new_items, report.note) == ("ok", 3, None)
    assert source_row(engine, sid).url == httpserver.url_for("/feed")


def test_a_permanent_hop_then_a_temporary_one_moves_the_source_to_the_permanent_target(
    engine, add_source, fetch_all, httpserver
) -> None:
    httpserver.expect_request("/a").respond_with_data(b"", status=301, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(b"", status=302, headers={"Location": "/c"})
    httpserver.expect_request("/c").respond_with_data(SMALL, content_type=RSS)
    sid = add_source(httpserver.url_for("/a"), name="chain")

    fetch_all()

    assert source_row(engine, sid).url == httpserver.url_for("/b")


def test_a_temporary_hop_before_a_permanent_one_does_not_move_the_source(
    engine, add_source, fetch_all, httpserver
) -> None:
    httpserver.expect_request("/a").respond_with_data(b"", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(b"", status=301, headers={"Location": "/c"})
    httpserver.expect_request("/c").respond_with_data(SMALL, content_type=RSS)
    sid = add_source(httpserver.url_for("/a"), name="chain")

    summary = fetch_all()

    assert report_for(summary, "chain").new_items == 3
    assert source_row(engine, sid).url == httpserver.url_for("/a")


def _redirect_chain(httpserver: HTTPServer, hops: int, body: bytes) -> str:
    for n in range(hops):
        httpserver.expect_request(f"/hop{n}").respond_with_data(b"", status=302, headers={"Location": f"/hop{n + 1}"})
    httpserver.expect_request(f"/hop{hops}").respond_with_data(body, content_type=RSS)
    return httpserver.url_for("/hop0")


def test_a_redirect_chain_longer_than_max_redirects_fails_clearly(engine, add_source, fetch_all, httpserver) -> None:
    sid = add_source(_redirect_chain(httpserver, 4, SMALL), name="loopy")

    summary = fetch_all(max_redirects=3)

    report = report_for(summary, "loopy")
    assert (report.outcome, report.error, report.new_items) == ("error", "more than 3 redirects", 0)
    src = source_row(engine, sid)
    assert (src.last_error, src.error_count, src.url) == ("more than 3 redirects", 1, httpserver.url_for("/hop0"))
    assert items_of(engine, sid) == []
    assert requests_to(httpserver, "/hop4") == []


def test_a_redirect_chain_of_exactly_max_redirects_is_followed(engine, add_source, fetch_all, httpserver) -> None:
    sid = add_source(_redirect_chain(httpserver, 3, SMALL), name="long")

    summary = fetch_all(max_redirects=3)

    assert (report_for(summary, "long").outcome, len(items_of(engine, sid))) == ("ok", 3)


def test_a_permanent_move_onto_another_sources_url_is_reported_not_a_crash(
    engine, add_source, fetch_all, httpserver
) -> None:
    httpserver.expect_request("/a").respond_with_data(b"", status=301, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(SMALL, content_type=RSS)
    mover = add_source(httpserver.url_for("/a"), name="mover")
    holder = add_source(httpserver.url_for("/b"), name="holder")

    summary = fetch_all()

    assert sorted(r.outcome for r in summary.reports) == ["ok", "ok"]
    note = f"moved permanently to {httpserver.url_for('/b')}, which source 'holder' already follows"
    assert report_for(summary, "mover").note == note
    assert fetch_log(engine, mover)[-1].warning == note
    assert source_row(engine, mover).url == httpserver.url_for("/a")
    assert source_row(engine, holder).url == httpserver.url_for("/b")
    assert report_for(summary, "holder").note is None


# --- 5. gone ---------------------------------------------------------------------------------------


def test_410_disables_the_source_with_a_recorded_reason(engine, add_source, fetch_all, httpserver, now) -> None:
    httpserver.expect_request("/gone").respond_with_data(b"removed", status=410)
    sid = add_source(httpserver.url_for("/gone"), name="gone")

    summary = fetch_all(clock=Clock(now))

    report = report_for(summary, "gone")
    assert (report.outcome, report.error) == ("gone", "HTTP 410 Gone")
    assert summary.failed == 1
    assert "disabled" in (report.note or "") and "410" in (report.note or "")
    src = source_row(engine, sid)
    assert src.enabled is False
    assert src.disabled_reason is not None and "410" in src.disabled_reason
    assert "2026-11-23" in src.disabled_reason
    assert store_rows(engine, "select enabled from sources where id = :id", id=sid) == [(0,)]


def test_a_disabled_source_is_not_fetched_by_the_next_run(engine, add_source, fetch_all, httpserver) -> None:
    httpserver.expect_request("/gone").respond_with_data(b"removed", status=410)
    httpserver.expect_request("/live").respond_with_data(SMALL, content_type=RSS)
    gone = add_source(httpserver.url_for("/gone"), name="gone")
    add_source(httpserver.url_for("/live"), name="live")
    fetch_all()

    summary = fetch_all()

    assert [r.name for r in summary.reports] == ["live"]
    assert len(requests_to(httpserver, "/gone")) == 1
    assert len(fetch_log(engine, gone)) == 1


# --- 6. Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_delays_the_next_fetch(
    engine, add_source, fetch_all, httpserver, now, status: int
) -> None:
    httpserver.expect_request("/busy").respond_with_data(b"slow down", status=status, headers={"Retry-After": "7200"})
    sid = add_source(httpserver.url_for("/busy"), name="busy")

    summary = fetch_all(clock=Clock(now))

    report = report_for(summary, "busy")
    assert report.outcome == "error"
    assert report.error == {429: "HTTP 429 Too Many Requests", 503: "HTTP 503 Service Unavailable"}[status]
    src = source_row(engine, sid)
    assert src.next_fetch_at is not None and src.next_fetch_at >= now + timedelta(seconds=7200)
    assert src.next_fetch_at == now + timedelta(seconds=7200)  # the 1 h backoff is shorter
    assert (src.error_count, src.last_status) == (1, status)

    fetch_all(clock=Clock(now + 2 * HOUR))
    assert source_row(engine, sid).error_count == 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_as_an_http_date_delays_the_next_fetch(
    engine, add_source, fetch_all, httpserver, now, status: int
) -> None:
    retry_at = now + timedelta(hours=3, minutes=30)
    httpserver.expect_request("/busy").respond_with_data(
        b"", status=status, headers={"Retry-After": format_datetime(retry_at, usegmt=True)}
    )
    sid = add_source(httpserver.url_for("/busy"), name="busy")

    fetch_all(clock=Clock(now))

    src = source_row(engine, sid)
    assert src.next_fetch_at is not None and src.next_fetch_at >= retry_at
    assert src.next_fetch_at == retry_at
    assert src.error_count == 1
    assert fetch_log(engine, sid)[-1].http_status == status


def test_retry_after_shorter_than_the_backoff_does_not_shorten_it(
    engine, add_source, fetch_all, httpserver, now
) -> None:
    httpserver.expect_request("/busy").respond_with_data(b"", status=503, headers={"Retry-After": "60"})
    sid = add_source(httpserver.url_for("/busy"), name="busy")

    fetch_all(clock=Clock(now))

    assert source_row(engine, sid).next_fetch_at == now + HOUR


def test_an_absurd_retry_after_waits_a_week_and_stops_no_other_source(
    engine, add_source, fetch_all, httpserver, now
) -> None:
    httpserver.expect_request("/busy").respond_with_data(
        b"", status=429, headers={"Retry-After": "99999999999999999999"}
    )
    httpserver.expect_request("/good").respond_with_data(SMALL, content_type=RSS)
    busy = add_source(httpserver.url_for("/busy"), name="busy")
    good = add_source(httpserver.url_for("/good"), name="good")

    summary = fetch_all(clock=Clock(now))

    assert report_for(summary, "busy").outcome == "error"
    assert source_row(engine, busy).next_fetch_at == now + timedelta(days=7)
    assert len(items_of(engine, good)) == 3


# --- 7. server errors and backoff ------------------------------------------------------------------


def test_a_500_is_recorded_as_one_clear_line(engine, add_source, fetch_all, httpserver) -> None:
    httpserver.expect_request("/broken").respond_with_data(b"<h1>Oops</h1>\nTraceback...", status=500)
    sid = add_source(httpserver.url_for("/broken"), name="broken")

    summary = fetch_all()

    report = report_for(summary, "broken")
    assert (report.outcome, report.error) == ("error", "HTTP 500 Internal Server Error")
    src = source_row(engine, sid)
    assert (src.last_error, src.error_count, src.last_status) == ("HTTP 500 Internal Server Error", 1, 500)
    (attempt,) = fetch_log(engine, sid)
    assert (attempt.outcome, attempt.http_status, attempt.error) == ("error", 500, "HTTP 500 Internal Server Error")
    assert "\n" not in attempt.error


def test_consecutive_failures_back_off_exponentially_up_to_the_cap_and_a_success_resets(
    engine, add_source, fetch_all, httpserver, now
) -> None:
    state = {"status": 500}

    def handler(request: Request) -> Response:
        if state["status"] == 500:
            return Response(b"down", status=500)
        return Response(SMALL, content_type=RSS)

    httpserver.expect_request("/flaky").respond_with_handler(handler)
    sid = add_source(httpserver.url_for("/flaky"), name="flaky")
    clock = Clock(now)
    cfg = {"default_interval": 60, "max_backoff_hours": 6}

    delays = []
    counts = []
    for _ in range(5):
        fetch_all(clock=clock, **cfg)
        src = source_row(engine, sid)
        assert src.next_fetch_at is not None
        delays.append(src.next_fetch_at - clock())
        counts.append(src.error_count)
        clock.advance(src.next_fetch_at - clock())

    assert delays == [HOUR, 2 * HOUR, 4 * HOUR, 6 * HOUR, 6 * HOUR]  # 8 h and 16 h are capped at 6 h
    assert counts == [1, 2, 3, 4, 5]

    state["status"] = 200
    summary = fetch_all(clock=clock, **cfg)

    assert report_for(summary, "flaky").outcome == "ok"
    src = source_row(engine, sid)
    assert (src.error_count, src.last_error, src.last_status) == (0, None, 200)
    assert src.next_fetch_at == clock() + HOUR
    assert src.last_ok_at == clock()


def test_a_daily_source_failing_for_a_month_still_backs_off_and_stops_no_run(
    engine, add_source, fetch_all, httpserver, now
) -> None:
    # A daily interval doubled 30 times is past what a timedelta can hold; that must not crash the run.
    httpserver.expect_request("/dead").respond_with_data(b"", status=500)
    httpserver.expect_request("/good").respond_with_data(SMALL, content_type=RSS)
    dead = add_source(httpserver.url_for("/dead"), name="dead", interval=24 * 60)
    good = add_source(httpserver.url_for("/good"), name="good")
    with repo.session(engine) as s, s.begin():
        s.get(Source, dead).error_count = 30  # type: ignore[union-attr]

    summary = fetch_all(clock=Clock(now), max_backoff_hours=24)

    assert report_for(summary, "dead").outcome == "error"
    src = source_row(engine, dead)
    assert (src.error_count, src.next_fetch_at) == (31, now + timedelta(days=1))
    assert len(items_of(engine, good)) == 3


# --- 8. network failures ---------------------------------------------------------------------------


def test_a_server_slower_than_the_timeout_fails_with_timed_out(engine, add_source, fetch_all, threaded_server) -> None:
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(5)
        return Response(b"too late", content_type=RSS)

    threaded_server.expect_request("/slow").respond_with_handler(stall)
    sid = add_source(threaded_server.url_for("/slow"), name="slow")
    try:
        started = time.monotonic()
        summary = fetch_all(timeout_total=0.3, timeout_connect=0.3)
        elapsed = time.monotonic() - started
    finally:
        release.set()

    report = report_for(summary, "slow")
    assert report.outcome == "error"
    assert report.error == "timed out after 0.3s"
    assert elapsed < 3
    assert source_row(engine, sid).last_error == report.error


def test_a_body_trickling_in_past_the_total_timeout_fails_with_timed_out(
    engine, add_source, fetch_all, threaded_server
) -> None:
    release = threading.Event()

    def trickle(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>drip</title>'
            for _ in range(40):  # 40 x 0.05 s: four times the total timeout
                if release.wait(0.05):
                    return
                yield b"<!-- still here -->"
            yield b"</channel></rss>"

        return Response(body(), content_type=RSS)

    threaded_server.expect_request("/drip").respond_with_handler(trickle)
    add_source(threaded_server.url_for("/drip"), name="drip")
    try:
        started = time.monotonic()
        summary = fetch_all(timeout_total=0.5, timeout_connect=0.5)
        elapsed = time.monotonic() - started
    finally:
        release.set()

    report = report_for(summary, "drip")
    assert report.outcome == "error"
    assert report.error == "timed out after 0.5s reading the body"
    assert elapsed < 1.5, f"the total timeout of 0.5 s was enforced only after {elapsed:.1f} s"


def test_a_port_nothing_listens_on_gives_connection_refused(engine, add_source, fetch_all) -> None:
    sid = add_source(f"http://127.0.0.1:{unused_port()}/feed", name="nobody")

    summary = fetch_all(timeout_connect=1, timeout_total=1)

    report = report_for(summary, "nobody")
    assert (report.outcome, report.error) == ("error", "connection refused")
    (attempt,) = fetch_log(engine, sid)
    assert (attempt.outcome, attempt.http_status, attempt.error) == ("error", None, "connection refused")
    assert source_row(engine, sid).error_count == 1


# --- 9. size limits --------------------------------------------------------------------------------


def test_a_body_declared_larger_than_the_limit_is_refused(engine, add_source, fetch_all, serve_feed, seed_feed) -> None:
    sid = add_source(serve_feed("/big", seed_feed), name="big")

    summary = fetch_all(max_body_mib=0.01)

    report = report_for(summary, "big")
    assert report.outcome == "error"
    assert report.error == f"body larger than the 0.01 MiB limit (Content-Length {len(seed_feed)})"
    assert items_of(engine, sid) == []
    assert fetch_log(engine, sid)[-1].new_items == 0


def test_a_gzip_bomb_is_refused_by_its_decoded_size(engine, add_source, fetch_all, serve_feed) -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))
    assert len(bomb) < 0.1 * 1024 * 1024  # small on the wire, so only the decoded size can trip the limit
    sid = add_source(serve_feed("/bomb", bomb, headers={"Content-Encoding": "gzip"}), name="bomb")

    summary = fetch_all(max_body_mib=1)

    report = report_for(summary, "bomb")
    assert (report.outcome, report.error) == ("error", "body larger than the 1 MiB limit")
    assert items_of(engine, sid) == []


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_body_exactly_at_the_limit_is_accepted_and_one_byte_more_is_refused(
    engine, add_source, fetch_all, httpserver, encoding: str
) -> None:
    # Scaling by a power of two is exact, so this limit is len(SMALL) bytes to the byte.
    at_limit = len(SMALL) / (1024 * 1024)
    headers = {"Content-Encoding": "gzip"} if encoding == "gzip" else {}
    body = gzip.compress(SMALL) if encoding == "gzip" else SMALL
    httpserver.expect_request("/feed").respond_with_data(body, content_type=RSS, headers=headers)
    sid = add_source(httpserver.url_for("/feed"), name="edge")

    fits = fetch_all(max_body_mib=at_limit)
    over = fetch_all(max_body_mib=(len(SMALL) - 1) / (1024 * 1024))

    assert (report_for(fits, "edge").outcome, len(items_of(engine, sid))) == ("ok", 3)
    assert report_for(over, "edge").outcome == "error"
    assert (report_for(over, "edge").error or "").startswith("body larger than the ")


# --- 10. content encodings -------------------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return z.compress(data) + z.flush()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as the spec says
        ("deflate", _raw_deflate),  # raw DEFLATE, as some servers send
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
def test_compressed_feeds_are_decoded_and_parsed(
    engine, add_source, fetch_all, serve_feed, seed_feed, httpserver, encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    body = encode(seed_feed)
    sid = add_source(serve_feed("/feed", body, headers={"Content-Encoding": encoding}), name="packed")

    summary = fetch_all()

    assert report_for(summary, "packed").outcome == "ok"
    assert [(i.title, i.published_at) for i in items_of(engine, sid)] == SEED_ITEMS
    assert fetch_log(engine, sid)[-1].bytes == len(seed_feed)
    (req,) = requests_to(httpserver, "/feed")
    assert req.headers.get("Accept-Encoding") == "gzip, deflate"


def test_a_corrupt_gzip_body_fails_clearly(engine, add_source, fetch_all, serve_feed) -> None:
    sid = add_source(
        serve_feed("/feed", b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"}),
        name="corrupt",
    )

    summary = fetch_all()

    report = report_for(summary, "corrupt")
    assert report.outcome == "error"
    assert report.error is not None and report.error.startswith("corrupt compressed body")
    assert items_of(engine, sid) == []


# --- 11. documents that are not feeds --------------------------------------------------------------


def test_one_bad_source_never_stops_the_others(engine, add_source, fetch_all, serve_feed) -> None:
    malformed = b"<?xml version='1.0'?><records><record id='1'>x</record><record id='2'>y</records>"
    broken = add_source(serve_feed("/broken.xml", malformed, content_type="application/xml"), name="broken")
    page = add_source(
        serve_feed(
            "/page",
            b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>Welcome</p></body></html>",
            content_type="text/html; charset=utf-8",
        ),
        name="page",
    )
    good = add_source(serve_feed("/good", SMALL), name="good")

    summary = fetch_all()

    assert report_for(summary, "good").new_items == 3
    assert len(items_of(engine, good)) == 3
    broken_report = report_for(summary, "broken")
    assert broken_report.outcome == "error"
    assert broken_report.error is not None and broken_report.error.startswith("not a readable feed")
    assert "mismatched tag" in broken_report.error
    assert report_for(summary, "page").error == "not a feed: the server sent an HTML page"
    for sid in (broken, page):
        src = source_row(engine, sid)
        assert (src.error_count, src.last_status) == (1, 200)
        assert src.last_error is not None and "\n" not in src.last_error
        assert items_of(engine, sid) == []
        assert fetch_log(engine, sid)[-1].outcome == "error"


def test_a_source_the_store_refuses_costs_only_itself_and_is_fetched_again(
    engine, add_source, fetch_all, serve_feed
) -> None:
    """Sources are written many to a commit, each in its own savepoint: a write that fails undoes only
    that source (no items, no validators), the others of its group are stored, the run goes on."""
    import sqlite3

    path = engine.url.database
    with sqlite3.connect(path) as raw:  # a real SQLite error for one item, raised inside the write
        raw.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.title = 'Refused' "
            "BEGIN SELECT RAISE(ABORT, 'no room for this one'); END"
        )
    before = add_source(serve_feed("/before", SMALL, headers={"ETag": '"b1"'}), name="before")
    refused = add_source(
        serve_feed("/refused", rss(entry("Fine", guid="f"), entry("Refused", guid="r")), headers={"ETag": '"r1"'}),
        name="refused",
    )
    after = add_source(serve_feed("/after", SMALL), name="after")

    summary = fetch_all(parse_processes=0)

    rep = report_for(summary, "refused")
    assert rep.outcome == "error" and rep.new_items == 0
    assert rep.error == "could not be stored: no room for this one"
    assert items_of(engine, refused) == []
    # The source's row and the fetch log say why; no validators, and still due, so the next run fetches it
    # in full again.
    src = source_row(engine, refused)
    assert src.etag is None and src.last_error == "could not be stored: no room for this one"
    assert src.error_count == 0 and src.next_fetch_at <= src.last_fetch_at
    assert [(f.outcome, f.error) for f in fetch_log(engine, refused)] == [
        ("error", "could not be stored: no room for this one")
    ]
    assert len(items_of(engine, before)) == 3 and len(items_of(engine, after)) == 3
    assert summary.line().startswith("fetched 2, not modified 0, failed 1, new items 6")

    with sqlite3.connect(path) as raw:
        raw.execute("DROP TRIGGER refuse")
    again = fetch_all(parse_processes=0)
    assert report_for(again, "refused").new_items == 2
    assert sorted(i.title for i in items_of(engine, refused)) == ["Fine", "Refused"]
    assert source_row(engine, refused).last_error is None and source_row(engine, refused).etag == '"r1"'
    assert len(items_of(engine, before)) == 3  # nothing doubled


def test_a_source_is_reported_only_once_committed_and_a_slow_one_does_not_hold_the_write_lock(
    engine, add_source, fetch_all, threaded_server
) -> None:
    """While a slow feed is still on the wire, what came back earlier is committed and the store is free
    for another writer (a concurrent compose must not wait for the slowest feed)."""
    import sqlite3

    release = threading.Event()

    def slow(_request: Request) -> Response:
        release.wait(20)
        return Response(SMALL, content_type=RSS)

    threaded_server.expect_request("/slow").respond_with_handler(slow)
    threaded_server.expect_request("/fast").respond_with_data(SMALL, content_type=RSS)
    add_source(threaded_server.url_for("/slow"), name="slow")
    fast = add_source(threaded_server.url_for("/fast"), name="fast")
    seen: dict[str, object] = {}

    def probe() -> None:
        deadline = time.monotonic() + 10
        while "fast" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        with sqlite3.connect(engine.url.database, timeout=0) as other:  # fails at once if the lock is held
            other.execute("BEGIN IMMEDIATE")
            seen["stored"] = other.execute("SELECT count(*) FROM items WHERE source_id = ?", (fast,)).fetchone()[0]
            other.execute("ROLLBACK")
        release.set()

    from digest.config import FetchConfig
    from digest.ingest import FetchSettings, fetch_sources
    from digest.store import open_store

    settings = FetchSettings.from_config(FetchConfig(parse_processes=0))
    with repo.session(engine) as s:
        due = repo.sources_for_fetch(s, now=datetime.now(UTC), default_interval=settings.default_interval, every=True)
    checker = threading.Thread(target=probe)
    checker.start()
    summary = fetch_sources(
        open_store(str(engine.url)), due, settings, on_done=lambda rep: seen.setdefault(rep.name, rep)
    )
    checker.join()
    assert seen["stored"] == 3
    assert summary.line().startswith("fetched 2, not modified 0, failed 0, new items 6")


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["while its group is open", "after a group was committed"])
def test_a_run_killed_mid_way_leaves_whole_sources_and_the_next_run_completes_them(
    engine, add_source, db_url, kill: str
) -> None:
    """SIGKILL while some feeds are still on the wire: every source is either wholly stored (items, its
    validators, its fetch line) or not at all, and the next run stores the rest, nothing twice."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()
    slow_hits: list[str] = []

    class Feeds(BaseHTTPRequestHandler):  # answers concurrently: a stuck feed holds only its own request
        def do_GET(self) -> None:
            n = int(self.path.split("-")[1].split(".")[0])
            if n % 4 == 3:
                slow_hits.append(self.path)
                release.wait(30)
            self.send_response(200)
            self.send_header("Content-Type", RSS)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(SMALL)))
            self.end_headers()
            self.wfile.write(SMALL)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for n in range(24):
            add_source(f"http://127.0.0.1:{server.server_port}/feed-{n}.xml", name=f"feed-{n}")
        run = subprocess.Popen(
            [sys.executable, "-m", "digest", "--db", db_url, "fetch", "--all"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while len(slow_hits) < 2 and time.monotonic() < deadline:  # the per-host cap: 2 in flight, both stuck
            time.sleep(0.05)
        assert len(slow_hits) == 2, "the run never reached the slow feeds"
        path = engine.url.database
        if kill == "after a group was committed":  # the stuck feeds make the group idle: it is committed
            while time.monotonic() < deadline:
                with sqlite3.connect(path) as raw:
                    if raw.execute("SELECT count(*) FROM sources WHERE etag IS NOT NULL").fetchone()[0]:
                        break
                time.sleep(0.05)
        else:
            time.sleep(0.3)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        release.set()

        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = raw.execute(
                "SELECT s.name, s.etag, (SELECT count(*) FROM items i WHERE i.source_id = s.id), "
                "(SELECT count(*) FROM fetches f WHERE f.source_id = s.id) FROM sources s"
            ).fetchall()
        for name, etag, n_items, n_fetches in rows:
            assert (etag, n_items, n_fetches) in ((None, 0, 0), ('"v1"', 3, 1)), name  # whole or nothing

        from digest.config import FetchConfig
        from digest.ingest import FetchSettings, fetch_sources
        from digest.store import open_store

        settings = FetchSettings.from_config(FetchConfig())
        with repo.session(engine) as s:
            due = repo.sources_for_fetch(
                s, now=datetime.now(UTC), default_interval=settings.default_interval, every=True
            )
        summary = fetch_sources(open_store(str(engine.url)), due, settings)
        assert summary.failed == 0
        stored_before = sum(1 for _, etag, _, _ in rows if etag)
        assert stored_before < 24
        if kill == "after a group was committed":
            assert stored_before > 0
        assert summary.new_items == 3 * (24 - stored_before)
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT count(*) FROM items GROUP BY source_id").fetchall() == [(3,)] * 24
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_two_fetch_runs_at_once_store_one_copy_of_everything(engine, add_source, db_url, seed_feed) -> None:
    """Two whole `digest fetch` processes on the same sources at the same time (cron overlapping a manual
    run): both succeed, and the store holds each item, paper and mention once."""
    import sqlite3
    import subprocess
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Feeds(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = seed_feed if self.path.endswith("-seed.xml") else SMALL
            self.send_response(200)
            self.send_header("Content-Type", RSS)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for n in range(16):
            add_source(
                f"http://127.0.0.1:{server.server_port}/feed-{n}{'-seed' if n % 4 == 0 else ''}.xml", name=f"feed-{n}"
            )
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "digest", "--db", db_url, "fetch", "--all"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for run in runs:
            out, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
            assert "failed 0" in out
    finally:
        server.shutdown()
        server.server_close()
    with sqlite3.connect(engine.url.database) as raw:
        per_source = dict(
            raw.execute(
                "SELECT s.name, count(i.id) FROM sources s LEFT JOIN items i ON i.source_id = s.id GROUP BY s.id"
            ).fetchall()
        )
        assert per_source == {f"feed-{n}": 12 if n % 4 == 0 else 3 for n in range(16)}
        one_copy = (
            "FROM mentions m JOIN items i ON i.id = m.item_id JOIN sources s ON s.id = i.source_id "
            "WHERE s.name = 'feed-0'"
        )
        # the four copies of the seed feed mention the same papers: one row each, whoever stored it first
        assert (
            raw.execute("SELECT count(*) FROM papers").fetchone()
            == raw.execute(f"SELECT count(DISTINCT m.paper_id) {one_copy}").fetchone()
        )
        mentions = raw.execute("SELECT count(*) FROM mentions").fetchone()[0]
        assert mentions == 4 * raw.execute(f"SELECT count(*) {one_copy}").fetchone()[0] > 0
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- 12. item identity -----------------------------------------------------------------------------


def test_a_moved_feed_with_plain_guids_does_not_duplicate_its_items(engine, add_source, fetch_all, httpserver) -> None:
    doc = rss("<item><title>One</title><guid>post-1</guid></item>")  # isPermaLink defaults to true
    httpserver.expect_request("/blog/feed.xml").respond_with_data(doc, content_type=RSS)
    sid = add_source(httpserver.url_for("/blog/feed.xml"), name="moving")
    fetch_all()

    httpserver.clear_all_handlers()
    httpserver.expect_request("/blog/feed.xml").respond_with_data(b"", status=301, headers={"Location": "/feed.xml"})
    httpserver.expect_request("/feed.xml").respond_with_data(doc, content_type=RSS)
    summary = fetch_all()

    assert source_row(engine, sid).url == httpserver.url_for("/feed.xml")
    assert report_for(summary, "moving").new_items == 0
    assert len(items_of(engine, sid)) == 1


def test_items_without_a_guid_are_keyed_by_their_link(engine, add_source, fetch_all, serve_feed) -> None:
    sid = add_source(serve_feed("/feed", rss(entry("Linked", link="https://blog.example/posts/linked"))), name="blog")

    fetch_all()
    summary = fetch_all()

    (item,) = items_of(engine, sid)
    assert item.guid == "https://blog.example/posts/linked"
    assert report_for(summary, "blog").new_items == 0


def test_items_without_guid_or_link_are_keyed_by_title_and_date(engine, add_source, fetch_all, httpserver) -> None:
    first = rss(
        entry("Bare note", date="Mon, 02 Nov 2026 10:00:00 GMT", body="v1"),
        entry("Bare note", date="Tue, 03 Nov 2026 10:00:00 GMT", body="next day"),
        entry("Another note", date="Mon, 02 Nov 2026 10:00:00 GMT", body="other"),
    )
    httpserver.expect_request("/feed").respond_with_data(first, content_type=RSS)
    sid = add_source(httpserver.url_for("/feed"), name="bare")

    fetch_all()
    again = fetch_all()

    stored = items_of(engine, sid)
    assert len(stored) == 3
    assert all(i.guid.startswith("sha256:") for i in stored)
    assert len({i.guid for i in stored}) == 3
    assert report_for(again, "bare").new_items == 0

    # Same title and date with a new body: the same item, updated.
    httpserver.clear_all_handlers()
    httpserver.expect_request("/feed").respond_with_data(
        rss(entry("Bare note", date="Mon, 02 Nov 2026 10:00:00 GMT", body="v2")), content_type=RSS
    )
    edited = fetch_all()

    assert (report_for(edited, "bare").new_items, report_for(edited, "bare").updated_items) == (0, 1)
    after = items_of(engine, sid)
    assert [i.id for i in after] == [i.id for i in stored]
    assert after[0].content_html == "v2"


def test_repeated_guids_with_different_content_keep_both_items(engine, add_source, fetch_all, serve_feed) -> None:
    doc = rss(
        entry("Part one", guid="same-guid", link="https://blog.example/one"),
        entry("Part two", guid="same-guid", link="https://blog.example/two"),
    )
    sid = add_source(serve_feed("/feed", doc), name="dupes")

    first = fetch_all()
    second = fetch_all()

    stored = items_of(engine, sid)
    assert sorted(i.title for i in stored) == ["Part one", "Part two"]
    assert stored[0].guid == "same-guid"
    assert stored[1].guid.startswith("same-guid#dup-")
    assert report_for(first, "dupes").new_items == 2
    assert (report_for(second, "dupes").new_items, report_for(second, "dupes").updated_items) == (0, 0)


def test_exact_duplicate_entries_are_one_item(engine, add_source, fetch_all, serve_feed) -> None:
    twin = entry("Twin", guid="twin-1", link="https://blog.example/twin", body="same")
    sid = add_source(serve_feed("/feed", rss(twin, twin, twin)), name="twins")

    summary = fetch_all()

    assert report_for(summary, "twins").new_items == 1
    assert [i.guid for i in items_of(engine, sid)] == ["twin-1"]


# --- 13. politeness --------------------------------------------------------------------------------


def _concurrency_probe(server: HTTPServer, paths: list[str]) -> dict[str, int]:
    lock = threading.Lock()
    seen = {"now": 0, "max": 0}

    def handler(request: Request) -> Response:
        with lock:
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
        try:
            time.sleep(0.1)
            return Response(rss(entry(request.path, guid=request.path)), content_type=RSS)
        finally:
            with lock:
                seen["now"] -= 1

    for path in paths:
        server.expect_request(path).respond_with_handler(handler)
    return seen


def test_per_host_cap_limits_requests_in_flight_to_one_host(add_source, fetch_all, threaded_server) -> None:
    paths = [f"/p{n}" for n in range(3)]
    seen = _concurrency_probe(threaded_server, paths)
    for path in paths:
        add_source(threaded_server.url_for(path), name=path)

    summary = fetch_all(per_host=1, concurrency=8)

    assert summary.count("ok") == 3
    assert seen["max"] == 1
    user_agents = {req.headers.get("User-Agent", "") for req, _ in threaded_server.log}
    assert len(user_agents) == 1
    assert user_agents.pop().startswith("digest/")


def test_without_a_tight_per_host_cap_one_host_gets_parallel_requests(add_source, fetch_all, threaded_server) -> None:
    # The control for the test above: the probe does see concurrency when it is allowed.
    paths = [f"/q{n}" for n in range(4)]
    seen = _concurrency_probe(threaded_server, paths)
    for path in paths:
        add_source(threaded_server.url_for(path), name=path)

    summary = fetch_all(per_host=4, concurrency=8)

    assert summary.count("ok") == 4
    assert seen["max"] > 1


# --- 14. the fetch log -----------------------------------------------------------------------------


def test_every_attempt_leaves_one_fetch_log_row(engine, add_source, fetch_all, httpserver) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(rss(entry("One", guid="1"), entry("Two", guid="2")), content_type=RSS, headers={"ETag": '"v1"'})

    httpserver.expect_request("/ok").respond_with_handler(conditional)
    httpserver.expect_request("/err").respond_with_data(b"", status=500)
    httpserver.expect_request("/gone").respond_with_data(b"", status=410)
    ok = add_source(httpserver.url_for("/ok"), name="ok")
    err = add_source(httpserver.url_for("/err"), name="err")
    gone = add_source(httpserver.url_for("/gone"), name="gone")

    fetch_all()
    fetch_all()

    def log(sid: int) -> list[tuple]:
        return [(f.outcome, f.http_status, f.new_items, f.updated_items) for f in fetch_log(engine, sid)]

    assert log(ok) == [("ok", 200, 2, 0), ("not_modified", 304, 0, 0)]
    assert log(err) == [("error", 500, 0, 0), ("error", 500, 0, 0)]
    assert log(gone) == [("gone", 410, 0, 0)]  # disabled after the first run
    assert store_rows(engine, "select count(*) from fetches") == [(5,)]
    rows = store_rows(engine, "select outcome, error from fetches where source_id = :id", id=gone)
    assert rows == [("gone", "HTTP 410 Gone")]


# --- 15. the run summary ---------------------------------------------------------------------------


def test_the_run_summary_line_counts_each_outcome(add_source, fetch_all, httpserver) -> None:
    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304)
        return Response(rss(entry("Cached", guid="c1")), content_type=RSS, headers={"ETag": ETAG})

    httpserver.expect_request("/cached").respond_with_handler(conditional)
    add_source(httpserver.url_for("/cached"), name="cached")
    fetch_all()  # learn the ETag

    httpserver.expect_request("/fresh").respond_with_data(SMALL, content_type=RSS)
    httpserver.expect_request("/err").respond_with_data(b"", status=502)
    httpserver.expect_request("/gone").respond_with_data(b"", status=410)
    add_source(httpserver.url_for("/fresh"), name="fresh")
    add_source(httpserver.url_for("/err"), name="err")
    add_source(httpserver.url_for("/gone"), name="gone")

    summary = fetch_all()

    assert (summary.count("ok"), summary.count("not_modified"), summary.failed, summary.new_items) == (1, 1, 2, 3)
    assert re.fullmatch(
        r"fetched 1, not modified 1, failed 2, new items 3, updated 0 "
        r"\(4 sources in \d+\.\d\ds\)",
        summary.line(),
    ), summary.line()


def test_an_empty_run_says_so(fetch_all) -> None:
    summary = fetch_all()
    assert summary.reports == []
    assert summary.line().startswith("fetched 0, not modified 0, failed 0, new items 0, updated 0 (0 sources")


def test_a_permanent_redirect_into_an_error_does_not_move_the_source(engine, add_source, fetch_all, httpserver) -> None:
    httpserver.expect_request("/old.xml").respond_with_data(b"", status=301, headers={"Location": "/gone.xml"})
    httpserver.expect_request("/gone.xml").respond_with_data(b"not here", status=404)
    url = httpserver.url_for("/old.xml")
    sid = add_source(url, name="moving-into-404")
    fetch_all()
    src = source_row(engine, sid)
    assert src.url == url
    assert src.last_error == "HTTP 404 Not Found"


def test_a_broken_feed_without_items_is_stored_as_ok_with_a_warning(engine, add_source, fetch_all, serve_feed) -> None:
    sid = add_source(
        serve_feed("/broken.xml", b"<rss version='2.0'><channel><title>x</channel></rss>"), name="broken-empty"
    )
    fetch_all()
    log = fetch_log(engine, sid)
    assert [f.outcome for f in log] == ["ok"]
    assert log[0].warning and "not well-formed, and no items could be read" in log[0].warning


def test_link_guids_ignore_tracking_parameters_that_change_between_fetches(
    engine, add_source, fetch_all, httpserver
) -> None:
    first = rss(entry("Post", link="https://blog.example/p/1?utm_source=rss&amp;utm_campaign=a"))
    second = rss(entry("Post", link="https://blog.example/p/1?utm_source=rss&amp;utm_campaign=b"))
    httpserver.expect_ordered_request("/feed.xml").respond_with_data(first, content_type=RSS)
    httpserver.expect_ordered_request("/feed.xml").respond_with_data(second, content_type=RSS)
    sid = add_source(httpserver.url_for("/feed.xml"), name="tracked-links")
    fetch_all()
    fetch_all()
    assert [(i.guid, i.url) for i in items_of(engine, sid)] == [
        ("https://blog.example/p/1", "https://blog.example/p/1")
    ]


def test_parsing_in_worker_processes_stores_what_parsing_in_threads_stores(tmp_path, httpserver) -> None:
    """From PROCESS_POOL_FROM sources on, parsing moves to worker processes; the store must not notice."""
    from digest.ingest import PROCESS_POOL_FROM
    from digest.store.db import open_engine

    n = PROCESS_POOL_FROM + 2

    def link(f: int, i: int) -> str:
        return f'See &lt;a href="https://arxiv.org/abs/2401.{f:02d}{i + 1:03d}"&gt;Paper {f} {i}&lt;/a&gt;'

    bodies = [
        rss(
            *(
                entry(f"Feed {f} post {i}", guid=f"f{f}-{i}", link=f"https://b{f}.example/{i}", body=link(f, i))
                for i in range(3)
            )
        )
        for f in range(n)
    ]
    bodies[3] = b"<html><body>not a feed</body></html>"
    for f, body in enumerate(bodies):
        httpserver.expect_request(f"/feed-{f}.xml").respond_with_data(body, content_type=RSS)
    rows = []
    for processes in (0, 2):
        engine = open_engine(f"sqlite:///{tmp_path / f'p{processes}.db'}")
        with repo.session(engine) as s, s.begin():
            for f in range(n):
                repo.add_source(
                    s,
                    url=httpserver.url_for(f"/feed-{f}.xml"),
                    name=f"feed-{f}",
                    now=datetime(2026, 11, 23, tzinfo=UTC),
                )
        from digest.config import FetchConfig
        from digest.ingest import FetchSettings, fetch_sources
        from digest.store import open_store

        settings = FetchSettings.from_config(FetchConfig(parse_processes=processes))
        with repo.session(engine) as s:
            due = repo.sources_for_fetch(s, now=datetime.now(UTC), default_interval=settings.default_interval)
        summary = fetch_sources(open_store(str(engine.url)), due, settings)
        assert summary.count("ok") == n - 1 and summary.failed == 1
        assert "HTML" in next(r.error for r in summary.reports if r.error)
        rows.append(
            store_rows(
                engine,
                "SELECT i.guid, p.canonical_id FROM mentions m JOIN items i ON i.id = "
                "m.item_id JOIN papers p ON p.id = m.paper_id ORDER BY 1",
            )
        )
        engine.dispose()
    assert rows[0] == rows[1] and len(rows[0]) == (n - 1) * 3


# --- the transport: kept connections, servers that misbehave, TLS ------------------------------------------


@pytest.fixture
def raw_server() -> Iterator[Callable[..., tuple[int, list[int]]]]:
    """A stdlib HTTP/1.1 server answering every GET with `body`; returns its port and the ports of the client
    connections it accepted. With drop=True it closes each connection after one answer without saying so,
    as a server whose keep-alive timeout passed does."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers: list[ThreadingHTTPServer] = []

    def start(body: bytes, *, drop: bool = False) -> tuple[int, list[int]]:
        accepted: list[int] = []

        class Feeds(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                accepted.append(self.client_address[1])

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", RSS)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = drop

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], accepted

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_sources_on_one_host_share_a_kept_alive_connection(add_source, fetch_all, raw_server) -> None:
    port, accepted = raw_server(rss(entry("A", guid="a")))
    for n in range(5):
        add_source(f"http://127.0.0.1:{port}/feed-{n}.xml", name=f"feed-{n}")

    summary = fetch_all(concurrency=1)

    assert [r.outcome for r in summary.reports] == ["ok"] * 5
    assert len(accepted) == 1


def test_a_kept_connection_the_server_has_dropped_is_replaced_not_reported(add_source, fetch_all, raw_server) -> None:
    port, accepted = raw_server(rss(entry("A", guid="a")), drop=True)
    for n in range(5):
        add_source(f"http://127.0.0.1:{port}/feed-{n}.xml", name=f"feed-{n}")

    summary = fetch_all(concurrency=1)

    assert [(r.outcome, r.error) for r in summary.reports] == [("ok", None)] * 5
    assert len(accepted) == 5  # each request after the first found its kept connection closed, and retried


def test_several_kept_connections_the_server_dropped_are_all_replaced(raw_server) -> None:
    """A server closes every idle connection at once (nginx's keepalive_timeout): the request that finds the
    first one dead must not be retried on the next dead one from the pool (seen in the 2,000-feed benchmark:
    "bad status line 'Remote end closed connection without response'", the feed never requested)."""
    from concurrent.futures import ThreadPoolExecutor

    from digest.fetch.http import Limits, fetch_url, make_client

    port, accepted = raw_server(rss(entry("A", guid="a")), drop=True)
    limits = Limits()
    with make_client(user_agent="t", limits=limits, max_connections=4) as client:
        urls = [f"http://127.0.0.1:{port}/feed-{n}.xml" for n in range(4)]
        with ThreadPoolExecutor(4) as pool:  # four connections at once, all kept: the pool holds four
            list(pool.map(lambda u: fetch_url(client, u, limits=limits, now=datetime.now(UTC)), urls))
        time.sleep(0.2)  # the server has closed every one of them
        got = fetch_url(client, urls[0], limits=limits, now=datetime.now(UTC))
    assert got.status == 200 and len(accepted) >= 5


@pytest.fixture
def socket_server() -> Iterator[Callable[[bytes], tuple[int, list[bytes]]]]:
    """A TCP server on 127.0.0.1 that answers each connection's first read with `answer`, whatever it was
    asked, and closes; returns its port and the requests it read."""
    listeners: list[socket.socket] = []

    def start(answer: bytes) -> tuple[int, list[bytes]]:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        requests: list[bytes] = []

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    requests.append(conn.recv(65536))
                    conn.sendall(answer)

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1], requests

    yield start
    for listener in listeners:
        listener.close()


def test_a_server_that_does_not_speak_http_fails_clearly_and_alone(
    add_source, fetch_all, serve_feed, socket_server
) -> None:
    port, _ = socket_server(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    add_source(f"http://127.0.0.1:{port}/feed.xml", name="babbler")
    add_source(serve_feed("/fine", rss(entry("Fine", guid="f"))), name="fine")

    summary = fetch_all()

    report = report_for(summary, "babbler")
    assert report.outcome == "error"
    assert report.error is not None and report.error.startswith("server broke the HTTP protocol: ")
    assert "\n" not in report.error
    assert report_for(summary, "fine").outcome == "ok"


def test_https_certificates_are_verified(add_source, fetch_all, certificate) -> None:
    """A feed served over TLS with a certificate no authority signed is refused, with the reason."""
    from http.server import BaseHTTPRequestHandler

    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(rss(entry("A", guid="a")))

        def log_message(self, *args: object) -> None:
            pass

    with serve_tls(Feed, certificate) as base:
        add_source(f"{base}/feed.xml", name="self-signed")
        summary = fetch_all()

    report = report_for(summary, "self-signed")
    assert report.outcome == "error"
    assert report.error is not None and report.error.startswith("cannot connect: TLS: ")
    assert "CERTIFICATE_VERIFY_FAILED" in report.error


def test_a_feed_url_with_characters_outside_ascii_is_fetched(add_source, fetch_all, serve_feed) -> None:
    url = serve_feed("/blog/café/feed.xml", rss(entry("Crème", guid="c")))
    add_source(url, name="cafe")

    summary = fetch_all()

    assert (report_for(summary, "cafe").outcome, report_for(summary, "cafe").new_items) == ("ok", 1)


@pytest.mark.parametrize("etag", [b'"a\r\n b"', b'"\xe2\x9c\x93 \x00"'], ids=["folded", "control-bytes"])
def test_a_validator_that_cannot_be_sent_back_makes_the_next_fetch_unconditional(
    add_source, fetch_all, socket_server, etag: bytes
) -> None:
    """Whatever a server puts in an ETag, the next run still fetches it (and every other source)."""
    body = rss(entry("A", guid="a"))
    port, requests = socket_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "
        + etag
        + b"\r\nConnection: close\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    add_source(f"http://127.0.0.1:{port}/feed.xml", name="odd")

    first, second = fetch_all(), fetch_all()

    assert [(r.outcome, r.error) for r in (*first.reports, *second.reports)] == [("ok", None), ("ok", None)]
    assert len(requests) == 2 and b"if-none-match" not in requests[1].lower()
