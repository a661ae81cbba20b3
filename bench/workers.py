"""Several workers on one PostgreSQL store (issue 13): one command, a table.

    python bench/workers.py [--feeds 2000] [--items 20] [--workers 1,2,4] [--repeat 1] [--pg URL] [--keep DIR]

Serves bench/farm.py's feed farm with nginx on 127.0.0.1 (ETag, Last-Modified, an access log), and for each
configuration (one SQLite process; 1, 2, 4 ... concurrent `digest fetch` processes on one PostgreSQL store, a fresh
database each) adds the farm's sources with one `digest sources import` and times two runs:
  cold  empty store: every feed fetched, parsed and stored
  warm  nothing changed, every source made due again (next_fetch_at cleared): every feed answers 304
Every worker is a plain `digest fetch` (not `--all`, which fetches a source whether or not another worker just
did): the workers list the due sources, claim them a batch at a time and skip those another worker claimed or
fetched. Per run: wall time from the first worker's start to the last one's exit; CPU (user + system) of the
worker processes and everything they started (parser processes included, through bench/reap.py), from wait4;
each worker's peak RSS (its largest process, as GNU time reports it: see run_workers); the PostgreSQL
server's CPU over the run (its processes' clocks in /proc: on 2 cores the server competes with the workers).
Checks, which fail the benchmark: the store holds exactly the farm's items (expected.json) with no duplicate
(source, guid), papers and mentions as bench/run.py checks them; nginx's access log for the run has one
request for every feed (as many requests as feeds, as many distinct paths, all 200 on a cold run and 304 on a
warm one); digest's fetch log got one line per source; no claim is left on any source; every worker exits 0.

Unless --pg names a server, the benchmark starts a private PostgreSQL cluster of its own (.ci/postgres, on its own
port and folder, fsync off as for the tests) and stops it at the end: the server's CPU is then the benchmark's
alone, whatever else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.farm import generate  # noqa: E402
from bench.run import (  # noqa: E402
    TIME,
    check_rows,
    compile_digest,
    digest_cmd,
    ensure_tools,
    free_port,
    machine,
    start_nginx,
    write_config,
    write_opml,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")
SUMMARY = re.compile(r"fetched (\d+), not modified (\d+), failed (\d+), new items (\d+)")


@dataclass
class Result:
    store: str  # "sqlite" or "postgres"
    workers: int
    run: str  # "cold" or "warm"
    wall: float
    cpu: float  # user + system of the workers and their descendants
    server_cpu: float | None  # PostgreSQL's processes over the run
    rss_mb: list[float]  # each worker's peak
    split: list[int]  # sources each worker fetched (or found unchanged)
    requests: int = 0
    paths: int = 0
    items: int = 0  # distinct (source, guid) stored after the run
    dups: int = 0  # item rows beyond one per (source, guid)
    rep: int = 0
    checks: list[str] = field(default_factory=list)  # what passed
    failures: list[tuple[str, str]] = field(default_factory=list)  # (a few words, the evidence)
    low: float = 0.0
    high: float = 0.0


# --- PostgreSQL ----------------------------------------------------------------------------------------------


class PrivateServer:
    """A PostgreSQL cluster of the benchmark's own, started through .ci/postgres (Debian's packages) on a free port
    in a folder under the benchmark's root, stopped and removed at the end."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.dir = root / f"pg-{self.port}"
        script = HERE.parent / ".ci" / "postgres"
        out = subprocess.run(
            ["bash", str(script)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "DIGEST_PG_PORT": str(self.port), "DIGEST_PG_DIR": str(self.dir)},
        )
        self.url = out.stdout.strip().splitlines()[-1]

    def stop(self, keep_log: Path | None = None) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if bins:
            cmd = [str(bins[-1]), "-D", str(self.dir), "-m", "fast", "-w", "stop"]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            subprocess.run(cmd, capture_output=True)
        if keep_log is not None and (self.dir / "log").exists():
            shutil.copyfile(self.dir / "log", keep_log)  # the server's own account (deadlocks, errors)
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def server_pid(admin: Any) -> int | None:
    """The postmaster's pid: the parent of this connection's backend (None if it is not on this machine)."""
    backend = admin.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def server_cpu(postmaster: int | None) -> float | None:
    """CPU seconds of the PostgreSQL server so far: the postmaster's own and its reaped backends' (cutime, cstime),
    and every live child's (background processes, backends still connected)."""
    if postmaster is None:
        return None
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


