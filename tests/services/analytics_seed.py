"""A small, deterministic world for the analytics tests: two schools, four classes, twelve weeks.

Rows go straight into the event tables; the summary tables are then derived from them in SQL the
way the ETL does (means over the year, latest score, bands from ``derivation_rules``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from db.indicators import refresh_indicators
from db.models import (
    ActivityParticipation,
    Assessment,
    Attendance,
    Enrollment,
    School,
    SchoolClass,
    Score,
    Student,
    StudyHours,
)
from db.summaries import refresh_student_weeks
from services.scope import Viewer

FIRST_WEEK = dt.date(2025, 9, 1)
N_WEEKS = 12
YEAR = "2025-2026"
CLASSES = (("North School", 9, "9A", 40), ("North School", 9, "9B", 35), ("North School", 10, "10A", 30), ("South School", 9, "9A", 45))
SPORTS_P = {"none": 0.0, "occasional": 0.25, "regular": 0.8}


@dataclass(frozen=True)
class World:
    """Ids of what was seeded."""

    schools: dict[str, int]
    classes: dict[tuple[str, str], int]  # (school, class name) -> id
    n_students: int
    weeks: tuple[dt.date, ...]


def _rows(rng: np.random.Generator, student_id: int, weeks: tuple[dt.date, ...], assessments: list[int]):
    hours = float(rng.gamma(2.0, 2.2))
    level = rng.choice(list(SPORTS_P), p=[0.35, 0.3, 0.35])
    att_base = float(min(0.99, rng.beta(14, 2) + (0.03 if level == "regular" else 0.0)))
    final = 25 + 6 * np.log1p(hours) + 40 * att_base + rng.normal(0, 6)
    offset = rng.normal(0, 6)
    out: dict[str, list[dict]] = {"att": [], "study": [], "sport": [], "score": []}
    for i, week in enumerate(weeks):
        weight = 1 - (i + 1) / len(weeks)
        out["att"].append({"student_id": student_id, "date": week, "rate": round(float(np.clip(att_base + rng.normal(0, 0.05), 0, 1)), 2)})
        out["study"].append({"student_id": student_id, "date": week, "hours": round(float(np.clip(hours + rng.normal(0, 1), 0, 80)), 1)})
        out["sport"].append({"student_id": student_id, "date": week, "activity": "sports", "participated": bool(rng.random() < SPORTS_P[level])})
        score = float(np.clip(final + weight * offset + rng.normal(0, 2) * weight, 0, 100))
        out["score"].append({"student_id": student_id, "assessment_id": assessments[i], "date": week, "score": round(score * 2) / 2})
    return out


def seed_world(session: Session, seed: int = 7) -> World:
    """Insert the world into ``session`` (not committed) and derive the summaries."""
    rng = np.random.default_rng(seed)
    weeks = tuple(FIRST_WEEK + dt.timedelta(weeks=i) for i in range(N_WEEKS))
    schools: dict[str, int] = {}
    assessments: dict[str, list[int]] = {}
    for name in sorted({c[0] for c in CLASSES}):
        schools[name] = session.scalar(insert(School).values(name=name).returning(School.id))
        assessments[name] = [
            session.scalar(insert(Assessment).values(school_id=schools[name], name=f"Week {i + 1}", date=w).returning(Assessment.id))
            for i, w in enumerate(weeks)
        ]
    classes: dict[tuple[str, str], int] = {}
    events: dict[str, list[dict]] = {"att": [], "study": [], "sport": [], "score": []}
    n = 0
    for school, grade, cname, size in CLASSES:
        cid = session.scalar(
            insert(SchoolClass).values(school_id=schools[school], name=cname, grade_level=grade, school_year=YEAR).returning(SchoolClass.id)
        )
        classes[(school, cname)] = cid
        for _ in range(size):
            n += 1
            sid = session.scalar(insert(Student).values(school_id=schools[school], source_id=f"{n:05d}", name=f"Student {n}", age=15).returning(Student.id))
            session.execute(insert(Enrollment).values(student_id=sid, class_id=cid, school_year=YEAR))
            for key, rows in _rows(rng, sid, weeks, assessments[school]).items():
                events[key].extend(rows)
    for key, table in (("att", Attendance), ("study", StudyHours), ("sport", ActivityParticipation), ("score", Score)):
        session.execute(insert(table), events[key])
    derive_summaries(session)
    return World(schools=schools, classes=classes, n_students=n, weeks=weeks)


SUMMARY_SQL = """
WITH a AS (SELECT student_id, avg(rate) v, count(*) n, min(date) d0, max(date) d1 FROM attendance GROUP BY 1),
     h AS (SELECT student_id, avg(hours) v FROM study_hours GROUP BY 1),
     p AS (SELECT student_id, avg(participated::int)::float8 v FROM activity_participation WHERE activity = 'sports' GROUP BY 1),
     s AS (SELECT student_id, avg(score) v, (array_agg(score ORDER BY date DESC))[1] latest, max(date) d FROM scores GROUP BY 1)
