"""The CLI in the shell (issue 14): help a person can read, completion, -v/-q, log lines cron can date, JSON
summaries for scripts, `send --dry-run` before any recipient, and the documented exit statuses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import STAMP, Cli, store_rows
from tests.mailserver import smtp_server
from tests.test_delivery import Feed, _setup, write_config

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Small</title>
<id>urn:small</id><updated>2026-11-20T00:00:00Z</updated>
<entry><id>urn:a</id><title>A post</title><link href="https://small.example/a"/><updated>2026-11-20T00:00:00Z</updated>
<content type="html">&lt;p&gt;See &lt;a href="https://arxiv.org/abs/2401.00001"&gt;a paper&lt;/a&gt;.&lt;/p&gt;
</content></entry>
</feed>"""


def _help(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout


def test_help_has_no_type_noise_and_keeps_brackets() -> None:
    for args in ((), ("fetch",), ("sources", "add"), ("compose",), ("db", "rescan"), ("db", "copy"), ("worker",)):
        text = _help(*args)
        assert not re.search(r"<(bool|str|int|float|list\[str\]|file|path)>", text), (args, text)
        assert "{" not in text.split("\n", 1)[0], text  # usage: NAME, [NAME]
    assert "[[papers.rules]]" in _help("db", "rescan")  # not eaten as markup
    assert "-s, --source SOURCE" in _help("fetch")
    assert "Usage: digest sources add [OPTIONS] URL" in _help("sources", "add")
    assert "-v, --verbose" in _help() and "-q, --quiet" in _help()


def test_shell_completion_is_offered() -> None:
    text = _help()
    assert "--install-completion" in text and "--show-completion" in text
    env = {**os.environ, "_DIGEST_COMPLETE": "complete_bash", "COMP_WORDS": "digest sou", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "digest"], capture_output=True, text=True, env=env, timeout=60)
    assert "sources" in done.stdout


def test_log_lines_are_stamped_when_stderr_is_not_a_terminal_and_data_never_is(
    cli: Cli, httpserver, serve_feed
) -> None:
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    cli("sources", "add", httpserver.url_for("/broken"), "--name", "broken")
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    result = cli("fetch", ok=False)
    lines = result.stderr_raw.splitlines()
    assert lines and all(STAMP.match(line) for line in lines), result.stderr_raw
    assert not STAMP.search(result.stdout) and result.stdout.startswith("fetched 1,")
    as_json = cli("status", "--json")
    json.loads(as_json.stdout)  # stdout is data, unprefixed


def test_quiet_says_only_errors_and_verbose_says_each_source(cli: Cli, httpserver, serve_feed) -> None:
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    cli("sources", "add", httpserver.url_for("/broken"), "--name", "broken")
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    verbose = cli("-v", "fetch", "--all", ok=False)
    assert "small: ok, 1 new, 0 updated" in verbose.stderr and "broken" in verbose.stderr
    quiet = cli("-q", "fetch", "--all", ok=False)
    assert quiet.stderr.splitlines() == [
        f"digest: broken ({httpserver.url_for('/broken')}): HTTP 500 Internal Server Error"
    ]
    assert quiet.stdout.startswith("fetched 0, not modified 0, failed 1") or quiet.stdout.startswith("fetched 1")


def test_fetch_json_is_a_summary_scripts_can_read(cli: Cli, httpserver, serve_feed) -> None:
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    cli("sources", "add", httpserver.url_for("/broken"), "--name", "broken")
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    result = cli("fetch", "--json", ok=False)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert (doc["fetched"], doc["failed"], doc["new_items"]) == (1, 1, 1)
    by_name = {s["name"]: s for s in doc["sources"]}
    assert by_name["small"]["outcome"] == "ok" and by_name["small"]["new_items"] == 1
    assert by_name["broken"]["outcome"] == "error" and "HTTP 500" in by_name["broken"]["error"]


