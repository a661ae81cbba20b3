"""Write a rendered issue to a folder, atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from digest.compose.render import Rendered


def write_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_issue(out_dir: Path, rendered: Rendered, message: bytes | None = None) -> list[Path]:
    """digest.html, digest.txt and (when given) digest.eml, the message exactly as it would be mailed."""
    html, txt, eml = out_dir / "digest.html", out_dir / "digest.txt", out_dir / "digest.eml"
    write_atomic(html, rendered.html)
    write_atomic(txt, rendered.text)
    if message is None:
        return [html, txt]
    write_bytes_atomic(eml, message)
    return [html, txt, eml]
