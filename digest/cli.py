"""The `digest` command line: wires config, store and the pipeline stages. Heavy modules load per command."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

from digest.domain.adapters import adapter_names

if TYPE_CHECKING:
    import threading

    from sqlalchemy import Engine

    from digest.app import Compose, Runtime
    from digest.config import Config, DigestConfig, LoadedConfig
    from digest.deliver.outbox import Delivery
    from digest.ingest import RunSummary, SourceReport
    from digest.store.api import Store
    from digest.store.values import SourceForFetch


class _Commands(TyperGroup):
    """Every command runs inside this: a store that refuses service (full disk, read-only, locked past
    busy_timeout) or a file system that refuses a write ends the command with one line, never a traceback."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        _plain_metavars(self)

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            problem = _refusal(ctx.obj, exc)
            if problem is None:
                raise
            fail(problem)
        finally:
            if isinstance(ctx.obj, Context):
                ctx.obj.close()


def _plain_metavars(command: Any) -> None:
    """Help shows `--source SOURCE`, as other tools do, not typer's `--source <list[str]>`."""
    for param in command.params:
        if param.param_type_name == "argument" and param.name:  # NAME, [NAME]: no "<str>", no "{url}"
            shown = param.name.upper() if param.required else f"[{param.name.upper()}]"
            param.display_type_rich = lambda ctx: ""
            param._usage_display_name = lambda shown=shown: shown
            param._rich_display_name = lambda shown=shown: shown.strip("[]")
        elif param.metavar is None and not getattr(param, "is_flag", False) and param.name:
            param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        _plain_metavars(sub)


def _refusal(c: Context | None, exc: BaseException) -> str | None:
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
        return f"cannot write {exc.filename}: {exc.strerror}" if exc.filename else f"cannot write: {exc.strerror}"
    if exc.__class__.__module__.split(".")[0] not in ("sqlite3", "sqlalchemy", "psycopg"):
        return None
    from digest.store.errors import store_problem
    from digest.store.url import redacted

    url = redacted(c._url) if isinstance(c, Context) and c._url else None
    busy = c.config.store.busy_timeout if isinstance(c, Context) and c._loaded is not None else None
    problem = store_problem(exc, url=url, busy_timeout=busy)
    return None if problem is None else f"cannot use the store{f' at {url}' if url else ''}: {problem}"


app = typer.Typer(
    cls=_Commands,
    name="digest",
    help="Follow research blogs and paper listings; compose them into a digest.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
sources_app = typer.Typer(help="Add, list, remove, import and export sources.", no_args_is_help=True)
db_app = typer.Typer(help="Store maintenance.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(db_app, name="db")

EXIT_ERROR = 1
EXIT_USAGE = 2
T = TypeVar("T")


@dataclass
class Context:
    """Per-invocation state: config and store are opened on first use, not at start-up."""

    config_path: Path | None
    db: str | None
    _loaded: LoadedConfig | None = None
    _store: Store | None = None
    _url: str | None = field(default=None)

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            from digest.config import ConfigError, load_config

            try:
                self._loaded = load_config(self.config_path)
            except ConfigError as exc:
                fail(str(exc), code=EXIT_USAGE)
        return self._loaded

    @property
    def config(self) -> Config:
        return self.loaded.config

    @property
    def data_dir(self) -> Path:
        from digest.config import user_data_dir

        return user_data_dir()

    @property
    def store_url(self) -> str:
        if self._url is None:
            from digest.store.url import resolve_url

            self._url = resolve_url(self.db, self.config.store.url, self.data_dir)
        return self._url

    @property
    def store_name(self) -> str:
        """The store's URL as it may be shown: without a password."""
        from digest.store.url import redacted

        return redacted(self.store_url)

    @property
    def store(self) -> Store:
        """The store, opened on first use. Only the default store's folder (the data dir) is created."""
        if self._store is None:
            from digest.store import open_store
            from digest.store.errors import StoreError, StoreUsageError
            from digest.store.url import resolve_url

            default = resolve_url(None, None, self.data_dir)
            try:
                self._store = open_store(
                    self.store_url, busy_timeout=self.config.store.busy_timeout, create_folder=self.store_url == default
                )
            except StoreUsageError as exc:
                fail(str(exc), code=EXIT_USAGE)
            except StoreError as exc:
                fail(str(exc))
        return self._store

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def runtime(self) -> Runtime:
        from digest.app import Runtime

        return Runtime(config=self.config, store=self.store, data_dir=self.data_dir)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def reader(self) -> Engine:
        """The store for commands that only read: never waits for another process's write lock."""
        return self.store.reader()


# How much goes to stderr: -q only errors, -v also each source's outcome. Data and JSON go to stdout, unprefixed.
QUIET, NORMAL, VERBOSE = 0, 1, 2
_verbosity = NORMAL


def say(message: str, *, level: int = NORMAL) -> None:
    """A line for the person (or the cron log) watching: on stderr, stamped with the UTC time when stderr is not a
    terminal (a log file), left out below the chosen verbosity."""
    if level > _verbosity:
        return
    if not sys.stderr.isatty():
        message = "\n".join(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}" for line in message.splitlines())
    typer.echo(message, err=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    say(f"digest: error: {message}", level=QUIET)
    raise typer.Exit(code)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime | None) -> str | None:
    from digest.store.export import iso

    return iso(dt)


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def _version(value: bool) -> None:
    if value:
        from digest import __version__

        typer.echo(f"digest {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file (default: DIGEST_CONFIG, else the user config dir).", dir_okay=False
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store path or database URL (default: DIGEST_DB, else the config, else the user data dir)."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also say how each source went.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors on stderr (data on stdout is unchanged).")
    ] = False,
) -> None:
    global _verbosity
    _verbosity = QUIET if quiet else VERBOSE if verbose else NORMAL
    ctx.obj = Context(config_path=config, db=db)


