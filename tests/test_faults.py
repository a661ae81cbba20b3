"""Faults an operator meets (issue 15), each against a real server on 127.0.0.1 that misbehaves on purpose:
HTTP that drips its headers or chunk sizes, closes a body early or leaves out its last chunk; SMTP that drips
its greeting, drops or goes silent after the message, or refuses it for good. Every test bounds the time taken,
and checks the line the user sees and what the store and the mailbox hold afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    return store_rows(engine, "SELECT etag, error_count, last_error, (SELECT count(*) FROM items i "
                              "WHERE i.source_id = s.id) FROM sources s ORDER BY id")


def http_head(*lines: str) -> bytes:
    return ("HTTP/1.1 200 OK\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def big_feed(n: int) -> bytes:
    return rss(*(entry(f"Post {i}", guid=f"https://blog.example/p/{i}", link=f"https://blog.example/p/{i}",
                       body=f"What post {i} says, at some length so that the feed is long.") for i in range(n)))


# --- 1. a deadline a slow server cannot stretch: HTTP ------------------------------------------------------------

def test_headers_dripped_a_byte_at_a_time_cannot_stretch_timeout_total(tmp_path: Path, db_url: str, engine,
                                                                       scripted: Scripted) -> None:
    """~9 s of headers, one byte every 40 ms, against timeout_total = 1: the fetch gives up after ~1 s, through
    the real `digest fetch`."""
    body = big_feed(3)
    head = http_head("Content-Type: application/rss+xml", "X-Padding: " + "x" * 180, f"Content-Length: {len(body)}",
                     'ETag: "v1"')

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

    assert elapsed < 1 + SLACK, (f"timeout_total = 1 held the fetch {elapsed:.1f} s; it said {result.stderr!r}; "
                                 f"store: {sources_state(engine)}")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("digest:")] == [
        f"digest: dripper ({url}): timed out after 1s"]
    assert store_rows(engine, "SELECT etag, error_count, last_error FROM sources") == [
        (None, 1, "timed out after 1s")]
    assert store_rows(engine, "SELECT count(*) FROM items") == [(0,)]
    assert store_rows(engine, "SELECT outcome, error FROM fetches") == [("error", "timed out after 1s")]


def test_a_chunk_size_line_dripped_slowly_cannot_stretch_timeout_total(engine, add_source, fetch_all,
                                                                       scripted: Scripted) -> None:
    """The first chunk comes at once; the next chunk-size line (a long chunk extension) a byte every 40 ms."""
    body = big_feed(3)
    half = len(body) // 2

    def script(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(http_head("Content-Type: application/rss+xml", "Transfer-Encoding: chunked", 'ETag: "v1"')
                     + f"{half:x}\r\n".encode() + body[:half] + b"\r\n")
        rest = body[half:]
        if scripted.drip(conn, f"{len(rest):x};pad={'x' * 200}\r\n".encode()):
            conn.sendall(rest + b"\r\n0\r\n\r\n")

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="chunks")
    started = time.monotonic()
    summary = fetch_all(timeout_total=1, timeout_connect=1)
    elapsed = time.monotonic() - started

    report = report_for(summary, "chunks")
    assert elapsed < 1 + SLACK, (f"timeout_total = 1 held the fetch {elapsed:.1f} s; it said {report.error!r}; "
                                 f"store: {sources_state(engine)}")
    assert (report.outcome, report.error) == ("error", "timed out after 1s reading the body")
    src = source_row(engine, sid)
    assert (src.etag, src.error_count, src.last_error) == (None, 1, report.error)
    assert items_of(engine, sid) == []


# --- 2. a body cut short is a failed fetch -----------------------------------------------------------------------

def test_a_body_shorter_than_its_content_length_fails_and_the_next_run_gets_all_of_it(engine, add_source,
                                                                                      fetch_all,
                                                                                      scripted: Scripted) -> None:
    """The issue's case: the server closes cleanly after 10 KB of a longer Content-Length and answers 304 to
    the ETag of what it cut. The first fetch must fail without keeping that ETag, so the second gets it all."""
    body = big_feed(200)
    assert len(body) > 30_000
    seen_etags: list[str | None] = []

    def script(conn: socket.socket, n: int) -> None:
        request = read_request(conn).decode("latin-1")
        etag = next((line.split(":", 1)[1].strip() for line in request.split("\r\n")
                     if line.lower().startswith("if-none-match:")), None)
        seen_etags.append(etag)
        if etag == '"v1"':
            conn.sendall(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nConnection: close\r\n\r\n')
            return
        conn.sendall(http_head("Content-Type: application/rss+xml", f"Content-Length: {len(body)}", 'ETag: "v1"',
                               "Connection: close"))
        conn.sendall(body[:10_240] if n == 0 else body)  # then closes: a clean FIN, no error

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="cut")
    first = report_for(fetch_all(timeout_total=5, timeout_connect=5), "cut")
    src, stored, log = source_row(engine, sid), items_of(engine, sid), fetch_log(engine, sid)
    second = report_for(fetch_all(timeout_total=5, timeout_connect=5), "cut")

    assert first.outcome == "error", (f"first fetch: {first.outcome} {first.error!r}, then etag {src.etag}, "
                                      f"{len(stored)} items; second fetch: {second.outcome}, then "
                                      f"{len(items_of(engine, sid))} items")
    assert first.error == f"body cut short: the connection closed after 10240 of {len(body)} bytes (Content-Length)"
    assert (src.etag, src.last_modified, src.error_count, src.last_error) == (None, None, 1, first.error)
    assert stored == []
    assert [(f.outcome, f.http_status, f.error) for f in log] == [("error", 200, first.error)]

    assert (second.outcome, second.error, second.new_items) == ("ok", None, 200)
    assert seen_etags == [None, None]  # the cut body's ETag was never sent back
    assert len(items_of(engine, sid)) == 200 and source_row(engine, sid).etag == '"v1"'


def test_a_chunked_body_without_its_last_chunk_fails_and_stores_nothing(engine, add_source, fetch_all,
                                                                        scripted: Scripted) -> None:
    body = big_feed(200)

    def script(conn: socket.socket, n: int) -> None:
        read_request(conn)
        conn.sendall(http_head("Content-Type: application/rss+xml", "Transfer-Encoding: chunked", 'ETag: "v1"'))
        for at in range(0, 10_240, 4096):  # whole chunks, then a clean close where "0\r\n\r\n" should be
            piece = body[at:min(at + 4096, 10_240)]
            conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")

    sid = add_source(f"http://127.0.0.1:{scripted.start(script)}/feed.xml", name="chunked")
    report = report_for(fetch_all(timeout_total=5, timeout_connect=5), "chunked")

    assert report.outcome == "error", f"{report.outcome} {report.error!r}; store: {sources_state(engine)}"
    assert (report.outcome, report.error) == (
        "error", "body cut short: the chunked body ended before its last chunk")
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
    return Feed(httpserver, [("alpha", "Alpha post", MONDAY - timedelta(days=1)),
                             ("beta", "Beta post", MONDAY - timedelta(hours=3))])


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

def test_a_greeting_dripped_a_byte_at_a_time_cannot_stretch_the_smtp_timeout(db_url, engine, tmp_path, feed, clock,
                                                                             scripted: Scripted) -> None:
    """~7 s of greeting against `timeout = 1`: `send` gives up after ~1 s and the issue stays pending (the
    message never left), retried by the next run."""
    server = RawSmtp(scripted, drip_greeting=True)
    cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=1)
    cli("fetch")
    cli("compose", "daily")  # pending: the time below is the send's alone

    started = time.monotonic()
    result = cli("send", "daily", ok=False)
    elapsed = time.monotonic() - started

    assert elapsed < 1 + SLACK, (f"timeout = 1 held the send {elapsed:.1f} s; it said {result.stdout!r} "
                                 f"{result.stderr!r}; issues: {issues(engine)}; mailbox: {len(server.received)}")
    [(status, attempts, last_error, subject, _)] = issues(engine)
    assert (status, attempts) == ("pending", 1)
    assert last_error == f"cannot deliver via 127.0.0.1:{server.port}: timed out after 1s"
    assert result.exit_code == 1 and error_lines(result.stderr) == [f"digest: failed: {subject}: {last_error}"]
    assert server.received == []


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


@pytest.mark.parametrize(("mailbox", "problem"), [
    (_Silent, "gave no answer to the message within 1s"),
    (_Dropping, "closed the connection without answering the message"),
], ids=["no-answer", "dropped"])
def test_no_answer_after_the_message_is_unconfirmed_and_never_mailed_again(db_url, engine, tmp_path, feed, clock,
                                                                           mailbox: type[Mailbox],
                                                                           problem: str) -> None:
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
            pytest.fail(f"after {elapsed:.1f} s the run said {first.stderr!r}; issue: {issues(engine)}; the next run "
                        f"said {again.stdout!r}; mailbox: {len(server.received)} messages")
        assert status == "unconfirmed" and attempts == 1
        assert last_error == (f"127.0.0.1:{server.port} {problem}: it may have been delivered; not resent")
        assert first.exit_code == 1 and error_lines(first.stderr) == [
            f"digest: unconfirmed: {subject}: 127.0.0.1:{server.port} {problem}: it may have been delivered; "
            f"{UNCONFIRMED_HINT}"]

        again = cli("run", ok=False)  # still unconfirmed: reported, not resent
        cli("send", "daily")
        assert server.mailbox.data_attempts == 1 and len(server.received) == 1
        assert issues(engine)[0][0] == "unconfirmed" and "sent:" not in again.stdout

        resent = cli("send", "daily", "--resend-unconfirmed")  # on purpose only
    assert f"sent: {subject}" in resent.stdout
    assert [r.message["Message-ID"] for r in server.received] == [message_id, message_id]
    assert [row[0] for row in issues(engine)] == ["sent"]


def test_an_answer_to_the_message_dripped_past_the_timeout_is_unconfirmed(db_url, engine, tmp_path, feed, clock,
                                                                          scripted: Scripted) -> None:
    """Items 1 and 3 together: the server has the message and drips its "250": the deadline ends the wait, and
    the issue is unconfirmed (not pending: the next run must not mail it again)."""
    server = RawSmtp(scripted, drip_final_reply=True)
    cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=1)
    cli("fetch")
    cli("compose", "daily")

    started = time.monotonic()
    result = cli("send", "daily", ok=False)
    elapsed = time.monotonic() - started

    assert elapsed < 1 + SLACK, (f"timeout = 1 held the send {elapsed:.1f} s; it said {result.stdout!r} "
                                 f"{result.stderr!r}; issues: {issues(engine)}; mailbox: {len(server.received)}")
    assert len(server.received) == 1
    [(status, _, last_error, subject, _)] = issues(engine)
    problem = "gave no answer to the message within 1s"
    assert (status, last_error) == ("unconfirmed",
                                    f"127.0.0.1:{server.port} {problem}: it may have been delivered; not resent")
    assert error_lines(result.stderr) == [
        f"digest: unconfirmed: {subject}: 127.0.0.1:{server.port} {problem}: it may have been delivered; "
        f"{UNCONFIRMED_HINT}"]
    cli("run", ok=False)
    assert len(server.received) == 1


def test_a_message_refused_for_good_fails_after_three_runs_and_status_says_so(db_url, engine, tmp_path, feed,
                                                                              clock) -> None:
    with smtp_server(Mailbox(fail_data=[554] * 5)) as server:
        cli = mail_setup(db_url, tmp_path, feed, server.port, timeout=5)
        runs = [cli("run", ok=False) for _ in range(2)]
        [(status, attempts, last_error, subject, _)] = issues(engine)
        assert (status, attempts, last_error) == ("pending", 2, "SMTP 554: 5.7.1 Rejected")
        assert [error_lines(r.stderr) for r in runs] == [[f"digest: failed: {subject}: SMTP 554: 5.7.1 Rejected"]] * 2

        third = cli("run", ok=False)
        if issues(engine)[0][0] != "failed":
            fourth = cli("run", ok=False)
            pytest.fail(f"third run said {third.stderr!r}; the fourth {fourth.stderr!r}; issue: {issues(engine)}; "
                        f"DATA attempts: {server.mailbox.data_attempts}")
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


def test_a_temporary_refusal_is_retried_without_end_and_a_later_success_sends_once(db_url, engine, tmp_path, feed,
                                                                                   clock) -> None:
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
        db_url, engine, tmp_path, httpserver) -> None:
    """SIGKILL at the one point between writing the issue's files and recording it (the store's `record_issue`,
    which runs inside the transaction). Nothing was recorded, so no issue folder may be seen; the next compose
    records its issue and removes what the killed one left behind. A real process, clock and SIGKILL."""
    now = datetime.now(UTC)
    feed = Feed(httpserver, [("alpha", "Alpha post", now - timedelta(hours=5)),
                             ("beta", "Beta post", now - timedelta(hours=3))])
    issues_dir = tmp_path / "issues"
    config = write_config(tmp_path / "digest.toml", 25, out=issues_dir)  # compose only: no server is asked
    cli = Cli(db_url, config)
    cli("sources", "add", feed.url, "--name", "blog")
    cli("fetch")
    killed_at_record = ("import os, signal, sys\n"
                        "from digest.store import digests\n"
                        "digests.record_issue = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
                        "from digest.cli import main\n"
                        "main()\n")
    proc = subprocess.run([sys.executable, "-c", killed_at_record, "--db", db_url, "--config", str(config),
                           "compose", "daily"], capture_output=True, text=True, timeout=60)

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
