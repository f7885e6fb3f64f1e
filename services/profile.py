"""Student profiles and the at-risk table: scored students with their latest numbers, one student's weeks.

Everything is scoped by the viewer in SQL: the table keeps only the viewer's classes, and a profile of
a student outside them raises ``NotFound`` exactly as a student that does not exist (no hint either way).
The table reads ``predictions`` of the active model joined to ``student_summary``; a profile reads the
student's own events and the weekly means of their class from ``class_week_summary``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Date, Select, cast, exists, func, select
from sqlalchemy.orm import Session

from core.errors import DomainError, InvalidInput, NotFound, Unavailable
from db.models import (
    Attendance,
    ClassWeekSummary,
    Enrollment,
    ModelVersion,
    Prediction,
    SchoolClass,
    Score,
    Student,
    StudentSummary,
    StudyHours,
)
from services.queries import summary_filters
from services.risk import (
    TIERS,
    RiskExplanation,
    StudentRisk,
    check_tier,
    explain_student,
    predict_student_risk,
    require_in_scope,
)
from services.scope import Filters, Viewer

MAX_PAGE = 500
MAX_STUDENT_ID = 2**63 - 1
NO_SCORES = "No risk scores yet: an administrator trains and scores a model (`studentperf train`, `studentperf score`)."
NO_SUCH_STUDENT = "No such student in your classes."
SORT_KEYS = ("probability", "tier", "name", "class", "grade", "latest_score", "attendance")
CSV_COLUMNS = ("student_id", "source_id", "name", "class", "grade", "risk_probability", "tier", "reason_1", "reason_2",
               "reason_3", "latest_score", "attendance_mean", "scored_as_of", "model_version")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------- the at-risk table


@dataclass(frozen=True)
class RiskRow:
    """One scored student as the at-risk table shows them."""

    student_id: int
    source_id: str
    name: str | None
    class_id: int | None
    class_name: str | None
    grade_level: int | None
    probability: float
    tier: str
    reasons: list[str]
    latest_score: float | None
    attendance: float | None
    as_of: dt.date

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {
            "student_id": self.student_id, "source_id": self.source_id, "name": self.name, "class_id": self.class_id,
            "class_name": self.class_name, "grade_level": self.grade_level, "probability": self.probability,
            "tier": self.tier, "reasons": list(self.reasons), "latest_score": self.latest_score,
            "attendance": self.attendance, "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True)
class RiskTable:
    """One page of the at-risk table, the number of matching students and the count per tier (any tier)."""

    items: list[RiskRow]
    total: int
    limit: int
    offset: int
    model_version: str
    tier_counts: dict[str, int] = field(default_factory=dict)


def _active_model(session: Session) -> tuple[int, str]:
    row = session.execute(select(ModelVersion.id, ModelVersion.version).where(ModelVersion.is_active)).first()
    if row is None or not session.scalar(select(exists().where(Prediction.model_version_id == row[0]))):
        raise Unavailable(NO_SCORES)
    return int(row[0]), str(row[1])


DETAIL_COLUMNS = (
    Prediction.student_id, Student.source_id, Student.name, StudentSummary.class_id, SchoolClass.name,
    StudentSummary.grade_level, Prediction.probability, Prediction.tier, Prediction.reasons, StudentSummary.latest_score,
    StudentSummary.attendance_mean, Prediction.as_of,
)


def _scoped(columns: tuple[Any, ...], model_id: int, viewer: Viewer, filters: Filters, *, student: bool = False,
            klass: bool = False) -> Select:
    """Predictions of the model joined to the summaries, in the viewer's scope and the filters (joins on demand)."""
    ss = StudentSummary
    stmt = select(*columns).select_from(Prediction).join(ss, ss.student_id == Prediction.student_id)
    if student:
        stmt = stmt.join(Student, Student.id == Prediction.student_id)
    if klass:
        stmt = stmt.outerjoin(SchoolClass, SchoolClass.id == ss.class_id)
    return stmt.where(Prediction.model_version_id == model_id, *summary_filters(viewer, filters))


def _table_select(model_id: int, viewer: Viewer, filters: Filters) -> Select:
    return _scoped(DETAIL_COLUMNS, model_id, viewer, filters, student=True, klass=True)


