"""One fetch run: retrieve due sources concurrently, decide what changed, write each source on its own."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from digest.fetch.hosts import host_of
from digest.fetch.http import Client, Fetched, FetchError, Limits, fetch_url, make_client
from digest.fetch.policy import next_fetch_after_failure, next_fetch_after_success
from digest.store.values import SourceForFetch, SourceUpdate, WriteResult
from digest.store.writes import WriteGroup

if TYPE_CHECKING:  # the parse and clean stages load when a body needs them: a run of 304s never does
    from concurrent.futures import ProcessPoolExecutor

    from digest.clean.items import Item
    from digest.config import FetchConfig
    from digest.domain.paper_ids import PaperRule
    from digest.fetch.discover import FeedBehind
    from digest.parse import ParsedFeed, ParseError
    from digest.parsing import Parsed
    from digest.store.api import Store

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FetchSettings:
    limits: Limits
    concurrency: int
    per_host: int
    user_agent: str
    default_interval: timedelta
    max_backoff: timedelta
    paper_rules: tuple[PaperRule, ...] = ()
    parse_processes: int | None = None  # None: one per core when there are enough sources; 0/1: never
    lease: timedelta = timedelta(minutes=15)  # how long a claim on a source lasts (a killed worker's runs out)

    @classmethod
    def from_config(cls, cfg: FetchConfig, paper_rules: Sequence[PaperRule] = ()) -> FetchSettings:
        return cls(
            limits=Limits(
                timeout_connect=cfg.timeout_connect,
                timeout_total=cfg.timeout_total,
                max_body_bytes=cfg.max_body_bytes,
                max_redirects=cfg.max_redirects,
            ),
            concurrency=cfg.concurrency,
            per_host=cfg.per_host,
            user_agent=cfg.user_agent,
            default_interval=timedelta(minutes=cfg.default_interval),
            max_backoff=timedelta(hours=cfg.max_backoff_hours),
            paper_rules=tuple(paper_rules),
            parse_processes=cfg.parse_processes,
            lease=timedelta(minutes=cfg.lease_minutes),
        )


@dataclass(frozen=True)
class Retrieved:
    """What a worker brings back for one source: the answer and its parsed, cleaned items, or the failure."""

    source: SourceForFetch
    started_at: datetime
    duration_ms: int
    fetched: Fetched | None = None
    feed: ParsedFeed | None = None
    items: Sequence[Item] = ()
    error: FetchError | ParseError | None = None
    found_feed: str | None = None  # how the feed behind a page the source's URL served was found


@dataclass
class SourceReport:
    name: str
    url: str
    outcome: str
    new_items: int = 0
    updated_items: int = 0
    error: str | None = None
    note: str | None = None


@dataclass
class RunSummary:
    reports: list[SourceReport] = field(default_factory=list)
    seconds: float = 0.0
    # Why the store refused service, when it did (WriteGroup.refused): the run stopped fetching; the sources
    # reported "not_stored" and those never fetched (`not_fetched`) stay due for the next run.
    refused: str | None = None
    not_fetched: int = 0
    elsewhere: int = 0  # due sources another worker claimed first (a store shared by workers)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.reports if r.outcome == outcome)

    @property
    def new_items(self) -> int:
        return sum(r.new_items for r in self.reports)

    @property
    def updated_items(self) -> int:
        return sum(r.updated_items for r in self.reports)

    @property
    def failed(self) -> int:
        return self.count("error") + self.count("gone") + self.count("not_stored")

    @property
    def not_stored(self) -> int:
        """Sources of this run the store does not hold: refused, or never fetched once it refused."""
        return self.count("not_stored") + self.not_fetched

    def line(self) -> str:
        refused = f", not stored {self.not_stored}" if self.refused else ""
        elsewhere = f", {self.elsewhere} taken by other workers" if self.elsewhere else ""
        return (
            f"fetched {self.count('ok')}, not modified {self.count('not_modified')}, failed {self.failed}, "
            f"new items {self.new_items}, updated {self.updated_items}{refused}{elsewhere} "
            f"({len(self.reports) + self.not_fetched} sources in {self.seconds:.2f}s)"
        )


def fetch_only(client: Client, source: SourceForFetch, limits: Limits, clock: Clock) -> Retrieved:
    """The HTTP half of a source's fetch. Never raises: every failure comes back as a value."""
    started = clock()
    t0 = time.monotonic()
    try:
        fetched = fetch_url(
            client, source.url, etag=source.etag, last_modified=source.last_modified, limits=limits, now=started
        )
        found = _feed_behind_page(client, source, fetched, limits)
    except FetchError as exc:
        return Retrieved(source=source, started_at=started, duration_ms=_ms_since(t0), error=exc)
    except Exception as exc:  # a bug must cost one source, not the run
        error = FetchError(f"internal error while fetching: {exc.__class__.__name__}: {exc}")
        return Retrieved(source=source, started_at=started, duration_ms=_ms_since(t0), error=error)
    if found is not None:
        fetched = found.fetched
    return Retrieved(
        source=source,
        started_at=started,
        duration_ms=_ms_since(t0),
        fetched=fetched,
        found_feed=found.note if found else None,
    )


