"""Features as of a date: no leakage from later data, sensible values, the label from the final grade."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text

from ml.features import build_features, default_training_as_of, final_outcomes, training_frame

AS_OF = dt.date(2026, 1, 12)


def _add_later_data(session, student_ids: list[int], after: dt.date) -> None:
    """Insert very different attendance, hours, sports and scores dated after ``after``."""
    day = after + dt.timedelta(days=1)
    assessment = session.execute(text(
        "INSERT INTO assessments (school_id, name, kind, date) SELECT id, 'late test', 'test', :d FROM schools "
        "LIMIT 1 RETURNING id"), {"d": day}).scalar()
    for sid in student_ids:
        params = {"s": sid, "d": day, "a": assessment}
        session.execute(text("INSERT INTO attendance (student_id, date, rate) VALUES (:s, :d, 0.0)"), params)
        session.execute(text("INSERT INTO study_hours (student_id, date, hours) VALUES (:s, :d, 80)"), params)
        session.execute(text("INSERT INTO activity_participation (student_id, date, participated) "
                             "VALUES (:s, :d, true)"), params)
        session.execute(text("INSERT INTO scores (student_id, assessment_id, date, score) VALUES (:s, :a, :d, 0)"),
                        params)


def test_adding_data_after_as_of_changes_nothing(school, session) -> None:
    before = build_features(session, AS_OF)
    ids = [int(i) for i in before.index[:25]]
    _add_later_data(session, ids, AS_OF)
    after = build_features(session, AS_OF)
    pd.testing.assert_frame_equal(before, after)
    # ... while the same rows are seen by a later date (the check above can fail):
    later = build_features(session, AS_OF + dt.timedelta(days=1))
    assert (later.loc[ids, "score_latest"] == 0).all()


def test_features_are_per_student_and_in_range(school, session) -> None:
    frame = build_features(session, AS_OF)
    n_students = session.execute(text("SELECT count(*) FROM students")).scalar()
    assert len(frame) == n_students and frame.index.is_unique
    assert frame["att_rate"].between(0, 1).all()
    assert frame["score_latest"].between(0, 100).all()
    assert (frame["n_weeks"] == 20).all()  # 2025-09-01 .. 2026-01-12 is 20 Mondays
    median = frame.groupby("class_id")["att_rate"].transform("median")
    assert (frame["att_vs_class"] - (frame["att_rate"] - median)).abs().max() < 1e-9
    assert "gender" in frame.columns and "age" in frame.columns


def test_label_is_final_grade_below_threshold(school, session) -> None:
    frame = training_frame(session, AS_OF, 60.0)
    finals = final_outcomes(session)
    assert (frame["at_risk"] == (finals.loc[frame.index, "final_score"] < 60).astype(int)).all()
    assert 0.05 < frame["at_risk"].mean() < 0.4
    assert (pd.to_datetime(frame["final_date"]) > pd.Timestamp(AS_OF)).all()


def test_default_training_date_is_part_way_through_the_year(school, session) -> None:
    as_of = default_training_as_of(session)
    assert as_of == dt.date(2025, 9, 1) + dt.timedelta(weeks=23)  # 24th of 40 weekly dates (60 %)


def test_whole_school_and_one_class_paths_agree(school, session) -> None:
    everyone = build_features(session, AS_OF)
    class_id = int(everyone["class_id"].iloc[0])
    one = build_features(session, AS_OF, class_ids=[class_id])
    assert len(one) > 10 and set(one["class_id"]) == {class_id}
    pd.testing.assert_frame_equal(one, everyone.loc[one.index], check_exact=False, rtol=1e-12)
