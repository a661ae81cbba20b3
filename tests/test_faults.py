"""Faults an operator meets (issue 15), each against a real server on 127.0.0.1 that misbehaves on purpose:
HTTP that drips its headers or chunk sizes, closes a body early or leaves out its last chunk; SMTP that drips
its greeting, drops or goes silent after the message, or refuses it for good. Every test bounds the time taken,
and checks the line the user sees and what the store and the mailbox hold afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from tests.conftest import Cli, store_rows
from tests.mailserver import Mailbox, smtp_server
from tests.test_delivery import MONDAY, Feed, write_config
from tests.test_fetch import entry, fetch_log, items_of, report_for, rss, source_row

# A misbehaving server sends one byte this often: never silent long enough for a per-read timeout to fire.
DRIP = 0.04
# What a deadline may overrun by on a busy test machine; far below what the faults stretched it to before.
SLACK = 2.0


# --- a TCP server that follows a script ------------------------------------------------------------------------


class Scripted:
    """A TCP server on 127.0.0.1 running `script(conn, n)` for its n-th connection (from 0), each in a thread.
    A script drips with `drip`, which stops when the test ends, so a fault the client fails to cut short ends
    with the test, not minutes later."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._listeners: list[socket.socket] = []

    def start(self, script: Callable[[socket.socket, int], None]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        self._listeners.append(listener)

        def serve() -> None:
            n = 0
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=self._run, args=(script, conn, n), daemon=True).start()
                n += 1

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1])

    @staticmethod
    def _run(script: Callable[[socket.socket, int], None], conn: socket.socket, n: int) -> None:
        # OSError: the client hung up; what it does then is the test's question, not the server's.
        with conn, contextlib.suppress(OSError):
            script(conn, n)

    def drip(self, conn: socket.socket, data: bytes, every: float = DRIP) -> bool:
        """Send `data` one byte every `every` seconds; False when the test ended first."""
        for byte in data:
            conn.sendall(bytes([byte]))
            if self.stop.wait(every):
                return False
        return True

    def close(self) -> None:
        self.stop.set()
        for listener in self._listeners:
            listener.close()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.close()