def _feed_behind_page(client: Client, source: SourceForFetch, fetched: Fetched, limits: Limits) -> FeedBehind | None:
    """A plain feed source never fetched successfully whose URL answers with a web page (a home page stored while
    it could not be reached): the feed that page names, as `sources add` would have found it. A source that has
    worked is not moved so (a feed replaced by a maintenance page must not become the site's comments feed), and
    listings are pages by design."""
    if not source.never_ok or source.kind != "feed" or source.adapter is not None or fetched.status != 200:
        return None
    from digest.fetch.discover import feed_behind, sniff

    if sniff(fetched.body) != "page":
        return None
    return feed_behind(client, fetched, limits)


def _ms_since(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)


def _needs_parsing(r: Retrieved) -> bool:
    return r.error is None and r.fetched is not None and r.fetched.status != 304


def parsed(r: Retrieved, parse: Callable[..., Parsed], rules: Sequence[PaperRule] = ()) -> Retrieved:
    """`r` with what it fetched parsed and cleaned by `parse` (parse_and_clean, in this thread or a parser
    process), when it fetched a body."""
    if not _needs_parsing(r):
        return r
    assert r.fetched is not None
    t0 = time.monotonic()
    result = parse(
        r.fetched.body, r.fetched.url, r.fetched.headers.get("content-type"), r.source.kind, r.source.adapter, rules
    )
    return replace(
        r, feed=result.feed, items=result.items, error=result.error, duration_ms=r.duration_ms + _ms_since(t0)
    )


# Announcement feeds (arXiv) publish every weekday; this many moved build stamps over the same items is stale.
STALE_AFTER = 3


def staleness(
    source: SourceForFetch, feed: ParsedFeed | None, items: Sequence[Item]
) -> tuple[str | None, str | None, int] | None:
    """For arXiv announcement feeds: count builds that moved while the items did not. An empty feed (a weekend) is
    quiet. Only the arXiv reader sets `built`, whether the source names the adapter or the document was recognised
    by content (a mirror, a proxy's URL): an ordinary feed rebuilt on every request is never judged so."""
    if feed is None or not items or not feed.built:
        return None
    import hashlib

    fingerprint = hashlib.sha256("\n".join(sorted(i.guid for i in items)).encode()).hexdigest()
    if fingerprint != source.items_fingerprint:
        return feed.built, fingerprint, 0
    if feed.built != source.feed_built:
        return feed.built, fingerprint, source.stale_count + 1
    return feed.built, fingerprint, source.stale_count


def decide(r: Retrieved, *, now: datetime, max_backoff: timedelta) -> SourceUpdate:
    """Turn what happened into what to store. Pure."""
    src = r.source
    fetched = r.fetched
    status = fetched.status if fetched else (r.error.status if isinstance(r.error, FetchError) else None)
    # A move is only taken once the new address has answered with a feed: a 301 into a 404 or a loop
    # must not rewrite the source's URL.
    moved = fetched.moved_to if fetched and r.error is None else None
    common: dict[str, Any] = dict(
        source_id=src.id,
        started_at=r.started_at,
        duration_ms=r.duration_ms,
        http_status=status,
        bytes=len(fetched.body) if fetched else 0,
        new_url=moved,
        found_feed=r.found_feed if moved else None,
    )
    if r.error is None and fetched is not None:
        validators: dict[str, Any] = {
            "etag": fetched.headers.get("etag"),
            "last_modified": fetched.headers.get("last-modified"),
        }
        if fetched.status == 304:  # a 304 may omit validators; keep the ones that matched
            validators = {
                "etag": validators["etag"] or src.etag,
                "last_modified": validators["last_modified"] or src.last_modified,
            }
        feed = r.feed
        return SourceUpdate(
            **common,
            outcome="not_modified" if fetched.status == 304 else "ok",
            error=None,
            warning="; ".join(feed.warnings) if feed and feed.warnings else None,
            items=r.items,
            error_count=0,
            next_fetch_at=next_fetch_after_success(now, src.interval),
            title=feed.title if feed else None,
            site_url=feed.site_url if feed else None,
            **validators,
            staleness=staleness(src, feed, r.items),
        )
    assert r.error is not None
    errors = src.error_count + 1
    reason = r.error.reason if isinstance(r.error, FetchError) else str(r.error)
    retry_after = r.error.retry_after if isinstance(r.error, FetchError) else None
    gone = status == HTTPStatus.GONE
    return SourceUpdate(
        **common,
        outcome="gone" if gone else "error",
        error=reason,
        warning=None,
        items=(),
        error_count=errors,
        next_fetch_at=next_fetch_after_failure(now, src.interval, errors, max_backoff, retry_after),
        etag=src.etag,
        last_modified=src.last_modified,
        disable_reason=f"HTTP 410 Gone on {now:%Y-%m-%d}: the publisher removed this feed" if gone else None,
    )


