"""What every metadata API is owed, in one place: requests spaced, one wait on a refusal, failures as values.

Each resolver (arXiv, OpenReview, Semantic Scholar, Crossref, title search) holds one `PoliteApi` per API it
talks to. The rules are the arXiv enricher's, which its tests pin down:

- one request at a time, each starting at least `spacing` seconds after the previous one started (clock and
  sleep are injected, so tests check the spacing without waiting for it);
- a 429 or 503 is waited out once, as Retry-After says (never less than `spacing`, no header: `spacing`); a
  second refusal in a row, or a wait longer than `max_retry_wait`, makes the API unavailable for this run;
- a connection error or timeout is `EnrichUnavailable`: the run stops quietly and marks nothing, so the ids of
  the failed lookup are asked again next run while the batches already answered stay recorded.

What else counts as failure (which status, which body) is the caller's: an HTTP 400 is an error feed to arXiv
but "no such note" may be a 404 elsewhere. `read_json` and `failure` turn the usual cases into one line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digest.enrich import EnrichUnavailable

if TYPE_CHECKING:
    import httpx

REFUSALS = (429, 503)


class PoliteApi:
    """One API, asked politely: spacing, Retry-After and transport failures; the response is the caller's."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        label: str,
        spacing: float,
        max_retry_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.label = label  # "arXiv API": the start of every message a user may read
        self.spacing = spacing
        self.max_retry_wait = max_retry_wait
        self.clock = clock
        self.sleep = sleep
        self._last: float | None = None

    def wait_turn(self) -> None:
        """Sleep what is left of `spacing` since the previous request started, then take the turn."""
        if self._last is not None:
            remaining = self._last + self.spacing - self.clock()
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The API's answer to one request (`body`, if any, sent as JSON), after at most one refusal waited out.
        Any status but a refusal is returned as it came: the caller knows what a 404 means to its API."""
        import httpx

        from digest.fetch.http import parse_retry_after

        retried = False
        while True:
            self.wait_turn()
            try:
                response = self.client.request(method, url, params=params, json=body, headers=headers)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise EnrichUnavailable(f"{self.label} unreachable: {exc.__class__.__name__}: {exc}") from None
            if response.status_code in REFUSALS:
                now = datetime.now(UTC)  # one instant: "Retry-After: 7" must wait 7 s, not 7 s less the parse time
                when = parse_retry_after(response.headers.get("retry-after"), now)
                wait = max(self.spacing, (when - now).total_seconds()) if when else self.spacing
                if retried or wait > self.max_retry_wait:
                    raise EnrichUnavailable(f"{self.label} busy (HTTP {response.status_code}, retry after {wait:.0f}s)")
                self.sleep(wait)
                self._last = None  # the wait just served was longer than the spacing
                retried = True
                continue
            return response


def failure(label: str, response: httpx.Response) -> EnrichUnavailable:
    """The error for an answer that is not one: `raise failure(...)`."""
    return EnrichUnavailable(f"{label} answered HTTP {response.status_code}")


def read_json(label: str, body: bytes) -> Any:
    """The JSON document of a body; anything else (an HTML maintenance page, a cut-off body) is unavailability:
    "found nothing" must never be read from an answer that is no answer."""
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both
        raise EnrichUnavailable(f"{label} answered with unreadable JSON: {exc}") from None


def json_error(body: bytes) -> bool:
    """Whether a body is a JSON object naming an error (`{"error": ...}`, `{"name": "NotFoundError", ...}`), as
    APIs answer an id they do not know; a proxy's or a wrong URL's HTML 404 is not one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and any(key in doc for key in ("error", "message", "name"))
