"""Render a view model with a theme: a folder holding digest.html.j2, digest.txt.j2 and theme.css."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

    from digest.compose.view import DigestView


class ThemeError(Exception):
    pass


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str


def builtin_themes_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("digest.templates")))


def available_themes(theme_dir: Path | None = None) -> list[str]:
    root = theme_dir or builtin_themes_dir()
    return sorted(p.name for p in root.iterdir() if (p / "digest.html.j2").is_file())


def theme_path(name: str, theme_dir: Path | None = None) -> Path:
    root = theme_dir or builtin_themes_dir()
    path = root / name
    if not (path / "digest.html.j2").is_file() or not (path / "digest.txt.j2").is_file():
        known = ", ".join(available_themes(root)) or "none"
        raise ThemeError(f"theme {name!r} not found in {root} (available: {known})")
    return path


def _wrap(text: str, width: int = 72, indent: str = "") -> str:
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _environment(path: Path) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(path), str(builtin_themes_dir() / "_shared")]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wrap"] = _wrap
    return env


def render(view: DigestView, *, theme: str = "default", theme_dir: Path | None = None) -> Rendered:
    path = theme_path(theme, theme_dir)
    env = _environment(path)
    css_file = path / "theme.css"
    css = css_file.read_text(encoding="utf-8") if css_file.is_file() else ""
    try:
        html = env.get_template("digest.html.j2").render(d=view, css=css)
        text = env.get_template("digest.txt.j2").render(d=view)
    except Exception as exc:  # jinja2.TemplateError and anything a user theme raises
        raise ThemeError(f"theme {theme!r} failed to render: {exc.__class__.__name__}: {exc}") from None
    return Rendered(html=inline_css(html), text=text.strip() + "\n")


def inline_css(html: str) -> str:
    """Mail clients drop <style> blocks; inline the rules but keep @media for dark mode and small screens."""
    import css_inline

    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True, keep_style_tags=False)
    return inliner.inline(html)