def test_run_and_send_json_and_their_exit_statuses(db_url, engine, tmp_path, httpserver) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    feed = Feed(httpserver, [("alpha", "Alpha post", now - timedelta(hours=5))])
    with smtp_server() as server:
        cli = _setup(db_url, tmp_path, feed, server.port)
        config = cli.config
        assert config is not None
        config.write_text(config.read_text().replace('schedule = "daily 06:00"', 'schedule = "hourly"'))
        first = cli("run", "--json")
        doc = json.loads(first.stdout)
        assert doc["fetch"]["fetched"] == 1 and doc["fetch"]["failed"] == 0
        [issue] = doc["composed"]
        assert issue["digest"] == "daily" and issue["posts"] == 1 and issue["status"] == "pending"
        assert [d["outcome"] for d in doc["deliveries"]] == ["sent"] and len(server.received) == 1
        feed.items.append(("beta", "Beta post", now - timedelta(minutes=5)))
        cli("fetch", "--all")  # send mails what is stored; it fetches nothing
        sent = cli("send", "--json")
        doc = json.loads(sent.stdout)
        assert doc["composed"]["posts"] == 1 and [d["outcome"] for d in doc["deliveries"]] == ["sent"]
    # A delivery that fails: exit 1, said in the JSON.
    dead = write_config(tmp_path / "dead.toml", _free_port())
    failing = Cli(db_url, dead)
    feed.items.append(("gamma", "Gamma post", now - timedelta(minutes=1)))
    failing("fetch", "--all")
    result = failing("send", "--json", ok=False)
    assert result.exit_code == 1
    assert [d["outcome"] for d in json.loads(result.stdout)["deliveries"]] == ["failed"]
    assert store_rows(engine, "SELECT count(*) FROM digests WHERE status = 'pending'") == [(1,)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_send_dry_run_previews_before_any_recipient_and_agrees_with_send(db_url, engine, tmp_path, httpserver) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    feed = Feed(httpserver, [("alpha", "Alpha post", datetime.now(UTC) - timedelta(hours=2))])
    config = tmp_path / "digest.toml"
    config.write_text('[enrich]\nafter_fetch = false\n[[digests]]\nname = "daily"\ntitle = "Daily papers"\n')
    cli = Cli(db_url, config)
    cli("sources", "add", feed.url, "--name", "blog")
    cli("fetch")
    dry = cli("send", "--dry-run")
    assert dry.stdout.startswith("would send 'Daily papers: 0 papers, 1 post") and "a new issue" in dry.stdout
    assert "to nobody yet (add recipients" in dry.stdout
    assert store_rows(engine, "SELECT count(*) FROM digests") == [(0,)]
    refused = cli("send", ok=False)  # the real send needs recipients
    assert refused.exit_code == 1 and "no recipients configured" in refused.stderr
    # With an issue pending, send would retry it rather than compose: the preview says so.
    with smtp_server() as server:
        cfg = write_config(tmp_path / "mail.toml", _free_port())
        Cli(db_url, cfg)("send", ok=False)  # the server is down: the issue stays pending
        [(issue_id, subject)] = store_rows(engine, "SELECT id, subject FROM digests WHERE status = 'pending'")
        dry = Cli(db_url, write_config(tmp_path / "up.toml", server.port))("send", "--dry-run", "--json")
        doc = json.loads(dry.stdout)
        assert [(w["subject"], w["pending_issue"]) for w in doc["would_send"]] == [(subject, issue_id)]
        assert server.received == []


def test_send_dry_run_with_nothing_to_send_says_why(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "digest.toml"
    config.write_text('[enrich]\nafter_fetch = false\n[[digests]]\nname = "daily"\n')
    dry = Cli(db_url, config)("send", "--dry-run")
    assert dry.stdout.strip() == (
        "nothing to send for daily: no issue is waiting to be mailed and nothing new has arrived since the last one; "
        "it has no recipients yet either (add recipients = [...] to its [[digests]])"
    )


@pytest.mark.parametrize("doc", ["docs/cron.md"])
def test_the_exit_statuses_are_documented(doc: str) -> None:
    text = (Path(__file__).parent.parent / doc).read_text()
    for code in ("**0**", "**1**", "**2**", "**75**"):
        assert code in text
    assert "metadata" in text  # an unreachable metadata API is not a failure


def test_status_shows_a_quiet_problem_as_a_warning(cli: Cli, serve_feed) -> None:
    empty = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title><link>https://q.example/</link>'
        b"<description>d</description></channel></rss>"
    )
    cli("sources", "add", serve_feed("/empty.xml", empty), "--name", "quiet", "--as-is")
    cli("sources", "add", serve_feed("/small.atom", ATOM, "application/atom+xml"), "--name", "small")
    cli("fetch")
    rows = {r["name"]: r for r in json.loads(cli("status", "--json").stdout)}
    assert rows["quiet"]["warning"] and "no items" in rows["quiet"]["warning"]
    assert rows["small"]["warning"] is None
    quiet_row = next(line for line in cli("status").stdout.splitlines() if "quiet" in line)
    assert "warning" in quiet_row
