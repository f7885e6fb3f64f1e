"""Summary-refresh bench: a full and an incremental ``refresh_summaries`` against one scan of the event tables.

Runs on an already loaded database (default: the dashboard bench's ``studentperf_dashboard_bench``),
each refresh inside a transaction that is rolled back, so the database is left as it was. The floor is
the time to ``SELECT count(*)`` every event table once, measured in the same run.

    git show dcaa2f4:db/summaries.py > /tmp/summaries_before.py
    .venv/bin/python bench/summary_bench.py --students 500 --before /tmp/summaries_before.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from db.engine import normalise_url
from db.summaries import refresh_summaries

EVENT_TABLES = ("attendance", "study_hours", "activity_participation", "scores")
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/studentperf_dashboard_bench"


class _Profile:
    """Seconds per SQL statement, from engine events."""

    def __init__(self) -> None:
        self.stats: dict[str, float] = {}
        self.starts: list[float] = []

    def before(self, *_args) -> None:
        """Note the start of a statement."""
        self.starts.append(time.perf_counter())

    def after(self, _conn, _cursor, statement: str, *_args) -> None:
        """Add the statement's time."""
        key = " ".join(statement.split())[:90]
        self.stats[key] = self.stats.get(key, 0.0) + time.perf_counter() - self.starts.pop()

    def show(self) -> None:
        """Print the slowest statements."""
        for key, secs in sorted(self.stats.items(), key=lambda kv: -kv[1])[:12]:
            print(f"    {secs:7.2f} s  {key}")


def _once(engine, work: Callable[[Session], None]) -> float:
    with Session(engine) as session:
        session.begin()
        t0 = time.perf_counter()
        work(session)
        session.flush()
        secs = time.perf_counter() - t0
        session.rollback()
    return secs


def _timed(engine, work: Callable[[Session], None], repeats: int, profile: bool) -> list[float]:
    """Seconds of ``work`` in a rolled-back transaction, ``repeats`` times (statement timings with ``profile``)."""
    out = []
    for _ in range(repeats):
        prof = _Profile()
        if profile:
            event.listen(engine, "before_cursor_execute", prof.before)
            event.listen(engine, "after_cursor_execute", prof.after)
        out.append(_once(engine, work))
        if profile:
            event.remove(engine, "before_cursor_execute", prof.before)
            event.remove(engine, "after_cursor_execute", prof.after)
            prof.show()
    return out


def _floor(session: Session) -> None:
    for table in EVENT_TABLES:
        session.execute(text(f"SELECT count(*) FROM {table}"))


def _sample(engine, n: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM students ORDER BY random() LIMIT :n"), {"n": n}).scalars())


def _load(path: str) -> Callable[..., None]:
    """``refresh_summaries`` of another version of ``db/summaries.py`` (e.g. ``git show REV:db/summaries.py``)."""
    spec = importlib.util.spec_from_file_location("summaries_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.refresh_summaries


def _report(engine, args, label: str, refresh: Callable[..., None], ids: list[int], floor: float) -> None:
    """Time one version's full and incremental refresh and print them against the floor."""
    if not args.skip_full:
        full = statistics.median(_timed(engine, refresh, args.repeats, args.profile))
        print(f"{label} full refresh:                 {full:7.2f} s  ({full / floor:.1f} x floor)")
    inc = statistics.median(_timed(engine, lambda s: refresh(s, ids), args.repeats, args.profile))
    print(f"{label} incremental ({len(ids)} students):  {inc:7.2f} s  ({inc / floor:.2f} x floor)")


def main(argv: list[str] | None = None) -> int:
    """Print the floor, the full refresh and the incremental refresh, with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("SUMMARY_BENCH_URL", DEFAULT_URL))
    parser.add_argument("--students", type=int, default=500, help="students in the incremental refresh")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print the slowest statements")
    parser.add_argument("--before", help="path of an older db/summaries.py to time side by side")
    args = parser.parse_args(argv)
    engine = create_engine(normalise_url(args.url))
    print(f"database {make_url(args.url).database}; load average {os.getloadavg()[0]:.2f}")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in EVENT_TABLES}
        n_students = conn.execute(text("SELECT count(*) FROM students")).scalar()
    print(f"{n_students:,} students, event rows: " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))
    floor = statistics.median(_timed(engine, _floor, args.repeats, False))
    print(f"floor (count(*) of each event table):  {floor:7.2f} s")
    ids = _sample(engine, args.students)
    if args.before:
        _report(engine, args, "before", _load(args.before), ids, floor)
    _report(engine, args, "now   ", refresh_summaries, ids, floor)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