# --- init ------------------------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a commented starter config and create the store."""
    from digest.config import example_config_text, user_config_path
    from digest.deliver.files import write_atomic

    c = _ctx(ctx)
    path = (c.config_path or user_config_path()).expanduser()
    if path.exists() and not force:
        typer.echo(f"config already exists: {path} (use --force to overwrite)")
    else:
        write_atomic(path, example_config_text())
        typer.echo(f"wrote config: {path}")
    c.config_path = path
    _ = c.engine
    typer.echo(f"store ready: {c.store_name}")


# --- sources ---------------------------------------------------------------------------------------


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


# --- fetch -----------------------------------------------------------------------------------------


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


def _app(work: Callable[[], T]) -> T:
    """Run an application call; its one-line failures end the command (a refused fetch says what it did first)."""
    from digest.app import AppError, FetchRefused

    try:
        return work()
    except FetchRefused as exc:
        typer.echo(exc.summary.line())
        fail(str(exc), code=exc.code)
    except AppError as exc:
        fail(str(exc), code=exc.code)


def _progress(due: list[SourceForFetch]) -> Callable[[SourceReport], None]:
    """Each source's problems on stderr as it is written; on a terminal, a progress bar too."""
    if not sys.stderr.isatty() or _verbosity == QUIET:
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


# --- compose / send / run / archive -------------------------------------------------------------------


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(
            f"--since: not an ISO date or date-time: {value!r} (for example 2026-11-01 or 2026-11-01T08:00+01:00)",
            code=EXIT_USAGE,
        )
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@contextmanager
def _lock_said() -> Iterator[None]:
    """The run lock held by another process ends the command at once with exit 75 (cron's "try again later")."""
    from digest.lock import EX_TEMPFAIL, LockError, LockHeld

    try:
        yield
    except LockHeld as exc:
        say(f"digest: {exc}; exiting (EX_TEMPFAIL)", level=QUIET)
        raise typer.Exit(EX_TEMPFAIL) from None
    except LockError as exc:
        fail(str(exc))


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


# --- status / export -------------------------------------------------------------------------------


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
        doubles = repo.same_posts(s)
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


# --- papers ----------------------------------------------------------------------------------------


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


# --- db / demo -------------------------------------------------------------------------------------


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


def main() -> None:
    import gc

    # A run builds tens of thousands of small, acyclic objects (rows, ids, cards) and then exits; with the
    # default thresholds the cycle collector rescanned them all the time. At a million allocations between
    # collections it runs rarely, and peak RSS is unchanged: what a run frees, it frees by refcount (figures:
    # docs/performance.md, "Why the code is as it is").
    gc.set_threshold(1_000_000, 50, 100)
    try:
        app(prog_name="digest")
    finally:
        # The interpreter's last full collection at exit would walk every object the run built and the
        # imports made; a process about to end need not free them one by one.
        gc.freeze()