def _interleave_hosts(sources: Sequence[SourceForFetch]) -> Iterator[SourceForFetch]:
    """Round-robin over hosts so one big host does not hold every worker while others wait."""
    queues: dict[str, deque[SourceForFetch]] = defaultdict(deque)
    for s in sources:
        queues[host_of(s.url)].append(s)
    while queues:
        for host in list(queues):
            yield queues[host].popleft()
            if not queues[host]:
                del queues[host]


# Below this many sources a run parses in its fetch threads: starting worker processes would cost more.
PROCESS_POOL_FROM = 8


def _parse_workers(settings: FetchSettings, n_sources: int) -> int:
    """How many parser processes a run gets; 0 means parse in the fetch threads."""
    workers = settings.parse_processes if settings.parse_processes is not None else (os.cpu_count() or 1)
    return workers if workers >= 2 and n_sources >= PROCESS_POOL_FROM else 0


def worker_name() -> str:
    """Who claims a run's sources: host, process and a random part (a pid is reused; two hosts share pids)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# The runs of this process that are fetching now (worker names); a claim by one of its others is left over.
_RUNNING: set[str] = set()


def release_dead_workers(store: Store) -> int:
    """End the claims of workers on this host that are no longer running (a run killed mid-fetch, or one whose
    claims could not be given back): their sources are fetched now, not when the lease runs out. Another host's
    workers are judged by their lease alone."""
    here = socket.gethostname()[:80]
    dead = []
    for worker in store.claim_holders():
        host, pid, _ = [*worker.rsplit(":", 2), "", ""][:3]
        if host != here or not pid.isdigit():
            continue
        if (int(pid) == os.getpid() and worker not in _RUNNING) or (int(pid) != os.getpid() and not _alive(int(pid))):
            dead.append(worker)
    for worker in dead:
        store.release(worker)
    return len(dead)


def fetch_sources(
    store: Store,
    sources: Sequence[SourceForFetch],
    settings: FetchSettings,
    *,
    clock: Clock = utcnow,
    on_done: Callable[[SourceReport], None] | None = None,
    recheck_due: bool = True,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Fetch `sources` concurrently; write each one as soon as it is back. One bad source stops nothing.

    Each source is claimed just before it is fetched, a batch at a time (Store.claim): another worker sharing the
    store fetches the ones it claimed first, and with `recheck_due` a source another worker fetched since it was
    listed is not fetched again. HTTP runs in threads (I/O); parsing and cleaning, which are CPU-bound, run in
    worker processes when there are enough sources to pay for them, so both cores work while this process writes
    the store. With `stop` set, no more sources are claimed: those in flight are finished and written.
    """
    summary = RunSummary()
    started = time.monotonic()
    if not sources:
        return summary
    release_dead_workers(store)
    gate = store.host_gate(settings.per_host)
    workers = max(1, min(settings.concurrency, len(sources)))
    parsers = _Parsers(_parse_workers(settings, len(sources)))
    writes = WriteGroup(store)  # sources committed in groups; the bounds and the why are WriteGroup's
    me = worker_name()
    _RUNNING.add(me)
    queue = iter(_interleave_hosts(sources))
    ready: deque[SourceForFetch] = deque()
    batch_size = max(2 * workers, 16)
    claimed_count = 0

    def next_source() -> SourceForFetch | None:
        """The next source this worker has claimed; claims another batch (in the queue's host order) when none is
        left. None when the queue is done, the run is stopping or the store refused."""
        nonlocal claimed_count
        if writes.refused is not None or (stop is not None and stop.is_set()):
            return None  # what is claimed and not started is given back at the end
        while not ready:
            batch = list(itertools.islice(queue, batch_size))
            if not batch:
                return None
            claimed = {
                src.id: src
                for src in writes.claim(
                    batch,
                    worker=me,
                    now=clock(),
                    lease=settings.lease,
                    recheck_due=recheck_due,
                    default_interval=settings.default_interval,
                )
            }
            ready.extend(claimed[src.id] for src in batch if src.id in claimed)
            claimed_count += len(claimed)
            if writes.refused is None:
                summary.elsewhere += len(batch) - len(claimed)
        return ready.popleft()

    def finish(r: Retrieved) -> None:
        upd = decide(r, now=clock(), max_backoff=settings.max_backoff)
        # The report waits for its group's commit: keep what it needs, not the body and items.
        source, outcome = r.source, replace(upd, items=())

        def done(result: WriteResult) -> None:
            rep = _report(source, outcome, result)
            summary.reports.append(rep)
            if on_done:
                on_done(rep)

        writes.add(upd, clock(), done)

    try:
        with make_client(user_agent=settings.user_agent, limits=settings.limits, max_connections=workers) as client:

            def work(src: SourceForFetch) -> Retrieved:
                with gate(src.url):  # the per-host cap counts requests in flight, not parsing
                    r = fetch_only(client, src, settings.limits, clock)
                return parsed(r, parsers.parse, settings.paper_rules)

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
                # Backpressure: at most `workers` sources are in flight or done and not yet written, so memory
                # stays flat however many sources there are.
                pending: set[Future[Retrieved]] = set()

                def refill() -> None:
                    while len(pending) < workers:
                        src = next_source()
                        if src is None:
                            return
                        pending.add(pool.submit(work, src))

                refill()
                while pending:
                    # An open write group holds the store's write lock: commit it rather than sit on it.
                    done, pending = wait(pending, timeout=writes.seconds_left(), return_when=FIRST_COMPLETED)
                    if not done:
                        writes.commit()
                    for future in done:
                        finish(future.result())
                        refill()
    finally:
        writes.close()
        parsers.shutdown()
        gate.close()
        if claimed_count > len(summary.reports):  # claimed and not written: a stop, a refusal
            _release(store, me)
        _RUNNING.discard(me)
    summary.refused = writes.refused
    summary.not_fetched = len(sources) - len(summary.reports) - summary.elsewhere
    summary.seconds = time.monotonic() - started
    return summary


