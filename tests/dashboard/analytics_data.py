"""A small generated school loaded through the real ETL, for the analytics page and callback tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from db.database import Database
from db.models import DATA_TABLES
from etl.generate import write_school
from etl.pipeline import ingest_file

N_STUDENTS = 150


def wipe(database: Database) -> None:
    """Empty students, classes and schools (user_classes rows of removed classes go with them)."""
    tables = ", ".join((*DATA_TABLES, "classes", "schools", "ingestion_runs", "rejected_rows", "model_versions"))
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def load_school(database: Database, folder: Path, n_students: int = N_STUDENTS) -> None:
    """Generate ``n_students`` and ingest them (committed)."""
    wipe(database)
    path = write_school(folder / "analytics-school.csv", n_students, seed=11)
    ingest_file(database, path, school="Analytics School", force=True)


def class_sizes(database: Database) -> dict[int, int]:
    """Students per class id."""
    with database.begin() as s:
        return dict(s.execute(text("SELECT class_id, count(*) FROM student_summary GROUP BY class_id")).tuples().all())
