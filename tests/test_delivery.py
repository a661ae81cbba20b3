"""Mailing issues through a real SMTP server on 127.0.0.1 (aiosmtpd): once per due digest, retried after a
refusal, never twice after a crash, over plain, STARTTLS and SSL, with the password only ever in the environment.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine

from digest.lock import EX_TEMPFAIL
from tests.conftest import Cli, store_rows
from tests.mailserver import Credentials, Mailbox, smtp_server

MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # after the 06:00 slot of a "daily 06:00" digest
SENDER = "digest@example.org"
RECIPIENTS = ("Ann <ann@example.org>", "bob@example.org")
USER = "digest-bot"
PASSWORD = "s3cret-Passw0rd-only-in-env"
PASSWORD_ENV = "DIGEST_TEST_SMTP_PASSWORD"


# --- a feed whose items the test can change between runs ------------------------------------------------------


def _rss(items: list[tuple[str, str, datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>https://blog.example/{guid}</link><guid>https://blog.example/{guid}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate>"
        f'<enclosure url="https://img.example/{guid}.png" length="0" type="image/png"/>'
        f"<description>&lt;p&gt;Notes on {title.lower()}.&lt;/p&gt;</description></item>"
        for guid, title, when in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>https://blog.example/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


class Feed:
    """An RSS feed served on loopback; `items` may change between fetches."""

    def __init__(self, httpserver, items: list[tuple[str, str, datetime]]) -> None:  # type: ignore[no-untyped-def]
        from werkzeug.wrappers import Response

        self.items = items
        httpserver.expect_request("/feed.xml").respond_with_handler(
            lambda _request: Response(_rss(self.items), content_type="application/rss+xml; charset=utf-8")
        )
        self.url = httpserver.url_for("/feed.xml")


@pytest.fixture
def feed(httpserver) -> Feed:  # type: ignore[no-untyped-def]
    return Feed(
        httpserver,
        [("alpha", "Alpha post", MONDAY - timedelta(days=1)), ("beta", "Beta post", MONDAY - timedelta(hours=3))],
    )


def write_config(
    path: Path,
    port: int,
    *,
    security: str = "none",
    user: bool = False,
    unsubscribe: bool = True,
    out: Path | None = None,
    list_address: str | None = None,
) -> Path:
    smtp = [
        'host = "127.0.0.1"',
        f"port = {port}",
        f'security = "{security}"',
        f'from = "Digest <{SENDER}>"',
        "timeout = 10",
    ]
    if user:
        smtp += [f'user = "{USER}"', f'password_env = "{PASSWORD_ENV}"']
    digest = [
        'name = "daily"',
        'title = "Daily papers"',
        'schedule = "daily 06:00"',
        "recipients = [" + ", ".join(f'"{r}"' for r in RECIPIENTS) + "]",
        'list_id = "daily.example.org"',
        f'out = "{out or path.parent / "issues"}"',
    ]
    if unsubscribe:
        digest.append('unsubscribe = "https://example.org/unsubscribe"')
    if list_address:
        digest.append(f'list_address = "{list_address}"')
    path.write_text(
        "[enrich]\nafter_fetch = false\n[smtp]\n" + "\n".join(smtp) + "\n[[digests]]\n" + "\n".join(digest) + "\n"
    )
    return path


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """A fixed Monday morning that keeps ticking: schedules and windows do not depend on the day the tests run."""
    with time_machine.travel(MONDAY, tick=True) as traveller:
        yield traveller


def _setup(db_url: str, tmp_path: Path, feed: Feed, port: int, **cfg: object) -> Cli:
    cli = Cli(db_url, write_config(tmp_path / "digest.toml", port, **cfg))  # type: ignore[arg-type]
    cli("sources", "add", feed.url, "--name", "blog")
    return cli


def _issues(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    return store_rows(engine, "SELECT id, status, message_id, attempts, last_error, subject FROM digests ORDER BY id")


def _error_lines(stderr: str) -> list[str]:
    """The error lines (`digest: ...`); progress notes such as "composed daily: ..." also go to stderr."""
    return [line for line in stderr.splitlines() if line.startswith("digest:")]


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- once per due digest ------------------------------------------------------------------------------------


def test_two_runs_deliver_exactly_one_message_and_mark_the_issue_sent(db_url, engine, tmp_path, feed, clock) -> None:
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        first = cli("run")
        second = cli("run")
    assert len(server.received) == 1
    got = server.received[0]
    assert got.mail_from == SENDER and got.rcpt_tos == ("ann@example.org", "bob@example.org")
    [(_, status, message_id, attempts, last_error, subject)] = _issues(engine)
    assert (status, attempts, last_error) == ("sent", 1, None)
    assert got.message["Message-ID"] == message_id and got.message["Subject"] == subject
    assert f"sent: {subject}" in first.stdout
    assert "sent:" not in second.stdout and "composed" not in second.stderr  # nothing new composed or sent
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(1,)]


def test_each_days_run_mails_only_what_arrived_since_the_last_issue(db_url, engine, tmp_path, feed, clock) -> None:
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        cli("run")
        tuesday = MONDAY + timedelta(days=1)
        feed.items.append(("gamma", "Gamma post", tuesday - timedelta(hours=2)))
        clock.move_to(tuesday)
        cli("run")
        cli("run")  # the same slot again
        clock.move_to(tuesday + timedelta(days=1))  # due, but nothing new: no message, the slot marked served
        cli("run")
        cli("run")  # and the next run of that day composes nothing again
    assert len(server.received) == 2
    monday, tue = (r.message.get_body(("plain",)).get_content() for r in server.received)
    assert "Alpha post" in monday and "Beta post" in monday and "Gamma post" not in monday
    assert "Gamma post" in tue and "Alpha post" not in tue and "Beta post" not in tue
    assert [row[1] for row in _issues(engine)] == ["sent", "sent", "empty"]  # "empty" is never mailed
    assert parsedate_to_datetime(server.received[1].message["Date"]).date() == tuesday.date()


# --- the message as received ---------------------------------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag with its attributes (entity-decoded), and the text of every <style> block."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"
        if self._in_style:
            self.styles.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False if tag == "style" else self._in_style

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data


def _only_media_rules(css: str) -> bool:
    """True when every top-level rule of a style block is an @media rule."""
    depth, rule_start = 0, True
    for i, ch in enumerate(css):
        if rule_start and not ch.isspace():
            if not css.startswith("@media", i):
                return False
            rule_start = False
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            rule_start = depth == 0
    return True


def test_the_received_message_has_both_parts_list_headers_and_inlined_css(
    db_url, engine, tmp_path, feed, clock
) -> None:
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        cli("fetch")
        cli("send", "daily")
    [got] = server.received
    msg = got.message
    [(_, status, message_id, _, _, subject)] = _issues(engine)
    assert status == "sent"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"] == message_id and message_id.endswith("@example.org>")
    assert abs(parsedate_to_datetime(msg["Date"]) - MONDAY) < timedelta(minutes=5)
    assert msg["Subject"] == subject == "Daily papers: 0 papers, 2 posts (23 Nov 2026)"
    # no list address configured: the To: is the sender's, the recipients are in the envelope only
    assert msg["From"] == f"Digest <{SENDER}>" and msg["To"] == f"Digest <{SENDER}>"
    assert msg["List-Id"] == "daily <daily.example.org>"
    assert msg["List-Unsubscribe"] == "<https://example.org/unsubscribe>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    text = msg.get_body(("plain",)).get_content()
    assert "Alpha post" in text and "<https://blog.example/alpha>" in text
    assert "Unsubscribe: https://example.org/unsubscribe" in text
    html = msg.get_body(("html",)).get_content()
    parsed = _Tags()
    parsed.feed(html)
    assert "<script" not in html.lower() and "@import" not in html and "@font-face" not in html
    assert not [t for t, _ in parsed.tags if t in ("link", "script", "iframe", "object")]  # no external CSS/fonts
    assert parsed.styles and all(_only_media_rules(css) for css in parsed.styles), parsed.styles
    assert "prefers-color-scheme: dark" in "".join(parsed.styles)  # the default theme supports dark mode
    styled = [t for t, attrs in parsed.tags if attrs.get("style")]
    assert {"body", "table", "td", "h1", "h3", "p", "a", "img"} <= set(styled)  # the styling was inlined
    body = next(attrs for t, attrs in parsed.tags if t == "body")
    assert "font-family: Georgia, 'Times New Roman', serif" in (body["style"] or "")  # quoted names survive
    page = next(attrs for t, attrs in parsed.tags if t == "table" and attrs.get("class") == "page")
    assert page["width"] == "600"
    preheader = next(attrs for t, attrs in parsed.tags if attrs.get("class") == "preheader")
    assert "display:none" in (preheader["style"] or "").replace(" ", "")
    images = [attrs for t, attrs in parsed.tags if t == "img"]
    assert sorted(i["src"] for i in images) == ["https://img.example/alpha.png", "https://img.example/beta.png"]
    assert all(i.get("alt") for i in images)


def test_list_unsubscribe_is_only_sent_when_configured(db_url, tmp_path, feed, clock) -> None:
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port, unsubscribe=False)
        cli("fetch")
        cli("send", "daily")
    [got] = server.received
    assert got.message["List-Id"] == "daily <daily.example.org>"
    assert got.message["List-Unsubscribe"] is None and got.message["List-Unsubscribe-Post"] is None
    assert "Unsubscribe" not in got.message.get_body(("plain",)).get_content()


# --- failures and retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [451, 554])
def test_a_refused_message_stays_pending_and_the_next_run_delivers_it_once(
    db_url, engine, tmp_path, feed, clock, code: int
) -> None:
    with smtp_server(Mailbox(fail_data=[code])) as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        failed = cli("run", ok=False)
        [(_, status, _, attempts, last_error, subject)] = _issues(engine)
        assert server.received == [] and server.mailbox.data_attempts == 1
        assert (status, attempts) == ("pending", 1) and last_error.startswith(f"SMTP {code}: ")
        assert failed.exit_code == 1 and "Traceback" not in failed.stderr
        assert _error_lines(failed.stderr) == [f"digest: failed: {subject}: {last_error}"]
        retried = cli("run")  # the slot is served, but what is pending is retried
        cli("run")
    assert len(server.received) == 1 and f"sent: {subject}" in retried.stdout
    [(_, status, message_id, attempts, last_error, _)] = _issues(engine)
    assert (status, attempts, last_error) == ("sent", 2, None)
    assert server.received[0].message["Message-ID"] == message_id


def test_an_unreachable_server_leaves_the_issue_pending_until_a_run_reaches_it(
    db_url, engine, tmp_path, feed, clock
) -> None:
    closed = _free_port()
    cli = _setup(db_url, tmp_path, feed, closed)
    failed = cli("run", ok=False)
    [(_, status, _, _, last_error, subject)] = _issues(engine)
    assert status == "pending" and f"cannot deliver via 127.0.0.1:{closed}: ConnectionRefusedError" in last_error
    assert failed.exit_code == 1 and _error_lines(failed.stderr) == [f"digest: failed: {subject}: {last_error}"]
    with smtp_server() as server:
        write_config(cli.config, server.port)  # type: ignore[arg-type]
        cli("run")
        cli("run")
    assert len(server.received) == 1
    assert [row[1] for row in _issues(engine)] == ["sent"]


def test_recipients_the_server_refuses_do_not_make_the_issue_go_out_again(
    db_url, engine, tmp_path, feed, clock
) -> None:
    with smtp_server(Mailbox(refuse_rcpt={"bob@example.org"})) as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        first = cli("run")
        cli("run")
    assert [r.rcpt_tos for r in server.received] == [("ann@example.org",)]
    [(_, status, _, _, last_error, _)] = _issues(engine)
    assert status == "sent" and "bob@example.org" in last_error
    assert "some recipients refused: bob@example.org" in first.stdout


def test_recipients_are_in_the_envelope_only_and_the_to_is_the_list_address(
    db_url, engine, tmp_path, feed, clock
) -> None:
    """One message for everyone: each recipient is a RCPT TO of it, none is named in it (not in To:, not in Cc:,
    nowhere in the headers), so no reader learns who else reads the digest."""
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port, list_address="Daily papers <daily@example.org>")
        cli("run")
    [got] = server.received
    assert got.rcpt_tos == ("ann@example.org", "bob@example.org")  # each recipient gets it, one message
    assert got.message["To"] == "Daily papers <daily@example.org>"
    assert got.message["Cc"] is None and got.message["Bcc"] is None
    headers = got.data.split(b"\r\n\r\n", 1)[0].decode().lower()
    for recipient in ("ann@example.org", "bob@example.org", "Ann"):
        assert recipient.lower() not in headers
    [(_, status, _, attempts, last_error, _)] = _issues(engine)
    assert (status, attempts, last_error) == ("sent", 1, None)  # the outbox as ever
    # the stored message is what was mailed, byte for byte
    assert store_rows(engine, "SELECT message FROM digests") == [(got.data.decode(),)]


def test_send_dry_run_sends_and_records_nothing(db_url, engine, tmp_path, feed, clock) -> None:
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        cli("fetch")
        dry = cli("send", "daily", "--dry-run")
        assert server.received == [] and server.mailbox.data_attempts == 0
        assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
        assert dry.stdout.startswith("would send 'Daily papers: 0 papers, 2 posts (23 Nov 2026)'")
        assert f"to {', '.join(RECIPIENTS)} via 127.0.0.1:{server.port}" in dry.stdout
        cli("send", "daily")  # the dry run claimed nothing: the real send has the same items
    [got] = server.received
    assert "Alpha post" in got.message.get_body(("plain",)).get_content()


# --- a crash between the server's acceptance and the bookkeeping ---------------------------------------------


def test_a_crash_after_the_server_accepted_is_never_resent_automatically(
    db_url, engine, tmp_path, feed, clock, monkeypatch
) -> None:
    """The crash is simulated at one exact point: a monkeypatched `digest.store.digests.set_state` raises on the
    transition to `sent`, i.e. after the server accepted the message and before the store recorded it."""
    from digest.store import digests

    real_set_state = digests.set_state

    def crash_when_marking_sent(s, issue_id: int, status: str, **kw: object) -> bool:  # type: ignore[no-untyped-def]
        if status == "sent":
            raise RuntimeError("simulated crash after the SMTP server accepted the message")
        return real_set_state(s, issue_id, status, **kw)  # type: ignore[arg-type]

    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        cli("fetch")
        with monkeypatch.context() as m:
            m.setattr(digests, "set_state", crash_when_marking_sent)
            with pytest.raises(RuntimeError, match="simulated crash"):
                cli("send", "daily")
        assert len(server.received) == 1
        [(_, status, message_id, _, _, subject)] = _issues(engine)
        assert status == "sending"

        after = cli("run", ok=False)
        assert len(server.received) == 1  # not sent twice
        [(_, status, _, _, last_error, _)] = _issues(engine)
        assert status == "unconfirmed" and "not resent" in last_error
        assert after.exit_code == 1 and "Traceback" not in after.stderr
        [line] = _error_lines(after.stderr)
        assert line.startswith(f"digest: unconfirmed: {subject}: a previous run stopped after handing it to the SMTP")
        assert "'digest send daily --resend-unconfirmed' sends it again" in line
        cli("run")
        cli("send", "daily")
        assert len(server.received) == 1 and _issues(engine)[0][1] == "unconfirmed"

        resent = cli("send", "daily", "--resend-unconfirmed")
    assert f"re-queued: {subject}" in resent.stdout and f"sent: {subject}" in resent.stdout
    assert [r.message["Message-ID"] for r in server.received] == [message_id, message_id]
    assert server.received[0].data == server.received[1].data  # the very same message, on purpose
    assert [row[1] for row in _issues(engine)] == ["sent"]


# --- transport security and credentials ----------------------------------------------------------------------


def test_ssl_to_a_plain_server_fails_cleanly_and_sends_nothing(db_url, engine, tmp_path, feed, clock) -> None:
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port, security="ssl")
        cli("fetch")
        result = cli("send", "daily", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [line] = _error_lines(result.stderr)
    assert f"cannot deliver via 127.0.0.1:{server.port}: SSLError" in line
    assert server.received == []
    assert [row[1] for row in _issues(engine)] == ["pending"]


def test_starttls_configured_never_falls_back_to_plain_text(db_url, engine, tmp_path, feed, clock) -> None:
    with smtp_server() as server:  # offers no STARTTLS
        cli = _setup(db_url, tmp_path, feed, server.port, security="starttls")
        cli("fetch")
        result = cli("send", "daily", ok=False)
    assert result.exit_code == 1 and "STARTTLS extension not supported" in result.stderr
    assert server.received == [] and server.mailbox.data_attempts == 0
    assert [row[1] for row in _issues(engine)] == ["pending"]


def test_a_user_without_the_password_variable_is_a_clear_error_and_nothing_is_sent(
    db_url, engine, tmp_path, feed, clock, monkeypatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port, user=True)
        cli("fetch")
        result = cli("send", "daily", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [line] = _error_lines(result.stderr)
    assert f"SMTP user '{USER}' set but the environment variable {PASSWORD_ENV} holding the password is not" in line
    assert server.received == [] and server.mailbox.data_attempts == 0
    assert [row[1] for row in _issues(engine)] == ["pending"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # SMTPS is TLS; aiosmtpd can't tell
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_encrypted_authenticated_send_keeps_the_password_out_of_store_and_output(
    db_url, engine, tmp_path, feed, clock, monkeypatch, certificate, security: str
) -> None:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client verifies the server against this certificate
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    tls = {"tls_context": server_ctx} if security == "starttls" else {"ssl_context": server_ctx}
    with smtp_server(credentials=Credentials(USER, PASSWORD), **tls) as server:
        cli = _setup(db_url, tmp_path, feed, server.port, security=security, user=True)
        outputs = [cli("fetch"), cli("send", "daily"), cli("run"), cli("send", "daily", "--dry-run")]
    [got] = server.received
    assert got.tls and got.login == USER
    assert [row[1] for row in _issues(engine)] == ["sent"]
    secret = PASSWORD.encode()
    store_files = [p for p in tmp_path.iterdir() if p.name.startswith("store.db")]
    assert store_files and not [p for p in store_files if secret in p.read_bytes()]
    written = [p for p in (tmp_path / "issues").rglob("*") if p.is_file()]
    assert written and not [p for p in written if secret in p.read_bytes()]
    assert not [o for o in outputs if PASSWORD in o.stdout or PASSWORD in o.stderr]


def test_a_send_started_while_another_is_mailing_never_mails_an_issue_twice(
    db_url, engine, tmp_path, feed, clock
) -> None:
    """Two pending issues (the server refused them on Monday and Tuesday). While `digest send` is handing the
    first to the server, a second `digest send` starts in another process (cron's `run` and a person's `send`
    overlapping): every issue must still reach the server exactly once."""
    second: list[tuple[int | None, bytes]] = []

    with smtp_server(Mailbox(fail_data=[451, 451, 451])) as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        cli("run", ok=False)
        feed.items.append(("gamma", "Gamma post", MONDAY + timedelta(hours=20)))
        clock.move_to(MONDAY + timedelta(days=1))
        cli("run", ok=False)
        assert [row[1] for row in _issues(engine)] == ["pending", "pending"] and server.received == []

        async def another_send() -> None:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "digest",
                "--db",
                db_url,
                "--config",
                str(cli.config),
                "send",
                "daily",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ},
            )
            _, err = await proc.communicate()
            second.append((proc.returncode, err))

        server.mailbox.during_data = another_send
        cli("send", "daily")
    ids = [r.message["Message-ID"] for r in server.received]
    assert sorted(ids) == sorted(row[2] for row in _issues(engine)), (ids, second)
    assert [row[1] for row in _issues(engine)] == ["sent", "sent"]
    [(code, err)] = second  # the overlapping send was told to try later, like an overlapping run
    assert code == EX_TEMPFAIL and b"another digest run holds" in err and err.count(b"\n") == 1
