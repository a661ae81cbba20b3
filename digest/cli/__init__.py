"""The `digest` command line: parses arguments, calls the application (digest/app.py), prints. One module per
group of commands; importing each registers its commands on `app`, in the order `digest --help` lists them.
Heavy modules load per command."""

from __future__ import annotations

# Each import registers its commands on `app`, and `digest --help` lists them in that order: keep it.
# isort: off
from digest.cli.base import app
from digest.cli import sources, fetching, issues, status, db  # noqa: F401
# isort: on

__all__ = ["app", "main"]


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