# --- one configuration ---------------------------------------------------------------------------------------


def access_offset(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


def read_requests(log: Path, offset: int) -> list[tuple[str, str]]:
    with log.open("rb") as f:
        f.seek(offset)
        return [tuple(line.split()[:2]) for line in f.read().decode().splitlines() if line.strip()]  # type: ignore[misc]


def run_workers(
    n: int, db: str, cfg: Path, env: dict[str, str], out: Path, fetch_args: tuple[str, ...] = ()
) -> tuple[float, float, list[float], list[int], list[tuple[str, str]]]:
    """`n` concurrent `digest fetch` processes: wall, CPU of them all, each one's peak RSS in MB, each one's exit
    status and output (stdout, stderr). A worker that exits non-zero (digest fetch does when a source failed) is a
    failed check of its run, not the end of the benchmark."""
    # Each worker runs under GNU time, which reports its peak RSS: the ru_maxrss that wait4 gives for a child of
    # this process counts this process's own memory (Linux keeps the larger of the pre-exec image's and the
    # program's peak; the pre-exec image here is a copy of this process, which holds the farm's truth). GNU time's
    # child is forked from GNU time, a small process. CPU is wait4's: GNU time adds a millisecond or so.
    procs = []
    t0 = time.monotonic()
    for i in range(n):
        so, se, tm = (out.with_name(f"{out.name}-w{i}.{ext}") for ext in ("out", "err", "time"))
        cmd = [TIME, "-f", "%M", "-o", str(tm), *digest_cmd("--db", db, "--config", str(cfg), "fetch", *fetch_args)]
        procs.append(
            (
                subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=so.open("wb"), stderr=se.open("wb")),
                so,
                se,
                tm,
            )
        )
    cpu, rss, codes = 0.0, [], []
    outputs: list[tuple[str, str]] = []
    for proc, so, se, tm in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        rss.append(int(tm.read_text().split()[-1]) / 1024)  # KiB: the largest single process of the worker's tree
        outputs.append((so.read_text(), se.read_text()))
        codes.append(proc.returncode)
    wall = time.monotonic() - t0
    return wall, cpu, rss, codes, outputs


