"""Whose data this is, in words for the viewer's role: "your classes", "your school", "the district".

One owner for the phrase every surface uses (filter bar, empty states, the profile's not-found message),
so a teacher is never told "All schools" while looking at one class.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import School, SchoolClass
from services.scope import ADMIN, TEACHER, Viewer

PHRASES = {TEACHER: "your classes", ADMIN: "the district"}
SCHOOL = "your school"  # staff, and any school-wide role


def scope_phrase(viewer: Viewer) -> str:
    """``your classes`` for a teacher, ``your school`` for staff, ``the district`` for an administrator."""
    return PHRASES.get(viewer.role, SCHOOL)


def no_such_student(viewer: Viewer) -> str:
    """The not-found sentence of a student outside the scope (or unknown): ``No such student in your classes.``"""
    return f"No such student in {scope_phrase(viewer)}."


def no_match_hint(viewer: Viewer) -> str:
    """The empty state's hint when the filters leave nobody: ``Nobody in your classes matches them: widen ...``."""
    return f"Nobody in {scope_phrase(viewer)} matches them: widen the filters or reset them."


def students(n: int) -> str:
    """``1 student``, ``2,000 students``."""
    return f"{n:,} student" if n == 1 else f"{n:,} students"


def _names(session: Session, viewer: Viewer) -> tuple[list[str], list[str]]:
    """Names of the viewer's classes (teachers only) and of the schools in their scope."""
    classes = session.execute(
        select(SchoolClass.name, SchoolClass.school_year, School.name)
        .join(School, School.id == SchoolClass.school_id)
        .where(viewer.class_clause(SchoolClass.id))
        .order_by(SchoolClass.school_year.desc(), SchoolClass.name)
    ).all()
    schools = sorted({c[2] for c in classes})
    if viewer.role != TEACHER:  # a school role names its schools, even one without classes yet; a district admin all
        return [], sorted(session.scalars(select(School.name).where(viewer.school_clause(School.id))))
    several_years, several_schools = len({c[1] for c in classes}) > 1, len(schools) > 1
    names = []
    for name, year, school in classes:
        extra = [school] * several_schools + [year] * several_years
        names.append(f"{name} ({', '.join(extra)})" if extra else name)
    return list(dict.fromkeys(names)), schools


def scope_label(*, session: Session, viewer: Viewer) -> str:
    """The heading of whose data a page shows: ``Your classes: 9A, 9B``, ``Your school: North``, ``The district: 3 schools``.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Who is asking; a teacher's classes are named, other roles get their school or the district.
    """
    classes, schools = _names(session, viewer)
    if viewer.role == TEACHER:
        return f"Your classes: {', '.join(classes)}" if classes else "Your classes: none assigned yet"
    if not schools and not viewer.sees_everything:
        return f"{SCHOOL[0].upper()}{SCHOOL[1:]}: none assigned yet"
    where = schools[0] if len(schools) == 1 else f"{len(schools)} schools"
    return f"{scope_phrase(viewer)[0].upper()}{scope_phrase(viewer)[1:]}: {where}"