def read_request(conn: socket.socket) -> bytes:
    """An HTTP request's head (a GET has no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def sources_state(engine) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """What the store holds of each source after a fetch, for a failure's message: its validators, error count and
    last error, and how many items it has."""
    return store_rows(
        engine,
        "SELECT etag, error_count, last_error, (SELECT count(*) FROM items i "
        "WHERE i.source_id = s.id) FROM sources s ORDER BY id",
    )


def http_head(*lines: str) -> bytes:
    return ("HTTP/1.1 200 OK\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def big_feed(n: int) -> bytes:
    return rss(
        *(
            entry(
                f"Post {i}",
                guid=f"https://blog.example/p/{i}",
                link=f"https://blog.example/p/{i}",
                body=f"What post {i} says, at some length so that the feed is long.",
            )
            for i in range(n)
        )
    )


# --- 1. a deadline a slow server cannot stretch: HTTP ------------------------------------------------------------


def test_headers_dripped_a_byte_at_a_time_cannot_stretch_timeout_total(
    tmp_path: Path, db_url: str, engine, scripted: Scripted
) -> None:
    """~9 s of headers, one byte every 40 ms, against timeout_total = 1: the fetch gives up after ~1 s, through
    the real `digest fetch`."""
    body = big_feed(3)
    head = http_head(
        "Content-Type: application/rss+xml", "X-Padding: " + "x" * 180, f"Content-Length: {len(body)}", 'ETag: "v1"'
    )

    def script(conn: socket.socket, n: int) -> None:
        read_request(conn)
        if scripted.drip(conn, head):
            conn.sendall(body)

    url = f"http://127.0.0.1:{scripted.start(script)}/feed.xml"
    config = tmp_path / "digest.toml"
    config.write_text("[fetch]\ntimeout_total = 1\ntimeout_connect = 1\n[enrich]\nafter_fetch = false\n")
    cli = Cli(db_url, config)
    cli("sources", "add", url, "--name", "dripper")

    started = time.monotonic()
    result = cli("fetch", ok=False)
    elapsed = time.monotonic() - started

    assert elapsed < 1 + SLACK, (
        f"timeout_total = 1 held the fetch {elapsed:.1f} s; it said {result.stderr!r}; store: {sources_state(engine)}"
    )
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("digest:")] == [
        f"digest: dripper ({url}): timed out after 1s"
    ]
    assert store_rows(engine, "SELECT etag, error_count, last_error FROM sources") == [(None, 1, "timed out after 1s")]
    assert store_rows(engine, "SELECT count(*) FROM items") == [(0,)]
    assert store_rows(engine, "SELECT outcome, error FROM fetches") == [("error", "timed out after 1s")]


def test_a_chunk_size_line_dripped_slowly_cannot_stretch_timeout_total(
    engine, add_source, fetch_all, scripted: Scripted
) -> None:
    """The first chunk comes at once; the next chunk-size line (a long chunk extension) a byte every 40 ms."""
    body = big_feed(3)
    half = len(body) // 2

    def script(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(
            http_head("Content-Type: application/rss+xml", "Transfer-Encoding: chunked", 'ETag: "v1"')
            + f"{half:x}\r\n".encode()
            + body[:half]
            + b"\r\n"
        )
        rest = body[half:]
        if scripted.drip(conn, f"{len(rest):x};pad={'x' * 200}\r\n".encode()):
            conn.sendall(rest + b"\r\n0\r\n\r\n")

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="chunks")
    started = time.monotonic()
    summary = fetch_all(timeout_total=1, timeout_connect=1)
    elapsed = time.monotonic() - started

    report = report_for(summary, "chunks")
    assert elapsed < 1 + SLACK, (
        f"timeout_total = 1 held the fetch {elapsed:.1f} s; it said {report.error!r}; store: {sources_state(engine)}"
    )
    assert (report.outcome, report.error) == ("error", "timed out after 1s reading the body")
    src = source_row(engine, sid)
    assert (src.etag, src.error_count, src.last_error) == (None, 1, report.error)
    assert items_of(engine, sid) == []


# --- 2. a body cut short is a failed fetch -----------------------------------------------------------------------


def test_a_body_shorter_than_its_content_length_fails_and_the_next_run_gets_all_of_it(
    engine, add_source, fetch_all, scripted: Scripted
) -> None:
    """The issue's case: the server closes cleanly after 10 KB of a longer Content-Length and answers 304 to
    the ETag of what it cut. The first fetch must fail without keeping that ETag, so the second gets it all."""
    body = big_feed(200)
    assert len(body) > 30_000
    seen_etags: list[str | None] = []

    def script(conn: socket.socket, n: int) -> None:
        request = read_request(conn).decode("latin-1")
        etag = next(
            (
                line.split(":", 1)[1].strip()
                for line in request.split("\r\n")
                if line.lower().startswith("if-none-match:")
            ),
            None,
        )
        seen_etags.append(etag)
        if etag == '"v1"':
            conn.sendall(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nConnection: close\r\n\r\n')
            return
        conn.sendall(
            http_head(
                "Content-Type: application/rss+xml", f"Content-Length: {len(body)}", 'ETag: "v1"', "Connection: close"
            )
        )
        conn.sendall(body[:10_240] if n == 0 else body)  # then closes: a clean FIN, no error

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="cut")
    first = report_for(fetch_all(timeout_total=5, timeout_connect=5), "cut")
    src, stored, log = source_row(engine, sid), items_of(engine, sid), fetch_log(engine, sid)
    second = report_for(fetch_all(timeout_total=5, timeout_connect=5), "cut")

    assert first.outcome == "error", (
        f"first fetch: {first.outcome} {first.error!r}, then etag {src.etag}, "
        f"{len(stored)} items; second fetch: {second.outcome}, then "
        f"{len(items_of(engine, sid))} items"
    )
    assert first.error == f"body cut short: the connection closed after 10240 of {len(body)} bytes (Content-Length)"
    assert (src.etag, src.last_modified, src.error_count, src.last_error) == (None, None, 1, first.error)
    assert stored == []
    assert [(f.outcome, f.http_status, f.error) for f in log] == [("error", 200, first.error)]

    assert (second.outcome, second.error, second.new_items) == ("ok", None, 200)
    assert seen_etags == [None, None]  # the cut body's ETag was never sent back
    assert len(items_of(engine, sid)) == 200 and source_row(engine, sid).etag == '"v1"'


def test_a_chunked_body_without_its_last_chunk_fails_and_stores_nothing(
    engine, add_source, fetch_all, scripted: Scripted
) -> None:
    body = big_feed(200)

    def script(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(http_head("Content-Type: application/rss+xml", "Transfer-Encoding: chunked", 'ETag: "v1"'))
        for at in range(0, 10_240, 4096):  # whole chunks, then a clean close where "0\r\n\r\n" should be
            piece = body[at : min(at + 4096, 10_240)]
            conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="chunked")
    report = report_for(fetch_all(timeout_total=5, timeout_connect=5), "chunked")

    assert report.outcome == "error", f"{report.outcome} {report.error!r}; store: {sources_state(engine)}"
    assert (report.outcome, report.error) == ("error", "body cut short: the chunked body ended before its last chunk")
    src = source_row(engine, sid)
    assert (src.etag, src.error_count, src.last_error) == (None, 1, report.error)
    assert items_of(engine, sid) == []


# --- SMTP: the digest to mail -------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Monday morning, ticking (as in test_delivery): the daily digest is due."""
    with time_machine.travel(MONDAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def feed(httpserver) -> Feed:  # type: ignore[no-untyped-def]
    return Feed(
        httpserver,
        [("alpha", "Alpha post", MONDAY - timedelta(days=1)), ("beta", "Beta post", MONDAY - timedelta(hours=3))],
    )


def mail_setup(db_url: str, tmp_path: Path, feed: Feed, port: int, *, timeout: float) -> Cli:
    """A daily digest mailed through 127.0.0.1:`port`, with an SMTP `timeout` for the whole conversation."""
    config = write_config(tmp_path / "digest.toml", port)
    config.write_text(config.read_text().replace("timeout = 10", f"timeout = {timeout:g}"))
    cli = Cli(db_url, config)
    cli("sources", "add", feed.url, "--name", "blog")
    return cli


def issues(engine) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return store_rows(engine, "SELECT status, attempts, last_error, subject, message_id FROM digests ORDER BY id")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("digest:")]


