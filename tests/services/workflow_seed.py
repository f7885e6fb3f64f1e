"""A tiny scored school for the workflow tests: two classes, four students, two scoring runs of an active model.

Between the runs Ada becomes High (0.40 -> 0.85), Ben rises 25 points but stays Moderate (0.30 -> 0.55),
Chloe (the other class) stays High, Dan stays Low: so the alerts of class A are Ada's and Ben's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

YEAR = "2025-2026"
AS_OF = dt.date(2026, 3, 2)
STUDENTS = {  # key: (name, source id, class index, run 1 probability, tier, run 2 probability, tier)
    "ada": ("Ada Lovelace", "00101", 0, 0.40, "Moderate", 0.85, "High"),
    "ben": ("Ben Okafor", "00102", 0, 0.30, "Moderate", 0.55, "Moderate"),
    "chloe": ("Chloé Dubois", "00201", 1, 0.80, "High", 0.82, "High"),
    "dan": ("Dan Moreau", "00103", 0, 0.10, "Low", 0.12, "Low"),
}


@dataclass(frozen=True)
class WorkflowWorld:
    """Ids of the seeded school: classes (A, B), students by key, the model version and the two runs."""

    classes: tuple[int, int]
    students: dict[str, int]
    model_version_id: int
    runs: tuple[int, int]


def _one(session: Session, sql: str, **params: object) -> int:
    return int(session.execute(text(sql), params).scalar_one())


def _run(session: Session, model: int, as_of: dt.date) -> int:
    return _one(session, "INSERT INTO scoring_runs (model_version_id, as_of, high, low, n_scored) "
                         "VALUES (:m, :d, 0.7, 0.35, 4) RETURNING id", m=model, d=as_of)


def seed_workflow(session: Session) -> WorkflowWorld:
    """Insert the school into the session's transaction (the caller commits or rolls back)."""
    school = _one(session, "INSERT INTO schools (name) VALUES ('Workflow School') RETURNING id")
    classes = tuple(_one(session, "INSERT INTO classes (school_id, name, grade_level, school_year) "
                                  "VALUES (:s, :n, 9, :y) RETURNING id", s=school, n=n, y=YEAR) for n in ("9A", "9B"))
    session.execute(text("UPDATE model_versions SET is_active = false"))  # models other tests left behind
    model = _one(session, "INSERT INTO model_versions (version, model_type, data_hash, code_version, threshold, "
                          "artifact_path, is_active) VALUES ('wf-model', 'xgboost', 'h', 'c', 0.5, '/nowhere', true) "
                          "RETURNING id")
    runs = (_run(session, model, AS_OF - dt.timedelta(days=7)), _run(session, model, AS_OF))
    students = {}
    for key, (name, source, index, p1, t1, p2, t2) in STUDENTS.items():
        sid = _one(session, "INSERT INTO students (school_id, source_id, name) VALUES (:s, :src, :n) RETURNING id",
                   s=school, src=source, n=name)
        students[key] = sid
        session.execute(text("INSERT INTO enrollments (student_id, class_id, school_year) VALUES (:s, :c, :y)"),
                        {"s": sid, "c": classes[index], "y": YEAR})
        session.execute(text("INSERT INTO student_summary (student_id, school_id, class_id, grade_level, school_year) "
                             "VALUES (:s, :sc, :c, 9, :y)"), {"s": sid, "sc": school, "c": classes[index], "y": YEAR})
        for run, p, tier, day in ((runs[0], p1, t1, AS_OF - dt.timedelta(days=7)), (runs[1], p2, t2, AS_OF)):
            session.execute(text("INSERT INTO predictions (scoring_run_id, student_id, model_version_id, as_of, "
                                 "probability, low, high, tier) VALUES (:r, :s, :m, :d, :p, :p, :p, :t)"),
                            {"r": run, "s": sid, "m": model, "d": day, "p": p, "t": tier})
    return WorkflowWorld(classes, students, model, runs)  # type: ignore[arg-type]


WORKFLOW_TABLES = ("alert_reads", "user_preferences", "flag_feedback", "case_notes", "interventions", "student_stars")
