"""`digest sources ...`: add (with feed discovery), list, remove, edit, import and export."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from digest.cli.base import EXIT_USAGE, Context, T, _ctx, fail, now_utc, say, sources_app
from digest.domain.adapters import adapter_names


def _default_name(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "source").removeprefix("www.")
    path = parts.path.strip("/").replace("/", "-")
    for suffix in ("feed", "rss", "atom.xml", "rss.xml", "feed.xml", "index.xml", "atom", "rss2"):
        if path == suffix or path.endswith("-" + suffix):
            path = path[: -len(suffix)].rstrip("-")
            break
    name = f"{host}-{path}" if path else host
    return name[:100]  # unique_name may add "-2"; the column holds 200 (digest/limits.py)


class SourceSpecError(ValueError):
    """A URL, name, interval, kind or adapter that `add`, `import` and `edit` all refuse, with the one-line reason.
    The bounds live in digest/limits.py."""


def _check(check: Callable[[T], T], value: T, *, shown: bool = True) -> T:
    """`value` checked by one of digest/limits.py's checks; without `shown`, the reason alone (the caller's line
    names the value already)."""
    from digest.limits import BadInput

    try:
        return check(value)
    except BadInput as exc:
        raise SourceSpecError(str(exc) if shown else exc.reason) from None


def _validated(check: Callable[[T], T], value: T) -> T:
    """`value` checked by one of digest/limits.py's checks; refused with one line and exit 2."""
    try:
        return _check(check, value)
    except SourceSpecError as exc:
        fail(str(exc), code=EXIT_USAGE)


def _validate_url(url: str) -> str:
    from digest.limits import check_url

    return _validated(check_url, url)


def _kind_and_adapter(url: str, kind: str | None, adapter: str | None) -> tuple[str, str | None]:
    """The kind and adapter a source gets, decided the same way for `add`, `import` and `edit`.

    An adapter (named, or recognised from the URL) makes a listing; a listing without one is a reading list;
    an explicit `feed` is a plain feed even at a URL that looks like a listing.
    """
    from digest.domain.adapters import ADAPTERS, detect_adapter

    if kind is not None and kind not in ("feed", "listing"):
        raise SourceSpecError(f"--kind must be 'feed' or 'listing', not {kind!r}")
    if adapter is not None and adapter not in ADAPTERS:
        raise SourceSpecError(f"--adapter must be one of {', '.join(ADAPTERS)}, not {adapter!r}")
    if kind == "feed":
        if adapter is not None:
            raise SourceSpecError(f"an adapter is for listings: --kind feed with --adapter {adapter}")
        return "feed", None
    adapter = adapter or detect_adapter(url)
    if adapter is not None:
        return "listing", adapter
    return ("listing", "reading-list") if kind == "listing" else ("feed", None)


def _feed_choice(url: str, pick: int | None, c: Context) -> tuple[str, str | None, str | None]:
    """(URL to store, how it was found, a note for stderr). Fails when a page offers no feed, or several and no pick."""
    from digest.fetch.discover import USUAL_PATHS, discover
    from digest.fetch.http import Limits

    f = c.config.fetch
    limits = Limits(
        timeout_connect=f.timeout_connect,
        timeout_total=f.timeout_total,
        max_body_bytes=f.max_body_bytes,
        max_redirects=f.max_redirects,
    )
    found = discover(url, user_agent=f.user_agent, limits=limits)
    if found.outcome == "unreachable":
        return (
            url,
            None,
            (f"note: could not check {url} now ({found.reason}); stored as given, it is recognised on its first fetch"),
        )
    if found.outcome == "feed":
        return url, None, ("note: --pick ignored: the URL is a feed itself" if pick is not None else None)
    feeds = found.feeds
    if not feeds:
        searched = ", ".join("/" + p for p in USUAL_PATHS)
        what = (
            f"{url} is neither a feed nor a web page that links one"
            if found.how == "not a web page"
            else f'{url} is a web page and no feed was found on it (no <link rel="alternate">, none at {searched})'
        )
        fail(f"{what}; to follow the page itself as a reading list add it with --kind listing")
    how = f"the feed linked from {url}" if found.how == "link" else f"found at {found.how} of {url}"
    if len(feeds) == 1 and pick in (None, 1):
        return feeds[0].url, how, None
    if pick is None or not 1 <= pick <= len(feeds):
        lines = [f"  {i}  {f.url}  {f.format}" + (f"  {f.title}" if f.title else "") for i, f in enumerate(feeds, 1)]
        head = (
            f"{url} links {len(feeds)} feeds; add one with --pick N (or add its URL):"
            if pick is None
            else f"--pick must be between 1 and {len(feeds)}: {url} links {len(feeds)} feeds:"
        )
        fail("\n".join([head, *lines]), code=EXIT_USAGE)
    return feeds[pick - 1].url, how, None


