"""SIGTERM mid-load is handled like Ctrl-C; with several files, each file's outcome is reported and audited."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from db.database import Database
from etl.generate import write_school
from etl.pipeline import INGEST_LOCK, ingest_paths
from studentperf.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _env(database: Database, tmp_path: Path) -> dict[str, str]:
    url = database.engine.url.render_as_string(hide_password=False)
    return {"DATABASE_URL": url, "STUDENTPERF_HOME": str(tmp_path / "home"), "LOG_LEVEL": "WARNING"}


def _scalar(database: Database, sql: str, **params: object) -> object:
    with database.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _wait_for_load(database: Database, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until the ingest process holds the load lock (its transaction is open), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the load ended before it could be interrupted"
        held = _scalar(database, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k AND granted "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", k=INGEST_LOCK)
        if held:
            return
        time.sleep(0.05)
    raise AssertionError("the load never started")


def test_sigterm_mid_load_commits_nothing_and_records_a_failed_run(clean_db: Database, tmp_path: Path) -> None:
    big = write_school(tmp_path / "big.csv", 4000, seed=3, years=1, as_of=dt.date(2026, 6, 1))  # about 150k rows
    env = {**os.environ, **_env(clean_db, tmp_path), "PYTHONPATH": str(ROOT), "SCORE_AFTER_INGEST": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "studentperf", "ingest", str(big), "--batch-size", "20000"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_load(clean_db, proc)
        time.sleep(0.3)  # into the staging of the chunks
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, (out, err)
    errors = [line for line in err.splitlines() if line.strip()]
    assert errors == ["error: stopped (SIGTERM); nothing was committed by the step in progress"], err
    assert "Traceback" not in out + err
    for table in ("students", "scores", "attendance", "classes", "student_summary"):
        assert _scalar(clean_db, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608
    with clean_db.engine.connect() as conn:
        runs = conn.execute(text("SELECT file_name, status, error FROM ingestion_runs")).all()
        audit = conn.execute(text("SELECT details ->> 'status' FROM audit_log WHERE action = 'upload' "
                                  "AND target = 'big.csv'")).scalars().all()
    assert [(r.file_name, r.status) for r in runs] == [("big.csv", "failed")]
    assert "interrupted" in runs[0].error
    assert audit == ["failed"]


def _bad_file(path: Path) -> Path:
    """A file whose every row is rejected (day-first dates)."""
    path.write_text("student_id,date,study_hours,attendance_rate,final_score\n"
                    + "".join(f"{i},01/09/2025,5,0.9,70\n" for i in range(1, 6)))
    return path


def test_batch_keeps_the_files_before_a_failure(clean_db: Database, tmp_path: Path) -> None:
    good = write_school(tmp_path / "good.csv", 6, seed=1, years=1, as_of=dt.date(2026, 6, 1))
    bad = _bad_file(tmp_path / "bad.csv")
    later = write_school(tmp_path / "later.csv", 3, seed=2, years=1, as_of=dt.date(2026, 6, 1))
    batch = ingest_paths(clean_db, [good, bad, later])
    assert [(r.file_name, r.status) for r in batch.reports] == [("good.csv", "succeeded"), ("bad.csv", "failed")]
    assert batch.error is not None and "0 of 5 rows loaded" in str(batch.error)
    assert batch.reports[1].run_id is not None  # the failed run was recorded, and the report names it
    assert _scalar(clean_db, "SELECT count(*) FROM students") == 6


def test_cli_reports_and_audits_every_file_of_a_failed_batch(clean_db: Database, tmp_path: Path) -> None:
    env = _env(clean_db, tmp_path)
    good = write_school(tmp_path / "first-good.csv", 4, seed=1, years=1, as_of=dt.date(2026, 6, 1))
    bad = _bad_file(tmp_path / "second-bad.csv")
    res = CliRunner().invoke(app, ["ingest", str(good), str(bad), "--json"], env=env)
    assert res.exit_code == 2, res.output
    reports = json.loads(res.stdout)
    assert [(r["file_name"], r["status"]) for r in reports] == [("first-good.csv", "succeeded"), ("second-bad.csv", "failed")]
    assert "0 of 5 rows loaded" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    with clean_db.engine.connect() as conn:
        audit = dict(conn.execute(text(
            "SELECT target, details ->> 'status' FROM audit_log WHERE action = 'upload' "
            "AND target IN ('first-good.csv', 'second-bad.csv')")).all())
    assert audit == {"first-good.csv": "succeeded", "second-bad.csv": "failed"}
    assert _scalar(clean_db, "SELECT count(*) FROM students") == 4
    table = CliRunner().invoke(app, ["ingest", str(good), str(bad), "--force"], env=env)
    assert table.exit_code == 2 and "first-good.csv: loaded" in table.stdout and "second-bad.csv" in table.stderr


def test_a_second_load_says_at_once_that_it_waits(clean_db: Database, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import threading

    path = write_school(tmp_path / "queued.csv", 3, seed=4, years=1, as_of=dt.date(2026, 6, 1))
    done: list[object] = []
    with clean_db.engine.connect() as other:  # plays the first load: holds the load lock in an open transaction
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})
        with caplog.at_level(logging.WARNING, logger="etl.pipeline"):
            worker = threading.Thread(target=lambda: done.append(ingest_paths(clean_db, [path])))
            worker.start()
            deadline = time.monotonic() + 60
            while not any("waits for it to finish" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the second load never said it was waiting"
                time.sleep(0.05)
            assert not done  # it said so while still waiting, before loading anything
            assert _scalar(clean_db, "SELECT count(*) FROM students") == 0
        other.rollback()  # the first load ends
    worker.join(timeout=120)
    [batch] = done
    assert batch.error is None and batch.reports[0].status == "succeeded"
    assert [r.getMessage() for r in caplog.records if "waits" in r.getMessage()] == [
        "queued.csv: another load is running; this one waits for it to finish"]
