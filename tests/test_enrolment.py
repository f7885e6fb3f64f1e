"""One definition of a student's current class (db.enrolment), the one the summaries use; one vocabulary of day sums."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import db.summaries as summaries
from db.enrolment import current_class, current_enrolment
from db.models import CUMULATIVE_COLUMNS, Enrollment, School, SchoolClass, Student, StudentSummary
from db.summaries import refresh_summaries
from etl.load import STAGED_DAYS_SQL


def _classes(session: Session, school: School, *specs: tuple[str, int, str]) -> list[SchoolClass]:
    """Classes created one by one, so their ids grow in the order given."""
    out = []
    for name, grade, year in specs:
        out.append(SchoolClass(school_id=school.id, name=name, grade_level=grade, school_year=year))
        session.add(out[-1])
        session.flush()
    return out


def test_the_current_class_is_the_latest_school_years_lowest_class_id(session: Session) -> None:
    school = School(name="Enrolment School")
    session.add(school)
    session.flush()
    old, low, high = _classes(session, school, ("8A", 8, "2024-2025"), ("9B", 9, "2025-2026"), ("9A", 10, "2025-2026"))
    moved, stayed, never = (Student(school_id=school.id, source_id=f"en-{i}") for i in range(3))
    session.add_all([moved, stayed, never])
    session.flush()
    session.add_all([Enrollment(student_id=moved.id, class_id=c.id, school_year=c.school_year) for c in (high, old, low)]
                    + [Enrollment(student_id=stayed.id, class_id=old.id, school_year=old.school_year)])
    session.flush()
    ids = (moved.id, stayed.id, never.id)
    want = {moved.id: (low.id, 9, "2025-2026"), stayed.id: (old.id, 8, "2024-2025")}
    got = session.execute(current_enrolment(Enrollment.student_id.in_(ids))).all()
    assert {r.student_id: (r.class_id, r.grade_level, r.school_year) for r in got} == want
    assert [current_class(session, i) for i in ids] == [low.id, old.id, None]
    refresh_summaries(session, list(ids))  # the summaries ask the same select
    ss = StudentSummary
    stored = session.execute(select(ss.student_id, ss.class_id, ss.grade_level, ss.school_year).where(ss.student_id.in_(ids)))
    assert {r.student_id: (r.class_id, r.grade_level, r.school_year) for r in stored} == {**want, never.id: (None, None, None)}


def test_the_running_columns_are_the_day_sums_running() -> None:
    """``student_week_summary``: each day sum has its running sum, and every measure its event column."""
    assert summaries.DAY_SUMS == ("att_sum", "att_n", "study_sum", "study_n", "sports_sum", "sports_n", "score_sum",
                                  "score_n")
    assert CUMULATIVE_COLUMNS == (*(f"c_{c}" for c in summaries.DAY_SUMS), summaries.LATEST)
    assert tuple(summaries.DAY_SOURCES) == summaries.MEASURES
    assert summaries.FRACTIONAL == ("att_sum", "study_sum", "score_sum")


def test_staged_and_event_day_sums_have_the_same_columns_and_types(session: Session) -> None:
    """The first-load path (``etl.load.STAGED_DAYS_SQL``) gives what the event tables give, column by column."""
    session.execute(text("CREATE TEMP TABLE etl_rows (student_id bigint, date date, assessment_id integer, "
                         "hours float8, rate float8, score float8, sports boolean) ON COMMIT DROP"))
    events = _described(session, summaries.EVENTS_DAYS_SQL.format(where="", and_="WHERE"))
    assert [name for name, _ in events] == ["student_id", "date", *summaries.DAY_SUMS, "last"]
    assert _described(session, STAGED_DAYS_SQL) == events


def _described(session: Session, sql: str) -> list[tuple[str, int]]:
    """Name and type (oid) of each column of a query."""
    result = session.execute(text(f"SELECT * FROM ({sql}) d LIMIT 0"))
    return [(c.name, c.type_code) for c in result.cursor.description]