class RawSmtp:
    """Just enough SMTP over a raw socket for smtplib, to misbehave where aiosmtpd cannot: `greeting` and
    `final_reply` (the answer to the message's final ".") are dripped a byte at a time when `drip` says so."""

    def __init__(self, scripted: Scripted, *, drip_greeting: bool = False, drip_final_reply: bool = False) -> None:
        self.scripted = scripted
        self.drip_greeting = drip_greeting
        self.drip_final_reply = drip_final_reply
        self.received: list[bytes] = []
        self.port = scripted.start(self._serve)

    def _say(self, conn: socket.socket, line: bytes, drip: bool) -> bool:
        if drip:
            return self.scripted.drip(conn, line)
        conn.sendall(line)
        return True

    def _serve(self, conn: socket.socket, n: int) -> None:
        greeting = b"220 127.0.0.1 " + b"x" * 160 + b" ESMTP\r\n"
        if not self._say(conn, greeting, self.drip_greeting):
            return
        reader = conn.makefile("rb")
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 127.0.0.1\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                conn.sendall(b"250 OK\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                message = b""
                while not message.endswith(b"\r\n.\r\n"):
                    chunk = reader.readline()
                    if not chunk:
                        return
                    message += chunk
                self.received.append(message)
                if not self._say(conn, b"250 " + b"y" * 160 + b" queued\r\n", self.drip_final_reply):
                    return
            elif verb == b"QUIT":
                conn.sendall(b"221 Bye\r\n")
                return
            else:
                conn.sendall(b"502 Command not implemented\r\n")


# --- 1. a deadline a slow server cannot stretch: SMTP -----------------------------------------------------------


def test_a_greeting_dripped_a_byte_at_a_time_cannot_stretch_the_smtp_timeout(
    db_url, engine, tmp_path, feed, clock, scripted: Scripted
) -> None:
    """~7 s of greeting against `timeout = 1`: `send` gives up after ~1 s and the issue stays pending (the
    message never left), retried by the next run."""
    server = RawSmtp(scripted, drip_greeting=True)
    cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=1)
    cli("fetch")
    cli("compose", "daily")  # pending: the time below is the send's alone

    started = time.monotonic()
    result = cli("send", "daily", ok=False)
    elapsed = time.monotonic() - started

    assert elapsed < 1 + SLACK, (
        f"timeout = 1 held the send {elapsed:.1f} s; it said {result.stdout!r} "
        f"{result.stderr!r}; issues: {issues(engine)}; mailbox: {len(server.received)}"
    )
    [(status, attempts, last_error, subject, _)] = issues(engine)
    assert (status, attempts) == ("pending", 1)
    assert last_error == f"cannot deliver via 127.0.0.1:{server.port}: timed out after 1s"
    assert result.exit_code == 1 and error_lines(result.stderr) == [f"digest: failed: {subject}: {last_error}"]
    assert server.received == []


def test_a_close_delimited_body_cut_short_is_stored_as_far_as_it_goes_with_a_cut_short_warning(
    engine, add_source, fetch_all, scripted: Scripted
) -> None:
    """No length and no chunks: a close ends the body, so a cut one cannot be told from a whole one by HTTP. The
    parser can: the feed stops before its closing tag. What arrived is kept, and the fetch log says why it is
    short (the next fetch, if the server answers whole, brings the rest as new items)."""
    body = big_feed(200)

    def script(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(http_head("Content-Type: application/rss+xml", "Connection: close"))
        conn.sendall(body[:10_240])  # then closes: for HTTP that is the end of the body

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="cut-by-close")
    report = report_for(fetch_all(timeout_total=5, timeout_connect=5), "cut-by-close")
    assert report.outcome == "ok"
    assert 0 < len(items_of(engine, sid)) < 200
    [fetch] = fetch_log(engine, sid)
    assert fetch.warning == "feed is not well-formed, read leniently: the document stops before its end (cut short?)"
    assert report.note == fetch.warning


# --- 3. never mailed twice: no confirmation after the message is not a failure ---------------------------------------


class _Silent(Mailbox):
    """Takes the message, then never answers the final "." (within the test)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.data_attempts == 1:
            await asyncio.sleep(5)
        return answer


class _Dropping(Mailbox):
    """Takes the message, then drops the connection instead of answering the final "."."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.data_attempts == 1:
            server.transport.close()
        return answer


UNCONFIRMED_HINT = "not resent ('digest send daily --resend-unconfirmed' sends it again)"


@pytest.mark.parametrize(
    ("mailbox", "problem"),
    [
        (_Silent, "gave no answer to the message within 1s"),
        (_Dropping, "closed the connection without answering the message"),
    ],
    ids=["no-answer", "dropped"],
)
def test_no_answer_after_the_message_is_unconfirmed_and_never_mailed_again(
    db_url, engine, tmp_path, feed, clock, mailbox: type[Mailbox], problem: str
) -> None:
    with smtp_server(mailbox()) as server:
        cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=1)
        started = time.monotonic()
        first = cli("run", ok=False)
        elapsed = time.monotonic() - started
        assert elapsed < 1 + SLACK + 3, f"the run took {elapsed:.1f} s"  # fetch + compose + a 1 s send
        [(status, attempts, last_error, subject, message_id)] = issues(engine)
        assert len(server.received) == 1  # the server has it
        if status != "unconfirmed":
            again = cli("run", ok=False)
            pytest.fail(
                f"after {elapsed:.1f} s the run said {first.stderr!r}; issue: {issues(engine)}; the next run "
                f"said {again.stdout!r}; mailbox: {len(server.received)} messages"
            )
        assert status == "unconfirmed" and attempts == 1
        assert last_error == (f"127.0.0.1:{server.port} {problem}: it may have been delivered; not resent")
        assert first.exit_code == 1 and error_lines(first.stderr) == [
            f"digest: unconfirmed: {subject}: 127.0.0.1:{server.port} {problem}: it may have been delivered; "
            f"{UNCONFIRMED_HINT}"
        ]

        again = cli("run", ok=False)  # still unconfirmed: reported, not resent
        cli("send", "daily")
        assert server.mailbox.data_attempts == 1 and len(server.received) == 1
        assert issues(engine)[0][0] == "unconfirmed" and "sent:" not in again.stdout

        resent = cli("send", "daily", "--resend-unconfirmed")  # on purpose only
    assert f"sent: {subject}" in resent.stdout
    assert [r.message["Message-ID"] for r in server.received] == [message_id, message_id]
    assert [row[0] for row in issues(engine)] == ["sent"]