INSERT INTO student_summary (student_id, school_id, class_id, grade_level, school_year, gender, age, n_weeks,
    first_date, last_date, attendance_mean, study_hours_mean, sports_rate, score_mean, latest_score,
    latest_score_date, study_bin, sports_level, performance_label, low_attendance, chronically_absent)
SELECT st.id, st.school_id, e.class_id, c.grade_level, e.school_year, st.gender, st.age, a.n, a.d0, a.d1,
       a.v, h.v, p.v, s.v, s.latest, s.d,
       (SELECT label FROM derivation_rules r WHERE r.kind = 'study_bin' AND (r.lower IS NULL OR h.v >= r.lower) AND (r.upper IS NULL OR h.v < r.upper)),
       (SELECT label FROM derivation_rules r WHERE r.kind = 'sports_level' AND (r.lower IS NULL OR p.v >= r.lower) AND (r.upper IS NULL OR p.v < r.upper)),
       (SELECT label FROM derivation_rules r WHERE r.kind = 'performance' AND (r.lower IS NULL OR s.latest >= r.lower) AND (r.upper IS NULL OR s.latest < r.upper)),
       a.v < 0.75, a.v < 0.90
FROM students st JOIN enrollments e ON e.student_id = st.id JOIN classes c ON c.id = e.class_id
LEFT JOIN a ON a.student_id = st.id LEFT JOIN h ON h.student_id = st.id
LEFT JOIN p ON p.student_id = st.id LEFT JOIN s ON s.student_id = st.id
"""

WEEK_SQL = """
INSERT INTO class_week_summary (class_id, week, n_students, attendance_sum, attendance_n, study_sum, study_n,
    score_sum, score_n, sports_sum, sports_n)
SELECT e.class_id, w.date, count(DISTINCT e.student_id),
       coalesce(sum(a.rate), 0), count(a.rate), coalesce(sum(h.hours), 0), count(h.hours),
       coalesce(sum(s.score), 0), count(s.score), coalesce(sum(p.participated::int), 0), count(p.participated)
FROM enrollments e
JOIN (SELECT DISTINCT student_id, date FROM attendance) w ON w.student_id = e.student_id
LEFT JOIN attendance a ON a.student_id = e.student_id AND a.date = w.date
LEFT JOIN study_hours h ON h.student_id = e.student_id AND h.date = w.date
LEFT JOIN scores s ON s.student_id = e.student_id AND s.date = w.date
LEFT JOIN activity_participation p ON p.student_id = e.student_id AND p.date = w.date AND p.activity = 'sports'
GROUP BY e.class_id, w.date
"""


def derive_summaries(session: Session) -> None:
    """Fill ``student_summary`` and ``class_week_summary`` from the event tables (here), and the running sums (ETL's SQL)."""
    session.execute(text("DELETE FROM student_summary"))
    session.execute(text("DELETE FROM class_week_summary"))
    session.execute(text(SUMMARY_SQL))
    session.execute(text(WEEK_SQL))
    refresh_student_weeks(session)
    refresh_indicators(session)


def teacher_of(*class_ids: int) -> Viewer:
    """A teacher of the given classes."""
    return Viewer(user_id=2, email="teacher@example.org", role="teacher", class_ids=frozenset(class_ids))
