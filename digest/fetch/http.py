"""HTTP retrieval of one URL with validators, limits and redirects. Contains no business logic."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urljoin

if TYPE_CHECKING:
    import httpx

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

    def __init__(self, reason: str, *, status: int | None = None, retry_after: datetime | None = None,
                 url: str | None = None, moved_to: str | None = None) -> None:
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


def _status_reason(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _limit_text(limit: int) -> str:
    """The body limit as configured (max_body_mib may be fractional): "20 MiB", "0.01 MiB"."""
    mib = round(limit / (1024 * 1024), 2)
    return f"{mib:g} MiB" if mib else f"{limit} bytes"


class _Decoder:
    """gzip/deflate decoding with a cap on the *decoded* size.

    httpx decodes each network chunk in full, so a 64 KiB chunk of a gzip bomb becomes ~64 MiB before
    any limit can look at it; decompressing with max_length keeps memory bounded by the cap.
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


def make_client(*, user_agent: str, limits: Limits, max_connections: int = 20) -> httpx.Client:
    import httpx

    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate",
                 "Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, "
                           "application/feed+json, application/json;q=0.8, text/html;q=0.7, */*;q=0.5"},
        timeout=httpx.Timeout(limits.timeout_total, connect=limits.timeout_connect),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        trust_env=False,
    )


def _read_body(response: httpx.Response, limits: Limits, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and not response.headers.get("content-encoding") and int(declared) > limits.max_body_bytes:
        raise FetchError(f"body larger than the {_limit_text(limits.max_body_bytes)} limit "
                         f"(Content-Length {int(declared)})", status=response.status_code)
    decoder = _Decoder(response.headers.get("content-encoding", ""), limits.max_body_bytes)
    parts: list[bytes] = []
    # Chunks as they arrive: a fixed chunk_size buffers up to 64 KiB first, so a server trickling a few
    # bytes at a time would never reach the deadline check below.
    chunks: Iterator[bytes] = response.iter_raw()
    for chunk in chunks:
        parts.append(decoder.feed(chunk))
        if time.monotonic() > deadline:
            raise FetchError(f"timed out after {limits.timeout_total:g}s reading the body")
    parts.append(decoder.flush())
    return b"".join(parts)


def _describe(exc: Exception, limits: Limits) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting after {limits.timeout_connect:g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {limits.timeout_total:g}s"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc) or "connection failed"
        if "refused" in text.lower():
            return "connection refused"
        if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
            return "host not found"
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke the HTTP protocol: {exc}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"unsupported URL: {exc}"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {exc}"
    return f"{exc.__class__.__name__}: {exc}"


def fetch_url(client: httpx.Client, url: str, *, etag: str | None = None, last_modified: str | None = None,
              limits: Limits = Limits(), now: datetime | None = None) -> Fetched:
    """GET `url` conditionally, following redirects ourselves to learn which moves were permanent."""
    import httpx

    started = time.monotonic()
    deadline = started + limits.timeout_total
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    moved_to: str | None = None
    all_permanent = True
    hops: list[tuple[int, str]] = []
    try:
        while True:
            with client.stream("GET", current, headers=headers) as response:
                status = response.status_code
                if status in REDIRECTS and "location" in response.headers:
                    if len(hops) >= limits.max_redirects:
                        raise FetchError(f"more than {limits.max_redirects} redirects", status=status,
                                         url=current)
                    target = urljoin(current, response.headers["location"].strip())
                    hops.append((status, target))
                    all_permanent = all_permanent and status in PERMANENT_REDIRECTS
                    if all_permanent:
                        moved_to = target
                    current = target
                    continue
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if status == 304:
                    body = b""
                elif 200 <= status < 300:
                    body = _read_body(response, limits, deadline)
                else:
                    retry_after = parse_retry_after(response.headers.get("retry-after"), now or datetime.now(UTC))
                    raise FetchError(_status_reason(status), status=status, retry_after=retry_after, url=current,
                                     moved_to=moved_to)
                return Fetched(url=current, status=status, body=body, headers=resp_headers, moved_to=moved_to)
    except FetchError as exc:
        if exc.moved_to is None:
            exc.moved_to = moved_to
        raise
    except httpx.HTTPError as exc:
        raise FetchError(_describe(exc, limits), url=current, moved_to=moved_to) from None
