"""The schema migrates, and the embedded server starts from an empty folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, text

from db.migrate import current_revision


def test_schema_is_at_head(database) -> None:
    names = set(inspect(database.engine).get_table_names())
    for table in ("schools", "classes", "students", "enrollments", "attendance", "study_hours", "scores",
                  "activity_participation", "ingestion_runs", "rejected_rows", "users", "audit_log",
                  "student_summary", "class_week_summary", "model_versions", "predictions"):
        assert table in names
    assert current_revision(database.engine) is not None


def test_default_rules_seeded(session) -> None:
    kinds = dict(session.execute(text("SELECT kind, count(*) FROM derivation_rules GROUP BY kind")).all())
    assert kinds["study_bin"] == 4 and kinds["performance"] >= 2


def test_embedded_server_starts_from_empty_folder(tmp_path: Path) -> None:
    """With no DATABASE_URL, `studentperf db upgrade` starts pgserver in STUDENTPERF_HOME and migrates."""
    env = {"STUDENTPERF_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "studentperf", "db", "upgrade"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "schema at revision" in out.stdout
    assert (tmp_path / "home" / "pgdata" / "PG_VERSION").exists()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr


def test_models_and_migrations_agree(database) -> None:
    """The migrated schema is exactly what db/models.py declares (no drift either way)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.models import Base

    with database.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
