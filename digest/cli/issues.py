"""`digest compose`, `send`, `run` and `archive`: an issue composed, mailed, and the static archive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from digest.cli.base import EXIT_ERROR, QUIET, Context, _app, _ctx, _lock_said, _parse_since, app, fail, now_utc, say
from digest.cli.fetching import _fetch_json, _progress

if TYPE_CHECKING:
    from digest.app import Compose
    from digest.config import DigestConfig
    from digest.deliver.outbox import Delivery
    from digest.ingest import RunSummary


@contextmanager
def _run_lock(c: Context, *, take: bool = True) -> Iterator[None]:
    """The store's run lock for commands that claim items or issues."""
    with _lock_said(), c.runtime.run_lock(take):
        yield


def _digest_cfg(c: Context, name: str | None) -> DigestConfig:
    return _app(lambda: c.runtime.digest(name))


def _said_composed(done: Compose, *, record: bool) -> None:
    v, composed = done.composed.view, done.composed
    note = {"pending": ", queued for sending", "sent": "", "empty": " (nothing new)", None: " (not recorded)"}[
        composed.status
    ]
    if composed.status is None and composed.empty and record:
        note = " (nothing new: no issue recorded)"
    say(
        f"composed {v.name}: {v.paper_count} paper{'s' if v.paper_count != 1 else ''}, "
        f"{v.post_count} post{'s' if v.post_count != 1 else ''}{note}"
    )
    if composed.empty and composed.window_start is not None:
        say(_why_empty(v.name, composed.window_start, composed.newest_item, first=v.first_issue))


def _why_empty(name: str, window_start: datetime, newest: datetime | None, *, first: bool) -> str:
    """Why an issue is empty, in a newcomer's terms: nothing stored yet, or nothing as recent as its window."""
    if newest is None:
        return f"note: nothing is stored for {name} yet: `digest fetch` first"
    start = f"{window_start:%Y-%m-%d}"
    window = (
        f"a first issue looks back [[digests]] lookback_days, to {start}"
        if first
        else f"the last issue covered everything until {start}"
    )
    if newest < window_start:
        return (
            f"note: the newest item stored for {name} is dated {newest:%Y-%m-%d} and {window}; "
            f"`digest compose --since {newest:%Y-%m-%d}` shows what is stored"
        )
    return f"note: what is stored since {start} was shown already or filtered out ({window})"


def _compose_to(
    c: Context,
    cfg: DigestConfig,
    *,
    now: datetime,
    since: datetime | None,
    theme: str | None,
    record: bool,
    out_dir: Path | None,
) -> Compose:
    done = _app(lambda: c.runtime.compose_run(cfg, now=now, since=since, theme=theme, record=record, out_dir=out_dir))
    _said_composed(done, record=record)
    return done


@app.command()
def compose(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Which configured digest (default: the first).")] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Everything dated since this ISO date, shown again or not (a view for reading: not recorded).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for digest.html, .txt and .eml.", file_okay=False)
    ] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Theme name (default: the digest's).")] = None,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Render without recording an issue, so the same items come again next time."),
    ] = False,
) -> None:
    """Render the next issue of a digest to DIR/digest.html, digest.txt and digest.eml."""
    c = _ctx(ctx)
    cfg = _digest_cfg(c, name)
    now = now_utc()
    out_dir = out or c.runtime.issue_dir(cfg, now)
    # Recording an issue claims items: not while a `run` or `send` could be claiming the same ones.
    with _run_lock(c, take=not preview and since is None):
        paths = _compose_to(
            c, cfg, now=now, since=_parse_since(since), theme=theme, record=not preview, out_dir=out_dir
        ).paths
    for p in paths:
        typer.echo(str(p))


def _report_deliveries(results: list[Delivery]) -> bool:
    ok = True
    for d in results:
        if d.outcome == "sent":
            typer.echo(f"sent: {d.subject}" + (f" ({d.detail})" if d.detail else ""))
        elif d.outcome == "requeued":
            typer.echo(f"re-queued: {d.subject}")
        else:
            ok = False
            say(f"digest: {d.outcome}: {d.subject}: {d.detail or ''}".rstrip(": "), level=QUIET)
    return ok


