"""The running sums of ``student_week_summary`` give the same per-student numbers as the event tables.

A generated school goes through the real ETL twice: the second file changes some values, adds a
week for part of the students (so the others get carried-forward rows) and one off-Monday date. For
several date ranges and a teacher's scope, the range measures equal those computed directly from the
event tables, and the incremental refresh equals a full one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from analytics_seed import teacher_of
from sqlalchemy import text

from db import summaries
from db.database import Database
from db.models import DATA_TABLES
from db.summaries import refresh_summaries
from etl.generate import write_school
from etl.pipeline import ingest_file
from services.queries import M, load_rules, student_metrics
from services.scope import Filters, Viewer

ADMIN = Viewer(user_id=1, email="admin@example.org", role="admin")
DIRECT = """
WITH ev AS (
    SELECT student_id, rate AS att, NULL::float8 AS study, NULL::int AS sports, NULL::float8 AS score, date, 0 AS aid
    FROM attendance
    UNION ALL SELECT student_id, NULL, hours, NULL, NULL, date, 0 FROM study_hours
    UNION ALL SELECT student_id, NULL, NULL, participated::int, NULL, date, 0 FROM activity_participation
    WHERE activity = 'sports'
    UNION ALL SELECT student_id, NULL, NULL, NULL, score, date, assessment_id FROM scores
)
SELECT student_id, avg(att) AS att, avg(study) AS study, avg(sports)::float8 AS sports, avg(score) AS score_mean,
       (array_agg(score ORDER BY date DESC, aid DESC) FILTER (WHERE score IS NOT NULL))[1] AS latest
FROM ev WHERE date BETWEEN :lo AND :hi GROUP BY student_id
HAVING count(att) + count(study) + count(score) > 0 ORDER BY student_id
"""


def _wipe(database: Database) -> None:
    tables = ", ".join((*DATA_TABLES, "classes", "schools", "ingestion_runs", "rejected_rows", "model_versions"))
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def loaded(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A 40-student school loaded, then a second file changing rows and adding dates (both committed)."""
    folder = tmp_path_factory.mktemp("running")
    _wipe(database)
    first = write_school(folder / "first.csv", 40, seed=5)
    ingest_file(database, first, school="Running School", force=True)
    df = pd.read_csv(first, dtype=str)
    ids = sorted(df["student_id"].unique())
    df.loc[df["date"] == "2025-10-06", "final_score"] = "12.5"
    df.loc[df["date"] == "2025-11-03", "attendance_rate"] = "0.4"
    extra = df[df["student_id"].isin(ids[:15]) & (df["date"] == "2026-06-01")].assign(date="2026-06-08")
    odd = df[(df["student_id"] == ids[0]) & (df["date"] == "2025-12-01")].assign(date="2025-12-03", study_hours="3")
    second = folder / "second.csv"
    pd.concat([df, extra, odd]).to_csv(second, index=False)
    ingest_file(database, second, school="Running School", force=True)
    yield database
    _wipe(database)


def _direct(session, lo: dt.date, hi: dt.date, student_ids: set[int] | None = None) -> pd.DataFrame:
    result = session.execute(text(DIRECT), {"lo": lo, "hi": hi})
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    return frame if student_ids is None else frame[frame.student_id.isin(student_ids)].reset_index(drop=True)


def _metrics(session, viewer: Viewer, filters: Filters) -> pd.DataFrame:
    rows = session.execute(student_metrics(viewer, filters, load_rules(session)).order_by(M.STUDENT_ID)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows])


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got[M.STUDENT_ID].tolist() == want["student_id"].tolist()
    for mine, theirs in ((M.ATTENDANCE, "att"), (M.STUDY_HOURS, "study"), (M.SPORTS_RATE, "sports"),
                         (M.SCORE_MEAN, "score_mean"), (M.SCORE, "latest")):
        a, b = got[mine].to_numpy(float), want[theirs].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), mine
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=1e-12, atol=0), mine


RANGES = [
    (dt.date(2025, 9, 1), dt.date(2026, 6, 8)),  # everything, with the added week
    (dt.date(2025, 9, 15), dt.date(2025, 10, 12)),  # four weeks with the changed scores
    (dt.date(2025, 11, 2), dt.date(2025, 12, 2)),  # bounds between dates; the off-Monday date falls outside
    (dt.date(2025, 12, 2), dt.date(2025, 12, 4)),  # only the off-Monday date of one student
    (dt.date(2026, 6, 2), dt.date(2026, 6, 30)),  # only the added week: 15 students
]


