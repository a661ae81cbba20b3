"""Write a rendered issue to a folder, atomically, so a reader never sees half a file, nor the folder of an
issue the store never recorded."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from digest.compose.render import Rendered

# (folder, staging folder) of the issue being composed, while `staged` holds it open.
_STAGING: ContextVar[tuple[Path, Path] | None] = ContextVar("digest_issue_staging", default=None)
_PARTIAL = ".partial-"


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
    """digest.html, digest.txt and (when given) digest.eml, the message exactly as it would be mailed. Inside
    `staged(out_dir)` they go to its staging folder, and reach `out_dir` when it ends; the paths returned are
    where they will be."""
    staging = _STAGING.get()
    into = staging[1] if staging is not None and staging[0] == out_dir else out_dir
    names = ["digest.html", "digest.txt"] + (["digest.eml"] if message is not None else [])
    write_atomic(into / names[0], rendered.html)
    write_atomic(into / names[1], rendered.text)
    if message is not None:
        write_bytes_atomic(into / names[2], message)
    return [out_dir / name for name in names]


@contextmanager
def staged(out_dir: Path | None) -> Iterator[None]:
    """Hold back what `write_issue` writes to `out_dir` inside this block, in a hidden folder beside it, and move
    it into place when the block ends without an error; remove it when the block fails.

    A compose writes its files inside the store transaction, before recording the issue, so a failed write
    claims no items (compose/issue.py); but a compose killed between the two left an issue folder the store
    never recorded (issue 15). Ending this block after the commit means a folder appears only for a recorded
    issue. A new folder appears in one rename, whole. A staging folder a killed process left (its pid in the
    name, no longer running) is removed by the next compose into the same parent folder."""
    if out_dir is None:
        yield
        return
    _remove_abandoned(out_dir.parent)
    staging = out_dir.parent / f".{out_dir.name}{_PARTIAL}{os.getpid()}"
    token = _STAGING.set((out_dir, staging))
    try:
        yield
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        _STAGING.reset(token)
    if staging.exists():
        _publish(staging, out_dir)


def _publish(staging: Path, out_dir: Path) -> None:
    try:
        staging.rename(out_dir)  # a new folder (or an empty one): whole, in one step
        return
    except OSError:  # a folder with other files in it (`compose --out DIR`): each file replaced, the rest kept
        pass
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in staging.iterdir():
        os.replace(f, out_dir / f.name)
    staging.rmdir()


def _remove_abandoned(parent: Path) -> None:
    """Staging folders whose process is gone: a compose killed before its commit."""
    if not parent.is_dir():
        return
    for folder in parent.glob(f".*{_PARTIAL}*"):
        pid = folder.name.rsplit(_PARTIAL, 1)[1]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: running
        return True
    return True
