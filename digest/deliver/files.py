"""Write a rendered issue to a folder, atomically, so a reader never sees half a file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from digest.compose.render import Rendered


def write_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """The file gets the permissions any new file gets (0666 less the umask), not mkstemp's private 0600:
    an archive page must be readable by the web server that serves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
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
