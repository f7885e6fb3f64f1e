"""Benchmark of the ingest against raw COPY and pandas ``to_sql``, side by side in one run (not a test).

Usage::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/etl_bench.py \
        [--rows 1000000] [--big-rows 5000000] [--tosql-rows 100000]

It creates a throwaway database on the DATABASE_URL server, generates the files, and times
(a) raw ``COPY`` of the file into a plain table of text columns (the floor), (b) ``DataFrame.to_sql``
with its default method on a ``--tosql-rows`` slice, extrapolated linearly to ``--rows`` (said in the
output), (c) ``etl.pipeline.ingest_file`` on a fresh database in a subprocess, whose peak RSS is
measured, at ``--rows`` and at ``--big-rows`` (0 skips the big run), with the summary refresh shown
apart, (d) the same ``--rows`` file ingested again (``--force``: the incremental path, nothing
changes), (g) after it, one more week for every student (the weekly upload, a new date), (h) then the whole export again
with one week more (a school that re-sends everything), (e) the floor of the schema: the file's rows COPYed into plain copies of the four event tables from text
prepared beforehand, and their primary keys built (what any load into this schema must at least do), (f) the
floor of the loading method the issue prescribes, on the most favourable schema: COPY into a staging table, then
INSERT ... ON CONFLICT DO UPDATE into one table keyed by (student, date) that holds all four measures.
While each ingest (c, d, g, h) runs, a reader thread plays the dashboard: it calls the overview's KPIs and weekly
trends, a page of the at-risk list and one student's profile (``services``, as an administrator) in a loop and reports
the longest any of those calls took (target: under 1 s however long the load holds its transaction), beside the same
calls' longest time with no load running.
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db.database import connect  # noqa: E402
from db.engine import normalise_url  # noqa: E402
from etl.generate import N_WEEKS, write_school  # noqa: E402

CHILD = r"""
import json, re, sys, time
t = time.perf_counter()
from db.database import connect
from etl.pipeline import ingest_file
import_s = time.perf_counter() - t  # once per process (pandera's backends included), apart from the load
db = connect(sys.argv[1], "/tmp", migrate=False)
t = time.perf_counter()
r = ingest_file(db, sys.argv[2], force=True, batch_size=int(sys.argv[3]))
# VmHWM is this process's own peak; ru_maxrss would carry the parent's peak over the fork and exec
hwm = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1))
out = r.to_dict() | {"wall_s": time.perf_counter() - t, "peak_rss_mb": hwm / 1024, "import_s": import_s}
print(json.dumps(out, default=str))
"""
DATA = ("scores", "assessments", "activity_participation", "study_hours", "attendance", "student_summary",
        "class_week_summary", "enrollments", "students", "classes", "schools", "rejected_rows", "ingestion_runs")


def _throwaway(base: str, name: str | None = None) -> tuple[str, str]:
    """Create a database for this run (``name``, dropped first if it exists); return (its URL, its name)."""
    name = name or f"etl_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False), name


def _drop(base: str, name: str) -> None:
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def raw_copy(url: str, path: Path) -> float:
    """Seconds to COPY the file into a plain table of text columns."""
    engine = create_engine(url)
    header = path.open().readline().strip().split(",")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS raw_copy"))
        conn.execute(text(f"CREATE TABLE raw_copy ({', '.join(f'{c} text' for c in header)})"))
    raw = engine.raw_connection()
    try:
        started = time.perf_counter()
        with raw.cursor() as cur, path.open() as fh:
            cur.copy_expert("COPY raw_copy FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


FLOOR_ROWS = {
    # event table: (its columns, the same rows' values from the typed file)
    "attendance": ("student_id, date, rate, imputed", "student_id::bigint, date, attendance_rate, false"),
    "study_hours": ("student_id, date, hours, imputed", "student_id::bigint, date, study_hours, false"),
    "activity_participation": ("student_id, date, activity, participated, imputed",
                               "student_id::bigint, date, 'sports', sports_participation = 'Yes', false"),
    "scores": ("student_id, assessment_id, date, score, imputed",
               "student_id::bigint, date - DATE '2025-01-01', date, final_score, false"),
}
FLOOR_KEYS = {"attendance": "student_id, date", "study_hours": "student_id, date",
              "activity_participation": "student_id, date, activity", "scores": "student_id, assessment_id"}


def design_floor(url: str, path: Path) -> dict[str, float]:
    """Seconds for the least any load into this schema must do: write the file's rows into the four event tables
    (plain copies of them) with ``COPY``, from text prepared beforehand (not timed), and build their primary keys.

    No parsing, validation, cleaning, students, classes, deduplication, imputation, other indexes, foreign keys or
    summaries: each of those only adds to it, so no ingest into the normalised schema can be faster than this.
    """
    engine = create_engine(url)
    with engine.begin() as conn:
        for t in FLOOR_ROWS:
            conn.execute(text(f"DROP TABLE IF EXISTS floor_{t}"))
            conn.execute(text(f"CREATE TABLE floor_{t} (LIKE {t} INCLUDING DEFAULTS)"))
        conn.execute(text("DROP TABLE IF EXISTS floor_stage"))
        conn.execute(text("CREATE TABLE floor_stage (student_id text, student_name text, age smallint, gender text, "
                          "grade_level smallint, class_name text, date date, study_hours float8, attendance_rate float8, "
                          "sports_participation text, final_score float8)"))
    raw = engine.raw_connection()
    out = {"COPY rows into the four tables": 0.0, "build their primary keys": 0.0}
    try:
        with raw.cursor() as cur:
            with path.open() as fh:
                cur.copy_expert("COPY floor_stage FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
            for table, (columns, values) in FLOOR_ROWS.items():
                payload = io.BytesIO()
                cur.copy_expert(f"COPY (SELECT {values} FROM floor_stage) TO STDOUT", payload)
                payload.seek(0)
                started = time.perf_counter()
                cur.copy_expert(f"COPY floor_{table} ({columns}) FROM STDIN", payload)
                out["COPY rows into the four tables"] += time.perf_counter() - started
            for table, key in FLOOR_KEYS.items():
                started = time.perf_counter()
                cur.execute(f"ALTER TABLE floor_{table} ADD PRIMARY KEY ({key})")
                out["build their primary keys"] += time.perf_counter() - started
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE floor_stage, {', '.join('floor_' + t for t in FLOOR_ROWS)}"))
    engine.dispose()
    return out


METHOD_SQL = {
    "COPY the file into a typed staging table": "COPY method_stage FROM STDIN WITH (FORMAT csv, HEADER true)",
    "INSERT ... ON CONFLICT into one keyed table": """
        INSERT INTO method_weeks AS t (student_id, date, hours, rate, sports, score)
        SELECT student_id::bigint, date, study_hours, attendance_rate, sports_participation = 'Yes', final_score
        FROM method_stage
        ON CONFLICT (student_id, date) DO UPDATE SET hours = excluded.hours, rate = excluded.rate,
            sports = excluded.sports, score = excluded.score""",
}


def method_floor(url: str, path: Path) -> dict[str, float]:
    """Seconds for the loading method the issue prescribes on the most favourable schema: ``COPY`` into a staging
    table, then ``INSERT ... ON CONFLICT DO UPDATE`` into a single table keyed by (student, date) holding all four
    measures (one row and one index entry per file row; ON CONFLICT needs the key to exist while inserting).

    Nothing else: no parsing in Python, validation, students, deduplication, foreign keys or summaries.
    """
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS method_stage, method_weeks"))
        conn.execute(text("CREATE TABLE method_stage (student_id text, student_name text, age smallint, gender text, "
                          "grade_level smallint, class_name text, date date, study_hours float8, attendance_rate float8, "
                          "sports_participation text, final_score float8)"))
        conn.execute(text("CREATE TABLE method_weeks (student_id bigint, date date, hours float8, rate float8, "
                          "sports boolean, score float8, PRIMARY KEY (student_id, date))"))
    raw = engine.raw_connection()
    out: dict[str, float] = {}
    try:
        with raw.cursor() as cur, path.open() as fh:
            for step, sql in METHOD_SQL.items():
                started = time.perf_counter()
                if sql.startswith("COPY"):
                    cur.copy_expert(sql, fh)
                else:
                    cur.execute(sql)
                out[step] = time.perf_counter() - started
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE method_stage, method_weeks"))
    engine.dispose()
    return out


def to_sql(url: str, path: Path, rows: int) -> float:
    """Seconds to read ``rows`` rows with pandas and write them with ``to_sql`` (default method)."""
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        frame = pd.read_csv(path, nrows=rows, dtype={"student_id": str})
        frame.to_sql("raw_to_sql", engine, if_exists="replace", index=False)
        return time.perf_counter() - started
    finally:
        engine.dispose()


LOCK_TIMEOUT_MS = 1000
"""A reader's call that waits this long for a lock is counted as blocked (then given up): a wait for the load's
locks, told apart from a call that is merely slow because the load takes the CPU."""


class Reader:
    """A dashboard user: calls the overview, at-risk and profile services in a loop on a thread; the longest call."""

    def __init__(self, url: str) -> None:
        self.db = connect(url, "/tmp", migrate=False)
        self.stop = threading.Event()
        self.longest, self.calls, self.slowest, self.blocked = 0.0, 0, "", 0
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _calls(self) -> dict[str, Callable[..., object]]:
        from services.at_risk import risk_table
        from services.overview import kpi_summary, weekly_trends
        from services.profile import student_profile
        from services.scope import Filters, Viewer

        viewer, filters = Viewer(user_id=0, email="bench@example.org", role="admin"), Filters()
        with self.db.begin() as s:
            student = s.execute(text("SELECT min(id) FROM students")).scalar()
        return {"kpis": lambda s: kpi_summary(session=s, viewer=viewer, filters=filters),
                "trends": lambda s: weekly_trends(session=s, viewer=viewer, filters=filters),
                "at-risk": lambda s: risk_table(session=s, viewer=viewer, filters=filters),
                "profile": lambda s: student_profile(session=s, viewer=viewer, student_id=student or 0, explain=False),
                "events": lambda s: s.execute(text("SELECT count(*) FROM attendance a JOIN scores c USING (student_id) "
                                                   "WHERE student_id = :i"), {"i": student or 0}).scalar()}

    def _loop(self) -> None:
        from core.errors import DomainError

        calls = self._calls()
        warm = False  # the first pass (lazy imports, the first connection) is not timed
        while not self.stop.is_set():
            for name, call in calls.items():
                started = time.perf_counter()
                try:
                    with self.db.begin() as s:
                        s.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
                        call(s)
                except DomainError:  # e.g. no scoring run yet: the wait for the tables is measured all the same
                    pass
                except OperationalError as exc:  # waited LOCK_TIMEOUT_MS for a lock the load holds
                    if getattr(exc.orig, "pgcode", None) != "55P03":
                        raise
                    self.blocked += warm
                took = time.perf_counter() - started
                if warm:
                    self.calls += 1
                    if took > self.longest:
                        self.longest, self.slowest = took, name
            warm = True
            self.stop.wait(0.05)

    def __enter__(self) -> Reader:
        self._thread.start()
        while not self.calls and self._thread.is_alive() and not self.stop.wait(0.05):
            pass  # the ingest starts once the reader is warm and measuring
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()
        self.db.engine.dispose()

    def note(self) -> str:
        """The figure for the bench's line."""
        return (f"reader: longest call {self.longest:.2f} s ({self.slowest}) of {self.calls}, "
                f"{self.blocked} blocked by a lock for {LOCK_TIMEOUT_MS / 1000:g} s")


