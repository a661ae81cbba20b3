"""`digest status`, `export` and `papers`: what the store holds, read for people and scripts."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer

from digest.cli.base import EXIT_USAGE, Context, _ctx, _iso, _parse_since, app, fail, now_utc


def _ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "never"
    seconds = int((now - dt).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"


@app.command()
def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """A table of sources (last fetch, HTTP status, items, consecutive errors, next due), then one of digests
    (the last issue, its delivery state and what went wrong)."""
    print_status(_ctx(ctx), as_json=as_json)


def print_status(c: Context, *, as_json: bool = False) -> None:
    from digest.ingest import STALE_AFTER
    from digest.store import repository as repo

    now = now_utc()
    with repo.session(c.reader) as s:
        rows = repo.list_sources(s)
        counts = repo.item_counts(s)
        warnings = repo.last_warnings(s)
        doubles = repo.same_posts(s, counts)
    names = {r.id: r.name for r in rows}
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "url": r.url,
                        "enabled": r.enabled,
                        "last_fetch": _iso(r.last_fetch_at),
                        "last_status": r.last_status,
                        "items": counts.get(r.id, 0),
                        "error_count": r.error_count,
                        "next_due": _iso(r.next_fetch_at),
                        "last_error": r.last_error,
                        "disabled_reason": r.disabled_reason,
                        "warning": warnings.get(r.id),
                        "stale": r.stale_count >= STALE_AFTER,
                        "same_posts_as": names[doubles[r.id][0]] if r.id in doubles else None,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} source{'s' if len(rows) != 1 else ''}", title_justify="left")
    for col, justify in (
        ("source", "left"),
        ("last fetch", "right"),
        ("HTTP", "right"),
        ("items", "right"),
        ("errors", "right"),
        ("next due", "right"),
        ("problem", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in rows:
        if not r.enabled:
            due = "disabled"
        elif r.next_fetch_at is None or r.next_fetch_at <= now:
            due = "now"
        else:
            due = _ago(r.next_fetch_at, now)
        problem = r.disabled_reason or r.last_error or ""
        if not problem and r.stale_count >= STALE_AFTER:
            problem = f"stale: {r.stale_count} builds without new items"
        if not problem and r.id in warnings:
            problem = f"warning: {warnings[r.id]}"
        if not problem and r.id in doubles:
            other, shared = doubles[r.id]
            problem = f"the same posts as {names[other]} ({shared}): one blog at two URLs? remove one"
        table.add_row(
            r.name,
            _ago(r.last_fetch_at, now),
            str(r.last_status or "-"),
            str(counts.get(r.id, 0)),
            str(r.error_count) if r.error_count else "0",
            due,
            problem,
        )
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(table)

    # Each digest's last issue and its delivery state: a message refused for good (`failed`) or perhaps delivered
    # (`unconfirmed`) is not retried by itself, so this table is where one learns of it.
    from digest.store import digests as store

    with repo.session(c.reader) as s:
        issues = store.issue_summaries(s)
    if not issues:
        return
    table = Table(title=f"{len(issues)} digest{'s' if len(issues) != 1 else ''}", title_justify="left")
    for col, justify in (
        ("digest", "left"),
        ("last issue", "left"),
        ("composed", "right"),
        ("state", "left"),
        ("attempts", "right"),
        ("problem", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for i in issues:
        notes = [i.last_error] if i.last_error else []
        if others := i.undelivered - (i.status in store.UNDELIVERED):
            notes.append(f"{others} older issue{'s' if others != 1 else ''} not delivered")
        state = i.status if i.mailed or i.status != "sent" else "written"  # to files: nobody was mailed
        table.add_row(i.name, i.subject or "-", _ago(i.created_at, now), state, str(i.attempts), "; ".join(notes))
    console.print(table)


@app.command()
def export(
    ctx: typer.Context, format: Annotated[str, typer.Option("--format", "-f", help="Only 'json' for now.")] = "json"
) -> None:
    """Everything in the store as one JSON document, for scripts."""
    from digest.store.export import export_document

    if format != "json":
        fail(f"--format: unsupported format {format!r} (supported: json)", code=EXIT_USAGE)
    c = _ctx(ctx)
    json.dump(export_document(c.reader), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


@app.command()
def papers(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="How many papers to show.")] = 20,
    since: Annotated[
        str | None, typer.Option("--since", help="Only mentions in items published since this ISO date.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Papers ranked by how many sources and posts mention them, then by recency.

    With --json each paper carries its authors, abstract, venue and year, and each post mentioning it the
    quote a digest card shows (what the post says around the link, trimmed to whole sentences; null when
    it says nothing beyond the paper's name)."""
    import textwrap

    from digest.compose.quotes import quote
    from digest.domain.paper_ids import display_id
    from digest.store.papers import ranked_papers
    from digest.store.repository import session

    c = _ctx(ctx)
    with session(c.reader) as s:
        ranked = ranked_papers(s, since=_parse_since(since), top=top)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": p.canonical_id,
                        "title": p.title,
                        "url": p.landing_url,
                        "pdf": p.pdf_url,
                        "sources": p.sources,
                        "mentions": p.items,
                        "latest": _iso(p.latest),
                        "mentioned_in": [
                            {
                                "source": x.source,
                                "title": x.item_title,
                                "url": x.item_url,
                                "published": _iso(x.published),
                                "quote": quote(x.context, anchor=x.anchor, title=p.title),
                            }
                            for x in p.sightings
                        ],
                        "authors": list(p.authors),
                        "abstract": p.abstract,
                        "venue": p.venue,
                        "year": p.year,
                        "title_source": p.title_source,
                    }
                    for p in ranked
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not ranked:
        typer.echo("no papers yet: fetch some sources first")
        return
    for n, p in enumerate(ranked, 1):
        title = p.title or display_id(p.canonical_id)  # as a digest names a paper nobody named
        typer.echo(f"{n:>3}. {title}")
        where = "; ".join(f"{x.source}: {x.item_title or x.item_url}" for x in p.sightings[:3])
        more = f" (+{len(p.sightings) - 3} more)" if len(p.sightings) > 3 else ""
        typer.echo(
            f"     {p.canonical_id} · {p.sources} source{'s' if p.sources != 1 else ''}, "
            f"{p.items} post{'s' if p.items != 1 else ''}"
        )
        typer.echo(f"     in {where}{more}")
        # The newest post's words about it, if any said more than its name: one quote keeps the list a list.
        said = next(
            ((x.source, q) for x in p.sightings if (q := quote(x.context, anchor=x.anchor, title=p.title))), None
        )
        if said is not None:
            typer.echo(
                textwrap.fill(
                    f"“{said[1]}” ({said[0]})",
                    width=100,
                    initial_indent="     ",
                    subsequent_indent="     ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
