"""One student's profile: who they are, their weeks beside their class's, their stored risk and why.

The scope is checked once per request (:func:`services.students.require_in_scope`): a student outside the
viewer's classes raises ``NotFound`` exactly as a student that does not exist (no hint either way). The
weeks are the student's own events and their class's weekly means from ``class_week_summary``; the risk is
the one the at-risk list shows (:func:`services.at_risk.student_risk`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from db.models import Attendance, ClassWeekSummary, Enrollment, SchoolClass, Score, Student, StudyHours
from services.at_risk import RiskHistory, StudentRisk, risk_history, student_risk
from services.indicators import Indicator, student_indicators
from services.scope import Viewer
from services.students import StudentInScope, require_in_scope


@dataclass(frozen=True)
class StudentProfile:
    """One student in scope: who they are, their weeks beside their class's means, their risk and its reasons.

    ``history`` has one row per week (Monday): ``attendance``, ``study_hours``, ``score`` (the student's
    means that week) and ``class_attendance``, ``class_study_hours``, ``class_score`` (the class means).
    ``risk`` holds the stored score, its run and its explanation, or the sentence saying why there is none;
    ``risk_history`` the student's stored risk in every run of the active model and when it first flagged them High.
    """

    student_id: int
    source_id: str
    name: str | None
    class_id: int
    class_name: str | None
    grade_level: int | None
    history: pd.DataFrame
    risk: StudentRisk
    risk_history: RiskHistory = field(default_factory=RiskHistory)
    indicators: list[Indicator] = field(default_factory=list)  # the early-warning indicators with their values


def _week(column: Any) -> Any:
    return cast(func.date_trunc("week", column), Date).label("week")


def _student_weeks(session: Session, student_id: int) -> pd.DataFrame:
    parts = {
        "attendance": (Attendance.date, Attendance.rate, Attendance.student_id),
        "study_hours": (StudyHours.date, StudyHours.hours, StudyHours.student_id),
        "score": (Score.date, Score.score, Score.student_id),
    }
    frames = []
    for name, (date, value, owner) in parts.items():
        week = _week(date)
        stmt = select(week, func.avg(value).label(name)).where(owner == student_id).group_by(week.element)
        frames.append(pd.DataFrame(session.execute(stmt).all(), columns=["week", name]).set_index("week"))
    return pd.concat(frames, axis=1)


def _class_weeks(session: Session, class_id: int) -> pd.DataFrame:
    """The class's weekly means from ``class_week_summary`` (kept by every load, so reading it is one index range)."""
    cw = ClassWeekSummary
    stmt = select(
        cw.week,
        (cw.attendance_sum / func.nullif(cw.attendance_n, 0)).label("class_attendance"),
        (cw.study_sum / func.nullif(cw.study_n, 0)).label("class_study_hours"),
        (cw.score_sum / func.nullif(cw.score_n, 0)).label("class_score"),
    ).where(cw.class_id == class_id)
    columns = ["week", "class_attendance", "class_study_hours", "class_score"]
    return pd.DataFrame(session.execute(stmt).all(), columns=columns).set_index("week")


def _enrolled_class_weeks(session: Session, student_id: int, class_id: int) -> pd.DataFrame:
    """The weekly means of the student's class of each school year (a class's weeks lie within its year)."""
    class_ids = set(session.scalars(select(Enrollment.class_id).where(Enrollment.student_id == student_id))) | {class_id}
    frames = [_class_weeks(session, c) for c in sorted(class_ids)]
    return pd.concat(frames).groupby(level=0).first()


def _history(session: Session, student: StudentInScope) -> pd.DataFrame:
    """The student's weekly attendance, study hours and score beside the weekly means of their class of each year."""
    weeks = _enrolled_class_weeks(session, student.student_id, student.class_id)
    frame = _student_weeks(session, student.student_id).join(weeks, how="left")
    frame = frame.sort_index().reset_index()
    for column in frame.columns[1:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def student_profile(*, session: Session, viewer: Viewer, student_id: int, explain: bool = True) -> StudentProfile:
    """Everything the profile page shows for one student (``NotFound`` outside the viewer's classes).

    Parameters
    ----------
    session : an open session; the caller owns the transaction (and records the view in the audit log).
    viewer : who asks; a teacher sees only their classes.
    student_id : the student's database id.
    explain : also compute the exact SHAP explanation (as of the stored score's date).
    """
    student = require_in_scope(session, viewer, student_id)
    who = session.execute(
        select(Student.source_id, Student.name, SchoolClass.name, SchoolClass.grade_level)
        .join(SchoolClass, SchoolClass.id == student.class_id).where(Student.id == student.student_id)
    ).one()
    return StudentProfile(
        student_id=student.student_id, source_id=who[0], name=who[1], class_id=student.class_id, class_name=who[2],
        grade_level=who[3], history=_history(session, student),
        risk=student_risk(session, student, explain=explain), risk_history=risk_history(session, student),
        indicators=student_indicators(session, student),
    )