def test_an_answer_to_the_message_dripped_past_the_timeout_is_unconfirmed(
    db_url, engine, tmp_path, feed, clock, scripted: Scripted
) -> None:
    """Items 1 and 3 together: the server has the message and drips its "250": the deadline ends the wait, and
    the issue is unconfirmed (not pending: the next run must not mail it again)."""
    server = RawSmtp(scripted, drip_final_reply=True)
    cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=1)
    cli("fetch")
    cli("compose", "daily")

    started = time.monotonic()
    result = cli("send", "daily", ok=False)
    elapsed = time.monotonic() - started

    assert elapsed < 1 + SLACK, (
        f"timeout = 1 held the send {elapsed:.1f} s; it said {result.stdout!r} "
        f"{result.stderr!r}; issues: {issues(engine)}; mailbox: {len(server.received)}"
    )
    assert len(server.received) == 1
    [(status, _, last_error, subject, _)] = issues(engine)
    problem = "gave no answer to the message within 1s"
    assert (status, last_error) == (
        "unconfirmed",
        f"127.0.0.1:{server.port} {problem}: it may have been delivered; not resent",
    )
    assert error_lines(result.stderr) == [
        f"digest: unconfirmed: {subject}: 127.0.0.1:{server.port} {problem}: it may have been delivered; "
        f"{UNCONFIRMED_HINT}"
    ]
    cli("run", ok=False)
    assert len(server.received) == 1


def test_a_message_refused_for_good_fails_after_three_runs_and_status_says_so(
    db_url, engine, tmp_path, feed, clock
) -> None:
    with smtp_server(Mailbox(fail_data=[554] * 5)) as server:
        cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=5)
        runs = [cli("run", ok=False) for _ in range(2)]
        [(status, attempts, last_error, subject, _)] = issues(engine)
        assert (status, attempts, last_error) == ("pending", 2, "SMTP 554: 5.7.1 Rejected")
        assert [error_lines(r.stderr) for r in runs] == [[f"digest: failed: {subject}: SMTP 554: 5.7.1 Rejected"]] * 2

        third = cli("run", ok=False)
        if issues(engine)[0][0] != "failed":
            fourth = cli("run", ok=False)
            pytest.fail(
                f"third run said {third.stderr!r}; the fourth {fourth.stderr!r}; issue: {issues(engine)}; "
                f"DATA attempts: {server.mailbox.data_attempts}"
            )
        gave_up = "SMTP 554: 5.7.1 Rejected (refused 3 times: given up, not retried)"
        assert issues(engine)[0][:3] == ("failed", 3, gave_up)
        assert error_lines(third.stderr) == [f"digest: failed: {subject}: {gave_up}"]

        fourth = cli("run")  # nothing is retried, nothing fails anew
        assert server.mailbox.data_attempts == 3 and server.received == []
        assert error_lines(fourth.stderr) == [] and "sent:" not in fourth.stdout
        shown = cli("status").stdout
    assert issues(engine)[0][:2] == ("failed", 3)
    [row] = [line for line in shown.splitlines() if line.startswith("│ daily ")]  # the digests table's row
    digest, last_issue, _, state, attempts, problem = (cell.strip() for cell in row.strip("│").split("│"))
    assert (digest, last_issue, state, attempts) == ("daily", subject, "failed", "3")
    assert problem.startswith("SMTP 554: 5.7.1 Rejected (refused 3 times: given")


def test_a_temporary_refusal_is_retried_without_end_and_a_later_success_sends_once(
    db_url, engine, tmp_path, feed, clock
) -> None:
    """4xx is "try later": four refusals in a row leave the issue pending, and the fifth run delivers it."""
    with smtp_server(Mailbox(fail_data=[451] * 4)) as server:
        cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=5)
        for _ in range(4):
            cli("run", ok=False)
        assert issues(engine)[0][:2] == ("pending", 4)
        cli("run")
        cli("run")
    assert len(server.received) == 1
    assert issues(engine)[0][:3] == ("sent", 5, None)


# --- 8. a compose killed before its commit leaves no issue folder --------------------------------------------------


