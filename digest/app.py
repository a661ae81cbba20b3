"""The application: what digest's commands do, over one config and one store.

The CLI parses arguments, calls a `Runtime` method and prints what it returns; the demo drives the same calls.
Failures a user must read come back as `AppError` (a one-line message and the exit status it deserves); a
store that refuses service raises the store's own errors, which the CLI turns into one line too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

    from digest.config import Config, DigestConfig
    from digest.deliver.outbox import Delivery
    from digest.enrich.landing import LandingReader
    from digest.enrich.run import PageReader
    from digest.ingest import FetchSettings, RunSummary, SourceReport
    from digest.publish import Composed
    from digest.store.api import Store
    from digest.store.values import SourceForFetch

EXIT_ERROR = 1
EXIT_USAGE = 2


class AppError(Exception):
    """What went wrong, in one line for the user, and the exit status it deserves."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def utcnow() -> datetime:
    return datetime.now(UTC)


# The fetch log keeps this long: enough to see a source's history in `status`, not a growing table.
FETCH_LOG_DAYS = 90


@dataclass(frozen=True)
class Compose:
    """One compose: the issue and the files written for it."""

    composed: Composed
    paths: list[Path]


@dataclass
class RunResult:
    """What `run` did: the fetch, the lookups, the issues composed (with their files) and the deliveries."""

    fetch: RunSummary
    enriched: str | None = None
    composed: list[Compose] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A source failed to fetch, or a delivery failed (exit 1: cron mails the log). Lookups that could not
        reach a metadata API are reported, not a failure: the papers are looked up on a later run."""
        return self.fetch.failed > 0 or any(d.outcome in ("failed", "unconfirmed") for d in self.deliveries)


@dataclass
class Runtime:
    """The config and the store one command runs on, and the clock it reads."""

    config: Config
    store: Store
    data_dir: Path
    clock: Callable[[], datetime] = utcnow

    # --- fetch ------------------------------------------------------------------------------------------------

    def fetch_settings(self) -> FetchSettings:
        from digest.ingest import FetchSettings

        rules = []
        if self.config.papers.rules:  # the clean stage's modules load when a body needs them, not on every run
            from digest.domain.paper_ids import compile_rules

            rules = compile_rules([r.as_pair() for r in self.config.papers.rules])
        return FetchSettings.from_config(self.config.fetch, paper_rules=rules)

    def due(self, *, every: bool = False, names: Sequence[str] = ()) -> list[SourceForFetch]:
        settings = self.fetch_settings()
        due = self.store.due_sources(
            now=self.clock(), default_interval=settings.default_interval, every=every, names=names
        )
        if names:
            missing = set(names) - {d.name for d in due} - {d.url for d in due}
            if missing:
                raise AppError(f"no source named {', '.join(sorted(missing))}")
        return due

    def fetch_run(
        self,
        *,
        every: bool = False,
        names: Sequence[str] = (),
        stop: threading.Event | None = None,
        on_done: Callable[[SourceReport], None] | None = None,
        progress: Callable[[list[SourceForFetch]], Callable[[SourceReport], None]] | None = None,
    ) -> RunSummary:
        """Fetch what is due (or every enabled source, or the named ones), sharing the work with any other
        worker on the store. `progress` is given the due list and returns the per-source callback to use."""
        from digest.ingest import fetch_sources

        due = self.due(every=every, names=names)
        report = progress(due) if progress is not None else on_done
        summary = fetch_sources(
            self.store, due, self.fetch_settings(), on_done=report, recheck_due=not (every or names), stop=stop
        )
        if summary.refused:  # nothing more is written this run: said once; a `run` composes nothing
            from digest.store.url import redacted

            raise FetchRefused(
                summary,
                f"cannot write to the store at {redacted(self.store.url)}: "
                f"{summary.refused}; {summary.not_stored} of {len(due)} "
                f"source{'s' if len(due) != 1 else ''} not stored (fetched again on the next run)",
            )
        self.store.prune_fetch_log(older_than=self.clock() - timedelta(days=FETCH_LOG_DAYS))
        return summary

    def enrich_run(
        self,
        *,
        config_overrides: dict[str, object] | None = None,
        pages: Callable[[LandingReader], PageReader] | None = None,
    ) -> str:
        """Look papers up, unless another process (a worker on another host) is doing it now: two would ask the
        same APIs about the same papers."""
        from digest.enrich.registry import enrich_configured
        from digest.lock import LockHeld

        cfg = self.config.enrich.model_copy(update=config_overrides) if config_overrides else self.config.enrich
        try:
            with self.store.run_lock("enrich"):
                return enrich_configured(
                    self.store.engine, cfg, self.config.fetch.user_agent, now=self.clock(), pages=pages
                ).line()
        except LockHeld:
            return "metadata: another process is looking papers up now; skipped"

    def enrich_after(self, summary: RunSummary) -> str | None:
        """Lookups after a fetch that brought something, when the config asks for them."""
        if self.config.enrich.after_fetch and summary.new_items + summary.updated_items:
            return self.enrich_run()
        return None

    # --- compose and deliver -------------------------------------------------------------------------------------

    def digest(self, name: str | None) -> DigestConfig:
        from digest.config import ConfigError

        if not self.config.digests:
            raise AppError("no [[digests]] configured")
        try:
            return self.config.digest(name) if name else self.config.digests[0]
        except ConfigError as exc:
            raise AppError(str(exc)) from None

    def issue_dir(self, cfg: DigestConfig, now: datetime) -> Path:
        base = Path(cfg.out).expanduser() if cfg.out else self.data_dir / "issues" / cfg.name
        return base / now.strftime("%Y-%m-%d_%H%M%S")

    @contextmanager
    def run_lock(self, take: bool = True) -> Iterator[None]:
        """The store's run lock for what claims items or issues (LockHeld if another process holds it)."""
        if not take:
            yield
            return
        with self.store.run_lock():
            yield

    def compose_run(
        self,
        cfg: DigestConfig,
        *,
        now: datetime,
        since: datetime | None = None,
        theme: str | None = None,
        record: bool = True,
        out_dir: Path | None = None,
        scheduled: bool = False,
    ) -> Compose:
        """Compose (and write to `out_dir`). A scheduled compose writes nothing when there is no news and marks
        the slot served instead; an asked-for one writes its "nothing new" issue."""
        from digest.compose.render import ThemeError
        from digest.deliver.files import write_issue
        from digest.publish import compose_issue

        written: list[Path] = []

        def deliver(composed: Composed) -> None:
            if out_dir is not None and not (scheduled and composed.empty):
                written.extend(write_issue(out_dir, composed.rendered, composed.message))

        try:
            composed = compose_issue(
                self.store.engine,
                cfg,
                self.config.smtp,
                now=now,
                since=since,
                theme=theme,
                record=record,
                out_dir=out_dir,
                deliver=deliver,
                mark_empty=scheduled,
            )
        except ThemeError as exc:
            raise AppError(str(exc)) from None
        except OSError as exc:
            raise AppError(f"cannot write the digest to {out_dir}: {exc}") from None
        return Compose(composed, written)

    def send_run(self, cfg: DigestConfig, *, resend_unconfirmed: bool = False) -> tuple[list[Delivery], Compose | None]:
        """Mail pending issues (retries) first, else compose a new issue and mail it; under the run lock."""
        from digest.deliver.outbox import requeue_unconfirmed, send_pending
        from digest.store import digests as issues
        from digest.store.repository import session

        if not cfg.recipients:
            raise AppError(
                f"digest {cfg.name!r} has no recipients configured (add recipients = [...] to its [[digests]])"
            )
        now = self.clock()
        engine = self.store.engine
        composed = None
        with self.run_lock():  # one sender at a time: a `run` or another `send` would take the same issues
            results = requeue_unconfirmed(engine, cfg.name, now) if resend_unconfirmed else []
            with session(engine) as s:
                waiting = issues.issues_in_state(s, cfg.name, "pending", "sending")
            if not waiting:
                composed = self.compose_run(cfg, now=now, out_dir=self.issue_dir(cfg, now))
            results += send_pending(engine, cfg.name, self.config.smtp, now)
        return results, composed

    def send_plan(self, cfg: DigestConfig) -> list[Planned]:
        """What `send` would mail now, changing nothing: the pending issues (retries first), else a new issue
        composed as `send` would compose it (not recorded). Works before any recipient is configured."""
        from digest.store import digests as issues
        from digest.store.repository import session

        with session(self.store.reader()) as s:
            waiting = issues.issues_in_state(s, cfg.name, "pending", "sending")
            planned = [
                Planned(i.subject or "", len((i.message or "").encode()), i.id)
                for i in waiting
                if i.status == "pending"
            ]
            if waiting:
                return planned
        done = self.compose_run(cfg, now=self.clock(), record=False)
        if done.composed.empty:
            return []
        return [Planned(done.composed.view.subject, len(done.composed.message), None)]

    def run(
        self,
        *,
        on_fetched: Callable[[RunSummary], None] | None = None,
        on_composed: Callable[[Compose], None] | None = None,
        progress: Callable[[list[SourceForFetch]], Callable[[SourceReport], None]] | None = None,
    ) -> RunResult:
        """What cron calls: fetch what is due, look papers up, compose every digest whose slot has come and mail
        what is pending. Under the run lock."""
        from digest.deliver.outbox import send_pending
        from digest.schedule import is_due, parse_schedule
        from digest.store import digests as issues
        from digest.store.repository import session

        with self.run_lock():
            result = RunResult(fetch=self.fetch_run(progress=progress))
            if on_fetched:
                on_fetched(result.fetch)
            result.enriched = self.enrich_after(result.fetch)
            for cfg in self.config.digests:
                now = self.clock()
                with session(self.store.engine) as s:
                    last = issues.last_issue(s, cfg.name)
                if is_due(
                    parse_schedule(cfg.schedule),
                    now=now,
                    tz=cfg.timezone,
                    last_issue_at=last.created_at if last else None,
                ):
                    done = self.compose_run(cfg, now=now, out_dir=self.issue_dir(cfg, now), scheduled=True)
                    result.composed.append(done)
                    if on_composed:
                        on_composed(done)
                if cfg.recipients:  # due or not, anything pending from a failed run is retried
                    result.deliveries += send_pending(self.store.engine, cfg.name, self.config.smtp, now)
        return result

    def rescan(self) -> tuple[int, int]:
        """Find the papers of every stored item again: (items, mentions found)."""
        from digest.domain.paper_ids import compile_rules
        from digest.store.papers import rescan

        rules = compile_rules([r.as_pair() for r in self.config.papers.rules])
        with self.store.session() as s, s.begin():
            return rescan(s, rules, self.clock())

    def close(self) -> None:
        self.store.close()


@dataclass(frozen=True)
class Planned:
    """A message `send` would mail: its subject, size, and the pending issue it is (None: a new issue)."""

    subject: str
    size: int
    issue_id: int | None


class FetchRefused(AppError):
    """The store refused service mid-fetch; `summary` is what the run did until then."""

    def __init__(self, summary: RunSummary, message: str) -> None:
        super().__init__(message)
        self.summary = summary
