"""Indicators: the flags the load computes in SQL (thresholds, the 10-point drop over 4 weeks, values equal to a
threshold), their words, the list filters and the segments, on real PostgreSQL through the ETL's summary refresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.models import (
    Assessment,
    Attendance,
    DerivationRule,
    Enrollment,
    School,
    SchoolClass,
    Score,
    Student,
    StudentIndicator,
    StudyHours,
)
from db.summaries import refresh_summaries
from services import indicators as ind
from services.scope import Filters, Viewer
from services.students import require_in_scope

WEEKS = tuple(dt.date(2025, 9, 1) + dt.timedelta(weeks=i) for i in range(12))
ADMIN = Viewer(user_id=1, email="admin@example.org", role="admin")


@dataclass(frozen=True)
class Kid:
    """One student's weekly values: attendance rate, study hours, and the running grade of each week."""

    name: str
    attendance: float = 0.95
    hours: float = 4.0
    grades: tuple[float, ...] = (75.0,) * 12
    klass: str = "A"


KIDS = (
    Kid("fine"),
    Kid("att at threshold", attendance=0.90),
    Kid("att below", attendance=0.89),
    Kid("grade at pass mark", grades=(60.0,) * 12),
    Kid("grade below", grades=(59.5,) * 12),
    Kid("drop of 10", grades=(80.0,) * 8 + (76.0, 74.0, 72.0, 70.0)),
    Kid("drop of 9", grades=(80.0,) * 8 + (76.0, 74.0, 72.0, 71.0)),
    Kid("short history", grades=(80.0, 60.5, 60.5)),
    Kid("study at threshold", hours=2.0),
    Kid("study below", hours=1.9, klass="B"),
    Kid("everything", attendance=0.5, hours=0.5, grades=(40.0,) * 12, klass="B"),
)


def _seed(s: Session) -> dict[str, int]:
    school = s.scalar(insert(School).values(name="Indicator School").returning(School.id))
    classes = {name: s.scalar(insert(SchoolClass).values(school_id=school, name=name, grade_level=9,
                                                           school_year="2025-2026").returning(SchoolClass.id))
               for name in ("A", "B")}
    tests = [s.scalar(insert(Assessment).values(school_id=school, name=f"W{i}", date=w).returning(Assessment.id))
             for i, w in enumerate(WEEKS)]
    ids: dict[str, int] = {}
    for n, kid in enumerate(KIDS):
        sid = s.scalar(insert(Student).values(school_id=school, source_id=f"I{n:03d}", name=kid.name).returning(Student.id))
        ids[kid.name] = sid
        s.execute(insert(Enrollment).values(student_id=sid, class_id=classes[kid.klass], school_year="2025-2026"))
        s.execute(insert(Attendance), [{"student_id": sid, "date": w, "rate": kid.attendance} for w in WEEKS])
        s.execute(insert(StudyHours), [{"student_id": sid, "date": w, "hours": kid.hours} for w in WEEKS])
        s.execute(insert(Score), [{"student_id": sid, "assessment_id": tests[i], "date": WEEKS[i], "score": g}
                                  for i, g in enumerate(kid.grades)])
    refresh_summaries(s, list(ids.values()))
    ids["class A"], ids["class B"] = classes["A"], classes["B"]
    return ids


@pytest.fixture()
def seeded(session: Session) -> dict[str, int]:
    """The students above, loaded through the ETL's summary refresh (rolled back after the test)."""
    session.execute(text("TRUNCATE student_indicators, student_summary, student_week_summary, summary_calendar"))
    return _seed(session)


def _flags(s: Session, sid: int) -> StudentIndicator:
    return s.execute(select(StudentIndicator).where(StudentIndicator.student_id == sid)).scalar_one()


def _on(s: Session, ids: dict[str, int], name: str) -> tuple[str, ...]:
    row = _flags(s, ids[name])
    return ind.flags_of((row.chronic_absence, row.course_performance, row.low_study))


def test_every_load_stores_the_indicators_with_their_values(session: Session, seeded: dict[str, int]) -> None:
    row = _flags(session, seeded["drop of 10"])
    assert row.attendance == pytest.approx(0.95)
    assert row.running_grade == 70.0 and row.grade_drop == pytest.approx(10.0)
    assert row.study_hours == pytest.approx(4.0)
    assert _on(session, seeded, "fine") == ()
    assert _on(session, seeded, "everything") == (ind.ABSENCE, ind.GRADES, ind.STUDY)


