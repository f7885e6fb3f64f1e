"""SQL that refreshes ``student_indicators``: the transparent early-warning flags stored beside the model's scores.

Run inside the summary refresh (``db.summaries.refresh_summaries``), after ``student_summary``, for the students of
the temp table ``summary_ids``; :func:`refresh_indicators` does it for any students (None: everyone). Each flag is
decided in SQL from the student's summaries and the thresholds in ``derivation_rules``:

- chronic absence: mean attendance to date below ``chronic_absence.upper`` (0.90);
- course performance: the latest running grade below ``course_performance.upper`` (the pass mark, 60), or a fall
  of ``grade_drop.lower`` points or more (10) over the last ``grade_drop.upper`` weeks (4): the running grade on
  the student's last scored date against their running grade on the last calendar date at least that long before
  (no such date: too little history, no drop);
- low study time: mean study hours a week below ``low_study.upper`` (2).

A value equal to a "below" threshold does not flag; a drop equal to its threshold does ("10 points or more").
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

DEFAULTS = {"chronic_absence": 0.90, "course_performance": 60.0, "grade_drop": 10.0, "grade_drop_weeks": 4.0,
            "low_study": 2.0}
"""The thresholds when ``derivation_rules`` has no row of that kind (migrations 0002 and 0014 add them)."""

RULES_SQL = f"""
SELECT coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'chronic_absence'),
                {DEFAULTS['chronic_absence']}) AS chronic,
       coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'course_performance'),
                {DEFAULTS['course_performance']}) AS pass_mark,
       coalesce((SELECT min(lower) FROM derivation_rules WHERE kind = 'grade_drop'), {DEFAULTS['grade_drop']}) AS drop_points,
       coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'grade_drop'),
                {DEFAULTS['grade_drop_weeks']}) AS drop_weeks,
       coalesce((SELECT min(upper) FROM derivation_rules WHERE kind = 'low_study'), {DEFAULTS['low_study']}) AS low_study
"""

REFRESH_SQL = f"""
INSERT INTO student_indicators (student_id, attendance, chronic_absence, running_grade, grade_drop,
                                course_performance, study_hours, low_study)
WITH r AS ({RULES_SQL}), v AS (
    SELECT s.student_id, s.attendance_mean, s.latest_score, s.study_hours_mean,
           before.latest_score - s.latest_score AS grade_drop
    FROM student_summary s JOIN summary_ids USING (student_id) CROSS JOIN r
    LEFT JOIN LATERAL (
        SELECT w.latest_score FROM student_week_summary w
        WHERE w.student_id = s.student_id
          AND w.date <= s.latest_score_date - (r.drop_weeks * 7)::int
        ORDER BY w.date DESC LIMIT 1
    ) before ON s.latest_score IS NOT NULL
)
SELECT v.student_id, v.attendance_mean, coalesce(v.attendance_mean < r.chronic, false),
       v.latest_score, v.grade_drop,
       coalesce(v.latest_score < r.pass_mark, false) OR coalesce(v.grade_drop >= r.drop_points, false),
       v.study_hours_mean, coalesce(v.study_hours_mean < r.low_study, false)
FROM v CROSS JOIN r
"""
"""One row per student of ``summary_ids`` that has a summary."""


def refresh_indicators_of_summary_ids(session: Session) -> None:
    """Recompute the indicators of the students in the temp table ``summary_ids`` (never commits)."""
    session.execute(text("DELETE FROM student_indicators WHERE student_id IN (SELECT student_id FROM summary_ids)"))
    session.execute(text(REFRESH_SQL))


def refresh_indicators(session: Session, student_ids: Iterable[int] | None = None) -> None:
    """Recompute the indicators of these students (None: everyone) from their stored summaries; never commits.

    Parameters
    ----------
    session : a session inside the caller's transaction.
    student_ids : the students to refresh; None for every student.
    """
    session.execute(text("DROP TABLE IF EXISTS summary_ids"))
    session.execute(text("CREATE TEMP TABLE summary_ids (student_id bigint PRIMARY KEY, since date) ON COMMIT DROP"))
    if student_ids is None:
        session.execute(text("INSERT INTO summary_ids (student_id) SELECT id FROM students"))
    else:
        stmt = text("INSERT INTO summary_ids (student_id) SELECT DISTINCT unnest(:ids)").bindparams(
            bindparam("ids", type_=ARRAY(BIGINT)))
        session.execute(stmt, {"ids": sorted({int(i) for i in student_ids})})
    refresh_indicators_of_summary_ids(session)
