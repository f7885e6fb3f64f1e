"""Benchmark: the at-risk table, its CSV export and one student profile on a big generated school.

Loads ``etl.generate`` output through the ETL into a throwaway database (default 100,000 students),
trains and scores a model, then times the services behind the risk pages, each beside a baseline
measured in the same run:

* one page of ``services.at_risk.risk_table`` (sorted and paged in SQL, with the tier counts) against
  reading every scored row and paging in pandas (what "send it all to the table" would cost before the browser);
* the whole CSV export against the raw rows alone;
* one profile (weeks, class medians, stored score, exact SHAP) against ``explain_student`` alone.

Usage: ``python bench/risk_pages_bench.py [--students 100000] [--keep]`` (``DATABASE_URL`` names the server).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from db.database import Database, connect  # noqa: E402
from db.engine import normalise_url  # noqa: E402
from services.at_risk import explain_student, export_risk_csv, risk_table  # noqa: E402
from services.profile import student_profile  # noqa: E402
from services.scope import Filters, Viewer  # noqa: E402

ADMIN = Viewer(user_id=0, email="bench@example.org", role="admin")


def _admin(base: str):  # noqa: ANN202
    return create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")


def prepare(base: str, name: str, n: int, home: Path) -> Database:
    """A new database holding ``n`` generated students, a trained model and every student scored."""
    from etl.generate import write_school
    from etl.pipeline import ingest_file
    from ml.score import score_all
    from ml.train import train_and_register

    with _admin(base).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    db = connect(url, home)
    settings = Settings(database_url=url, secret_key="bench-secret-key-not-for-production-use", home=home)
    for label, step in (("ingest", lambda: ingest_file(db, write_school(home / "school.csv", n, seed=3, years=2), force=True)),
                        ("train", lambda: train_and_register(db, settings, seed=0)),
                        ("score", lambda: score_all(db, settings))):
        start = time.perf_counter()
        step()
        print(f"setup {label:<8} {time.perf_counter() - start:8.1f} s")
    return db


def timed(db: Database, fn: Callable[..., object], repeat: int) -> float:
    """Median seconds of ``fn(session)`` over ``repeat`` runs (after one warm-up), each in its own transaction."""
    times = []
    for i in range(repeat + 1):
        with db.begin() as session:
            start = time.perf_counter()
            fn(session)
            if i:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def all_rows_in_pandas(session, offset: int = 0) -> pd.DataFrame:  # noqa: ANN001
    """Baseline: every scored row of the active model into pandas, sorted and paged there."""
    sql = text("SELECT p.student_id, s.name, p.probability, p.tier, p.reasons, ss.latest_score, ss.attendance_mean "
               "FROM predictions p JOIN model_versions m ON m.id = p.model_version_id AND m.is_active "
               "JOIN scoring_runs r ON r.id = p.scoring_run_id "
               "AND r.id = (SELECT max(id) FROM scoring_runs WHERE model_version_id = m.id) "
               "JOIN students s ON s.id = p.student_id JOIN student_summary ss ON ss.student_id = p.student_id")
    frame = pd.DataFrame(session.execute(sql).all())
    return frame.sort_values("probability", ascending=False).iloc[offset:offset + 25]


def run(db: Database, repeat: int) -> None:
    """Print each timing beside its baseline."""
    with db.begin() as s:
        n = s.execute(text("SELECT count(*) FROM predictions")).scalar_one()
        cls = s.execute(text("SELECT class_id FROM student_summary GROUP BY class_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
        student = s.execute(text("SELECT min(student_id) FROM student_summary WHERE class_id = :c"), {"c": cls}).scalar_one()
    teacher = Viewer(user_id=0, email="t@example.org", role="teacher", class_ids=frozenset({cls}))
    print(f"\n{n:,} scored students; times are medians of {repeat} runs\n")
    rows = [
        ("first page, highest risk", lambda s: risk_table(session=s, viewer=ADMIN),
         "all rows in pandas", all_rows_in_pandas),
        ("page 2000 (offset 50k)", lambda s: risk_table(session=s, viewer=ADMIN, offset=min(50_000, n - 25)),
         "all rows in pandas", lambda s: all_rows_in_pandas(s, offset=min(50_000, n - 25))),
        ("sorted by attendance", lambda s: risk_table(session=s, viewer=ADMIN, sort="attendance", descending=False),
         "all rows in pandas", all_rows_in_pandas),
        ("grade 10, tier High", lambda s: risk_table(session=s, viewer=ADMIN, filters=Filters(grade_level=10), tier="High"),
         "all rows in pandas", all_rows_in_pandas),
        ("teacher, one class", lambda s: risk_table(session=s, viewer=teacher),
         "all rows in pandas", all_rows_in_pandas),
        ("CSV export, every row", lambda s: export_risk_csv(session=s, viewer=ADMIN),
         "all rows in pandas", all_rows_in_pandas),
        ("profile with SHAP", lambda s: student_profile(session=s, viewer=ADMIN, student_id=student),
         "explain_student only", lambda s: explain_student(session=s, viewer=ADMIN, student_id=student)),
    ]
    print(f"{'measure':<26}{'ms':>10}   {'baseline':<22}{'ms':>10}{'ratio':>8}")
    for name, fn, base_name, base_fn in rows:
        ours, base = timed(db, fn, repeat), timed(db, base_fn, repeat)
        print(f"{name:<26}{ours * 1000:>10.1f}   {base_name:<22}{base * 1000:>10.1f}{ours / base:>8.2f}")


def main() -> None:
    """Parse the arguments, prepare the database, run, drop it unless ``--keep``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"risk_bench_{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as home:
        db = prepare(base, name, args.students, Path(home))
        try:
            run(db, args.repeat)
        finally:
            db.engine.dispose()
            if args.keep:
                print(f"kept database {name}")
            else:
                with _admin(base).connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