def test_a_compose_killed_before_its_commit_leaves_no_issue_folder_and_the_next_compose_cleans_up(
    db_url, engine, tmp_path, httpserver
) -> None:
    """SIGKILL at the one point between writing the issue's files and recording it (the store's `record_issue`,
    which runs inside the transaction). Nothing was recorded, so no issue folder may be seen; the next compose
    records its issue and removes what the killed one left behind. A real process, clock and SIGKILL."""
    now = datetime.now(UTC)
    feed = Feed(
        httpserver, [("alpha", "Alpha post", now - timedelta(hours=5)), ("beta", "Beta post", now - timedelta(hours=3))]
    )
    issues_dir = tmp_path / "issues"
    config = write_config(tmp_path / "digest.toml", 25, out=issues_dir)  # compose only: no server is asked
    cli = Cli(db_url, config)
    cli("sources", "add", feed.url, "--name", "blog")
    cli("fetch")
    killed_at_record = (
        "import os, signal, sys\n"
        "from digest.store import digests\n"
        "digests.record_issue = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from digest.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", killed_at_record, "--db", db_url, "--config", str(config), "compose", "daily"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
    left = {p.name: sorted(f.name for f in p.rglob("*")) for p in issues_dir.iterdir()} if issues_dir.exists() else {}
    assert [name for name in left if not name.startswith(".")] == [], f"an unrecorded issue folder: {left}"

    composed = cli("compose", "daily")
    [(out_dir,)] = store_rows(engine, "SELECT out_dir FROM digests")
    assert [p.name for p in issues_dir.iterdir()] == [Path(out_dir).name]  # what the killed compose left is gone
    assert sorted(f.name for f in Path(out_dir).iterdir()) == ["digest.eml", "digest.html", "digest.txt"]
    assert composed.stdout.split() == [str(Path(out_dir) / n) for n in ("digest.html", "digest.txt", "digest.eml")]


def test_a_compose_into_an_existing_folder_keeps_what_else_is_there(db_url, engine, tmp_path, httpserver) -> None:
    now = datetime.now(UTC)
    feed = Feed(httpserver, [("alpha", "Alpha post", now - timedelta(hours=5))])
    config = write_config(tmp_path / "digest.toml", 25)
    cli = Cli(db_url, config)
    cli("sources", "add", feed.url, "--name", "blog")
    cli("fetch")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "digest.html").write_text("last week's")

    cli("compose", "daily", "--out", str(out))

    assert sorted(p.name for p in out.iterdir()) == ["digest.eml", "digest.html", "digest.txt", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine" and "Alpha post" in (out / "digest.html").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert store_rows(engine, "SELECT out_dir, status FROM digests") == [(str(out), "pending")]


# --- 4. no helper outlives a killed run --------------------------------------------------------------------------

MARK = "DIGEST_FAULTS_RUN"  # an environment variable set for the run under test, inherited by all it starts


def marked_processes(mark: str) -> dict[int, tuple[int, str]]:
    """pid -> (ppid, cmdline) of every live process whose environment holds MARK=mark (zombies are dead)."""
    wanted = f"{MARK}={mark}".encode()
    found: dict[int, tuple[int, str]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if wanted not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]  # "pid (comm) state ppid ...", comm may hold ")"
        if state not in ("Z", "X"):
            found[int(proc.name)] = (int(ppid), cmdline[:120])
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="looks for the run's helpers in /proc (Linux)")
@pytest.mark.parametrize("command", ["fetch", "run"])
def test_no_parser_forkserver_or_resource_tracker_outlives_a_killed_run(
    db_url, engine, tmp_path, threaded_server, command: str
) -> None:
    """Eight feeds answer at once and start the parser processes; a ninth holds the run. SIGKILL it: its output
    ends at once (no helper keeps its stdout open) and no process it started survives."""
    from werkzeug.wrappers import Response

    release = threading.Event()
    for i in range(8):
        threaded_server.expect_request(f"/f{i}.xml").respond_with_data(
            big_feed(20).replace(b"blog.example/p/", f"blog.example/{i}/p/".encode()),
            content_type="application/rss+xml",
        )

    def slow(_request: Any) -> Response:
        release.wait(60)
        return Response(big_feed(3), content_type="application/rss+xml")

    threaded_server.expect_request("/slow.xml").respond_with_handler(slow)
    config = tmp_path / "digest.toml"
    config.write_text(
        "[fetch]\nparse_processes = 2\nper_host = 16\ntimeout_total = 60\n[enrich]\nafter_fetch = false\n"
    )
    cli = Cli(db_url, config)
    for i in range(8):
        cli("sources", "add", threaded_server.url_for(f"/f{i}.xml"), "--name", f"f{i}", "--as-is")
    cli("sources", "add", threaded_server.url_for("/slow.xml"), "--name", "slow", "--as-is")

    mark = f"{tmp_path.name}-{command}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "--db", db_url, "--config", str(config), command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, MARK: mark},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until a parser runs: a child of a child of the run
            helpers = marked_processes(mark)
            if any(ppid in helpers and ppid != proc.pid for ppid, _ in helpers.values()):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"no parser process started: {marked_processes(mark)}")
        started = helpers

        os.kill(proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"10 s after SIGKILL the run's stdout is still open: {marked_processes(mark)} (started: {started})"
            )
        ended = time.monotonic() - killed
        while marked_processes(mark) and time.monotonic() - killed < 10:
            time.sleep(0.05)
        survivors = marked_processes(mark)
        gone = time.monotonic() - killed
    finally:
        release.set()
        for pid in marked_processes(mark):  # ours by their mark: only what this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == -signal.SIGKILL
    assert survivors == {}, f"alive {gone:.1f} s after SIGKILL of the run: {survivors} (started: {started})"
    assert ended < SLACK and gone < SLACK, (ended, gone)
    assert len(started) >= 4, started  # the run, the tracker, the forkserver and a parser at least
    # Nothing lost: the killed run lost at most its open group; the next run stores every source.
    assert store_rows(engine, "PRAGMA integrity_check") == [("ok",)]
    cli("fetch")
    assert store_rows(engine, "SELECT count(DISTINCT source_id), count(*) FROM items") == [(9, 8 * 20 + 3)]


