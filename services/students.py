"""Students as the viewer may see them: a paged list, one student's summary, and the one scope check of a student.

:func:`require_in_scope` is the check every per-student question runs once per request: a student
outside the viewer's classes gets the same ``NotFound`` sentence as one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from db.enrolment import current_enrolment
from db.models import Enrollment, SchoolClass, Student, StudentSummary
from services.queries import current_students
from services.scope import Viewer
from services.wording import no_such_student

MAX_PER_PAGE = 200
MAX_STUDENT_ID = 2**63 - 1


@dataclass(frozen=True)
class StudentInScope:
    """A student the viewer may see, and their current class: made only by :func:`require_in_scope`."""

    student_id: int
    class_id: int


def parse_student_id(raw: Any) -> int:
    """A student id from a URL: a positive whole number, else InvalidInput with one sentence."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_STUDENT_ID:
        raise InvalidInput(f"{text[:40]!r} is not a student id: ids are whole numbers such as 42.")
    return int(text)


def require_in_scope(session: Session, viewer: Viewer, student_id: int) -> StudentInScope:
    """The student and their current class; ``NotFound`` (one sentence either way) when unknown or out of scope.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : who asks; a teacher sees only their classes.
    student_id : the student's database id (untrusted: any whole number).
    """
    if not 1 <= int(student_id) <= MAX_STUDENT_ID:
        raise NotFound(no_such_student(viewer))
    current = current_enrolment(Enrollment.student_id == int(student_id)).subquery()
    class_id = session.scalar(select(current.c.class_id).where(viewer.class_clause(current.c.class_id)))
    if class_id is None:
        raise NotFound(no_such_student(viewer))
    return StudentInScope(int(student_id), int(class_id))


@dataclass(frozen=True)
class StudentRow:
    """One student's summary line."""

    id: int
    source_id: str
    name: str | None
    school_id: int
    class_id: int | None
    class_name: str | None
    grade_level: int | None
    school_year: str | None
    gender: str | None
    n_weeks: int
    last_date: dt.date | None
    attendance_mean: float | None
    study_hours_mean: float | None
    sports_rate: float | None
    score_mean: float | None
    latest_score: float | None
    performance_label: str | None
    low_attendance: bool | None
    chronically_absent: bool | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (dates as ISO strings)."""
        data = asdict(self)
        data["last_date"] = self.last_date.isoformat() if self.last_date else None
        return data


@dataclass(frozen=True)
class StudentPage:
    """One page of students and the total the viewer may see."""

    items: list[StudentRow]
    total: int
    page: int
    per_page: int


_COLUMNS = (
    StudentSummary.student_id,
    Student.source_id,
    Student.name,
    StudentSummary.school_id,
    StudentSummary.class_id,
    SchoolClass.name,
    StudentSummary.grade_level,
    StudentSummary.school_year,
    StudentSummary.gender,
    StudentSummary.n_weeks,
    StudentSummary.last_date,
    StudentSummary.attendance_mean,
    StudentSummary.study_hours_mean,
    StudentSummary.sports_rate,
    StudentSummary.score_mean,
    StudentSummary.latest_score,
    StudentSummary.performance_label,
    StudentSummary.low_attendance,
    StudentSummary.chronically_absent,
)


def _scoped(viewer: Viewer, class_id: int | None = None) -> Select[Any]:
    query = (
        select(*_COLUMNS)
        .join(Student, Student.id == StudentSummary.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == StudentSummary.class_id)
        .where(viewer.class_clause(StudentSummary.class_id))
    )
    if class_id is not None:
        query = query.where(StudentSummary.class_id == class_id)
    return query


def list_students(*, session: Session, viewer: Viewer, page: int = 1, per_page: int = 50, class_id: int | None = None) -> StudentPage:
    """The students on roll (each school's current year) the viewer may see, ordered by class then name, one page at
    a time; a former student is still found by id (``get_student``).

    Parameters
    ----------
    session : an open session (the caller owns the transaction).
    viewer : who is asking; a teacher sees only their classes.
    page : 1-based page number.
    per_page : rows per page, 1 to ``MAX_PER_PAGE``.
    class_id : optionally only this class (still within the viewer's scope).
    """
    if page < 1:
        raise InvalidInput("The page number must be 1 or more.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}.")
    query = _scoped(viewer, class_id).where(current_students())  # on roll now, as every figure; an id still opens a leaver
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    ordered = query.order_by(SchoolClass.name, Student.name, StudentSummary.student_id)
    rows = session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
    return StudentPage([StudentRow(*row) for row in rows], total, page, per_page)


def get_student(*, session: Session, viewer: Viewer, student_id: int) -> StudentRow:
    """One student's summary line; ``NotFound`` with the scope check's sentence when unknown or outside the scope.

    Parameters
    ----------
    session : an open session (the caller owns the transaction).
    viewer : who is asking.
    student_id : the product's id of the student.
    """
    row = session.execute(_scoped(viewer).where(StudentSummary.student_id == student_id)).first()
    if row is None:
        raise NotFound(no_such_student(viewer))
    return StudentRow(*row)