@pytest.mark.parametrize(("lo", "hi"), RANGES, ids=lambda d: d.isoformat())
def test_range_measures_equal_the_events(loaded: Database, lo: dt.date, hi: dt.date) -> None:
    with loaded.begin() as s:
        want = _direct(s, lo, hi)
        got = _metrics(s, ADMIN, Filters(date_from=lo, date_to=hi))
    assert len(want) > 0
    _same(got, want)


def test_open_ended_ranges_and_a_teacher_scope(loaded: Database) -> None:
    with loaded.begin() as s:
        cls = s.execute(text("SELECT class_id FROM student_summary GROUP BY class_id ORDER BY count(*) DESC LIMIT 1")).scalar()
        mine = set(s.execute(text("SELECT student_id FROM student_summary WHERE class_id = :c"), {"c": cls}).scalars())
        teacher = teacher_of(cls)
        lo, hi = dt.date(2025, 10, 1), dt.date(2026, 3, 1)
        _same(_metrics(s, teacher, Filters(date_from=lo, date_to=hi)), _direct(s, lo, hi, mine))
        _same(_metrics(s, ADMIN, Filters(date_to=hi)), _direct(s, dt.date(2000, 1, 1), hi))
        _same(_metrics(s, ADMIN, Filters(date_from=lo)), _direct(s, lo, dt.date(2100, 1, 1)))
        assert _metrics(s, teacher_of(), Filters(date_from=lo)).empty
        assert _metrics(s, ADMIN, Filters(date_to=dt.date(2025, 8, 1))).empty


def test_study_band_and_chronic_flag_are_exact_at_the_boundary(loaded: Database) -> None:
    with loaded.begin() as s:
        sid = s.execute(text("SELECT min(student_id) FROM student_summary")).scalar()
        s.execute(text("UPDATE study_hours SET hours = 2.9 WHERE student_id = :i AND date = '2025-09-01'"), {"i": sid})
        s.execute(text("UPDATE study_hours SET hours = 3.1 WHERE student_id = :i AND date = '2025-09-08'"), {"i": sid})
        s.execute(text("UPDATE attendance SET rate = 0.85 WHERE student_id = :i AND date = '2025-09-01'"), {"i": sid})
        s.execute(text("UPDATE attendance SET rate = 0.95 WHERE student_id = :i AND date = '2025-09-08'"), {"i": sid})
        refresh_summaries(s, [sid])
        got = _metrics(s, ADMIN, Filters(date_from=dt.date(2025, 9, 1), date_to=dt.date(2025, 9, 8)))
        row = got[got[M.STUDENT_ID] == sid].iloc[0]
        assert row[M.STUDY_HOURS] == 3.0 and row[M.STUDY_BAND] == "3-6"  # (2.9 + 3.1) / 2 is exactly 3
        assert (0.85 + 0.95) / 2 < 0.9  # in floating point the mean falls below the chronic threshold...
        assert row[M.ATTENDANCE] == 0.9 and not row[M.CHRONIC]  # ...the exact mean does not
        s.rollback()


def test_incremental_refresh_equals_a_full_one(loaded: Database) -> None:
    sql = "SELECT * FROM student_week_summary ORDER BY student_id, date"
    with loaded.begin() as s:
        before = s.execute(text(sql)).all()
        calendar = s.execute(text("SELECT date FROM summary_calendar ORDER BY date")).scalars().all()
        n_students = s.execute(text("SELECT count(*) FROM student_summary")).scalar()
        refresh_summaries(s)
        after = s.execute(text(sql)).all()
        s.rollback()
    assert before == after
    assert dt.date(2025, 12, 3) in calendar and dt.date(2026, 6, 8) in calendar
    assert len(before) == n_students * len(calendar)  # dense: every student on every date from the first