@pytest.mark.parametrize(("name", "expected"), [
    ("att at threshold", ()), ("att below", (ind.ABSENCE,)),
    ("grade at pass mark", ()), ("grade below", (ind.GRADES,)),
    ("study at threshold", ()), ("study below", (ind.STUDY,)),
])
def test_a_value_equal_to_a_threshold_does_not_flag(session: Session, seeded: dict[str, int], name: str,
                                                    expected: tuple[str, ...]) -> None:
    assert _on(session, seeded, name) == expected


def test_a_drop_of_ten_points_over_four_weeks_flags_course_performance(session: Session,
                                                                       seeded: dict[str, int]) -> None:
    assert _on(session, seeded, "drop of 10") == (ind.GRADES,)  # 80 four weeks before, 70 now: "10 points or more"
    assert _on(session, seeded, "drop of 9") == ()
    assert _flags(session, seeded["drop of 9"]).grade_drop == pytest.approx(9.0)
    short = _flags(session, seeded["short history"])  # three weeks of grades: no grade four weeks back, no drop
    assert short.grade_drop is None and not short.course_performance


def test_thresholds_come_from_the_derivation_rules(session: Session, seeded: dict[str, int]) -> None:
    rule = DerivationRule
    session.execute(update(rule).where(rule.kind == "low_study").values(upper=4.5))
    session.execute(update(rule).where(rule.kind == "grade_drop").values(lower=9.0))
    refresh_summaries(session, [seeded["fine"], seeded["drop of 9"]])
    assert _on(session, seeded, "fine") == (ind.STUDY,)  # 4 hours is now below 4.5
    assert _on(session, seeded, "drop of 9") == (ind.GRADES, ind.STUDY)
    assert ind.thresholds(session).study_below == 4.5


def test_the_profile_words_give_each_value_and_its_rule(session: Session, seeded: dict[str, int]) -> None:
    student = require_in_scope(session, ADMIN, seeded["drop of 10"])
    absence, grades, study = ind.student_indicators(session, student)
    assert (absence.on, grades.on, study.on) == (False, True, False)
    assert absence.value == "attendance 95 % to date (at or above 90 %)"
    assert grades.value == "running grade 70.0 (pass mark 60), down 10.0 points over the last 4 weeks"
    assert study.value == "4.0 hours of study a week (at or above 2)"
    assert grades.label == "Course performance"
    low = ind.student_indicators(session, require_in_scope(session, ADMIN, seeded["att below"]))[0]
    assert low.on and low.value == "attendance 89 % to date (below 90 %)"


def test_segments_count_each_combination_within_the_scope(session: Session, seeded: dict[str, int]) -> None:
    mine = {v for k, v in seeded.items() if not k.startswith("class")}
    session.execute(text("DELETE FROM student_summary WHERE NOT student_id = ANY(:ids)"), {"ids": sorted(mine)})
    result = ind.segments(session=session, viewer=ADMIN, pass_threshold=60.0)
    by_keys = {s.keys: s for s in result.items}
    assert result.n_students == len(KIDS)
    assert by_keys[()].n == 6  # fine, att/grade/study at threshold, drop of 9, short history
    assert by_keys[(ind.GRADES,)].n == 2 and by_keys[(ind.GRADES,)].pass_rate == pytest.approx(0.5)
    assert by_keys[(ind.GRADES,)].mean_score == pytest.approx((59.5 + 70.0) / 2)
    assert by_keys[(ind.ABSENCE, ind.GRADES, ind.STUDY)].words == "Chronic absence + Course performance + Low study time"
    assert not by_keys[()].comparable  # 6 < MIN_COMPARE
    assert result.items[0].keys == (ind.ABSENCE, ind.GRADES, ind.STUDY) and result.items[-1].keys == ()
    teacher = Viewer(user_id=2, email="t@example.org", role="teacher", class_ids=frozenset({seeded["class B"]}))
    theirs = ind.segments(session=session, viewer=teacher, filters=Filters())
    assert theirs.n_students == 2 and {s.keys for s in theirs.items} == {(ind.STUDY,), (ind.ABSENCE, ind.GRADES, ind.STUDY)}


def test_filter_values_are_checked_and_segment_values_round_trip() -> None:
    assert ind.parse_segment(ind.segment_value((ind.STUDY, ind.ABSENCE))) == (ind.ABSENCE, ind.STUDY)
    assert ind.segment_value(()) == "is-none" and ind.parse_segment("is-none") == ()
    assert ind.filter_words("is-absence.study") == "Chronic absence + Low study time"
    assert ind.filter_words(ind.HIGH_NONE) == "Model High without an indicator"
    for bad in ("is-absence.absence", "is-", "nope", "is-grades.x", "'; drop table"):
        with pytest.raises(InvalidInput):
            ind.check_filter(bad)
