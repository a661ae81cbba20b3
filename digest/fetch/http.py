"""HTTP retrieval of one URL with validators, limits and redirects. Contains no business logic."""

from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from digest.fetch.proxy import NO_PROXY, Proxy, ProxySettings, proxy_settings

PERMANENT_REDIRECTS = (301, 308)
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Limits:
    timeout_connect: float = 10.0
    timeout_total: float = 60.0
    max_body_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """What the server answered, after redirects. `status` 304 means the validators matched."""

    url: str  # the final URL, after any redirects
    status: int
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    moved_to: str | None = None  # set when every hop from the requested URL was permanent


class FetchError(Exception):
    """A failed retrieval: `reason` is one line for a user; `status` and `retry_after` feed scheduling."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retry_after: datetime | None = None,
        url: str | None = None,
        moved_to: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.url = url
        self.moved_to = moved_to


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After is either delta-seconds or an HTTP date; anything else is ignored."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # isdigit() alone accepts superscripts that int() rejects
        try:
            return datetime.fromtimestamp(now.timestamp() + int(value), UTC)
        except (OverflowError, ValueError, OSError):  # more seconds than a datetime holds: as late as can be
            return datetime.max.replace(tzinfo=UTC)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def status_reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _limit_text(limit: int) -> str:
    """The body limit as configured (max_body_mib may be fractional): "20 MiB", "0.01 MiB"."""
    mib = round(limit / (1024 * 1024), 2)
    return f"{mib:g} MiB" if mib else f"{limit} bytes"


class Decoder:
    """gzip/deflate decoding with a cap on the *decoded* size.

    Decoding a network chunk in full would turn a 64 KiB chunk of a gzip bomb into ~64 MiB before any
    limit could look at it; decompressing with max_length keeps memory bounded by the cap.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        enc = encoding.strip().lower()
        self._deflate = enc == "deflate"
        self._z: zlib._Decompress | None = None
        if enc in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif enc not in ("", "identity", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")

    def _take(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise FetchError(f"body larger than the {_limit_text(self.limit)} limit")
        return data

    def feed(self, chunk: bytes) -> bytes:
        if self._deflate and self._z is None:
            # "deflate" is zlib-wrapped by the spec but raw DEFLATE in practice often enough.
            is_zlib = len(chunk) >= 2 and (chunk[0] & 0x0F) == 8 and ((chunk[0] << 8) | chunk[1]) % 31 == 0
            self._z = zlib.decompressobj(zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS)
        if self._z is None:
            return self._take(chunk)
        out = []
        data = chunk
        try:
            while data:
                part = self._z.decompress(data, self.limit - self.size + 1)
                out.append(self._take(part))
                data = self._z.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}") from None
        return b"".join(out)

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        return self._take(self._z.flush())


class DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read allowed only what is left of one deadline (a `time.monotonic()` value).

    A socket timeout fires on silence only: a server that sends one byte a second holds a plain reader forever
    (issue 15: headers dripped so held a fetch 300 s with `timeout_total = 20`). Setting the socket's timeout to
    what is left of the deadline before each read bounds the whole exchange, status line, headers, chunk-size
    lines and body alike. The cost is one `settimeout` per read, not per byte: a read takes whatever has
    arrived, up to a buffer (8 KiB for headers, 64 KiB of body), so a 304 is one read. Used by the HTTP
    responses below and by SMTP (deliver/smtp.py)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        # The socket's own raw reader holds a reference on it: a connection closed while its response is read
        # (http.client hands a "Connection: close" socket to the response so) stays open until this closes.
        self._raw = sock.makefile("rb", buffering=0)
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int | None:  # type: ignore[override]
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def deadline_reader(sock: socket.socket, deadline: float) -> io.BufferedReader:
    """A buffered reader of `sock` whose every read ends by `deadline` (see DeadlineReader)."""
    return io.BufferedReader(DeadlineReader(sock, deadline))


class _DeadlineSocket:
    """What a response is made from: http.client's response reads only from `sock.makefile("rb")`, and this one
    gives a deadline reader, so the deadline bounds the status line, the headers and every chunk-size line, which
    http.client reads with `readline` where no check of ours could run."""

    __slots__ = ("_deadline", "_sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return deadline_reader(self._sock, self._deadline)


class _Deadlined:
    """A connection whose responses read within `deadline`, set before each request (open_exchange)."""

    deadline: float = float("inf")

    def response_class(self, sock: socket.socket, *args: Any, **kwargs: Any) -> http.client.HTTPResponse:
        # http.client makes each response with self.response_class(self.sock, method=...): a method serves.
        return http.client.HTTPResponse(_DeadlineSocket(sock, self.deadline), *args, **kwargs)  # type: ignore[arg-type]


class _Connection(_Deadlined, http.client.HTTPConnection):  # type: ignore[misc]
    pass


class _TLSConnection(_Deadlined, http.client.HTTPSConnection):  # type: ignore[misc]
    pass


class Client:
    """Keep-alive HTTP/1.1 connections per host, shared by the fetch threads; http.client underneath.

    Why not httpx here: a conditional GET costs about three times the CPU through httpx's client, and a run in
    which every feed answers 304 is mostly that (docs/architecture.md has the measurement). Everything above a
    socket's request and response (redirects, validators, decoding, size and time limits) is this module's either
    way. TLS is verified against certifi's bundle, or the CA files the environment names (tls_context); proxies
    are the environment's (fetch/proxy.py): http URLs are sent to the proxy in absolute form, https URLs
    tunnelled with CONNECT.
    """

    def __init__(
        self, *, headers: Mapping[str, str], limits: Limits, max_connections: int, proxies: ProxySettings = NO_PROXY
    ) -> None:
        self.headers = dict(headers)
        self.limits = limits
        self.proxies = proxies
        self._max_idle = max_connections
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def checkout(
        self, scheme: str, host: str, port: int, proxy: Proxy | None = None
    ) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection to (scheme, host, port) and True, or a new, unconnected one and False; through
        `proxy` (ProxySettings.for_url of the same three) when one is given."""
        with self._lock:
            idle = self._idle.get((scheme, host, port))
            if idle:
                return idle.pop(), True
        timeout = self.limits.timeout_connect
        if scheme == "https":
            if proxy is None:
                return _TLSConnection(host, port, timeout=timeout, context=self._tls_context()), False
            tunnelled = _TLSConnection(proxy.host, proxy.port, timeout=timeout, context=self._tls_context())
            auth = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
            tunnelled.set_tunnel(host, port, headers=auth)
            return tunnelled, False
        if proxy is None:
            return _Connection(host, port, timeout=timeout), False
        return _Connection(proxy.host, proxy.port, timeout=timeout), False

    def checkin(self, scheme: str, host: str, port: int, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault((scheme, host, port), [])
            if len(idle) < self._max_idle:
                idle.append(conn)
                return
        conn.close()

    def drop_idle(self, scheme: str, host: str, port: int) -> None:
        """Close the connections kept for (scheme, host, port)."""
        with self._lock:
            idle = self._idle.pop((scheme, host, port), [])
        for conn in idle:
            conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                self._tls = tls_context()
            return self._tls


def tls_context() -> ssl.SSLContext:
    """Certificates verified against certifi's bundle, or against `SSL_CERT_FILE` / `SSL_CERT_DIR` when the
    environment sets them, as OpenSSL, curl and httpx read them: a proxy that inspects TLS signs with its own CA.

    Raises FetchError when a file named there cannot be read."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        named = f"SSL_CERT_FILE={cafile}" if cafile else f"SSL_CERT_DIR={capath}"
        raise FetchError(f"cannot read the certificates {named}: {getattr(exc, 'strerror', None) or exc}") from None


def make_client(
    *, user_agent: str, limits: Limits, max_connections: int = 20, proxies: ProxySettings | None = None
) -> Client:
    """A client with the project's headers; proxies from the environment unless `proxies` are given."""
    return Client(
        headers={
            "User-Agent": user_agent,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
            "application/feed+json, application/json;q=0.8, text/html;q=0.7, */*;q=0.5",
        },
        limits=limits,
        max_connections=max_connections,
        proxies=proxy_settings() if proxies is None else proxies,
    )


CUT_SHORT_CHUNKED = "body cut short: the chunked body ended before its last chunk"


def _read_body(response: http.client.HTTPResponse, headers: Mapping[str, str], limits: Limits) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and not headers.get("content-encoding") and int(declared) > limits.max_body_bytes:
        raise FetchError(
            f"body larger than the {_limit_text(limits.max_body_bytes)} limit (Content-Length {int(declared)})",
            status=response.status,
        )
    decoder = Decoder(headers.get("content-encoding", ""), limits.max_body_bytes)
    parts: list[bytes] = []
    try:
        # Chunks as they arrive (read1). The response reads through a DeadlineReader, so every read, chunk-size
        # lines included, ends by the deadline.
        while chunk := response.read1(65536):
            parts.append(decoder.feed(chunk))
    except TimeoutError:
        raise FetchError(
            f"timed out after {limits.timeout_total:g}s reading the body", status=response.status
        ) from None
    except http.client.IncompleteRead:  # http.client's word for a chunked body that stops before its "0" chunk
        raise FetchError(CUT_SHORT_CHUNKED, status=response.status) from None
    if response.length:
        # http.client counts a Content-Length body down and simply stops when the server closes early. What
        # was read is no feed: storing it would keep its validators, and the rest would never come (issue 15).
        raise FetchError(
            f"body cut short: the connection closed after {int(declared) - response.length} of "
            f"{declared} bytes (Content-Length)",
            status=response.status,
        )
    parts.append(decoder.flush())
    return b"".join(parts)


def _connect_failure(exc: OSError, limits: Limits, proxy: Proxy | None = None) -> str:
    if proxy is not None:
        text = str(exc)
        if text.startswith("Tunnel connection failed: "):  # http.client's words for a CONNECT refused
            return f"the proxy {proxy.shown} ({proxy.variable}) refused the tunnel: {text.split(': ', 1)[1]}"
        if not isinstance(exc, ssl.SSLError):  # TLS is with the site itself, through the tunnel
            return f"cannot reach the proxy {proxy.shown} ({proxy.variable}): {_connect_failure(exc, limits)}"
    if isinstance(exc, TimeoutError):
        return f"timed out connecting after {limits.timeout_connect:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        unknown = exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
        return "host not found" if unknown else f"cannot connect: {exc.strerror or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"cannot connect: TLS: {exc.reason or exc}"
    return f"cannot connect: {exc.strerror or exc}"


def exchange_failure(exc: Exception, limits: Limits) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {limits.timeout_total:g}s"
    if isinstance(exc, http.client.IncompleteRead):
        return "body cut short: the connection closed before the end of the body"
    if isinstance(exc, http.client.HTTPException):
        # What the server sent may be anything (another protocol's greeting, binary): one short line of it.
        detail = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        if isinstance(exc, http.client.BadStatusLine):
            detail = f"bad status line {detail!r}"
        return f"server broke the HTTP protocol: {detail}"
    return f"connection lost: {getattr(exc, 'strerror', None) or exc}"


_URL_SAFE = "!$%&'()*+,/:;=?@[]~"  # reserved characters and "%": a URL's structure and its escapes


def _header_value(value: str | None) -> str | None:
    """A validator fit to send back: one line of Latin-1, as HTTP allows. A server can hand us anything in
    an ETag (a folded line, an emoji); such a value is not sent and the request is simply unconditional."""
    if not value or "\r" in value or "\n" in value or "\0" in value:
        return None
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return value


# A kept-alive connection the server has since closed fails on first use in one of these ways; a GET on a
# reused connection that fails so is sent once more on a new one.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def open_exchange(
    client: Client, url: str, headers: Mapping[str, str], limits: Limits, deadline: float
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse, tuple[str, str, int]]:
    """Send a GET for `url` and read the status line and headers."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"invalid URL: {exc}", url=url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL: {url!r} (only http and https)", url=url)
    if not parts.hostname:
        raise FetchError(f"invalid URL: {url!r} has no host", url=url)
    key = (scheme, parts.hostname, port or (443 if scheme == "https" else 80))
    # The request line is ASCII: a path or query written with other characters (or spaces) is sent
    # percent-encoded as UTF-8, as browsers do; escapes already there are kept.
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE)
    proxy = client.proxies.for_url(*key)
    if proxy is not None:
        if proxy.problem:
            raise FetchError(proxy.problem, url=url)
        if scheme == "http":  # a proxy is sent the whole URL; https goes through a tunnel and is sent the path
            target = f"http://{parts.netloc.rpartition('@')[2]}{target}"
            if proxy.authorization:
                headers = {**headers, "Proxy-Authorization": proxy.authorization}
    for attempt in (1, 2):
        left = deadline - time.monotonic()
        if left <= 0:  # the redirects before this hop took the time
            raise FetchError(f"timed out after {limits.timeout_total:g}s", url=url)
        conn, reused = client.checkout(*key, proxy)
        if isinstance(conn, _Deadlined):
            conn.deadline = deadline
        if conn.sock is None:
            # Connecting and the TLS handshake (whose socket timeout is a total in CPython) end by the deadline too.
            conn.timeout = min(limits.timeout_connect, left)
            try:
                conn.connect()
            except (OSError, ValueError) as exc:  # ValueError: a host name IDNA cannot encode
                conn.close()
                if isinstance(exc, TimeoutError) and conn.timeout < limits.timeout_connect:
                    raise FetchError(f"timed out after {limits.timeout_total:g}s", url=url) from None
                if isinstance(exc, OSError):
                    raise FetchError(_connect_failure(exc, limits, proxy), url=url) from None
                raise FetchError(f"invalid URL: {exc}", url=url) from None
        assert conn.sock is not None
        conn.sock.settimeout(max(0.001, min(limits.timeout_total, deadline - time.monotonic())))  # the request
        try:
            conn.request("GET", target, headers={**client.headers, **headers})
            return conn, conn.getresponse(), key
        except ValueError as exc:  # http.client refuses a header it cannot send (the configured user agent)
            conn.close()
            raise FetchError(f"invalid request: {exc}", url=url) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if reused and attempt == 1 and isinstance(exc, _STALE):
                # The server closed its idle connections (a keep-alive timeout closes them all at once): the
                # others kept for this host are as dead, so the retry goes out on a new one.
                client.drop_idle(*key)
                continue
            raise FetchError(exchange_failure(exc, limits), url=url) from None
    raise AssertionError("unreachable")


def headers_of(response: http.client.HTTPResponse) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined with ", " (RFC 9110 5.3)."""
    out: dict[str, str] = {}
    for name, value in response.getheaders():
        name = name.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def finish_exchange(
    client: Client,
    key: tuple[str, str, int],
    conn: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    reusable: bool,
) -> None:
    """Keep the connection for the next request if its response was read to the end, else close it."""
    if reusable:
        response.read(0)  # http.client marks a body read to its Content-Length done only on a further read
    if reusable and response.isclosed() and not response.will_close:
        client.checkin(*key, conn)
    else:
        conn.close()


# A redirect's body (a few hundred bytes of "moved here") is read so the connection can be kept.
_SMALL_BODY = 64 * 1024


def fetch_url(
    client: Client,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: Limits = Limits(),
    now: datetime | None = None,
) -> Fetched:
    """GET `url` conditionally, following redirects ourselves to learn which moves were permanent."""
    started = time.monotonic()
    deadline = started + limits.timeout_total
    headers: dict[str, str] = {}
    if etag := _header_value(etag):
        headers["If-None-Match"] = etag
    if last_modified := _header_value(last_modified):
        headers["If-Modified-Since"] = last_modified
    current = url
    moved_to: str | None = None
    all_permanent = True
    hops: list[tuple[int, str]] = []
    try:
        while True:
            conn, response, key = open_exchange(client, current, headers, limits, deadline)
            reusable = False
            try:
                status = response.status
                resp_headers = headers_of(response)
                if status in REDIRECTS and "location" in resp_headers:
                    reusable = len(response.read(_SMALL_BODY + 1)) <= _SMALL_BODY
                    if len(hops) >= limits.max_redirects:
                        raise FetchError(f"more than {limits.max_redirects} redirects", status=status, url=current)
                    target = urljoin(current, resp_headers["location"].strip())
                    hops.append((status, target))
                    all_permanent = all_permanent and status in PERMANENT_REDIRECTS
                    if all_permanent:
                        moved_to = target
                    current = target
                    continue
                if status == 304:
                    body = b""
                    reusable = response.read(_SMALL_BODY + 1) == b""
                elif 200 <= status < 300:
                    body = _read_body(response, resp_headers, limits)
                    reusable = True
                else:
                    retry_after = parse_retry_after(resp_headers.get("retry-after"), now or datetime.now(UTC))
                    raise FetchError(
                        status_reason(status), status=status, retry_after=retry_after, url=current, moved_to=moved_to
                    )
                return Fetched(url=current, status=status, body=body, headers=resp_headers, moved_to=moved_to)
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(exchange_failure(exc, limits), url=current) from None
            finally:
                finish_exchange(client, key, conn, response, reusable)
    except FetchError as exc:
        if exc.moved_to is None:
            exc.moved_to = moved_to
        raise
