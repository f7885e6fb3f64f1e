"""Integration tests of the ingestion pipeline on real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

import etl.pipeline as pipeline
from core.errors import InvalidInput, Unavailable
from db.database import Database
from db.summaries import refresh_summaries
from etl.generate import generate_school, write_school
from etl.pipeline import ingest_file, ingest_paths
from etl.validate import RANGES
from tests.conftest import SHARED_DATA

KAGGLE = SHARED_DATA / "kaggle-student-performance-factors" / "StudentPerformanceFactors.csv"
TABLES = ("schools", "classes", "students", "enrollments", "attendance", "study_hours", "activity_participation",
          "assessments", "scores", "student_summary", "class_week_summary", "rejected_rows")


def snapshot(database: Database) -> dict[str, object]:
    """Row counts of every data table plus a checksum of the values."""
    with database.begin() as s:
        out: dict[str, object] = {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        out["score_sum"] = s.execute(text("SELECT round(sum(score)::numeric, 3) FROM scores")).scalar()
        out["rate_sum"] = s.execute(text("SELECT round(sum(rate)::numeric, 3) FROM attendance")).scalar()
    return out


def scalar(database: Database, sql: str, **params: object) -> object:
    with database.begin() as s:
        return s.execute(text(sql), params).scalar()


@pytest.fixture()
def school_csv(tmp_path: Path) -> Path:
    return write_school(tmp_path / "school.csv", 60, seed=11)


def test_round_trip_counts(clean_db: Database, school_csv: Path) -> None:
    report = ingest_file(clean_db, school_csv, batch_size=500)  # several chunks
    n = 60 * 40
    assert (report.status, report.rows_read, report.rows_inserted, report.rows_updated) == ("succeeded", n, n, 0)
    assert report.rows_rejected == 0 and report.rows_duplicate == 0
    for table in ("attendance", "study_hours", "activity_participation", "scores"):
        assert scalar(clean_db, f"SELECT count(*) FROM {table}") == n
    assert scalar(clean_db, "SELECT count(*) FROM students") == 60
    assert scalar(clean_db, "SELECT count(*) FROM assessments") == 40
    assert scalar(clean_db, "SELECT count(*) FROM students WHERE source_id = '00001'") == 1  # leading zeros
    run = scalar(clean_db, "SELECT row_to_json(r) FROM ingestion_runs r WHERE id = :i", i=report.run_id)
    assert run["status"] == "succeeded" and run["rows_inserted"] == n and run["format"]["delimiter"] == ","
    assert run["duration_ms"] > 0 and len(run["sha256"]) == 64


def test_summaries_match_the_file(clean_db: Database, school_csv: Path) -> None:
    ingest_file(clean_db, school_csv)
    df = pd.read_csv(school_csv, dtype={"student_id": str})
    last = df.sort_values("date").groupby("student_id")["final_score"].last()
    with clean_db.begin() as s:
        rows = s.execute(text("SELECT st.source_id, ss.latest_score, ss.n_weeks, ss.attendance_mean, "
                              "ss.performance_label, ss.class_id IS NOT NULL FROM student_summary ss "
                              "JOIN students st ON st.id = ss.student_id")).all()
        week = s.execute(text("SELECT sum(n_students), sum(score_sum), sum(score_n) FROM class_week_summary")).one()
    assert len(rows) == 60
    for source_id, latest, n_weeks, att, label, has_class in rows:
        assert latest == pytest.approx(last[source_id]) and n_weeks == 40 and has_class
        assert att == pytest.approx(df.loc[df.student_id == source_id, "attendance_rate"].mean())
        assert label == ("Failing" if latest < 60 else "Passing" if latest < 70 else "Good" if latest < 85 else "Excellent")
    assert week[0] == 60 * 40 and week[2] == 60 * 40 and week[1] == pytest.approx(df["final_score"].sum())
    before = snapshot(clean_db)
    with clean_db.begin() as s:
        refresh_summaries(s)  # a full refresh gives the same
    assert snapshot(clean_db) == before


def test_same_file_is_skipped_and_force_changes_nothing(clean_db: Database, school_csv: Path) -> None:
    ingest_file(clean_db, school_csv)
    before = snapshot(clean_db)
    again = ingest_file(clean_db, school_csv)
    assert again.status == "skipped" and "already loaded" in again.message
    forced = ingest_file(clean_db, school_csv, force=True)
    assert (forced.status, forced.rows_inserted, forced.rows_updated) == ("succeeded", 0, 0)
    assert snapshot(clean_db) == before
    assert scalar(clean_db, "SELECT count(*) FROM ingestion_runs WHERE status = 'skipped'") == 1


def test_changed_file_updates_without_duplicates(clean_db: Database, school_csv: Path, tmp_path: Path) -> None:
    ingest_file(clean_db, school_csv)
    df = pd.read_csv(school_csv, dtype=str)
    df.loc[:9, "final_score"] = "99.5"
    df.loc[5:14, "attendance_rate"] = "0.5"  # overlaps rows 5-9: 15 distinct rows change
    extra = df.iloc[[0]].assign(student_id="09999", date="2025-09-01")
    changed = pd.concat([df, extra])
    path = tmp_path / "changed.csv"
    changed.to_csv(path, index=False)
    report = ingest_file(clean_db, path)
    assert (report.rows_inserted, report.rows_updated) == (1, 15)
    assert scalar(clean_db, "SELECT count(*) FROM scores") == 60 * 40 + 1
    assert scalar(clean_db, "SELECT count(*) FROM scores WHERE score = 99.5") == 11
    assert scalar(clean_db, "SELECT max(latest_score) FROM student_summary ss JOIN students s ON s.id = ss.student_id "
                            "WHERE s.source_id = '09999'") == 99.5


@pytest.mark.parametrize("where", ["staging", "summaries"])
def test_failure_mid_load_writes_nothing(clean_db: Database, school_csv: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    ingest_file(clean_db, write_school(tmp_path / "first.csv", 20, seed=3))
    before = snapshot(clean_db)
    calls = {"n": 0}
    real_stage = pipeline.stage_chunk

    def flaky_stage(session, frame):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        real_stage(session, frame)

    def broken_refresh(session, ids, **kw):  # noqa: ANN001, ANN202
        assert scalar_in(session, "SELECT count(*) FROM scores") > 20 * 40  # the upserts did run
        raise RuntimeError("disk on fire")

    if where == "staging":
        monkeypatch.setattr(pipeline, "stage_chunk", flaky_stage)
    else:
        monkeypatch.setattr(pipeline, "refresh_summaries", broken_refresh)
    with pytest.raises(Unavailable, match="disk on fire"):
        ingest_file(clean_db, school_csv, batch_size=300)
    assert snapshot(clean_db) == before
    run = scalar(clean_db, "SELECT row_to_json(r) FROM ingestion_runs r ORDER BY id DESC LIMIT 1")
    assert run["status"] == "failed" and "disk on fire" in run["error"]


def test_failed_background_copy_writes_nothing(clean_db: Database, school_csv: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import etl.load

    ingest_file(clean_db, school_csv, batch_size=700)
    before = snapshot(clean_db)
    calls = {"n": 0}
    real = etl.load.copy_text

    def corrupt(frame: pd.DataFrame) -> str:
        calls["n"] += 1
        return "not\ta\tnumber\n" if calls["n"] == 3 else real(frame)

    monkeypatch.setattr(etl.load, "copy_text", corrupt)
    with pytest.raises(Unavailable, match="invalid input syntax"):
        ingest_file(clean_db, school_csv, batch_size=700, force=True)
    assert calls["n"] >= 3 and snapshot(clean_db) == before
    run = scalar(clean_db, "SELECT row_to_json(r) FROM ingestion_runs r ORDER BY id DESC LIMIT 1")
    assert run["status"] == "failed"


def test_only_changed_students_are_refreshed(clean_db: Database, school_csv: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[int]] = []
    real = pipeline.refresh_summaries

    def spy(session, ids, **kw):  # noqa: ANN001, ANN202
        seen.append(sorted(ids))
        real(session, ids, **kw)

    monkeypatch.setattr(pipeline, "refresh_summaries", spy)
    ingest_file(clean_db, school_csv)
    assert len(seen[-1]) == 60
    before = snapshot(clean_db)
    ingest_file(clean_db, school_csv, force=True)
    assert seen[-1] == [] and snapshot(clean_db) == before  # nothing changed: nothing to refresh
    df = pd.read_csv(school_csv, dtype=str)
    df.loc[df.student_id == "00002", "final_score"] = "12.5"
    df.loc[df.student_id == "00003", "student_name"] = "Renamed Person"
    path = tmp_path / "two.csv"
    df.to_csv(path, index=False)
    ingest_file(clean_db, path)
    ids = scalar(clean_db, "SELECT array_agg(id ORDER BY id) FROM students WHERE source_id IN ('00002', '00003')")
    assert seen[-1] == ids
    assert scalar(clean_db, "SELECT latest_score FROM student_summary WHERE student_id = :i", i=ids[0]) == 12.5
    klass = df.loc[df.student_id == "00004", "class_name"].iloc[0]
    df.loc[df.class_name == klass, "grade_level"] = "13"  # the class's grade is corrected
    df.to_csv(path, index=False)
    ingest_file(clean_db, path)
    members = set(df.loc[df.class_name == klass, "student_id"])
    assert len(seen[-1]) == len(members) > 1
    assert scalar(clean_db, "SELECT count(*) FROM student_summary ss JOIN students s ON s.id = ss.student_id "
                            "WHERE ss.grade_level = 13") == len(members)


def scalar_in(session, sql: str) -> object:  # noqa: ANN001
    return session.execute(text(sql)).scalar()


def _expected_rejects(df: pd.DataFrame) -> dict[int, set[str]]:
    """Independent check of the dirty frame: line -> columns at fault."""
    bad: dict[int, set[str]] = {}
    dates = pd.to_datetime(df["date"], format="%Y-%m-%d", errors="coerce")
    for i in df.index[dates.isna()]:
        bad.setdefault(i + 2, set()).add("date")
    for col, (lo, hi) in RANGES.items():
        values = pd.to_numeric(df[col].where(df[col] != ""), errors="coerce")
        wrong = (values.isna() & (df[col] != "")) | (values < lo) | (values > hi)
        for i in df.index[wrong]:
            bad.setdefault(i + 2, set()).add(col)
    return bad


def test_dirty_file_rejects_each_fault_with_its_reason(clean_db: Database, tmp_path: Path) -> None:
    path = write_school(tmp_path / "dirty.csv", 150, seed=21, dirty=True)
    df = generate_school(150, seed=21, dirty=True)
    expected = _expected_rejects(df)
    assert len(expected) > 20
    report = ingest_file(clean_db, path, batch_size=1000)
    with clean_db.begin() as s:
        got = {line: (raw, reasons) for line, raw, reasons in
               s.execute(text("SELECT line_number, raw, reasons FROM rejected_rows WHERE run_id = :r"),
                         {"r": report.run_id})}
        genders = set(s.execute(text("SELECT DISTINCT gender FROM students")).scalars())
        rates = s.execute(text("SELECT min(rate), max(rate), count(*) FILTER (WHERE imputed) FROM attendance")).one()
        hours_imputed = s.execute(text("SELECT count(*) FROM study_hours WHERE imputed")).scalar()
    assert set(got) == set(expected)
    for line, cols in expected.items():
        raw, reasons = got[line]
        assert {r.split(" ")[0] for r in reasons} == cols, (line, reasons)
        assert raw["student_id"] == df.at[line - 2, "student_id"]
    valid = df.drop(index=[line - 2 for line in expected])
    assert report.rows_duplicate == int(valid.duplicated(["student_id", "date"]).sum()) > 0
    assert report.rows_rejected == len(expected)
    assert report.rows_inserted == len(valid) - report.rows_duplicate
    assert genders <= {"Female", "Male", "Other", "Unknown"}
    assert 0 <= rates[0] and rates[1] <= 1 and rates[2] > 0 and hours_imputed > 0  # percents converted, blanks imputed


def test_kaggle_file_loads(clean_db: Database) -> None:
    if not KAGGLE.exists():
        pytest.skip(f"the Kaggle file is not at {KAGGLE} (set STUDENTPERF_SHARED_DATA to the shared data folder)")
    report = ingest_file(clean_db, KAGGLE)
    assert (report.rows_read, report.rows_rejected) == (6607, 1)
    assert report.rows_inserted == 6607 - 1
    assert scalar(clean_db, "SELECT count(*) FROM students") == 6606
    reasons = scalar(clean_db, "SELECT reasons FROM rejected_rows WHERE run_id = :r", r=report.run_id)
    assert reasons == ["final_score 101 is out of range 0-100"]
    assert scalar(clean_db, "SELECT max(rate) FROM attendance") <= 1  # percent converted
    assert scalar(clean_db, "SELECT count(*) FROM students WHERE source_id = 'line-0000002'") == 1
    again = ingest_file(clean_db, KAGGLE, force=True)
    assert (again.rows_inserted, again.rows_updated) == (0, 0)
    assert scalar(clean_db, "SELECT count(*) FROM students") == 6606


def test_missing_column_changes_nothing(clean_db: Database, school_csv: Path, tmp_path: Path) -> None:
    ingest_file(clean_db, school_csv)
    before = snapshot(clean_db)
    runs = scalar(clean_db, "SELECT count(*) FROM ingestion_runs")
    path = tmp_path / "nofinal.csv"
    pd.read_csv(school_csv, dtype=str).drop(columns="final_score").to_csv(path, index=False)
    with pytest.raises(InvalidInput, match="final_score"):
        ingest_file(clean_db, path, truncate=True)
    header_only = tmp_path / "header.csv"
    header_only.write_text("student_id,date,study_hours,attendance_rate,final_score\n")
    with pytest.raises(InvalidInput, match="no rows"):
        ingest_file(clean_db, header_only, truncate=True)
    assert snapshot(clean_db) == before
    assert scalar(clean_db, "SELECT count(*) FROM ingestion_runs") == runs


def test_dry_run_and_truncate(clean_db: Database, school_csv: Path, tmp_path: Path) -> None:
    dry = ingest_file(clean_db, school_csv, dry_run=True)
    assert (dry.status, dry.rows_inserted) == ("dry_run", 60 * 40)
    assert scalar(clean_db, "SELECT count(*) FROM scores") == 0
    assert scalar(clean_db, "SELECT status FROM ingestion_runs WHERE id = :i", i=dry.run_id) == "dry_run"
    ingest_file(clean_db, school_csv)
    other = write_school(tmp_path / "other.csv", 10, seed=5)
    batch = ingest_paths(clean_db, [other], truncate=True, school="Other School")
    reports = batch.reports
    assert batch.error is None and reports[0].rows_inserted == 400
    assert scalar(clean_db, "SELECT count(*) FROM students") == 10
    assert scalar(clean_db, "SELECT count(*) FROM student_summary") == 10
    assert json.loads(json.dumps(reports[0].to_dict()))["status"] == "succeeded"


def test_moving_class_updates_both_classes(clean_db: Database, school_csv: Path, tmp_path: Path) -> None:
    ingest_file(clean_db, school_csv)
    df = pd.read_csv(school_csv, dtype=str)
    old = df.loc[df.student_id == "00001", "class_name"].iloc[0]
    new = df.loc[df.class_name != old, "class_name"].iloc[0]
    df.loc[df.student_id == "00001", "class_name"] = new
    path = tmp_path / "moved.csv"
    df.to_csv(path, index=False)
    ingest_file(clean_db, path)
    with clean_db.begin() as s:
        per_class = dict(s.execute(text("SELECT c.name, max(w.n_students) FROM class_week_summary w "
                                        "JOIN classes c ON c.id = w.class_id GROUP BY c.name")).all())
        total = s.execute(text("SELECT sum(n_students) FROM class_week_summary")).scalar()
        enrolled = s.execute(text("SELECT count(*) FROM enrollments")).scalar()
    sizes = df.groupby("class_name")["student_id"].nunique()
    assert per_class == sizes.to_dict()
    assert total == 60 * 40 and enrolled == 60


def test_bulk_mode_keeps_foreign_keys(clean_db: Database, school_csv: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import etl.load

    def fks() -> int:
        return scalar(clean_db, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY "
                                "('{attendance,study_hours,activity_participation,scores}'::regclass[])")

    def indexes() -> list[str]:
        with clean_db.begin() as s:
            return list(s.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename IN "
                                       "('attendance', 'study_hours', 'activity_participation', 'scores') "
                                       "ORDER BY indexname")).scalars())

    before, before_ix = fks(), indexes()
    assert len(before_ix) == 7
    monkeypatch.setattr(etl.load, "BULK_MIN_ROWS", 100)
    report = ingest_file(clean_db, school_csv)  # empty event tables: the fresh path drops and rebuilds the indexes
    assert report.rows_inserted == 60 * 40 and fks() == before == 9 and indexes() == before_ix
    changed = tmp_path / "changed.csv"
    pd.read_csv(school_csv, dtype=str).assign(final_score="50.25").to_csv(changed, index=False)
    again = ingest_file(clean_db, changed)  # bulk, not fresh: upserts need the primary keys
    assert (again.rows_inserted, again.rows_updated) == (0, 60 * 40) and indexes() == before_ix
    assert scalar(clean_db, "SELECT count(*) FROM scores WHERE score = 50.25") == 60 * 40
    monkeypatch.setattr(pipeline, "refresh_summaries", lambda s, ids, **kw: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(Unavailable):
        ingest_file(clean_db, write_school(tmp_path / "more.csv", 100, seed=8))  # bulk again, then fails
    with pytest.raises(Unavailable):
        ingest_file(clean_db, write_school(tmp_path / "more.csv", 100, seed=8), truncate=True)  # fresh, then fails
    assert fks() == 9 and indexes() == before_ix and scalar(clean_db, "SELECT count(*) FROM scores") == 60 * 40


def summary_tables(database: Database) -> dict[str, list[tuple]]:
    """Every row of the summary tables (but when it was written), in a stable order."""
    with database.begin() as s:
        return {t: sorted(s.execute(text(f"SELECT (to_jsonb(t) - 'updated_at')::text FROM {t} t")).scalars())
                for t in ("student_summary", "student_week_summary", "class_week_summary", "summary_calendar")}


def test_fresh_load_summaries_equal_a_refresh_from_the_events(clean_db: Database, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A first load reads its day sums from the staged rows: they must be exactly what the event tables give."""
    import etl.load

    monkeypatch.setattr(etl.load, "BULK_MIN_ROWS", 100)
    path = write_school(tmp_path / "dirty.csv", 80, seed=5, dirty=True)  # blanks (imputed), duplicates, bad rows
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[df.index % 97 == 3, "sports_participation"] = ""  # no sports row for those weeks
    df.to_csv(path, index=False)
    report = ingest_file(clean_db, path)
    assert report.rows_rejected > 0 and report.rows_duplicate > 0
    with clean_db.begin() as s:
        assert s.execute(text("SELECT count(*) FROM attendance WHERE imputed")).scalar() > 0
        assert s.execute(text("SELECT count(*) FROM activity_participation")).scalar() < report.rows_inserted
    from_staging = summary_tables(clean_db)
    assert len(from_staging["student_week_summary"]) >= 80 * 40
    with clean_db.begin() as s:
        refresh_summaries(s)  # everyone, from the event tables
    assert summary_tables(clean_db) == from_staging


