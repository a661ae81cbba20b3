"""Proxies (issue 14): feeds, landing pages and metadata APIs go through the proxy the environment names.

A real forwarding proxy on 127.0.0.1 (tests/proxyserver.py) stands between the client and real loopback servers:
http URLs reach it in absolute form, https URLs through a CONNECT tunnel whose TLS is verified against the CA file
`SSL_CERT_FILE` names, as behind a corporate proxy that inspects traffic.
"""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from digest.fetch.proxy import NO_PROXY, bypassed, parse_proxy, proxy_settings
from tests.conftest import Cli, serve_tls, store_rows
from tests.proxyserver import serve_proxy
from tests.test_enrich import FakeArxivApi, blog, serve, write_config

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title><link>https://blog.example/</link>'
    b"<item><title>Through the proxy</title><guid>p1</guid><link>https://blog.example/p1</link></item>"
    b"</channel></rss>"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- what the environment says ---------------------------------------------------------------------------------


def test_each_scheme_has_its_proxy_lower_case_first_and_all_proxy_as_the_fallback() -> None:
    settings = proxy_settings(
        {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:2", "ALL_PROXY": "proxy.corp:3128"}
    )
    assert settings.http is not None and (settings.http.host, settings.http.port) == ("lower", 2)
    assert settings.https is not None and (settings.https.host, settings.https.port, settings.https.variable) == (
        "proxy.corp",
        3128,
        "ALL_PROXY",
    )
    assert proxy_settings({}) == NO_PROXY
    assert proxy_settings({"NO_PROXY": "*"}) == NO_PROXY


def test_a_capital_http_proxy_is_ignored_under_cgi_where_a_request_header_could_set_it() -> None:
    assert proxy_settings({"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"}).http is None
    assert proxy_settings({"http_proxy": "http://mine:1", "REQUEST_METHOD": "GET"}).http is not None


def test_credentials_become_basic_authorization_and_never_appear_in_messages() -> None:
    proxy = parse_proxy("HTTPS_PROXY", "http://ann%40lab:p%3Ass@proxy.corp:8080")
    assert proxy.authorization == "Basic YW5uQGxhYjpwOnNz"  # base64 of "ann@lab:p:ss"
    assert proxy.shown == "http://proxy.corp:8080" and proxy.problem is None


@pytest.mark.parametrize("value", ["socks5://proxy.corp:1080", "https://proxy.corp:443"])
def test_a_proxy_other_than_http_is_a_problem_named_with_its_variable(value: str) -> None:
    problem = parse_proxy("HTTPS_PROXY", value).problem
    assert problem is not None and problem.startswith("the proxy in HTTPS_PROXY (") and "only http://" in problem


@pytest.mark.parametrize(
    ("host", "port", "entries", "direct"),
    [
        ("example.com", 443, ("example.com",), True),
        ("blog.example.com", 443, ("example.com",), True),
        ("blog.example.com", 443, (".example.com",), True),
        ("notexample.com", 443, ("example.com",), False),
        ("example.com", 443, ("example.com:8080",), False),
        ("example.com", 8080, ("example.com:8080",), True),
        ("10.1.2.3", 80, ("10.0.0.0/8",), True),
        ("11.1.2.3", 80, ("10.0.0.0/8",), False),
        ("127.0.0.1", 80, ("127.0.0.1",), True),
        ("::1", 80, ("::1",), True),
        ("::1", 80, ("[::1]:80",), True),
        ("anything.org", 80, ("*",), True),
        ("EXAMPLE.com.", 80, ("Example.COM",), True),
    ],
)
def test_no_proxy_entries(host: str, port: int, entries: tuple[str, ...], direct: bool) -> None:
    assert bypassed(host, port, tuple(e.lower() for e in entries)) is direct


# --- feeds ---------------------------------------------------------------------------------------------------


def test_an_http_feed_is_fetched_through_http_proxy_in_absolute_form(
    httpserver: HTTPServer, cli: Cli, engine, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    url = httpserver.url_for("/feed.xml")
    cli("sources", "add", url, "--name", "blog", "--as-is")
    with serve_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        assert "failed 0, new items 1" in cli("fetch", "--all").stdout
    assert log.requests == [("GET", url, None)]
    assert store_rows(engine, "SELECT title FROM items") == [("Through the proxy",)]


def test_no_proxy_sends_a_host_direct(httpserver: HTTPServer, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    cli("sources", "add", httpserver.url_for("/feed.xml"), "--name", "blog", "--as-is")
    with serve_proxy() as (proxy, log):
        monkeypatch.setenv("http_proxy", proxy)
        monkeypatch.setenv("no_proxy", "localhost, 127.0.0.0/8")
        assert "failed 0, new items 1" in cli("fetch", "--all").stdout
    assert log.requests == []


class _Feed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args: object) -> None:
        pass


def test_an_https_feed_goes_through_a_connect_tunnel_verified_against_ssl_cert_file(
    cli: Cli, engine, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    with serve_tls(_Feed, certificate) as base, serve_proxy(credentials="ann:s3cret") as (proxy, log):
        cli("sources", "add", f"{base}/feed.xml", "--name", "blog", "--as-is")
        monkeypatch.setenv("HTTPS_PROXY", proxy.replace("http://", "http://ann:s3cret@"))
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the proxy's (here: the site's) CA
        result = cli("fetch", "--all")
    assert "failed 0, new items 1" in result.stdout
    host_port = base.removeprefix("https://")
    assert log.requests == [("CONNECT", host_port, "Basic YW5uOnMzY3JldA==")]
    assert store_rows(engine, "SELECT title FROM items") == [("Through the proxy",)]


def test_a_proxy_that_refuses_the_tunnel_or_is_down_fails_each_source_with_one_line_without_the_password(
    cli: Cli, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_tls(_Feed, certificate) as base, serve_proxy(credentials="ann:right") as (proxy, _):
        cli("sources", "add", f"{base}/feed.xml", "--name", "blog", "--as-is")
        monkeypatch.setenv("HTTPS_PROXY", proxy.replace("http://", "http://ann:wrong@"))
        refused = cli("fetch", "--all", ok=False)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"digest: blog ({base}/feed.xml): the proxy {proxy} (HTTPS_PROXY) refused the tunnel: 407 Proxy "
        "Authentication Required"
    ]
    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HTTPS_PROXY", down.replace("http://", "http://ann:wrong@"))
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    failed = cli("fetch", "--all", ok=False)
    assert f"cannot reach the proxy {down} (HTTPS_PROXY): connection refused" in failed.stderr
    assert "wrong" not in refused.stderr + failed.stderr + refused.stdout + failed.stdout


def test_a_socks_proxy_fails_the_source_instead_of_going_direct(
    httpserver: HTTPServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(FEED, content_type="application/rss+xml")
    cli("sources", "add", httpserver.url_for("/feed.xml"), "--name", "blog", "--as-is")
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    result = cli("fetch", "--all", ok=False)
    assert (
        f"blog (http://127.0.0.1:{httpserver.port}/feed.xml): the proxy in ALL_PROXY (socks5://127.0.0.1:1080) "
        "is not usable: only http:// proxies are supported"
    ) in result.stderr
    assert list(httpserver.log) == []


# --- discovery and metadata APIs take the same way -----------------------------------------------------------------


def test_sources_add_discovers_through_the_proxy(
    httpserver: HTTPServer, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/").respond_with_data(
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head></html>',
        content_type="text/html",
    )
    with serve_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        out = cli("sources", "add", httpserver.url_for("/"), "--name", "blog").stdout
    assert out.startswith(f"added blog: {httpserver.url_for('/feed.xml')}")
    assert log.targets == [httpserver.url_for("/")]


def _fetched_with_arxiv_api(tmp_path: Path, db_url: str, httpserver: HTTPServer) -> tuple[Cli, FakeArxivApi]:
    """A store holding one blog post that links an arXiv paper, and a CLI whose arXiv API is a loopback fake."""
    api = FakeArxivApi(httpserver)
    config = f'[enrich]\nafter_fetch = false\narxiv_api = "{api.url}"\nspacing = 0\nresolvers = ["arxiv"]\n'
    cli = Cli(db_url, write_config(tmp_path, config))
    post = blog(("https://arxiv.org/abs/2202.12139", "the paper"))
    cli("sources", "add", serve(httpserver, "/blog.xml", post), "--as-is")
    cli("fetch", "--all")
    return cli, api


def test_the_metadata_apis_go_through_the_proxy_too(
    tmp_path: Path, db_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, api = _fetched_with_arxiv_api(tmp_path, db_url, httpserver)
    with serve_proxy() as (proxy, log):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        assert cli("enrich").stdout.strip() == "enriched 1 of 1 papers looked up"
    assert api.asked == [["arxiv:2202.12139"]]
    assert [t.split("?", 1)[0] for t in log.targets] == [api.url]


def test_a_metadata_api_behind_an_unusable_proxy_is_reported_not_reached_directly(
    tmp_path: Path, db_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, api = _fetched_with_arxiv_api(tmp_path, db_url, httpserver)
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    out = cli("enrich").stdout
    assert "the proxy in HTTP_PROXY (socks5://127.0.0.1:1080) is not usable" in out
    assert api.asked == []
