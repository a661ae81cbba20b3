"""Write a rendered issue to a folder, atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from digest.compose.render import Rendered


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_issue(out_dir: Path, rendered: Rendered) -> list[Path]:
    html, txt = out_dir / "digest.html", out_dir / "digest.txt"
    write_atomic(html, rendered.html)
    write_atomic(txt, rendered.text)
    return [html, txt]
