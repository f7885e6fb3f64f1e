"""While a load runs, the dashboard's tables stay readable: no load takes a lock that makes readers wait.

Each load is paused just before its commit (every statement of the load has run, every lock it takes is held):
its locks on shared tables are listed, and a reader on another connection reads every table the dashboard reads
with ``lock_timeout`` set, which fails instead of waiting if the load blocks it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import etl.load
from db.database import Database
from etl import pipeline
from etl.generate import write_school

READ_TABLES = ("students", "enrollments", "classes", "attendance", "study_hours", "activity_participation", "scores",
               "assessments", "student_summary", "student_week_summary", "class_week_summary", "summary_calendar",
               "predictions")
STRONG_LOCKS_SQL = """
SELECT c.relname || ' ' || l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = :pid AND c.relpersistence <> 't'
  AND l.mode IN ('AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock')
ORDER BY 1
"""


class Spy:
    """Replaces ``refresh_class_weeks`` (the load's last step before the commit) to look at the load from outside."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.real = pipeline.refresh_class_weeks
        self.seen: list[dict[str, list[str]]] = []

    def __call__(self, session: Session, class_ids: object) -> None:
        self.real(session, class_ids)
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        with self.database.engine.connect() as conn:
            locks = list(conn.execute(text(STRONG_LOCKS_SQL), {"pid": pid}).scalars())
            conn.execute(text("SET lock_timeout = '1s'"))
            blocked = []
            for table in READ_TABLES:
                try:
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                except DBAPIError:
                    conn.rollback()
                    conn.execute(text("SET lock_timeout = '1s'"))
                    blocked.append(table)
            conn.rollback()
        self.seen.append({"locks": locks, "blocked": blocked})


def test_first_load_resent_export_and_truncate_never_block_readers(
        clean_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(clean_db)
    monkeypatch.setattr(pipeline, "refresh_class_weeks", spy)
    monkeypatch.setattr(etl.load, "BULK_MIN_ROWS", 100)  # these small files take the bulk paths of big ones
    year = write_school(tmp_path / "year.csv", 40, seed=5, years=1, as_of=dt.date(2026, 3, 1))
    first = pipeline.ingest_file(clean_db, year)  # empty tables: the fresh path
    frame = pd.read_csv(year, dtype=str)
    last = frame[frame["date"] == frame["date"].max()]
    week = last.assign(date=(pd.to_datetime(last["date"]) + pd.Timedelta(days=7)).dt.strftime("%Y-%m-%d"))
    resent = tmp_path / "resent.csv"
    pd.concat([frame, week]).to_csv(resent, index=False)
    again = pipeline.ingest_file(clean_db, resent)  # the whole year again with one week more: the bulk upsert path
    truncated = pipeline.ingest_file(clean_db, year, force=True, truncate=True)
    assert (first.status, again.status, truncated.status) == ("succeeded",) * 3
    assert again.rows_inserted == len(week) and first.rows_inserted == len(frame)
    assert len(spy.seen) == 3
    for seen in spy.seen:
        assert seen == {"locks": [], "blocked": []}
    with clean_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scores")).scalar() == len(frame)
        orphans = conn.execute(text("SELECT count(*) FROM scores s LEFT JOIN students t ON t.id = s.student_id "
                                    "WHERE t.id IS NULL")).scalar()
    assert orphans == 0
