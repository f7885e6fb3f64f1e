"""A student's current class: the one definition every layer asks (summaries, services, ml)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from db.models import Enrollment, SchoolClass


def current_enrolment(*where: ColumnElement[bool]) -> Select:
    """Each student's current enrolment: that of their latest school year (the lowest class id on a tie).

    Columns ``student_id``, ``class_id``, ``grade_level`` (the class's) and ``school_year``, one row per student;
    ``where`` narrows the enrolments first (e.g. ``Enrollment.student_id == 7``).
    """
    en, c = Enrollment, SchoolClass
    return (
        select(en.student_id, en.class_id, c.grade_level, en.school_year)
        .join(c, c.id == en.class_id)
        .where(*where)
        .distinct(en.student_id)
        .order_by(en.student_id, en.school_year.desc(), en.class_id)
    )


def current_class(session: Session, student_id: int) -> int | None:
    """The id of the student's current class (see ``current_enrolment``); None when not enrolled."""
    cur = current_enrolment(Enrollment.student_id == int(student_id)).subquery()
    value = session.scalar(select(cur.c.class_id))
    return int(value) if value is not None else None