def ingest(url: str, path: Path, batch_size: int, empty_first: bool = True) -> dict:
    """Run the ingest (on an emptied database unless told) in a subprocess, with a ``Reader`` looping meanwhile;
    its report, wall time, peak RSS and the reader's longest call."""
    if empty_first:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(DATA)} RESTART IDENTITY CASCADE"))
            conn.execute(text("DROP TABLE IF EXISTS raw_copy, raw_to_sql"))
        engine.dispose()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    with Reader(url) as reader:
        out = subprocess.run([sys.executable, "-c", CHILD, url, str(path), str(batch_size)], capture_output=True,
                             text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"ingest failed: {out.stderr.strip().splitlines()[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1]) | {"reader": reader.note(), "reader_max_s": reader.longest}


def idle_reader(url: str, seconds: float = 3.0) -> str:
    """The reader's figure with no load running (its baseline)."""
    with Reader(url) as reader:
        time.sleep(seconds)
    return reader.note()


def next_week(path: Path, out: Path) -> Path:
    """The rows of the file's last week, moved one week on: what a school sends the week after (a new date)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    last = frame[frame["date"] == frame["date"].max()].copy()
    last["date"] = (pd.to_datetime(last["date"]) + pd.Timedelta(days=7)).dt.strftime("%Y-%m-%d")
    last.to_csv(out, index=False)
    return out


def year_to_date(parts: list[Path], out: Path) -> Path:
    """The files one after the other under one header: what a school that re-sends its whole export sends."""
    with out.open("wb") as dst:
        for i, part in enumerate(parts):
            with part.open("rb") as src:
                if i:
                    src.readline()
                dst.write(src.read())
    return out


def _line(label: str, rows: int, seconds: float, floor: float | None, note: str = "") -> None:
    ratio = f"{seconds / floor:6.2f}x COPY" if floor else ""
    print(f"{label:<45} {rows:>10,} rows {seconds:9.2f} s {rows / seconds:>12,.0f} rows/s  {ratio} {note}")


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big-rows", type=int, default=5_000_000)
    ap.add_argument("--tosql-rows", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=100_000)
    ap.add_argument("--database", help="the bench database's name (made afresh, dropped at the end; default: a new one)")
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    url, name = _throwaway(base, args.database)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; database {name}")
    try:
        connect(url, "/tmp", migrate=True).engine.dispose()
        with tempfile.TemporaryDirectory() as tmp:
            run(url, Path(tmp), args)
    finally:
        _drop(base, name)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def run(url: str, tmp: Path, args: argparse.Namespace) -> None:
    """The measurements."""
    path = write_school(tmp / "school.csv", args.rows // N_WEEKS, seed=1)
    rows = args.rows // N_WEEKS * N_WEEKS
    copy_s = raw_copy(url, path)
    floor = design_floor(url, path)
    method = method_floor(url, path)
    slice_s = to_sql(url, path, args.tosql_rows)
    tosql_s = slice_s * rows / args.tosql_rows
    report = ingest(url, path, args.batch_size)
    print()
    _line("(a) raw COPY into a text table", rows, copy_s, None)
    _line("(b) pandas read_csv + to_sql", rows, tosql_s, copy_s,
          f"(measured {slice_s:.2f} s on {args.tosql_rows:,} rows, extrapolated)")
    _line("(c) studentperf ingest", rows, report["duration_s"], copy_s, report["reader"])
    _line("    of which the summary refresh", rows, report["summaries_s"], copy_s)
    _line("    ingest without the refresh", rows, report["duration_s"] - report["summaries_s"], copy_s)
    print(f"ingest is {tosql_s / report['duration_s']:.1f}x faster than to_sql; "
          f"target <= 2.5x COPY: {'met' if report['duration_s'] <= 2.5 * copy_s else 'NOT met'}; "
          f"target >= 10x to_sql: {'met' if tosql_s >= 10 * report['duration_s'] else 'NOT met'} (whole ingest)")
    print(f"peak RSS of the ingest at {rows:,} rows: {report['peak_rss_mb']:.0f} MB")
    _line("(e) floor of the schema, SQL alone", rows, sum(floor.values()), copy_s,
          "(rows and keys only: no parsing, checks, students, FKs or summaries)")
    for step, seconds in floor.items():
        _line(f"    {step}", rows, seconds, copy_s)
    _line("(f) floor of the method, SQL alone", rows, sum(method.values()), copy_s,
          "(COPY to staging, then INSERT ON CONFLICT into one table of all measures)")
    for step, seconds in method.items():
        _line(f"    {step}", rows, seconds, copy_s)
    again = ingest(url, path, args.batch_size, empty_first=False)
    _line("(d) the same file again (--force)", rows, again["duration_s"], copy_s,
          f"({again['rows_inserted']} new, {again['rows_updated']} updated; refresh {again['summaries_s']:.2f} s; "
          f"{again['reader']})")
    week = next_week(path, tmp / "week.csv")
    week_copy_s = raw_copy(url, week)
    weekly = ingest(url, week, args.batch_size, empty_first=False)
    _line("(g) one more week for every student", weekly["rows_read"], weekly["duration_s"], week_copy_s,
          f"(a weekly upload; refresh {weekly['summaries_s']:.2f} s; raw COPY of it {week_copy_s:.3f} s; "
          f"{weekly['reader']})")
    print(f"    importing the ingest (once per process, at start; not in the times above): {weekly['import_s']:.2f} s")
    ytd = year_to_date([path, week, next_week(week, tmp / "week2.csv")], tmp / "ytd.csv")
    resent = ingest(url, ytd, args.batch_size, empty_first=False)
    _line("(h) the whole export again, one week more", resent["rows_read"], resent["duration_s"], copy_s,
          f"({resent['rows_inserted']} new; refresh {resent['summaries_s']:.2f} s; ratio to the 1M-row COPY; "
          f"{resent['reader']})")
    print(f"the same reader with no load running: {idle_reader(url)}")
    waits = [r["reader_max_s"] for r in (report, again, weekly, resent)]
    print(f"longest reader call during a load: {max(waits):.2f} s; target < 1 s: {'met' if max(waits) < 1 else 'NOT met'}")
    floor_s = sum(floor.values())
    print(f"first load {report['duration_s'] / floor_s:.1f}x the schema floor (e) (target <= 3x); weekly upload "
          f"{weekly['duration_s']:.2f} s (target < 2 s)")
    if args.big_rows:
        big = write_school(tmp / "big.csv", args.big_rows // N_WEEKS, seed=2)
        big_report = ingest(url, big, args.batch_size)
        big_rows = args.big_rows // N_WEEKS * N_WEEKS
        _line("(c) studentperf ingest (big file)", big_rows, big_report["duration_s"], None, big_report["reader"])
        _line("    of which the summary refresh", big_rows, big_report["summaries_s"], None)
        _line("    ingest without the refresh", big_rows, big_report["duration_s"] - big_report["summaries_s"], None)
        print(f"peak RSS of the ingest at {big_rows:,} rows: {big_report['peak_rss_mb']:.0f} MB "
              f"({big_report['peak_rss_mb'] / report['peak_rss_mb']:.2f}x the {rows:,}-row run)")


if __name__ == "__main__":
    main()
