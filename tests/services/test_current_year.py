"""With a history (past school years loaded), today's figures are about the current school year: the students on
roll, their measures over this year (not since their first year), this year's weeks; a date range reaches back."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from db.database import Database
from etl.generate import write_school
from etl.pipeline import ingest_file
from services.filters import filter_options
from services.overview import kpi_summary, weekly_trends
from services.scope import Filters, Viewer
from services.students import get_student, list_students
from tests.conftest import truncate_data

ADMIN = Viewer(user_id=1, email="admin@example.org", role="admin")


@pytest.fixture(scope="module")
def history(database: Database, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """80 students a year over two school years, loaded through the pipeline: last year's grade 12 has left."""
    truncate_data(database)
    path = write_school(tmp_path_factory.mktemp("history") / "school.csv", 80, seed=4, years=2, as_of=dt.date(2026, 1, 19))
    assert ingest_file(database, path, force=True).status == "succeeded"
    with database.engine.connect() as conn:
        year = conn.execute(text("SELECT max(school_year) FROM classes")).scalar_one()
        on_roll = conn.execute(text("SELECT count(*) FROM student_summary WHERE school_year = :y"), {"y": year}).scalar_one()
        everyone = conn.execute(text("SELECT count(*) FROM student_summary")).scalar_one()
        leaver = conn.execute(text("SELECT min(student_id) FROM student_summary WHERE school_year < :y"), {"y": year}).scalar_one()
    yield {"year": year, "start": dt.date(int(year[:4]), 8, 1), "on_roll": on_roll, "everyone": everyone, "leaver": leaver}
    truncate_data(database)


def test_the_overview_counts_the_students_on_roll(history, session) -> None:
    assert history["on_roll"] < history["everyone"]  # the check below can fail: leavers are stored
    assert kpi_summary(session=session, viewer=ADMIN, filters=Filters()).n_students == history["on_roll"]
    page = list_students(session=session, viewer=ADMIN, per_page=200)
    assert page.total == history["on_roll"]
    assert get_student(session=session, viewer=ADMIN, student_id=history["leaver"]).id == history["leaver"]  # by id


def test_a_returning_students_means_cover_this_school_year(history, session) -> None:
    """Attendance, study hours and the mean score (hence chronic absence and the indicators) are this year's."""
    rows = session.execute(text("""
        SELECT s.student_id, s.attendance_mean, s.study_hours_mean, s.score_mean,
               (SELECT avg(rate) FROM attendance a WHERE a.student_id = s.student_id AND a.date >= :start) AS att,
               (SELECT avg(hours) FROM study_hours h WHERE h.student_id = s.student_id AND h.date >= :start) AS study,
               (SELECT avg(score) FROM scores c WHERE c.student_id = s.student_id AND c.date >= :start) AS score,
               (SELECT count(*) FROM attendance a WHERE a.student_id = s.student_id AND a.date < :start) AS before,
               i.attendance AS indicator_attendance
        FROM student_summary s LEFT JOIN student_indicators i USING (student_id)
        WHERE s.school_year = :year"""), {"start": history["start"], "year": history["year"]}).all()
    returning = [r for r in rows if r.before > 0]
    assert returning and len(returning) < len(rows)  # both kinds are there
    for r in rows:
        assert r.attendance_mean == pytest.approx(r.att, abs=1e-9), r.student_id
        assert r.study_hours_mean == pytest.approx(r.study, abs=1e-9), r.student_id
        assert r.score_mean == pytest.approx(r.score, abs=1e-9), r.student_id
        assert r.indicator_attendance is None or r.indicator_attendance == pytest.approx(r.att, abs=1e-9)


def test_trends_show_this_years_weeks_unless_a_range_reaches_back(history, session) -> None:
    weeks = [pd.Timestamp(w).date() for w in weekly_trends(session=session, viewer=ADMIN, filters=Filters()).frame["week"]]
    assert len(weeks) and min(weeks) >= history["start"] - dt.timedelta(days=6)  # the Monday of 1 August's week
    earlier = Filters(date_from=history["start"] - dt.timedelta(days=365), date_to=history["start"] + dt.timedelta(days=60))
    reaching = [pd.Timestamp(w).date() for w in weekly_trends(session=session, viewer=ADMIN, filters=earlier).frame["week"]]
    assert min(reaching) < history["start"] - dt.timedelta(days=6)


def test_the_class_filter_offers_this_years_classes(history, session) -> None:
    """A past class holds no student on roll: it is not offered (at 100k students, 4,000 options fewer)."""
    offered = {o.value for o in filter_options(session=session, viewer=ADMIN, filters=Filters()).classes}
    this_year = set(session.execute(text("SELECT id FROM classes WHERE school_year = :y"), {"y": history["year"]}).scalars())
    assert offered == this_year and session.execute(text("SELECT count(*) FROM classes")).scalar_one() > len(this_year)