def _order(sort: str, descending: bool) -> list[ColumnElement]:
    columns = {
        "probability": Prediction.probability, "tier": Prediction.probability, "name": Student.name,
        "class": SchoolClass.name, "grade": StudentSummary.grade_level, "latest_score": StudentSummary.latest_score,
        "attendance": StudentSummary.attendance_mean,
    }
    if sort not in columns:
        raise InvalidInput(f"Unknown sort column {sort[:40]!r}: choose one of {', '.join(SORT_KEYS)}.")
    column = columns[sort]
    first = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return [first, Prediction.probability.desc(), Prediction.student_id]


def _risk_row(row: Any) -> RiskRow:
    reasons = [str(r.get("text", "")) for r in (row[8] or []) if isinstance(r, dict)]
    return RiskRow(
        student_id=int(row[0]), source_id=row[1], name=row[2], class_id=row[3], class_name=row[4], grade_level=row[5],
        probability=float(row[6]), tier=row[7], reasons=reasons, latest_score=row[9], attendance=row[10], as_of=row[11],
    )


def risk_table(
    *,
    session: Session,
    viewer: Viewer,
    filters: Filters | None = None,
    tier: str | None = None,
    sort: str = "probability",
    descending: bool = True,
    limit: int = 25,
    offset: int = 0,
) -> RiskTable:
    """One page of the viewer's scored students (active model), sorted in SQL, with the count per tier.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : who asks; teachers see only their classes.
    filters : the filter bar (school, grade, class, study band, minimum attendance; dates do not apply).
    tier : ``High``, ``Moderate`` or ``Low``; None for every tier.
    sort, descending : one of ``SORT_KEYS``; ties go to the higher risk, then the student id.
    limit, offset : the page (limit 1-500).
    """
    check_tier(tier)
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"Page out of range: limit must be 1-{MAX_PAGE} and offset at least 0.")
    order = _order(sort, descending)
    model_id, version = _active_model(session)
    filters = filters or Filters()
    counted = _scoped((Prediction.tier, func.count()), model_id, viewer, filters).group_by(Prediction.tier)
    counts = {t: 0 for t in TIERS} | dict(session.execute(counted).tuples().all())
    total = counts[tier] if tier is not None else sum(counts.values())
    # Sort and page the ids alone (narrow rows), then read the details of the page's rows only.
    keys = _scoped((Prediction.student_id,), model_id, viewer, filters, student=sort == "name", klass=sort == "class")
    if tier is not None:
        keys = keys.where(Prediction.tier == tier)
    page = list(session.execute(keys.order_by(*order).limit(limit).offset(offset)).scalars())
    details = session.execute(_table_select(model_id, viewer, filters).where(Prediction.student_id.in_(page)))
    by_id = {int(r[0]): _risk_row(r) for r in details}
    return RiskTable([by_id[i] for i in page if i in by_id], int(total), limit, offset, version, counts)


def iter_risk_rows(
    *, session: Session, viewer: Viewer, filters: Filters | None = None, tier: str | None = None,
    sort: str = "probability", descending: bool = True,
) -> Iterator[RiskRow]:
    """Every matching row of the at-risk table (no paging), streamed from the server in batches.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer, filters, tier, sort, descending : as for :func:`risk_table`.
    """
    check_tier(tier)
    order = _order(sort, descending)
    model_id, _ = _active_model(session)
    stmt = _table_select(model_id, viewer, filters or Filters())
    if tier is not None:
        stmt = stmt.where(Prediction.tier == tier)
    for row in session.execute(stmt.order_by(*order).execution_options(yield_per=5_000)):
        yield _risk_row(row)


def safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (text starting with = + - @ gets a quote)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_line(row: RiskRow, version: str) -> list[Any]:
    reasons = (row.reasons + ["", "", ""])[:3]
    attendance = None if row.attendance is None else round(row.attendance, 4)
    return [safe_cell(v) for v in (
        row.student_id, row.source_id, row.name, row.class_name, row.grade_level, round(row.probability, 4), row.tier,
        *reasons, row.latest_score, attendance, row.as_of.isoformat(), version,
    )]