def _release(store: Store, worker: str) -> None:
    """Give back the sources claimed and not fetched (a stop, a refusal); if the store refuses even that, their
    lease runs out instead."""
    with contextlib.suppress(Exception):
        store.release(worker)


class _Parsers:
    """How one run parses: in its fetch threads when it is small (size 0), else in `size` parser processes
    started when the first body needs parsing, so a run in which every feed answers 304 starts none (nor
    multiprocessing's resource tracker)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def parse(self, *args: Any) -> Parsed:
        """parse_and_clean in this thread for a run too small for processes; otherwise the fetch thread
        hands the body to a parser process and waits (without the GIL), so the parsers are fed while the
        main thread writes the store, not only between its writes."""
        from digest.parsing import parse_and_clean

        if not self.size:
            return parse_and_clean(*args)
        return _parsed_or_error(self._processes().submit(parse_and_clean, *args))

    def _processes(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # forkserver: workers start from a clean process, not a copy of this one with its fetch
                # threads. The server preloads the parsing module (no SQLAlchemy): each worker forks ready.
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["digest.parsing"])
                # The workers yield the CPU to this process: its store writes are the run's one serial path,
                # and the parsers, a few jobs ahead, lose nothing by waiting (cold, 500 feeds: 7.9 -> 7.2 s).
                # And they die with it: see parsing.start_parser.
                from digest.parsing import start_parser

                self._pool = ProcessPoolExecutor(
                    max_workers=self.size, mp_context=context, initializer=start_parser, initargs=(os.getpid(),)
                )
            return self._pool

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _parsed_or_error(future: Future[Parsed]) -> Parsed:
    try:
        return future.result()
    except Exception as exc:  # a worker that died (out of memory, killed) costs its source only
        from digest.parse import ParseError
        from digest.parsing import Parsed

        return Parsed(error=ParseError(f"parser process failed: {exc.__class__.__name__}: {exc}"))


def _report(source: SourceForFetch, upd: SourceUpdate, result: WriteResult) -> SourceReport:
    notes = [n for n in (upd.warning, result.note) if n]
    if upd.found_feed and not result.note:
        notes.append(upd.found_feed)
    elif upd.new_url and not result.note:
        notes.append(f"moved permanently to {upd.new_url}")
    if upd.disable_reason:
        notes.append(f"disabled: {upd.disable_reason}")
    if result.error:
        return SourceReport(
            name=source.name,
            url=source.url,
            outcome="not_stored" if result.refused else "error",
            new_items=0,
            updated_items=0,
            error=result.error,
            note=None,
        )
    return SourceReport(
        name=source.name,
        url=source.url,
        outcome=upd.outcome,
        new_items=result.new_items,
        updated_items=result.updated_items,
        error=upd.error,
        note="; ".join(notes) or None,
    )
