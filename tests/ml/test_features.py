"""Features as of a date: no leakage from later data or other years, the label from the year's final grade."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from ml.features import (
    SNAPSHOT_WEEKS,
    build_features,
    current_school_year,
    final_outcomes,
    past_school_years,
    sample_classes,
    snapshot_dates,
    training_frame,
    training_rows,
)

AS_OF = dt.date(2026, 1, 12)
PAST = "2024-2025"


def _add_data(session, student_ids: list[int], day: dt.date, *, rate: float = 0.0, score: float = 0.0) -> None:
    """Insert very different attendance, hours, sports and a score dated ``day``."""
    assessment = session.execute(text(
        "INSERT INTO assessments (school_id, name, kind, date) SELECT id, :n, 'test', :d FROM schools "
        "LIMIT 1 RETURNING id"), {"d": day, "n": f"late test {day}"}).scalar()
    for sid in student_ids:
        params = {"s": sid, "d": day, "a": assessment, "r": rate, "v": score}
        session.execute(text("INSERT INTO attendance (student_id, date, rate) VALUES (:s, :d, :r) "
                             "ON CONFLICT (student_id, date) DO UPDATE SET rate = excluded.rate"), params)
        session.execute(text("INSERT INTO study_hours (student_id, date, hours) VALUES (:s, :d, 80) "
                             "ON CONFLICT (student_id, date) DO UPDATE SET hours = excluded.hours"), params)
        session.execute(text("INSERT INTO scores (student_id, assessment_id, date, score) VALUES (:s, :a, :d, :v)"),
                        params)


def _current_students(session) -> int:
    return session.execute(text(
        "SELECT count(DISTINCT student_id) FROM enrollments WHERE school_year = :y"), {"y": current_school_year(session)}
    ).scalar()


def test_adding_data_after_as_of_changes_nothing(school, session) -> None:
    before = build_features(session, AS_OF)
    ids = [int(i) for i in before.index[:25]]
    _add_data(session, ids, AS_OF + dt.timedelta(days=1))
    after = build_features(session, AS_OF)
    pd.testing.assert_frame_equal(before, after)
    # ... while the same rows are seen by a later date (the check above can fail):
    later = build_features(session, AS_OF + dt.timedelta(days=1))
    assert (later.loc[ids, "score_latest"] == 0).all()


def test_features_are_per_current_student_and_in_range(school, session) -> None:
    frame = build_features(session, AS_OF)
    assert current_school_year(session) == "2025-2026" and past_school_years(session) == ["2023-2024", "2024-2025"]
    assert len(frame) == _current_students(session) and frame.index.is_unique
    assert frame["att_rate"].between(0, 1).all()
    assert frame["score_latest"].between(0, 100).all()
    assert (frame["n_weeks"] == 20).all()  # 2025-09-01 .. 2026-01-12 is 20 Mondays: no week of a past year counts
    median = frame.groupby("class_id")["att_rate"].transform("median")
    assert (frame["att_vs_class"] - (frame["att_rate"] - median)).abs().max() < 1e-9
    assert "gender" in frame.columns and "age" in frame.columns


def test_a_past_year_has_its_own_students_classes_and_weeks(school, session) -> None:
    as_of = snapshot_dates(session, PAST)[12]
    frame = build_features(session, as_of, school_year=PAST)
    assert as_of == dt.date(2024, 9, 2) + dt.timedelta(weeks=11)
    assert (frame["n_weeks"] == 12).all()
    enrolled = session.execute(text("SELECT student_id, class_id FROM enrollments WHERE school_year = :y"),
                               {"y": PAST}).all()
    assert dict(enrolled) == frame["class_id"].to_dict()
    grade_now = build_features(session, AS_OF)["grade_level"]
    both = grade_now.index.intersection(frame.index)
    assert len(both) > 100 and (grade_now.loc[both] == frame.loc[both, "grade_level"] + 1).all()


def test_label_is_that_years_final_grade_below_threshold(school, session) -> None:
    as_of = snapshot_dates(session, PAST)[4]
    frame = training_frame(session, as_of, 60.0, school_year=PAST)
    finals = final_outcomes(session, PAST)
    assert (pd.to_datetime(finals["final_date"]) == pd.Timestamp(dt.date(2024, 9, 2) + dt.timedelta(weeks=39))).all()
    assert (frame["at_risk"] == (finals.loc[frame.index, "final_score"] < 60).astype(int)).all()
    assert 0.05 < frame["at_risk"].mean() < 0.3


def test_training_rows_come_from_past_years_at_the_snapshot_weeks(school, session) -> None:
    rows = training_rows(session, 60.0)
    assert set(rows["school_year"]) == {"2023-2024", "2024-2025"}
    assert sorted(rows["snapshot_week"].unique()) == list(SNAPSHOT_WEEKS)
    assert (rows["n_weeks"] == rows["snapshot_week"]).all()  # a row sees exactly the weeks up to its snapshot
    assert not rows.reset_index().duplicated(["student_id", "school_year", "snapshot_week"]).any()
    with pytest.raises(ValueError, match="current school year"):
        training_rows(session, 60.0, years=["2025-2026"])


def test_no_training_row_uses_data_after_its_snapshot(school, session) -> None:
    before = training_rows(session, 60.0)
    at_12 = snapshot_dates(session, PAST)[12]
    ids = [int(i) for i in before[(before["school_year"] == PAST) & (before["snapshot_week"] == 12)].index[:30]]
    _add_data(session, ids, at_12 + dt.timedelta(days=1))  # inside the year, after week 12, before the year's end
    after = training_rows(session, 60.0)
    pd.testing.assert_frame_equal(before[before["snapshot_week"] <= 12], after[after["snapshot_week"] <= 12])
    # ... while the next snapshot of that year sees the new rows (the check above can fail):
    week_20 = after[(after["school_year"] == PAST) & (after["snapshot_week"] == 20)]
    assert (week_20.loc[ids, "score_min"] == 0).all()


def test_no_current_year_outcome_reaches_training(school, session) -> None:
    before = training_rows(session, 60.0)
    current = current_school_year(session)
    ids = [int(i) for i in build_features(session, AS_OF).index]
    session.execute(text("UPDATE scores SET score = 100 - score WHERE date >= :d"), {"d": dt.date(2025, 8, 1)})
    _add_data(session, ids[:40], dt.date(2026, 6, 1), score=0.0)  # a final week of the current year, all failing
    assert current_school_year(session) == current
    after = training_rows(session, 60.0)
    pd.testing.assert_frame_equal(before, after)
    assert (final_outcomes(session, current).loc[ids[:40], "final_score"] == 0).all()  # the change is real


def test_whole_school_and_one_class_paths_agree(school, session) -> None:
    everyone = build_features(session, AS_OF)
    class_id = int(everyone["class_id"].iloc[0])
    one = build_features(session, AS_OF, class_ids=[class_id])
    assert len(one) > 10 and set(one["class_id"]) == {class_id}
    pd.testing.assert_frame_equal(one, everyone.loc[one.index], check_exact=False, rtol=1e-12)


def test_last_years_final_grade_is_known_from_the_first_day_and_only_from_last_year(school, session) -> None:
    now = build_features(session, AS_OF)
    finals = final_outcomes(session, PAST)["final_score"]
    returning = now.index.intersection(finals.index)
    new = now.index.difference(finals.index)
    assert len(returning) > 100 and len(new) > 50  # grade 9 enters each year
    assert (now.loc[returning, "prior_final"] == finals.loc[returning]).all()
    assert now.loc[new, "prior_final"].isna().all()
    first_day = build_features(session, dt.date(2025, 9, 1))
    assert (first_day.loc[returning, "prior_final"] == finals.loc[returning]).all()
    # This year's marks never change it (a late zero for everyone moves the running grade, not last year's grade).
    _add_data(session, [int(i) for i in returning[:20]], AS_OF, score=0.0)
    after = build_features(session, AS_OF)
    pd.testing.assert_series_equal(now["prior_final"], after["prior_final"])
    assert (after.loc[returning[:20], "score_min"] == 0).all()


def test_one_pass_training_rows_equal_the_rows_built_one_snapshot_at_a_time(school, session) -> None:
    rows = training_rows(session, 60.0)
    for school_year in past_school_years(session):
        outcomes = final_outcomes(session, school_year)
        expected = pd.concat(
            training_frame(session, as_of, 60.0, school_year=school_year, outcomes=outcomes)
            .assign(school_year=school_year, snapshot_week=week, as_of=as_of)
            for week, as_of in snapshot_dates(session, school_year).items())
        assert len(expected) > 1000
        pd.testing.assert_frame_equal(rows[rows["school_year"] == school_year], expected)


def test_a_small_school_builds_training_rows_from_every_class(school, session) -> None:
    from ml.train import training_students

    cap = training_students(len(past_school_years(session)), len(SNAPSHOT_WEEKS))
    rows = training_rows(session, 60.0, max_students=cap)
    pd.testing.assert_frame_equal(rows, training_rows(session, 60.0))
    for year in rows.attrs["classes"]:
        assert year["classes"] == year["classes_total"] and year["students"] == year["students_total"]


def test_a_tiny_cap_samples_whole_classes_with_the_full_builders_rows(school, session) -> None:
    full = training_rows(session, 60.0)
    rows = training_rows(session, 60.0, max_students=50, seed=3)
    assert training_rows(session, 60.0, max_students=50, seed=3).equals(rows)  # the seed decides the classes
    for year in rows.attrs["classes"]:
        assert year["classes"] < year["classes_total"] and 50 <= year["students"] < year["students_total"]
    for school_year in past_school_years(session):
        sample = sample_classes(session, school_year, 50, seed=3)
        assert sample.class_ids is not None
        mine = rows[rows["school_year"] == school_year]
        assert set(mine["class_id"]) == set(sample.class_ids)  # whole classes: every student of each chosen class
        same = full[(full["school_year"] == school_year) & full["class_id"].isin(sample.class_ids)]
        pd.testing.assert_frame_equal(mine, same)  # class medians and all: the rows of the whole population
