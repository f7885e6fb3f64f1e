"""Load a generated (clean) school frame straight into the tables, for ml tests and the ml benchmark.

Uses ``etl.pipeline.ingest_file`` when it exists (the product path); otherwise this small COPY-based
loader fills the same tables (schools, classes, students, enrollments, events, assessments, scores).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from db.database import Database

SCHOOL_YEAR = "2025-2026"


def _copy(raw, table: str, columns: list[str], frame: pd.DataFrame) -> None:  # noqa: ANN001
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    with raw.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)


def _ids(conn, sql: str) -> dict:  # noqa: ANN001
    return {k: v for k, v in conn.execute(text(sql)).all()}


def load_frame(database: Database, frame: pd.DataFrame, school: str = "Demo School") -> None:
    """Insert a clean flat-format frame (``etl.generate.generate_school``) into the database."""
    with database.engine.begin() as conn:
        school_id = conn.execute(text("INSERT INTO schools (name) VALUES (:n) RETURNING id"), {"n": school}).scalar()
        classes = frame[["class_name", "grade_level"]].drop_duplicates()
        for name, grade in classes.itertuples(index=False):
            conn.execute(text("INSERT INTO classes (school_id, name, grade_level, school_year) VALUES (:s, :n, :g, :y)"),
                         {"s": school_id, "n": name, "g": int(grade), "y": SCHOOL_YEAR})
        class_ids = _ids(conn, f"SELECT name, id FROM classes WHERE school_id = {school_id}")
        students = frame.drop_duplicates("student_id")
        raw = conn.connection.dbapi_connection
        _copy(raw, "students", ["school_id", "source_id", "name", "gender", "age"],
              students.assign(school_id=school_id)[["school_id", "student_id", "student_name", "gender", "age"]])
        ids = _ids(conn, f"SELECT source_id, id FROM students WHERE school_id = {school_id}")
        sid = frame["student_id"].map(ids)
        enroll = pd.DataFrame({"student_id": students["student_id"].map(ids),
                               "class_id": students["class_name"].map(class_ids), "school_year": SCHOOL_YEAR})
        _copy(raw, "enrollments", ["student_id", "class_id", "school_year"], enroll)
        _copy(raw, "attendance", ["student_id", "date", "rate"],
              pd.DataFrame({"s": sid, "d": frame["date"], "r": frame["attendance_rate"]}))
        _copy(raw, "study_hours", ["student_id", "date", "hours"],
              pd.DataFrame({"s": sid, "d": frame["date"], "h": frame["study_hours"]}))
        _copy(raw, "activity_participation", ["student_id", "date", "participated"],
              pd.DataFrame({"s": sid, "d": frame["date"], "p": frame["sports_participation"].eq("Yes")}))
        dates = sorted(frame["date"].unique())
        for d in dates:
            conn.execute(text("INSERT INTO assessments (school_id, name, kind, date) VALUES (:s, :n, 'weekly', :d)"),
                         {"s": school_id, "n": f"week {d}", "d": d})
        assessment = _ids(conn, f"SELECT date::text, id FROM assessments WHERE school_id = {school_id}")
        _copy(raw, "scores", ["student_id", "assessment_id", "date", "score"],
              pd.DataFrame({"s": sid, "a": frame["date"].map(assessment), "d": frame["date"], "v": frame["final_score"]}))
        conn.execute(text(
            "INSERT INTO student_summary (student_id, school_id, class_id, grade_level, school_year, gender, age) "
            "SELECT s.id, s.school_id, e.class_id, c.grade_level, e.school_year, s.gender, s.age "
            "FROM students s JOIN enrollments e ON e.student_id = s.id JOIN classes c ON c.id = e.class_id "
            "WHERE s.school_id = :s"), {"s": school_id})
        conn.execute(text("ANALYZE"))


def load_school(database: Database, n_students: int, seed: int, workdir: Path, *, years: int = 1,
                as_of: dt.date | None = None) -> str:
    """Generate a clean school (``years`` school years up to ``as_of``) and load it; returns which path was used."""
    from etl.generate import generate_school, write_school

    try:
        from etl.pipeline import ingest_file
    except ImportError:
        ingest_file = None
    if ingest_file is not None:
        path = write_school(workdir / f"school_{n_students}_{seed}_{years}.csv", n_students, seed=seed, years=years,
                            as_of=as_of)
        ingest_file(database, path)
        return "etl.pipeline.ingest_file"
    if years != 1:
        raise RuntimeError("the direct loader knows one school year only")
    load_frame(database, generate_school(n_students, seed=seed))
    return "tests/ml/ml_school.load_frame"