@app.command()
def send(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Which configured digest (default: the first).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and show what would be sent; send and record nothing.")
    ] = False,
    resend_unconfirmed: Annotated[
        bool,
        typer.Option("--resend-unconfirmed", help="Queue again issues whose delivery a crashed run could not confirm."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of lines.")] = False,
) -> None:
    """Mail the digest: pending issues first (retries), else compose a new issue and send it. Holds the run lock.
    Exit 1 when a delivery failed."""
    c = _ctx(ctx)
    cfg = _digest_cfg(c, name)
    if dry_run:
        _send_preview(c, cfg, as_json=as_json)
        return
    if not cfg.recipients:
        fail(f"digest {cfg.name!r} has no recipients configured (add recipients = [...] to its [[digests]])")
    with _lock_said():  # send_run takes the run lock
        results, composed = _app(lambda: c.runtime.send_run(cfg, resend_unconfirmed=resend_unconfirmed))
    if composed is not None:
        _said_composed(composed, record=True)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "composed": _compose_json(composed) if composed else None,
                    "deliveries": [_delivery_json(d) for d in results],
                },
                indent=2,
            )
        )
        ok = all(d.outcome in ("sent", "requeued") for d in results)
    else:
        if not results:
            typer.echo(f"nothing to send for {cfg.name}: {NOTHING_PENDING}")
        ok = _report_deliveries(results)
    if not ok:
        raise typer.Exit(EXIT_ERROR)


NOTHING_PENDING = "no issue is waiting to be mailed and nothing new has arrived since the last one"


def _send_preview(c: Context, cfg: DigestConfig, *, as_json: bool) -> None:
    """What `send` would do now, without doing it: the pending issues it would retry, else the new issue."""
    plan = _app(lambda: c.runtime.send_plan(cfg))
    to = ", ".join(cfg.recipients) if cfg.recipients else "nobody yet (add recipients = [...] to its [[digests]])"
    via = f"{c.config.smtp.host}:{c.config.smtp.port}"
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "would_send": [{"subject": p.subject, "bytes": p.size, "pending_issue": p.issue_id} for p in plan],
                    "recipients": list(cfg.recipients),
                    "smtp": via,
                },
                indent=2,
            )
        )
        return
    if not plan:
        typer.echo(
            f"nothing to send for {cfg.name}: {NOTHING_PENDING}"
            + (
                ""
                if cfg.recipients
                else "; it has no recipients yet either (add recipients = [...] to its [[digests]])"
            )
        )
    for p in plan:
        what = f"pending issue {p.issue_id}" if p.issue_id is not None else "a new issue"
        typer.echo(f"would send {p.subject!r} ({p.size} bytes, {what}) to {to} via {via}")


@app.command()
def run(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of lines.")] = False,
) -> None:
    """What cron calls: fetch due sources, then compose and deliver every digest that is due. Holds a lock.
    Exit 1 when a source failed to fetch or a delivery failed; 75 when another run holds the lock."""
    c = _ctx(ctx)

    def composed(done: Compose) -> None:
        _said_composed(done, record=True)
        if not as_json:
            for p in done.paths:
                typer.echo(str(p))

    def fetched(summary: RunSummary) -> None:
        if not as_json:
            typer.echo(summary.line())

    with _lock_said():  # run takes the run lock
        result = _app(lambda: c.runtime.run(on_fetched=fetched, on_composed=composed, progress=_progress))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "fetch": _fetch_json(result.fetch),
                    "metadata": result.enriched,
                    "composed": [_compose_json(d) for d in result.composed],
                    "deliveries": [_delivery_json(d) for d in result.deliveries],
                },
                indent=2,
            )
        )
    else:
        if result.enriched:
            typer.echo(result.enriched)
        _report_deliveries(result.deliveries)
    if result.failed:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def archive(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the static site.", file_okay=False)],
    name: Annotated[str | None, typer.Option("--name", help="Only this digest's issues.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Where the site will be served, for absolute links in the Atom feed."),
    ] = None,
) -> None:
    """Write every delivered issue as a static site: index.html, one page per issue, and feed.atom."""
    from digest.deliver.archive import write_archive
    from digest.store import digests as store
    from digest.store.repository import session

    c = _ctx(ctx)
    with session(c.reader) as s:
        issues = store.sent_issues(s, name)
        chosen = _digest_cfg(c, name) if name else (c.config.digests[0] if c.config.digests else None)
        title = (chosen.title if chosen else None) or "Research digest"
        written = write_archive(out.expanduser(), issues, title=title, base_url=base_url, now=now_utc())
    typer.echo(f"archived {len(issues)} issue{'s' if len(issues) != 1 else ''} to {out} ({len(written)} files)")


def _compose_json(done: Compose) -> dict[str, object]:
    composed, v = done.composed, done.composed.view
    return {
        "digest": v.name,
        "subject": v.subject,
        "status": composed.status,
        "papers": v.paper_count,
        "posts": v.post_count,
        "files": [str(p) for p in done.paths],
    }


def _delivery_json(d: Delivery) -> dict[str, object]:
    return {"issue": d.issue_id, "subject": d.subject, "outcome": d.outcome, "detail": d.detail}
