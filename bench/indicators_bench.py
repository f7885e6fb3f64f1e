"""Indicators bench: what computing the indicators adds to a full summary refresh, side by side in one run.

Runs on an already loaded database (``--url``, default ``$DATABASE_URL``): each step inside a transaction that is
rolled back, so the database is left as it was. Prints the median seconds of a full ``refresh_summaries`` (which
now ends with the indicators) and of the indicators step alone (``db.indicators.refresh_indicators``), and their
ratio, so the cost reads against the refresh it rides on.

    nice -n 10 .venv/bin/python bench/indicators_bench.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from db.engine import normalise_url
from db.indicators import refresh_indicators
from db.summaries import refresh_summaries


def _timed(engine, step: Callable[[Session], None], repeat: int) -> float:  # noqa: ANN001
    """The median seconds of ``step`` over ``repeat`` rolled-back transactions."""
    times = []
    for _ in range(repeat):
        with engine.connect() as conn, Session(bind=conn) as session:
            trans = conn.begin()
            start = time.perf_counter()
            step(session)
            times.append(time.perf_counter() - start)
            trans.rollback()
    return statistics.median(times)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = create_engine(normalise_url(args.url))
    with engine.connect() as conn:
        students = conn.execute(text("SELECT count(*) FROM student_summary")).scalar_one()
    full = _timed(engine, lambda s: refresh_summaries(s), args.repeat)
    alone = _timed(engine, lambda s: refresh_indicators(s), args.repeat)
    print(f"students: {students:,}")
    print(f"full summary refresh (with indicators): {full:.3f} s")
    print(f"indicators alone:                       {alone:.3f} s")
    print(f"indicators / full refresh:              {alone / full:.3f}")


if __name__ == "__main__":
    main()