def test_scaled_and_numeric_running_sums_are_the_same(loaded: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT * FROM student_week_summary ORDER BY student_id, date"
    with loaded.begin() as s:
        scaled = s.execute(text(sql)).all()
        monkeypatch.setattr(summaries, "_fits", lambda column: "false")
        refresh_summaries(s)
        numeric = s.execute(text(sql)).all()
        s.rollback()
    assert scaled == numeric


def test_values_with_many_decimals_take_the_exact_numeric_path(loaded: Database) -> None:
    lo, hi = dt.date(2025, 9, 1), dt.date(2025, 9, 8)
    with loaded.begin() as s:
        sid = s.execute(text("SELECT min(student_id) FROM student_summary")).scalar()
        s.execute(text("UPDATE attendance SET rate = 1.0 / 3 WHERE student_id = :i AND date = :d"), {"i": sid, "d": lo})
        s.execute(text("UPDATE scores SET score = 100.0 / 7 WHERE student_id = :i AND date = :d"), {"i": sid, "d": hi})
        refresh_summaries(s, [sid])
        running = summaries._running_sql(s)
        assert "sum(d.att_sum::numeric) OVER" in running and "round(d.study_sum" in running  # only attendance
        _same(_metrics(s, ADMIN, Filters(date_from=lo, date_to=hi)), _direct(s, lo, hi))
        s.rollback()


def test_class_weeks_of_a_full_refresh_equal_those_of_the_stored_rows(loaded: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT * FROM class_week_summary ORDER BY class_id, week"
    with loaded.begin() as s:
        ids = s.execute(text("SELECT student_id FROM student_summary")).scalars().all()
        refresh_summaries(s)  # class weeks from the day sums of this refresh
        full = pd.DataFrame(s.execute(text(sql)).mappings().all())
        monkeypatch.setattr(summaries, "FULL_SHARE", 2.0)  # never switch to a full rebuild
        refresh_summaries(s, ids)  # the same students by id: class weeks from student_week_summary
        by_ids = pd.DataFrame(s.execute(text(sql)).mappings().all())
        s.rollback()
    assert len(full) > 0 and full[["class_id", "week"]].equals(by_ids[["class_id", "week"]])
    for column in full.columns.drop(["class_id", "week"]):
        a, b = full[column].to_numpy(float), by_ids[column].to_numpy(float)
        assert np.allclose(a, b, rtol=1e-12, atol=0), column


def test_a_dense_student_reads_the_day_rows_without_the_calendar_join(loaded: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT * FROM student_week_summary WHERE student_id = :i ORDER BY date"
    with loaded.begin() as s:
        sid = s.execute(text("SELECT student_id FROM attendance WHERE date = '2025-12-03'")).scalar()  # every date
        refresh_summaries(s, [sid])
        assert summaries._plan(s)[1]
        dense = s.execute(text(sql), {"i": sid}).all()
        plan = summaries._plan
        monkeypatch.setattr(summaries, "_plan", lambda session: (plan(session)[0], False))
        refresh_summaries(s, [sid])
        sparse = s.execute(text(sql), {"i": sid}).all()
        s.rollback()
    assert len(dense) > 40 and dense == sparse


def test_scored_weeks_are_counted_once_per_week(loaded: Database) -> None:
    direct = """SELECT student_id, count(DISTINCT date_trunc('week', date)), min(date), max(date)
                FROM scores GROUP BY student_id ORDER BY student_id"""
    stored = "SELECT student_id, n_weeks, first_date, last_date FROM student_summary WHERE n_weeks > 0 ORDER BY student_id"
    with loaded.begin() as s:
        refresh_summaries(s)
        want, got = s.execute(text(direct)).all(), s.execute(text(stored)).all()
        odd = s.execute(text("SELECT count(*) FROM scores WHERE date = '2025-12-03'")).scalar()
        s.rollback()
    assert odd == 1 and len(want) == 40 and got == want  # one student has two dates in the week of 2025-12-01


def test_refreshing_most_students_rebuilds_everyone(loaded: Database) -> None:
    sql = "SELECT * FROM student_week_summary ORDER BY student_id, date"
    with loaded.begin() as s:
        ids = s.execute(text("SELECT student_id FROM student_summary ORDER BY student_id")).scalars().all()
        before = s.execute(text(sql)).all()
        assert not summaries.refresh_student_weeks(s, ids[:3])
        assert summaries.refresh_student_weeks(s, ids[: len(ids) // 2])
        assert s.execute(text("SELECT count(*) FROM summary_ids")).scalar() == len(ids)
        refresh_summaries(s, ids[: len(ids) // 2])
        after = s.execute(text(sql)).all()
        s.rollback()
    assert before == after