def check_run(
    con: Any,
    farm: Path,
    base: str,
    run: str,
    feeds: int,
    requests: list[tuple[str, str]],
    fetch_lines: int,
    outputs: list[tuple[str, str]],
) -> tuple[list[str], list[tuple[str, str]], list[int], tuple[int, int]]:
    """The run's checks: (what passed, what failed as (a few words for the table, the evidence), the sources each
    worker reported, (distinct items, duplicate rows))."""
    ok: list[str] = []
    bad: list[tuple[str, str]] = []
    # The store: the farm's items exactly, no (source, guid) twice, papers and mentions as the generator says.
    truth = json.loads((farm / "expected.json").read_text())
    want = sum(len(v) for v in truth.values())
    total = con.execute("SELECT count(*) FROM items").fetchone()[0]
    distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT source_id, guid FROM items) AS d").fetchone()[0]
    dups = con.execute(
        "SELECT s.url, i.guid, count(*) FROM items i JOIN sources s ON s.id = i.source_id "
        "GROUP BY s.url, i.guid HAVING count(*) > 1 LIMIT 5"
    ).fetchall()
    if distinct != total or dups:
        bad.append(
            (
                f"{total - distinct} duplicate items",
                f"items: {total} rows, {distinct} distinct (source, guid); e.g. {dups}",
            )
        )
    if distinct != want:
        bad.append(
            (
                f"{want - distinct} items missing" if distinct < want else f"{distinct - want} items extra",
                f"items: {distinct} distinct (source, guid) stored, {want} in expected.json",
            )
        )
    if distinct == total == want:
        ok.append(f"{total} items once each")
    try:
        ok.append(check_rows(con, farm, base).removeprefix("ok: "))
    except SystemExit as exc:
        bad.append(("store != expected.json", str(exc)))
    # The server: one request per feed.
    per_path = Counter(path for path, _ in requests)
    statuses = Counter(status for _, status in requests)
    want_status = "200" if run == "cold" else "304"
    twice = sorted(p for p, c in per_path.items() if c > 1)
    missing = sorted({f"/feed-{i}.xml" for i in range(feeds)} - set(per_path))
    if twice:
        bad.append(
            (
                f"{len(twice)} feeds requested twice",
                f"nginx: {len(requests)} requests, {len(per_path)} distinct paths; more than once: {twice[:10]}",
            )
        )
    if missing:
        bad.append((f"{len(missing)} feeds not requested", f"nginx: no request for {missing[:10]}"))
    if set(statuses) - {want_status}:
        other = {k: v for k, v in statuses.items() if k != want_status}
        bad.append((f"{sum(other.values())} answers not {want_status}", f"nginx: statuses {dict(statuses)}"))
    if len(requests) == len(per_path) == feeds and not twice and not missing and statuses == {want_status: feeds}:
        ok.append(f"{feeds} requests, {feeds} paths, all {want_status}")
    # digest's own record: one fetch-log line per source, no claim left behind.
    if fetch_lines != feeds:
        bad.append((f"fetch log {fetch_lines}/{feeds}", f"fetch log: {fetch_lines} lines this run for {feeds} sources"))
    claims = con.execute("SELECT count(*) FROM sources WHERE claimed_by IS NOT NULL").fetchone()[0]
    if claims:
        bad.append((f"{claims} claims left", f"{claims} sources still claimed after the run"))
    # What each worker says it did; together, every source once.
    split = []
    for i, (text, err) in enumerate(outputs):
        m = SUMMARY.search(text)
        if not m:
            bad.append(("no summary", f"worker {i} printed no summary: {text[-300:]!r} {err[-300:]!r}"))
            continue
        fetched, unchanged, failed = int(m[1]), int(m[2]), int(m[3])
        split.append(fetched + unchanged + failed)
        if failed:
            bad.append(
                (
                    f"{failed} failed",
                    f"worker {i}: {m[0]}, failed {failed}; its errors: "
                    + " / ".join(line for line in err.splitlines() if "digest:" in line)[:600],
                )
            )
    if sum(split) != feeds:
        bad.append(
            (
                f"workers did {sum(split)}/{feeds}",
                f"the workers reported {sum(split)} sources ({'+'.join(map(str, split))}) for {feeds}",
            )
        )
    return ok, bad, split, (distinct, total - distinct)


def run_config(
    store: str,
    n: int,
    *,
    farm: Path,
    base: str,
    feeds: int,
    work: Path,
    access_log: Path,
    pg_admin: Any,
    pg_url: str | None,
    postmaster: int | None,
    per_host: int,
    concurrency: int,
    every: bool = False,
    rep: int = 0,
) -> list[Result]:
    work.mkdir(parents=True)
    cfg = write_config(work, f"[fetch]\nconcurrency = {concurrency}\nper_host = {per_host}\n")
    opml = write_opml(work, base, feeds)
    env = {**os.environ, "DIGEST_HOME": str(work / "home")}
    dbname = None
    if store == "sqlite":
        db = str(work / "digest.db")
    else:
        assert pg_url is not None
        dbname = f"bench_w{n}_{uuid.uuid4().hex[:8]}"
        pg_admin.execute(f'CREATE DATABASE "{dbname}"')
        db = with_database(pg_url, dbname)
    results = []
    try:
        subprocess.run(
            digest_cmd("--db", db, "--config", str(cfg), "sources", "import", str(opml)),
            check=True,
            env=env,
            capture_output=True,
        )
        con = sqlite3.connect(db) if store == "sqlite" else pg_connect(db)
        try:
            for run in ("cold", "warm"):
                if run == "warm" and not every:  # every source due again; the cold run's validators stay
                    con.execute("UPDATE sources SET next_fetch_at = NULL")
                    if store == "sqlite":
                        con.commit()
                log_before = con.execute("SELECT count(*) FROM fetches").fetchone()[0]
                offset = access_offset(access_log)
                cpu0 = server_cpu(postmaster) if store == "postgres" else None
                wall, cpu, rss, codes, outputs = run_workers(n, db, cfg, env, work / run, ("--all",) if every else ())
                time.sleep(0.2)  # backends of the workers' closed connections exit
                cpu1 = server_cpu(postmaster) if store == "postgres" else None
                if store == "sqlite":
                    con.rollback()  # a fresh snapshot
                requests = read_requests(access_log, offset)
                lines = con.execute("SELECT count(*) FROM fetches").fetchone()[0] - log_before
                ok, bad, split, (items, dups) = check_run(con, farm, base, run, feeds, requests, lines, outputs)
                bad += [
                    (f"exit {code}", f"worker {i} exited {code}: {outputs[i][1].strip()[-400:]}")
                    for i, code in enumerate(codes)
                    if code != 0
                ]
                results.append(
                    Result(
                        store,
                        n,
                        run,
                        wall,
                        cpu,
                        None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
                        rss,
                        split,
                        len(requests),
                        len({p for p, _ in requests}),
                        items,
                        dups,
                        rep,
                        ok,
                        bad,
                    )
                )
                print(
                    f"  {store} x{n} {run}: {wall:.2f} s wall, {cpu:.2f} CPU-s"
                    + (f", server {cpu1 - cpu0:.2f} CPU-s" if cpu0 is not None and cpu1 is not None else "")
                    + f"; {'; '.join(d for _, d in bad) if bad else 'checks ok'}",
                    file=sys.stderr,
                )
        finally:
            con.close()
    finally:
        if dbname is not None:
            pg_admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return results