def comparable_summaries(database: Database) -> dict[str, list[tuple]]:
    """The summary tables' rows with numerics as floats (a running sum's scale may differ, not its value), and floats
    to 9 places (a class's week sums are float sums: another order of the same terms may differ in the last bit)."""
    from decimal import Decimal

    out = {}
    with database.begin() as s:
        for table in ("student_summary", "student_week_summary", "class_week_summary", "summary_calendar",
                      "student_indicators"):
            result = s.execute(text(f"SELECT * FROM {table}"))
            keep = [i for i, c in enumerate(result.keys()) if c != "updated_at"]
            rows = [tuple(round(float(r[i]), 9) if isinstance(r[i], Decimal | float) else r[i] for i in keep)
                    for r in result]
            out[table] = sorted(rows, key=repr)
    return out


def test_later_loads_rebuild_summaries_from_the_changed_date_on(clean_db: Database, school_csv: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Appending a week, correcting an old one, moving a class, adding students, back-filling a week before the
    first: each later load rebuilds only rows from the date a student's events changed, and the summaries equal a
    full rebuild from the events."""
    import db.summaries

    modes: list[bool] = []
    real = db.summaries._running_sql

    def spy(session, since=False):  # noqa: ANN001, ANN202
        modes.append(since)
        return real(session, since)

    monkeypatch.setattr(db.summaries, "_running_sql", spy)
    import etl.load

    appends: list[bool] = []
    real_appends = etl.load._appends
    monkeypatch.setattr(etl.load, "_appends", lambda s: appends.append(real_appends(s)) or appends[-1])
    df = pd.read_csv(school_csv, dtype=str, keep_default_na=False)
    dates = sorted(df["date"].unique())
    ids = sorted(df["student_id"].unique())

    def load(frame: pd.DataFrame, name: str) -> None:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        ingest_file(clean_db, path)
        loaded = comparable_summaries(clean_db)
        with clean_db.begin() as s:
            refresh_summaries(s)  # everyone, from the event tables
        assert comparable_summaries(clean_db) == loaded, name

    load(df[(df.date > dates[0]) & (df.date <= dates[-3])], "first.csv")
    load(df[df.date == dates[-2]], "week.csv")  # the next week for every student
    assert modes[-2] is True  # the load took the since path (the last call is the full rebuild)
    assert appends[-1] is True  # and plain inserts: no stored row can have that date
    # that week re-sent with other values, and for some students a second date in the same week (their scored weeks
    # must not count it twice), then a date two days before it (a scored week's first date moves back)
    resent = df[df.date == dates[-2]].copy()
    resent["final_score"] = resent["final_score"].astype(float).add(7.25).clip(upper=100).astype(str)
    resent["attendance_rate"] = "0.61"
    later = resent[resent.student_id.isin(ids[::4])].assign(
        date=(pd.to_datetime(dates[-2]) + pd.Timedelta(days=2)).strftime("%Y-%m-%d"))
    load(pd.concat([resent, later]), "resent.csv")
    assert modes[-2] is True and appends[-1] is False
    earlier = resent[resent.student_id.isin(ids[1::4])].assign(
        date=(pd.to_datetime(dates[-2]) - pd.Timedelta(days=2)).strftime("%Y-%m-%d"), final_score="12.5")
    load(earlier, "earlier.csv")
    assert modes[-2] is True
    some = df[(df.date == dates[-1]) & df.student_id.isin(ids[::3])]
    renamed = df[(df.date == dates[4]) & (df.student_id == ids[1])].assign(student_name="Renamed Student")
    # the last week for a third of them: the others' rows are carried to the new date, the renamed one's too
    load(pd.concat([some, renamed]), "some.csv")
    old = df[(df.date == dates[4]) & df.student_id.isin(ids[:10])].copy()
    old["final_score"] = "33.5"
    old["attendance_rate"] = "0.5"
    old.loc[old.student_id == ids[0], "class_name"] = "12Z"  # and a class move
    load(old, "old.csv")  # a correction of week 5: rows from then on
    assert modes[-2] is True
    new = df[df.student_id.isin(ids[:5])].assign(student_id=lambda f: "N" + f.student_id)
    load(pd.concat([new, df[(df.date == dates[-1]) & df.student_id.isin(ids[1::3])]]), "new.csv")
    load(df[(df.date == dates[0]) & df.student_id.isin(ids[::5])], "backfill.csv")  # a week before any stored one
    assert modes[-2] is True
    with clean_db.begin() as s:
        assert s.execute(text("SELECT count(*) FROM student_summary")).scalar() == 65
    # a week after every stored one, for some students and one new: plain inserts, and the day sums of the refresh
    # are the staged rows (those students' events from their since date on), not read back from the event tables
    staged: list[bool] = []
    real_staged = pipeline.staged_days_suffice
    monkeypatch.setattr(pipeline, "staged_days_suffice", lambda s, c: staged.append(real_staged(s, c)) or staged[-1])
    after = df[(df.date == dates[-1]) & df.student_id.isin(ids[::7])].assign(
        date=(pd.to_datetime(dates[-1]) + pd.Timedelta(days=7)).strftime("%Y-%m-%d"), final_score="41.5")
    newcomer = after.iloc[[0]].assign(student_id="NEW1", student_name="New Comer")
    load(pd.concat([after, newcomer]), "after.csv")
    assert appends[-1] is True and staged == [True] and modes[-2] is True


def test_loads_run_one_at_a_time(clean_db: Database, school_csv: Path, tmp_path: Path) -> None:
    """A load waits for the one running; two started together both succeed, and the summaries stay whole."""
    import threading
    import time

    df = pd.read_csv(school_csv, dtype=str, keep_default_na=False)
    ingest_file(clean_db, school_csv)
    week = df[df.date == df.date.max()].assign(date="2026-07-06")  # a new week, sent as two files of other classes
    classes = sorted(week.class_name.unique())
    files = []
    for i, part in enumerate((classes[::2], classes[1::2])):
        files.append(tmp_path / f"part{i}.csv")
        week[week.class_name.isin(part)].to_csv(files[-1], index=False)
    reports: dict[int, object] = {}

    def load(i: int) -> None:
        reports[i] = ingest_file(clean_db, files[i])

    with clean_db.engine.connect() as holder:  # another load's transaction, as far as the lock goes
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": pipeline.INGEST_LOCK})
        threads = [threading.Thread(target=load, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        assert not reports and all(t.is_alive() for t in threads)  # both wait
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": pipeline.INGEST_LOCK})
        for t in threads:
            t.join(timeout=60)
    assert sorted(r.status for r in reports.values()) == ["succeeded", "succeeded"]
    assert sum(r.rows_inserted for r in reports.values()) == len(week)
    loaded = comparable_summaries(clean_db)
    with clean_db.begin() as s:
        refresh_summaries(s)
    assert comparable_summaries(clean_db) == loaded
