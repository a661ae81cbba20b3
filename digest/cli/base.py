"""What every command shares: the Typer application and its options, the per-run Context (config, store,
runtime), how a command says things (`say`, `fail`) and turns the application's errors into exit statuses. And
`digest init`, the first command a newcomer runs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from digest.app import Runtime
    from digest.config import Config, LoadedConfig
    from digest.store.api import Store


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


def quiet() -> bool:
    """Whether -q asked for errors only (read when asked: the option is parsed after this module loads)."""
    return _verbosity == QUIET


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
