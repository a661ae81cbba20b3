"""Load and validate the TOML config; every error names the file, the key and what was expected."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from digest import __version__
from digest.limits import MAX_BACKOFF_HOURS, MAX_INTERVAL_MINUTES, MAX_LOOKBACK_DAYS

APP_NAME = "digest"
DEFAULT_USER_AGENT = f"digest/{__version__} (research feed digest; python-httpx)"


class ConfigError(Exception):
    """A config problem a user can fix; the message is one line naming file and key."""


class _Strict(BaseModel):
    # A typo in a key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    url: str | None = None
    # Seconds a command waits for another process's write transaction before giving up (SQLite's busy_timeout).
    busy_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0


class FetchConfig(_Strict):
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8
    per_host: Annotated[int, Field(ge=1, le=16)] = 2
    timeout_connect: Annotated[float, Field(gt=0)] = 10.0
    timeout_total: Annotated[float, Field(gt=0)] = 60.0
    max_body_mib: Annotated[float, Field(gt=0)] = 20.0
    max_redirects: Annotated[int, Field(ge=0, le=30)] = 5
    default_interval: Annotated[int, Field(ge=1, le=MAX_INTERVAL_MINUTES, description="minutes")] = 60
    max_backoff_hours: Annotated[float, Field(gt=0, le=MAX_BACKOFF_HOURS)] = 24.0
    user_agent: str = DEFAULT_USER_AGENT
    parse_processes: Annotated[int | None, Field(ge=0, le=64)] = None  # default: one per core
    # How long a worker's claim on a source lasts: a worker killed mid-fetch holds its sources until then.
    lease_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 15.0

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mib * 1024 * 1024)


class PaperRuleConfig(_Strict):
    """A URL regex and the id it means, e.g. a conference mirror whose pages are keyed by OpenReview ids."""

    pattern: str
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*:.+$")]

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def as_pair(self) -> tuple[str, str]:
        return self.pattern, self.id


class PapersConfig(_Strict):
    rules: list[PaperRuleConfig] = []


Resolver = Literal["landing", "arxiv", "openreview", "s2", "crossref", "title"]
RESOLVERS: tuple[Resolver, ...] = ("landing", "arxiv", "openreview", "s2", "crossref", "title")


class EnrichConfig(_Strict):
    after_fetch: bool = True
    # Which resolvers run, in this order: landing pages first (a candidate link becomes a paper, a url: paper
    # its arXiv id or DOI), then the APIs, then resolution by title for papers a listing names without a link.
    resolvers: list[Resolver] = list(RESOLVERS)
    arxiv_api: str = "https://export.arxiv.org/api/query"
    openreview_api: str = "https://api2.openreview.net"
    openreview_legacy_api: str | None = "https://api.openreview.net"  # asked for notes API v2 does not have
    semantic_scholar_api: str = "https://api.semanticscholar.org/graph/v1"
    semantic_scholar_key_env: str | None = None  # the name of an environment variable holding an API key
    crossref_api: str = "https://api.crossref.org"
    mailto: str | None = None  # Crossref's polite pool and OpenReview/S2 etiquette: a contact address
    max_papers: Annotated[int, Field(ge=0)] = 500  # per run and resolver; the rest waits for the next run
    max_pages: Annotated[int, Field(ge=0)] = 200  # landing pages read per run
    spacing: Annotated[float, Field(ge=0)] = 3.0  # seconds between requests to one API (arXiv asks for 3)
    host_spacing: Annotated[float, Field(ge=0)] = 1.0  # seconds between landing pages of one host
    timeout: Annotated[float, Field(gt=0)] = 30.0


def _valid_pattern(value: str) -> str:
    """A keyword is a word or phrase (matched as whole words, any case), or /a regex/."""
    import re

    if len(value) > 2 and value.startswith("/") and value.endswith("/"):
        try:
            re.compile(value[1:-1])
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    elif not value.strip():
        raise ValueError("empty keyword")
    return value


class SectionConfig(_Strict):
    name: Annotated[str, Field(min_length=1)]
    keywords: Annotated[list[str], Field(min_length=1)]

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return [_valid_pattern(v) for v in value]


class FilterConfig(_Strict):
    """Keywords match title, abstract, excerpt and headings; authors and sources match names."""

    keywords: list[str] = []
    authors: list[str] = []
    sources: list[str] = []

    @field_validator("keywords", "authors")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return [_valid_pattern(v) for v in value]

    @property
    def empty(self) -> bool:
        return not (self.keywords or self.authors or self.sources)


SUBJECT_FIELDS = ("title", "name", "date", "papers", "posts", "top")


class DigestConfig(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    title: str | None = None
    schedule: str = "daily 07:00"
    timezone: str = "UTC"
    theme: str = "default"
    theme_dir: str | None = None
    out: str | None = None
    sources: list[str] = []
    lookback_days: Annotated[float, Field(gt=0, le=MAX_LOOKBACK_DAYS)] = 7.0
    max_papers: Annotated[int, Field(ge=0)] = 25
    max_posts: Annotated[int, Field(ge=0)] = 20
    sections: list[SectionConfig] | None = None  # None: the built-in ML sections; [] for none
    source_weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    include: FilterConfig = FilterConfig()
    exclude: FilterConfig = FilterConfig()
    recipients: list[str] = []
    # The To: header every recipient sees (default: smtp.from); the recipients themselves go in the SMTP envelope
    # only, so no reader learns who else reads the digest.
    list_address: str | None = None
    subject: str = "{title}: {papers} papers, {posts} posts ({date})"
    list_id: str | None = None
    unsubscribe: str | None = None

    @field_validator("subject")
    @classmethod
    def _subject_fields(cls, value: str) -> str:
        import string

        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid subject template: {exc}") from None
        unknown = sorted(f for f in fields if f not in SUBJECT_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown field {{{unknown[0]}}} in subject (known: "
                + ", ".join("{" + f + "}" for f in SUBJECT_FIELDS)
                + ")"
            )
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for v in value:
            _address(v)
        return value

    @field_validator("list_address")
    @classmethod
    def _list_address(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("schedule")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        from digest.schedule import parse_schedule

        parse_schedule(value)  # raises ValueError with the accepted forms
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Berlin')") from None
        return value


def _address(value: str) -> str:
    from email.utils import parseaddr

    if "@" not in parseaddr(value)[1] or any(c in value for c in "\r\n"):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def _default_digests() -> list[DigestConfig]:
    return [DigestConfig(name="digest")]


class SmtpConfig(_Strict):
    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password_env: str | None = None  # the name of an environment variable; the password is never stored
    sender: Annotated[str, Field(alias="from")] = "digest@localhost"
    timeout: Annotated[float, Field(gt=0)] = 30.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Config(_Strict):
    store: StoreConfig = StoreConfig()
    smtp: SmtpConfig = SmtpConfig()
    fetch: FetchConfig = FetchConfig()
    papers: PapersConfig = PapersConfig()
    enrich: EnrichConfig = EnrichConfig()
    digests: list[DigestConfig] = Field(default_factory=_default_digests)

    @field_validator("digests")
    @classmethod
    def _unique_digest_names(cls, value: list[DigestConfig]) -> list[DigestConfig]:
        names = [d.name for d in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"digest names must be unique, repeated: {', '.join(dupes)}")
        return value

    def digest(self, name: str) -> DigestConfig:
        for d in self.digests:
            if d.name == name:
                return d
        known = ", ".join(d.name for d in self.digests) or "none"
        raise ConfigError(f"no digest named {name!r} in the config (configured: {known})")


@dataclass(frozen=True)
class LoadedConfig:
    """The validated config plus where it came from, so messages can point at the file."""

    config: Config
    path: Path | None


def user_data_dir() -> Path:
    from platformdirs import user_data_path

    return Path(os.environ.get("DIGEST_HOME") or user_data_path(APP_NAME))


def user_config_path() -> Path:
    from platformdirs import user_config_path as _ucp

    home = os.environ.get("DIGEST_HOME")
    return Path(home) / "config.toml" if home else _ucp(APP_NAME) / "config.toml"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def parse_config(text: str, *, origin: str) -> Config:
    """Validate TOML text; `origin` names the file in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _format_loc(tuple(first["loc"]))
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        got = first.get("input")
        detail = "" if first["type"] in ("extra_forbidden", "missing") or isinstance(got, dict) else f", got {got!r}"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{origin}: {where}: {msg}{detail}{more}") from None


def load_config(path: Path | None) -> LoadedConfig:
    """Read the config from `path`, else DIGEST_CONFIG, else the user config file if it exists."""
    explicit = path is not None or bool(os.environ.get("DIGEST_CONFIG"))
    chosen = path or (Path(os.environ["DIGEST_CONFIG"]) if os.environ.get("DIGEST_CONFIG") else user_config_path())
    chosen = chosen.expanduser()
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"{chosen}: config file not found (run 'digest init' to write one)")
        return LoadedConfig(Config(), None)
    try:
        text = chosen.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{chosen}: cannot read config: {exc}") from None
    return LoadedConfig(parse_config(text, origin=str(chosen)), chosen)


def example_config_text() -> str:
    """The commented starter config shipped with the package (same as config.example.toml)."""
    from importlib.resources import files

    return (files("digest") / "config.example.toml").read_text(encoding="utf-8")
