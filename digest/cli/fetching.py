"""`digest fetch` and `digest enrich`: a fetch run's progress, report lines and --json summary."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from digest.cli.base import EXIT_ERROR, QUIET, VERBOSE, Context, _app, _ctx, app, quiet, say

if TYPE_CHECKING:
    import threading

    from digest.ingest import RunSummary, SourceReport
    from digest.store.values import SourceForFetch


def _print_report(r: SourceReport) -> None:
    if r.outcome == "not_stored":  # one line at the end says why for all of them (_fetch)
        return
    if r.error:
        say(f"digest: {r.name} ({r.url}): {r.error}", level=QUIET)
    if r.note:
        say(f"digest: {r.name}: {r.note}")
    if not r.error and not r.note:
        say(f"{r.name}: {r.outcome.replace('_', ' ')}, {r.new_items} new, {r.updated_items} updated", level=VERBOSE)


def _fetch(c: Context, *, every: bool, names: list[str], stop: threading.Event | None = None) -> RunSummary:
    return _app(lambda: c.runtime.fetch_run(every=every, names=names, stop=stop, progress=_progress))


def _progress(due: list[SourceForFetch]) -> Callable[[SourceReport], None]:
    """Each source's problems on stderr as it is written; on a terminal, a progress bar too."""
    if not sys.stderr.isatty() or quiet():
        return _print_report
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = progress.add_task("", total=len(due))
    progress.start()
    remaining = [len(due)]

    def tick(r: SourceReport) -> None:
        progress.update(task, advance=1, description=r.name)
        if (r.error or r.note) and r.outcome != "not_stored":
            progress.console.print(f"[red]{r.name}[/red] ({r.url}): {r.error or r.note}", markup=True, highlight=False)
        remaining[0] -= 1
        if remaining[0] <= 0:
            progress.stop()

    return tick


def _enrich(c: Context) -> str:
    return c.runtime.enrich_run()


@app.command()
def enrich(ctx: typer.Context) -> None:
    """Look up papers' titles, authors and abstracts, and which links are papers (each asked once).

    Landing pages (citation_* tags), then the arXiv API, OpenReview, Semantic Scholar, Crossref and search by
    title, as [enrich] resolvers lists them; a resolver that cannot be reached is skipped until the next run."""
    typer.echo(_enrich(_ctx(ctx)))


@app.command()
def fetch(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Fetch every enabled source now, due or not.")] = False,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Fetch only this source (name or URL); repeat for several."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of a line.")] = False,
) -> None:
    """Fetch the sources that are due and store their new items. Exit 1 when any source failed."""
    c = _ctx(ctx)
    summary = _fetch(c, every=all_, names=source or [])
    enriched = c.runtime.enrich_after(summary)
    if as_json:
        typer.echo(json.dumps({**_fetch_json(summary), "metadata": enriched}, indent=2))
    else:
        typer.echo(summary.line())
        if enriched:
            typer.echo(enriched)
    if summary.failed:
        raise typer.Exit(EXIT_ERROR)


def _fetch_json(summary: RunSummary) -> dict[str, object]:
    return {
        "fetched": summary.count("ok"),
        "not_modified": summary.count("not_modified"),
        "failed": summary.failed,
        "new_items": summary.new_items,
        "updated_items": summary.updated_items,
        "taken_by_other_workers": summary.elsewhere,
        "seconds": round(summary.seconds, 3),
        "sources": [
            {
                "name": r.name,
                "url": r.url,
                "outcome": r.outcome,
                "new_items": r.new_items,
                "updated_items": r.updated_items,
                "error": r.error,
                "note": r.note,
            }
            for r in summary.reports
        ],
    }
