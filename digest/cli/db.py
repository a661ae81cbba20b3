"""`digest db ...` (upgrade, rescan, copy), `digest demo` and `digest worker`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.cli.base import EXIT_USAGE, _app, _ctx, app, db_app, fail, say
from digest.cli.fetching import _fetch
from digest.cli.status import print_status


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the store's schema to the newest revision (also done automatically on start)."""
    from digest.store.db import current_revision

    c = _ctx(ctx)
    typer.echo(f"{c.store_name}: schema at revision {current_revision(c.reader)}")


@db_app.command("rescan")
def db_rescan(ctx: typer.Context) -> None:
    """Find the papers of every stored item again (after changing [[papers.rules]] or upgrading digest)."""
    items, found = _ctx(ctx).runtime.rescan()
    typer.echo(f"rescanned {items} items: {found} paper mentions")


@db_app.command("copy")
def db_copy(
    source: Annotated[str, typer.Argument(help="The store to copy: a path, sqlite:///PATH or postgresql://...")],
    target: Annotated[str, typer.Argument(help="An empty store to copy into (created and migrated).")],
) -> None:
    """Copy every row of one store into another, empty one, then count each table on both sides.

    For moving a SQLite store into PostgreSQL: digest db copy ~/.local/share/digest/digest.db postgresql://..."""
    from digest.store import open_store
    from digest.store.copy import TargetNotEmpty, copy_store
    from digest.store.errors import StoreError, StoreUsageError
    from digest.store.url import redacted, resolve_url, sqlite_path

    here = Path.cwd()
    source_url = resolve_url(source, None, here)
    path = sqlite_path(source_url)
    if path is not None and not path.is_file():
        fail(f"no store to copy at {path}", code=EXIT_USAGE)
    try:
        src = open_store(source_url)
        dst = open_store(resolve_url(target, None, here))
    except StoreUsageError as exc:
        fail(str(exc), code=EXIT_USAGE)
    except StoreError as exc:
        fail(str(exc))
    try:
        results = copy_store(src, dst, on_table=lambda name, n: say(f"copying {name}: {n} rows"))
    except TargetNotEmpty as exc:
        fail(f"{redacted(target)}: {exc}", code=EXIT_USAGE)
    finally:
        src.close()
        dst.close()
    width = max(len(r.table) for r in results)
    for r in results:
        typer.echo(f"{r.table:<{width}}  {r.source_rows:>9}  {r.copied_rows:>9}  {'ok' if r.ok else 'MISMATCH'}")
    if not all(r.ok for r in results):
        fail("the copy's row counts differ from the source's")
    typer.echo(f"copied {sum(r.copied_rows for r in results)} rows into {redacted(target)}")


@app.command()
def worker(
    ctx: typer.Context,
    poll: Annotated[
        float, typer.Option("--poll", min=1.0, help="Seconds between looks for due sources when none is due.")
    ] = 30.0,
) -> None:
    """Fetch due sources until stopped, alongside any number of other workers on one store.

    Each due source is claimed by one worker; on SIGTERM or Ctrl-C the sources in hand are finished and written,
    and the rest are given back."""
    import signal
    import threading

    c = _ctx(ctx)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    say(f"worker started on {c.store_name}")
    while not stop.is_set():
        summary = _fetch(c, every=False, names=[], stop=stop)
        if summary.reports:
            typer.echo(summary.line())
            if not stop.is_set() and (enriched := c.runtime.enrich_after(summary)):
                typer.echo(enriched)
            continue  # more may have come due while this round ran
        stop.wait(poll)
    say("worker stopped")


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the demo's store and digest.", file_okay=False)
    ] = Path("digest-demo"),
) -> None:
    """Serve bundled sample feeds on 127.0.0.1, fetch them, and write a digest. No internet needed."""
    from digest.config import Config, LoadedConfig
    from digest.demo.run import DEMO_CONFIG, fresh_store_url, run_demo

    c = _ctx(ctx)
    out = out.expanduser().absolute()
    own_config = c.config_path is None
    if own_config:
        c._loaded = LoadedConfig(Config.model_validate(DEMO_CONFIG), None)
    if c.db is None:
        c.db = fresh_store_url(out)
    paths = _app(lambda: run_demo(c.runtime, out, own_config=own_config))
    typer.echo("")
    typer.echo(f"digest written to {out}")
    for p in paths:
        typer.echo(f"  {p}")
    typer.echo(f"store: {c.store_name}")
    typer.echo("")
    print_status(c)
