"""`studentperf generate` and `studentperf ingest`: exit codes, --json, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from db.database import Database
from studentperf.cli import app

runner = CliRunner()


def _env(database: Database, tmp_path: Path) -> dict[str, str]:
    url = database.engine.url.render_as_string(hide_password=False)
    return {"DATABASE_URL": url, "STUDENTPERF_HOME": str(tmp_path / "home"), "LOG_LEVEL": "WARNING"}


def test_generate_then_ingest_json(clean_db: Database, tmp_path: Path) -> None:
    env = _env(clean_db, tmp_path)
    out = tmp_path / "s.csv"
    gen = runner.invoke(app, ["generate", "--students", "12", "--seed", "4", "--years", "1", "--as-of", "2026-06-01", "--out", str(out)], env=env)
    assert gen.exit_code == 0, gen.output
    assert out.read_text().splitlines()[1].startswith("00001,")
    res = runner.invoke(app, ["ingest", str(out), "--json"], env=env)
    assert res.exit_code == 0, res.output
    [report] = json.loads(res.stdout)
    assert (report["status"], report["rows_inserted"]) == ("succeeded", 480)
    again = runner.invoke(app, ["ingest", str(out)], env=env)
    assert again.exit_code == 0 and "already loaded" in again.stdout


def test_bad_file_exits_2_with_one_sentence(clean_db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,date,attendance_rate,final_score\n1,2025-09-01,0.9,70\n")
    res = runner.invoke(app, ["ingest", str(bad)], env=_env(clean_db, tmp_path))
    assert res.exit_code == 2
    assert "study_hours" in res.stderr and "Traceback" not in res.output + res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope.csv")], env=_env(clean_db, tmp_path))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_every_command_has_help() -> None:
    for cmd in ("generate", "ingest"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0 and "Usage" in res.stdout


def test_ingest_records_an_upload_in_the_audit_log(clean_db: Database, tmp_path: Path) -> None:
    from sqlalchemy import text

    env = _env(clean_db, tmp_path)
    out = tmp_path / "audited.csv"
    assert runner.invoke(app, ["generate", "--students", "5", "--seed", "9", "--years", "1", "--as-of", "2026-06-01",
                                "--out", str(out)], env=env).exit_code == 0
    assert runner.invoke(app, ["ingest", str(out)], env=env).exit_code == 0
    with clean_db.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, details FROM audit_log WHERE action = 'upload' AND target = 'audited.csv'")).all()
    assert len(rows) == 1
    actor, details = rows[0]
    assert actor.startswith("cli") and details["status"] == "succeeded" and details["rows_inserted"] == 200