# --- 5. a full disk, a read-only store, a lock held too long: one line each, nothing lost ---------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, to fill up. Needs root (mount)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is a 2 MiB tmpfs mounted by the test, which needs root")
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        import gc

        gc.collect()  # engines the in-process CLI left behind hold the store's files open
        if subprocess.run(["umount", str(where)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path) -> Path:
    """Write to `disk` until it is full; returns the file to remove to free it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert os.statvfs(disk).f_bavail == 0
    return filler


def integrity(url: str) -> list[tuple[Any, ...]]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


def one_error(result: Any) -> str:
    """The one line a failing command says; no traceback, nothing else."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("digest: error: "), result.stderr
    return lines[0].removeprefix("digest: error: ")


def test_a_disk_filling_up_mid_fetch_fails_the_sources_it_refuses_and_loses_nothing(
    tmp_path, small_disk, threaded_server
) -> None:
    """Four feeds answer at once and are stored; four more answer after the disk has filled. The run says why in
    one line and exits 1; the four stored stay, the four refused keep no validators and come whole next run."""
    import sqlite3

    from werkzeug.wrappers import Response

    url = f"sqlite:///{small_disk / 'store.db'}"
    filled = threading.Event()
    guard = threading.Lock()

    def late(_request: Any) -> Response:
        with guard:
            if not filled.is_set():
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:  # the early group is committed (an idle second after it)
                    with contextlib.closing(sqlite3.connect(small_disk / "store.db")) as conn:
                        if conn.execute("SELECT count(*) FROM items").fetchone()[0] == 8:
                            break
                    time.sleep(0.05)
                fill(small_disk)
                filled.set()
        return Response(big_feed(40), content_type="application/rss+xml", headers={"ETag": '"late"'})

    config = tmp_path / "digest.toml"
    config.write_text("[fetch]\nper_host = 16\nparse_processes = 0\n[enrich]\nafter_fetch = false\n")
    cli = Cli(url, config)
    for i in range(4):
        threaded_server.expect_request(f"/early{i}.xml").respond_with_data(
            rss(entry(f"E{i}a", guid=f"e{i}a"), entry(f"E{i}b", guid=f"e{i}b")),
            content_type="application/rss+xml",
            headers={"ETag": '"early"'},
        )
        cli("sources", "add", threaded_server.url_for(f"/early{i}.xml"), "--name", f"early{i}", "--as-is")
    for i in range(4):
        threaded_server.expect_request(f"/late{i}.xml").respond_with_handler(late)
        cli("sources", "add", threaded_server.url_for(f"/late{i}.xml"), "--name", f"late{i}", "--as-is")

    started = time.monotonic()
    result = cli("fetch", ok=False)
    elapsed = time.monotonic() - started
    (small_disk / "filler").unlink(missing_ok=True)

    assert filled.is_set()
    message = one_error(result)
    assert result.exit_code == 1 and elapsed < 10, (result.exit_code, elapsed)
    assert message.startswith(f"cannot write to the store at {url}: the disk is full"), message
    assert message.endswith("; 4 of 8 sources not stored (fetched again on the next run)"), message
    assert result.stdout.startswith("fetched 4, not modified 0, failed 4, new items 8, updated 0, not stored 4 ")

    from digest.store.db import open_engine

    engine = open_engine(url)
    try:
        assert integrity(url) == [("ok",)]
        rows = store_rows(
            engine,
            "SELECT name, etag, next_fetch_at IS NULL, (SELECT count(*) FROM items i "
            "WHERE i.source_id = s.id) FROM sources s ORDER BY id",
        )
        assert rows == [(f"early{i}", '"early"', 0, 2) for i in range(4)] + [(f"late{i}", None, 1, 0) for i in range(4)]
        again = cli("fetch")  # the disk has room again: the refused sources come whole
        assert again.stdout.startswith("fetched 4, not modified 0, failed 0, new items 160")
        assert store_rows(engine, "SELECT count(*) FROM items") == [(8 + 160,)]
        assert integrity(url) == [("ok",)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", ["compose", "run", "send"])
def test_a_full_disk_is_one_line_for_the_commands_that_take_the_run_lock(
    tmp_path, small_disk, feed, clock, command: str
) -> None:
    """They died in lock.py writing their pid; the lock is held all the same (flock), the pid is a courtesy."""
    url = f"sqlite:///{small_disk / 'store.db'}"
    cli = mail_setup(url, tmp_path, feed, 1, timeout=1)  # port 1: no message can leave
    cli("fetch")
    filler = fill(small_disk)
    try:
        started = time.monotonic()
        result = cli(command, "daily", ok=False) if command != "run" else cli("run", ok=False)
        elapsed = time.monotonic() - started
    finally:
        filler.unlink()
    message = one_error(result)
    assert result.exit_code == 1 and elapsed < 10
    assert message.startswith(f"cannot use the store at {url}: the disk is full") or message.startswith(
        f"cannot open the store at {url}: the disk is full"
    ), message
    from digest.store.db import open_engine

    engine = open_engine(url)
    try:
        assert integrity(url) == [("ok",)]
        assert store_rows(engine, "SELECT count(*) FROM items") == [(2,)]
        assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
    finally:
        engine.dispose()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Makes a folder read-only: a read-only bind mount as root (root ignores permissions), else chmod."""
    mounts: list[Path] = []
    modes: list[tuple[Path, int]] = []

    def make(folder: Path) -> None:
        import gc

        gc.collect()  # engines the in-process CLI left behind
        if os.geteuid() == 0:
            for args in (
                ["mount", "--bind", str(folder), str(folder)],
                ["mount", "-o", "remount,bind,ro", str(folder)],
            ):
                done = subprocess.run(args, capture_output=True, text=True)
                if done.returncode:
                    pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.strip()}")
                if args[1] == "--bind":
                    mounts.append(folder)
        else:
            for path in (folder, *folder.iterdir()):
                modes.append((path, path.stat().st_mode))
                path.chmod(0o555 if path.is_dir() else 0o444)

    def undo() -> None:
        while mounts:
            subprocess.run(["umount", str(mounts.pop())], check=False)
        while modes:
            path, mode = modes.pop()
            path.chmod(mode)

    make.undo = undo  # type: ignore[attr-defined]
    yield make
    undo()


def engine_at(url: str) -> Any:
    """A store's engine for one look (disposed when collected)."""
    from digest.store.db import open_engine

    return open_engine(url)


@pytest.mark.parametrize("command", ["fetch", "run", "compose", "send"])
def test_a_read_only_store_folder_is_one_line(tmp_path, feed, clock, read_only, command: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    url = f"sqlite:///{folder / 'store.db'}"
    cli = mail_setup(url, tmp_path, feed, 1, timeout=1)
    cli("fetch")
    read_only(folder)
    args = {"fetch": ("fetch", "--all"), "run": ("run",), "compose": ("compose", "daily"), "send": ("send", "daily")}[
        command
    ]
    started = time.monotonic()
    result = cli(*args, ok=False)
    elapsed = time.monotonic() - started
    message = one_error(result)
    assert result.exit_code == 1 and elapsed < 10
    assert "read-only" in message.lower(), message
    read_only.undo()  # type: ignore[attr-defined]
    assert integrity(url) == [("ok",)]
    assert store_rows(engine_at(url), "SELECT count(*) FROM items") == [(2,)]
    assert store_rows(engine_at(url), "SELECT count(*) FROM digests") == [(0,)]


def test_a_writer_holding_the_lock_past_busy_timeout_is_one_line_and_reads_do_not_wait(
    db_url, engine, tmp_path, serve_feed
) -> None:
    """Another process holds SQLite's write lock (BEGIN IMMEDIATE) past `busy_timeout` (2 s here, 30 s by default).
    Reads go on at once; a fetch and a compose each wait once, then say so in one line."""
    import sqlite3

    config = tmp_path / "digest.toml"
    config.write_text("[store]\nbusy_timeout = 2\n[enrich]\nafter_fetch = false\n")
    cli = Cli(db_url, config)
    for name in ("a", "b"):
        cli(
            "sources",
            "add",
            serve_feed(f"/{name}.xml", rss(entry(f"{name}1"), entry(f"{name}2"))),
            "--name",
            name,
            "--as-is",
        )
    cli("fetch")
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE sources SET enabled = enabled")
    try:
        timings = {}
        results = {}
        for args in (("status",), ("sources", "list"), ("export",), ("fetch", "--all"), ("compose",)):
            started = time.monotonic()
            results[args[0]] = cli(*args, ok=False)
            timings[args[0]] = time.monotonic() - started
    finally:
        holder.execute("COMMIT")
        holder.close()

    for read in ("status", "sources", "export"):
        assert results[read].exit_code == 0 and timings[read] < 2, (read, timings, results[read].stderr)
    held = "another process held the store's write lock for over 2s (database is locked)"
    assert results["fetch"].exit_code == 1 and 2 <= timings["fetch"] < 2 + SLACK, timings
    assert one_error(results["fetch"]) == (
        f"cannot write to the store at {db_url}: {held}; 2 of 2 sources not stored (fetched again on the next run)"
    )
    assert results["compose"].exit_code == 1 and 2 <= timings["compose"] < 2 + SLACK, timings
    assert one_error(results["compose"]) == f"cannot use the store at {db_url}: {held}"
    assert integrity(db_url) == [("ok",)]
    assert store_rows(engine, "SELECT count(*) FROM items") == [(4,)]
    assert store_rows(engine, "SELECT count(*) FROM fetches") == [(2,)]  # the first fetch's
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
    cli("fetch", "--all")  # the lock is free: the same fetch goes through
    assert store_rows(engine, "SELECT count(*) FROM fetches") == [(4,)]


# --- 6. input that crashed later runs is refused where it enters ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("http://[::1/x",), "not a valid URL (Invalid IPv6 URL): 'http://[::1/x'"),
        (
            ("http://blog.example:99999/feed",),
            "not a valid URL (Port out of range 0-65535): 'http://blog.example:99999/feed'",
        ),
        (
            ("http://blog.example/feed\r\nX-Injected: 1",),
            "a URL holds no spaces or control characters (CR, LF, tab...): "
            "'http://blog.example/feed\\r\\nX-Injected: 1'",
        ),
        (
            ("https://blog.example/" + "a" * 100_000,),
            f"URL longer than 2000 characters (100021): 'https://blog.example/{'a' * 39}...'",
        ),
        (("https://blog.example/feed", "--name", "n" * 5000), "name longer than 200 characters (5000)"),
        (
            ("https://blog.example/feed", "--name", "two\nlines"),
            "a name holds no control characters (CR, LF, tab...): 'two\\nlines'",
        ),
        (
            ("https://blog.example/feed", "--interval", "99999999999"),
            "interval must be between 1 and 525600 minutes (a year), not 99999999999",
        ),
        (
            ("https://blog.example/feed", "--interval", "0"),
            "interval must be between 1 and 525600 minutes (a year), not 0",
        ),
    ],
    ids=["ipv6", "port", "crlf", "long-url", "long-name", "name-lf", "interval", "interval-0"],
)
def test_sources_add_refuses_what_later_runs_cannot_take_in_one_line(
    cli: Cli, engine, args: tuple[str, ...], message: str
) -> None:
    result = cli("sources", "add", *args, "--as-is", ok=False)
    assert result.exit_code == 2 and one_error(result) == message
    assert store_rows(engine, "SELECT count(*) FROM sources") == [(0,)]
    edited = cli("sources", "add", "https://ok.example/feed", "--name", "ok", "--as-is")
    assert edited.exit_code == 0
    edit_args = {"--name": ("--name",), "--interval": ("--interval",)}.get(args[1] if len(args) > 1 else "", ("--url",))
    again = cli("sources", "edit", "ok", *edit_args, args[-1] if len(args) > 1 else args[0], ok=False)
    assert again.exit_code == 2 and one_error(again) == message  # edit validates as add does
    assert store_rows(engine, "SELECT name, url, interval_minutes FROM sources") == [
        ("ok", "https://ok.example/feed", None)
    ]


def test_a_store_holding_a_huge_interval_from_before_the_bounds_still_fetches(cli: Cli, engine, serve_feed) -> None:
    cli("sources", "add", serve_feed("/feed.xml", rss(entry("one"))), "--name", "blog", "--as-is")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE sources SET interval_minutes = 99999999999")
    fetched = cli("fetch")
    assert fetched.stdout.startswith("fetched 1, not modified 0, failed 0, new items 1")
    [(next_at,)] = store_rows(engine, "SELECT next_fetch_at FROM sources")
    assert next_at is not None and str(next_at) < str(datetime.now(UTC).year + 2)


@pytest.mark.parametrize(
    ("setting", "where"),
    [
        (
            "[fetch]\ndefault_interval = 99999999999",
            "fetch.default_interval: Input should be less than or equal to 525600, got 99999999999",
        ),
        (
            "[fetch]\nmax_backoff_hours = 1e12",
            "fetch.max_backoff_hours: Input should be less than or equal to 8760, got 1000000000000.0",
        ),
        (
            '[[digests]]\nname = "daily"\nlookback_days = 1e9',
            "digests[0].lookback_days: Input should be less than or equal to 36500, got 1000000000.0",
        ),
    ],
    ids=["default_interval", "max_backoff_hours", "lookback_days"],
)
def test_config_values_that_overflow_a_date_are_refused_in_one_line(
    db_url, engine, tmp_path, httpserver, setting: str, where: str
) -> None:
    httpserver.expect_request("/gone.xml").respond_with_data("no", status=500)
    config = tmp_path / "digest.toml"
    config.write_text("[enrich]\nafter_fetch = false\n" + setting + "\n")
    cli = Cli(db_url)
    cli("sources", "add", httpserver.url_for("/gone.xml"), "--name", "blog", "--as-is")
    result = Cli(db_url, config)("run", ok=False)
    assert result.exit_code == 2 and one_error(result) == f"{config}: {where}"
    assert store_rows(engine, "SELECT error_count, last_fetch_at FROM sources") == [(0, None)]


def test_opml_import_skips_and_names_each_entry_later_runs_could_not_take(cli: Cli, engine, tmp_path) -> None:
    long_url = "https://long.example/" + "a" * 100_000
    opml = tmp_path / "subs.opml"
    opml.write_text(f"""<?xml version="1.0"?>
<opml version="2.0" xmlns:digest="https://digest.invalid/opml"><body>
  <outline text="Good" type="rss" xmlUrl="https://good.example/feed"/>
  <outline text="Bad v6" type="rss" xmlUrl="http://[::1/x"/>
  <outline text="Port" type="rss" xmlUrl="http://port.example:99999/feed"/>
  <outline text="Long" type="rss" xmlUrl="{long_url}"/>
  <outline text="CRLF" type="rss" xmlUrl="http://crlf.example/feed&#13;&#10;X: y"/>
  <outline text="{"n" * 5000}" type="rss" xmlUrl="https://name.example/feed"/>
  <outline text="Often" type="rss" xmlUrl="https://often.example/feed" digest:interval="99999999999"/>
  <outline text="Also good" type="rss" xmlUrl="https://also.example/feed"/>
</body></opml>""")
    result = cli("sources", "import", str(opml))
    assert result.stdout.strip() == f"imported 2 sources from {opml} (6 skipped)"
    assert result.stderr.splitlines() == [
        "skipped 'Bad v6' (http://[::1/x): not a valid URL (Invalid IPv6 URL)",
        "skipped 'Port' (http://port.example:99999/feed): not a valid URL (Port out of range 0-65535)",
        f"skipped 'Long' ({long_url[:100]}...): URL longer than 2000 characters (100021)",
        "skipped 'CRLF' (http://crlf.example/feed\\r\\nX: y): a URL holds no spaces or control characters "
        "(CR, LF, tab...)",
        f"skipped '{'n' * 60}...' (https://name.example/feed): name longer than 200 characters (5000)",
        "skipped 'Often' (https://often.example/feed): interval must be between 1 and 525600 minutes (a year), "
        "not 99999999999",
    ]
    assert store_rows(engine, "SELECT name FROM sources ORDER BY id") == [("Good",), ("Also good",)]