def export_risk_csv(
    *, session: Session, viewer: Viewer, filters: Filters | None = None, tier: str | None = None,
    sort: str = "probability", descending: bool = True,
) -> tuple[str, int]:
    """The whole filtered, scoped at-risk list as CSV text (header first) and its number of students.

    Parameters
    ----------
    session : an open session; the caller owns the transaction (and records the export in the audit log).
    viewer, filters, tier, sort, descending : as for :func:`risk_table`.
    """
    _, version = _active_model(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for row in iter_risk_rows(session=session, viewer=viewer, filters=filters, tier=tier, sort=sort, descending=descending):
        writer.writerow(_csv_line(row, version))
        n += 1
    return buffer.getvalue(), n


# --------------------------------------------------------------------------- one student's profile


@dataclass(frozen=True)
class StudentProfile:
    """One student in scope: who they are, their weeks beside their class's means, their risk and its reasons.

    ``history`` has one row per week (Monday): ``attendance``, ``study_hours``, ``score`` (the student's
    means that week) and ``class_attendance``, ``class_study_hours``, ``class_score`` (the class means).
    ``risk`` and ``explanation`` are None when there is no score; ``risk_note`` then says why.
    """

    student_id: int
    source_id: str
    name: str | None
    class_id: int
    class_name: str | None
    grade_level: int | None
    history: pd.DataFrame
    risk: StudentRisk | None = None
    explanation: RiskExplanation | None = None
    risk_note: str | None = None


def parse_student_id(raw: Any) -> int:
    """A student id from a URL: a positive whole number, else InvalidInput with one sentence."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_STUDENT_ID:
        raise InvalidInput(f"{text[:40]!r} is not a student id: ids are whole numbers such as 42.")
    return int(text)


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


def weekly_history(*, session: Session, viewer: Viewer, student_id: int) -> pd.DataFrame:
    """The student's weekly attendance, study hours and score beside their class's weekly means.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : who asks; ``NotFound`` outside their classes (as for a student that does not exist).
    student_id : the student's database id.
    """
    class_id = require_student(session, viewer, student_id)
    return _history(session, student_id, class_id)


def require_student(session: Session, viewer: Viewer, student_id: int) -> int:
    """The student's current class id; ``NotFound`` (one sentence, the same either way) when unknown or out of scope."""
    if not 1 <= int(student_id) <= MAX_STUDENT_ID:
        raise NotFound(NO_SUCH_STUDENT)
    try:
        return require_in_scope(session, viewer, int(student_id))
    except NotFound:
        raise NotFound(NO_SUCH_STUDENT) from None


def _enrolled_class_weeks(session: Session, student_id: int, class_id: int) -> pd.DataFrame:
    """The weekly means of the student's class of each school year (a class's weeks lie within its year)."""
    class_ids = set(session.scalars(select(Enrollment.class_id).where(Enrollment.student_id == student_id))) | {class_id}
    frames = [_class_weeks(session, c) for c in sorted(class_ids)]
    return pd.concat(frames).groupby(level=0).first()


def _history(session: Session, student_id: int, class_id: int) -> pd.DataFrame:
    frame = _student_weeks(session, student_id).join(_enrolled_class_weeks(session, student_id, class_id), how="left")
    frame = frame.sort_index().reset_index()
    for column in frame.columns[1:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _risk_parts(session: Session, viewer: Viewer, student_id: int) -> tuple[StudentRisk | None, RiskExplanation | None, str | None]:
    try:
        risk = predict_student_risk(session=session, viewer=viewer, student_id=student_id)
    except Unavailable:
        return None, None, NO_SCORES
    except NotFound as exc:
        return None, None, str(exc)
    try:
        explanation = explain_student(session=session, viewer=viewer, student_id=student_id, as_of=risk.as_of)
    except DomainError as exc:
        return risk, None, f"The reasons cannot be worked out right now: {exc}"
    return risk, explanation, None


def student_profile(*, session: Session, viewer: Viewer, student_id: int, explain: bool = True) -> StudentProfile:
    """Everything the profile page shows for one student (``NotFound`` outside the viewer's classes).

    Parameters
    ----------
    session : an open session; the caller owns the transaction (and records the view in the audit log).
    viewer : who asks; a teacher sees only their classes.
    student_id : the student's database id.
    explain : also compute the exact SHAP explanation (as of the stored score's date).
    """
    class_id = require_student(session, viewer, student_id)
    who = session.execute(
        select(Student.source_id, Student.name, SchoolClass.name, SchoolClass.grade_level)
        .join(SchoolClass, SchoolClass.id == class_id).where(Student.id == student_id)
    ).one()
    risk, explanation, note = _risk_parts(session, viewer, student_id) if explain else (None, None, None)
    return StudentProfile(
        student_id=int(student_id), source_id=who[0], name=who[1], class_id=class_id, class_name=who[2],
        grade_level=who[3], history=_history(session, student_id, class_id), risk=risk, explanation=explanation,
        risk_note=note,
    )