# --- the table -----------------------------------------------------------------------------------------------


def median_of(runs: list[Result]) -> Result:
    ordered = sorted(runs, key=lambda r: r.wall)
    mid = ordered[len(ordered) // 2]
    mid.low, mid.high = ordered[0].wall, ordered[-1].wall
    mid.failures = [(short, f"run {r.rep + 1}: {detail}") for r in runs for short, detail in r.failures]
    mid.dups = max(r.dups for r in runs)
    return mid


def table(results: list[Result], feeds: int, per_host: int, concurrency: int) -> str:
    base = {r.run: r for r in results if r.store == "postgres" and r.workers == 1}
    head = (
        f"{'store':<9} {'workers':>7} {'run':<5} {'wall s':>7} {'min-max s':>11} {'speedup':>7} {'CPU s':>7} "
        f"{'PG CPU s':>8} {'peak MB':>9} {'requests':>8} {'paths':>6} {'items':>6} {'dups':>4} "
        f"{'split':<19} checks"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        one = base.get(r.run)
        speedup = f"{one.wall / r.wall:.2f}x" if r.store == "postgres" and one and r.wall else ""
        spread = f"{r.low:.2f}-{r.high:.2f}" if r.high else ""
        server = f"{r.server_cpu:.2f}" if r.server_cpu is not None else "-"
        rss = f"{max(r.rss_mb):.0f}" if len(r.rss_mb) == 1 else f"{min(r.rss_mb):.0f}-{max(r.rss_mb):.0f}"
        split = "+".join(map(str, r.split))
        checks = "FAILED: " + ", ".join(dict.fromkeys(short for short, _ in r.failures)) if r.failures else "ok"
        lines.append(
            f"{r.store:<9} {r.workers:>7} {r.run:<5} {r.wall:>7.2f} {spread:>11} {speedup:>7} {r.cpu:>7.2f} "
            f"{server:>8} {rss:>9} {r.requests:>8} {r.paths:>6} {r.items:>6} {r.dups:>4} {split:<19} "
            f"{checks}"
        )
    lines.append("")
    notes = [
        f"All {feeds} feeds are on one host (nginx on 127.0.0.1), so the config raises [fetch] per_host to "
        f"{per_host} (the default is 2; concurrency = {concurrency} per worker). On PostgreSQL per_host caps the "
        f"requests in flight of all workers together (advisory locks): the workers share {per_host} slots.",
        "CPU s: user + system of the worker processes and everything they started (parser processes), summed over "
        "the workers; PG CPU s: the PostgreSQL server's processes over the run; peak MB: each worker's peak RSS "
        "(its largest process, GNU time's %M), the range over the workers. speedup: the wall time of 1 PostgreSQL "
        "worker / this.",
        "requests, paths: nginx's access log for the run (every feed once: both equal the feeds); items: distinct "
        "(source, guid) stored, dups: rows beyond one per (source, guid); split: the sources each worker reported. "
        "warm: every source made due again (next_fetch_at cleared), each should answer 304.",
    ]
    lines += [f"note: {n}" for n in notes]
    details = [d for r in results for _, d in r.failures]
    if details:
        lines.append("failed checks:")
        lines += [f"  {r.store} x{r.workers} {r.run}, {d}" for r in results for _, d in r.failures]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feeds", type=int, default=2000)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts on PostgreSQL (default 1,2,4)")
    ap.add_argument("--no-sqlite", action="store_true", help="leave out the one SQLite process")
    ap.add_argument("--concurrency", type=int, default=8, help="[fetch] concurrency of each worker (default 8)")
    ap.add_argument("--per-host", type=int, help="[fetch] per_host (default: --concurrency)")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each configuration, interleaved; the median wall time is shown (default 1)",
    )
    ap.add_argument(
        "--pg",
        help="a PostgreSQL superuser URL to create the databases with (default: a private "
        "cluster started and stopped by the benchmark)",
    )
    ap.add_argument(
        "--all",
        action="store_true",
        help="workers run `digest fetch --all` (each fetches what it "
        "claims whether or not another worker fetched it already)",
    )
    ap.add_argument("--keep", type=Path, help="keep the farm, configs and worker outputs in this folder")
    args = ap.parse_args()
    per_host = args.per_host or args.concurrency
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    ensure_tools(False)
    compile_digest()
    root = args.keep or Path(tempfile.mkdtemp(prefix="digest-workers-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # nginx's workers and the postgres user must reach their folders
    started, load = time.monotonic(), os.getloadavg()[0]
    print(f"machine: {machine()}", file=sys.stderr)
    farm = root / "farm"
    truth = generate(farm, feeds=args.feeds, items=args.items)
    print(
        f"farm: {args.feeds} feeds x {args.items} items = {truth.items} items, {len(truth.paper_ids)} paper ids",
        file=sys.stderr,
    )
    access_log = root / "nginx" / "access.log"
    server, base = start_nginx(farm / "feeds", root / "nginx", access_log=access_log)
    private = None
    try:
        if args.pg:
            pg_url = args.pg
        else:
            private = PrivateServer(root)
            pg_url = private.url
            print(f"postgres: a private cluster on port {private.port}", file=sys.stderr)
        admin = pg_connect(pg_url)
        postmaster = server_pid(admin)
        version = admin.execute("SHOW server_version").fetchone()[0]
        fsync = admin.execute("SHOW fsync").fetchone()[0]
        configs = ([] if args.no_sqlite else [("sqlite", 1)]) + [("postgres", n) for n in counts]
        runs: dict[tuple[str, int, str], list[Result]] = {}
        for rep in range(max(1, args.repeat)):
            for store, n in configs:
                for r in run_config(
                    store,
                    n,
                    farm=farm,
                    base=base,
                    feeds=args.feeds,
                    work=root / f"r{rep}-{store}-{n}",
                    access_log=access_log,
                    pg_admin=admin,
                    pg_url=pg_url,
                    postmaster=postmaster,
                    per_host=per_host,
                    concurrency=args.concurrency,
                    every=args.all,
                    rep=rep,
                ):
                    runs.setdefault((r.store, r.workers, r.run), []).append(r)
        admin.close()
    finally:
        server.terminate()
        server.wait()
        if private is not None:
            private.stop(keep_log=root / "postgres.log" if args.keep else None)
    results = [median_of(group) for group in runs.values()]
    results.sort(key=lambda r: (r.run, r.store != "sqlite", r.workers))
    print(f"machine: {machine()}")
    print(
        f"postgres {version} (fsync={fsync}{', private cluster' if private else ''}); "
        f"{args.feeds} feeds x {args.items} items; repeats {max(1, args.repeat)}; load average at start "
        f"{load:.2f}, at end {os.getloadavg()[0]:.2f}; total {time.monotonic() - started:.0f} s"
    )
    print(table(results, args.feeds, per_host, args.concurrency))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    failed = [f for r in results for f in r.failures]
    if failed:
        raise SystemExit(f"{len(failed)} check(s) failed")


if __name__ == "__main__":
    main()