@sources_app.command("add")
def sources_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="A feed, a listing page, or a site's home page (its feed is found).")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="Short unique name (default: from the URL).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="feed or listing (default: from the URL).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="A tag; repeat for several.")] = None,
    interval: Annotated[
        int | None, typer.Option("--interval", help="Minutes between fetches (at most a year).")
    ] = None,
    adapter: Annotated[
        str | None, typer.Option("--adapter", help=f"For listings: {adapter_names()} (default: from the URL).")
    ] = None,
    pick: Annotated[
        int | None, typer.Option("--pick", min=1, help="When the page links several feeds: take the N-th as listed.")
    ] = None,
    as_is: Annotated[
        bool, typer.Option("--as-is", help="Store the URL as given: no request, no feed discovery.")
    ] = False,
) -> None:
    """Follow a new source. A home page is looked at for its feed; a URL that cannot be reached now is stored."""
    from digest.limits import check_interval, check_name
    from digest.store import repository as repo

    url = _validate_url(url)
    if name is not None:
        name = _validated(check_name, name)
    if interval is not None:
        interval = _validated(check_interval, interval)
    try:
        kind, adapter = _kind_and_adapter(url, kind, adapter)
    except SourceSpecError as exc:
        fail(str(exc), code=EXIT_USAGE)
    c = _ctx(ctx)
    how = note = None
    if kind == "feed" and not as_is:  # a listing's URL says what it is; a feed's may be a home page
        url, how, note = _feed_choice(url, pick, c)
        url = _validate_url(url)  # what a page links is input too
        kind, adapter = _kind_and_adapter(url, None, None)  # the feed found may be a recognised listing
    with repo.session(c.engine) as s, s.begin():
        chosen = name or repo.unique_name(s, _default_name(url))
        try:
            src = repo.add_source(
                s, url=url, name=chosen, kind=kind, tags=tag or [], interval=interval, adapter=adapter, now=now_utc()
            )
        except repo.SourceExists as exc:
            fail(str(exc))
        typer.echo(
            f"added {src.name}: {src.url}" + (f" ({kind}, {adapter})" if adapter else "") + (f" ({how})" if how else "")
        )
    if note:
        say(note)


@sources_app.command("list")
def sources_list(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """List sources."""
    from digest.store import repository as repo

    c = _ctx(ctx)
    with repo.session(c.reader) as s:
        rows = repo.list_sources(s)
        counts = repo.item_counts(s)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "url": r.url,
                        "kind": r.kind,
                        "adapter": r.adapter,
                        "tags": r.tags or [],
                        "interval": r.interval_minutes,
                        "enabled": r.enabled,
                        "items": counts.get(r.id, 0),
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        typer.echo("no sources yet: add one with 'digest sources add URL'")
        return
    for r in rows:
        flags = "" if r.enabled else "  [disabled]"
        tags = f"  #{' #'.join(r.tags)}" if r.tags else ""
        every = f"  every {r.interval_minutes} min" if r.interval_minutes else ""
        title = f"  ({r.title})" if r.title and r.title != r.name else ""
        typer.echo(f"{r.name}\t{r.kind}\t{r.url}{title}{tags}{every}{flags}")


@sources_app.command("remove")
def sources_remove(ctx: typer.Context, name_or_url: Annotated[str, typer.Argument(help="Name or URL.")]) -> None:
    """Stop following a source and delete its items (to change it instead, use 'sources edit')."""
    from digest.store import repository as repo

    c = _ctx(ctx)
    with repo.session(c.engine) as s, s.begin():
        try:
            src = repo.remove_source(s, name_or_url)
        except repo.SourceNotFound as exc:
            fail(str(exc))
    typer.echo(f"removed {src.name}: {src.url}")


@sources_app.command("edit")
def sources_edit(
    ctx: typer.Context,
    name_or_url: Annotated[str, typer.Argument(help="Name or URL of the source.")],
    name: Annotated[str | None, typer.Option("--name", "-n", help="A new unique name.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="A new URL; the items stay.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Replace the tags; repeat for several.")] = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag; repeat for several.")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option("--remove-tag", help="Remove a tag.")] = None,
    interval: Annotated[
        int | None, typer.Option("--interval", help="Minutes between fetches (at most a year).")
    ] = None,
    no_interval: Annotated[bool, typer.Option("--no-interval", help="Use the config's default_interval.")] = False,
    adapter: Annotated[
        str | None, typer.Option("--adapter", help=f"{adapter_names()} (makes the source a listing).")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="feed or listing.")] = None,
    enable: Annotated[
        bool | None,
        typer.Option(
            "--enable/--disable", help="Fetch it again / stop fetching it (its items stay).", show_default=False
        ),
    ] = None,
) -> None:
    """Change a source without removing it: its items, and the papers they mention, stay."""
    from digest.domain.adapters import detect_adapter
    from digest.limits import check_interval, check_name
    from digest.store import repository as repo

    if interval is not None and no_interval:
        fail("--interval and --no-interval cannot be combined", code=EXIT_USAGE)
    wanted = (name, url, tag, add_tag, remove_tag, interval, adapter, kind, enable)
    if all(v is None for v in wanted) and not no_interval:
        fail(
            f"nothing to change for {name_or_url!r}: give an option (see 'digest sources edit --help')", code=EXIT_USAGE
        )
    new_url = _validate_url(url) if url is not None else None
    if name is not None:
        name = _validated(check_name, name)
    if interval is not None:
        interval = _validated(check_interval, interval)
    c = _ctx(ctx)
    with repo.session(c.engine) as s, s.begin():
        src = repo.find_source(s, name_or_url)
        if src is None:
            fail(f"no source named or at {name_or_url!r}")
        target = new_url or src.url
        try:
            if kind is not None or adapter is not None:
                keep = src.adapter if kind == "listing" and adapter is None and src.kind == "listing" else adapter
                new_kind, new_adapter = _kind_and_adapter(target, kind, keep)
            elif new_url is not None and detect_adapter(new_url) is not None:  # recognised as `add` would
                new_kind, new_adapter = "listing", detect_adapter(new_url)
            else:
                new_kind, new_adapter = src.kind, src.adapter
        except SourceSpecError as exc:
            fail(str(exc), code=EXIT_USAGE)
        tags = list(tag) if tag is not None else list(src.tags or [])
        tags = [t for t in tags + list(add_tag or []) if t not in set(remove_tag or [])]
        try:
            changes = repo.update_source(
                s,
                src,
                name=name,
                url=new_url,
                tags=tags,
                kind=new_kind,
                adapter=new_adapter,
                interval=None if no_interval else (interval if interval is not None else src.interval_minutes),
                enabled=enable,
            )
        except repo.SourceExists as exc:
            fail(str(exc))
    typer.echo(f"edited {src.name}: {'; '.join(changes)}" if changes else f"{src.name}: nothing changed")


@sources_app.command("import")
def sources_import(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="An OPML file.", exists=True, dir_okay=False)]
) -> None:
    """Add every feed of an OPML file (folders become tags); each entry not added is named with the reason.

    Listings are recognised as 'sources add' recognises them, and digest's own exports restore kind, adapter,
    interval and whether the source is enabled. Nothing is fetched: a URL that cannot be reached now is stored.
    """
    from digest.domain.adapters import ADAPTERS
    from digest.limits import check_interval, check_name, check_url
    from digest.opml import OpmlError, OpmlSource, Skipped, parse_opml
    from digest.store import repository as repo

    c = _ctx(ctx)
    try:
        doc = parse_opml(file.read_bytes(), origin=str(file))
    except OpmlError as exc:
        fail(str(exc))
    skipped = added = 0
    with repo.session(c.engine) as s, s.begin():
        for o in doc.entries:
            if isinstance(o, OpmlSource):
                try:
                    if o.problem:
                        raise SourceSpecError(o.problem)
                    url = _check(check_url, o.url, shown=False)  # the entry's line shows URL and name
                    if o.name is not None:
                        _check(check_name, o.name, shown=False)
                    if o.interval is not None:
                        _check(check_interval, o.interval)
                    if o.adapter is not None and o.adapter not in ADAPTERS:
                        raise SourceSpecError(f"unknown adapter {o.adapter!r} (known: {', '.join(ADAPTERS)})")
                    kind, adapter = _kind_and_adapter(url, o.kind, o.adapter)
                    known = repo.find_source(s, url)
                    if known is not None:
                        raise SourceSpecError(f"already followed as {known.name}")
                except SourceSpecError as exc:
                    o = Skipped(o.name, o.url, str(exc))
                else:
                    repo.add_source(
                        s,
                        url=url,
                        name=repo.unique_name(s, o.name or _default_name(url)),
                        kind=kind,
                        tags=o.tags,
                        interval=o.interval,
                        adapter=adapter,
                        enabled=o.enabled is not False,
                        now=now_utc(),
                    )
                    added += 1
                    continue
            say(o.line())
            skipped += 1
    typer.echo(f"imported {added} source{'s' if added != 1 else ''} from {file} ({skipped} skipped)")


@sources_app.command("export")
def sources_export(ctx: typer.Context) -> None:
    """Print every source as OPML: a folder per tag, kind/adapter/interval kept in digest's own attributes."""
    from digest.opml import ExportedSource, to_opml
    from digest.store import repository as repo

    c = _ctx(ctx)
    with repo.session(c.reader) as s:
        rows = [
            ExportedSource(
                name=r.name,
                url=r.url,
                site_url=r.site_url,
                tags=tuple(r.tags or ()),
                kind=r.kind,
                adapter=r.adapter,
                interval=r.interval_minutes,
                enabled=r.enabled,
            )
            for r in repo.list_sources(s)
        ]
    sys.stdout.write(to_opml(rows))
