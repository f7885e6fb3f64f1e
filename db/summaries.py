"""SQL that refreshes the summary tables the dashboards read (``student_summary``, ``class_week_summary``).

Both are recomputed from the event tables for a set of students (all of them when no ids are
given) inside the caller's transaction. A student's class and grade are those of their latest
school year's enrollment; labels come from ``derivation_rules`` (``lower <= v < upper``).
``class_week_summary`` is rebuilt for every class any of those students has been enrolled in,
counting each event in the class the student belonged to in that event's school year (a school
year starts on 1 August) and the week starting on the Monday of its date.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session

IDS_SQL = [
    "DROP TABLE IF EXISTS summary_ids",
    "CREATE TEMP TABLE summary_ids (student_id bigint PRIMARY KEY) ON COMMIT DROP",
]

RULE = """(SELECT r.label FROM derivation_rules r WHERE r.kind = '{kind}'
           AND (r.lower IS NULL OR {value} >= r.lower) AND (r.upper IS NULL OR {value} < r.upper)
           ORDER BY r.ordinal LIMIT 1)"""
BELOW = "({value} < (SELECT min(r.upper) FROM derivation_rules r WHERE r.kind = '{kind}'))"

STUDENT_SQL = f"""
INSERT INTO student_summary (student_id, school_id, class_id, grade_level, school_year, gender, age, n_weeks,
    first_date, last_date, attendance_mean, study_hours_mean, sports_rate, score_mean, latest_score,
    latest_score_date, study_bin, sports_level, performance_label, low_attendance, chronically_absent)
WITH cur AS (
    SELECT DISTINCT ON (en.student_id) en.student_id, en.class_id, c.grade_level, en.school_year
    FROM enrollments en JOIN classes c ON c.id = en.class_id JOIN summary_ids USING (student_id)
    ORDER BY en.student_id, en.school_year DESC, en.class_id
), att AS (
    SELECT student_id, avg(rate) AS m FROM attendance JOIN summary_ids USING (student_id) GROUP BY student_id
), hrs AS (
    SELECT student_id, avg(hours) AS m FROM study_hours JOIN summary_ids USING (student_id) GROUP BY student_id
), spt AS (
    SELECT student_id, avg(participated::int) AS m FROM activity_participation JOIN summary_ids USING (student_id)
    WHERE activity = 'sports' GROUP BY student_id
), sco AS (
    SELECT student_id, avg(score) AS m, count(DISTINCT date_trunc('week', date)) AS n_weeks,
           min(date) AS first_date, max(date) AS last_date,
           (array_agg(score ORDER BY date DESC, assessment_id DESC))[1] AS latest
    FROM scores JOIN summary_ids USING (student_id) GROUP BY student_id
), base AS (
    SELECT st.id AS student_id, st.school_id, cur.class_id, cur.grade_level, cur.school_year, st.gender, st.age,
           coalesce(sco.n_weeks, 0) AS n_weeks, sco.first_date, sco.last_date, att.m AS attendance_mean,
           hrs.m AS study_hours_mean, spt.m AS sports_rate, sco.m AS score_mean, sco.latest AS latest_score,
           sco.last_date AS latest_score_date
    FROM students st JOIN summary_ids ids ON ids.student_id = st.id
    LEFT JOIN cur ON cur.student_id = st.id LEFT JOIN att ON att.student_id = st.id
    LEFT JOIN hrs ON hrs.student_id = st.id LEFT JOIN spt ON spt.student_id = st.id
    LEFT JOIN sco ON sco.student_id = st.id
)
SELECT b.*,
       {RULE.format(kind="study_bin", value="b.study_hours_mean")},
       {RULE.format(kind="sports_level", value="b.sports_rate")},
       {RULE.format(kind="performance", value="b.latest_score")},
       {BELOW.format(kind="low_attendance", value="b.attendance_mean")},
       {BELOW.format(kind="chronic_absence", value="b.attendance_mean")}
FROM base b
"""

CLASS_SQL = """
INSERT INTO class_week_summary (class_id, week, n_students, attendance_sum, attendance_n, study_sum, study_n,
    score_sum, score_n, sports_sum, sports_n)
WITH members AS (
    SELECT en.student_id, en.class_id, make_date(left(en.school_year, 4)::int, 8, 1) AS y0
    FROM enrollments en JOIN summary_classes USING (class_id)
), ev AS (
    SELECT student_id, date, rate AS att, NULL::float8 AS study, NULL::float8 AS score, NULL::int AS sports
    FROM attendance WHERE student_id IN (SELECT student_id FROM members)
    UNION ALL
    SELECT student_id, date, NULL, hours, NULL, NULL FROM study_hours
    WHERE student_id IN (SELECT student_id FROM members)
    UNION ALL
    SELECT student_id, date, NULL, NULL, score, NULL FROM scores
    WHERE student_id IN (SELECT student_id FROM members)
    UNION ALL
    SELECT student_id, date, NULL, NULL, NULL, participated::int FROM activity_participation
    WHERE activity = 'sports' AND student_id IN (SELECT student_id FROM members)
), per_student AS (
    SELECT m.class_id, date_trunc('week', ev.date)::date AS week, ev.student_id,
           sum(att) AS att_s, count(att) AS att_n, sum(study) AS study_s, count(study) AS study_n,
           sum(score) AS score_s, count(score) AS score_n, sum(sports) AS sports_s, count(sports) AS sports_n
    FROM ev JOIN members m ON m.student_id = ev.student_id
     AND ev.date >= m.y0 AND ev.date < (m.y0 + interval '1 year')
    GROUP BY 1, 2, 3
)
SELECT class_id, week, count(*), coalesce(sum(att_s), 0), sum(att_n), coalesce(sum(study_s), 0), sum(study_n),
       coalesce(sum(score_s), 0), sum(score_n), coalesce(sum(sports_s), 0), sum(sports_n)
FROM per_student GROUP BY class_id, week
"""


def _fill_ids(session: Session, student_ids: Iterable[int] | None) -> None:
    """Put the students to refresh into the temp table ``summary_ids``."""
    for sql in IDS_SQL:
        session.execute(text(sql))
    if student_ids is None:
        session.execute(text("INSERT INTO summary_ids SELECT id FROM students"))
        return
    ids = sorted({int(i) for i in student_ids})
    stmt = text("INSERT INTO summary_ids SELECT unnest(:ids) ON CONFLICT DO NOTHING").bindparams(
        bindparam("ids", type_=ARRAY(BIGINT)))
    session.execute(stmt, {"ids": ids})


def refresh_summaries(session: Session, student_ids: Iterable[int] | None = None) -> None:
    """Recompute ``student_summary`` and ``class_week_summary`` for these students (None: everyone).

    Runs in the caller's transaction and never commits.
    """
    _fill_ids(session, student_ids)
    session.execute(text("ANALYZE summary_ids"))
    session.execute(text("DELETE FROM student_summary WHERE student_id IN (SELECT student_id FROM summary_ids)"))
    session.execute(text(STUDENT_SQL))
    session.execute(text("DROP TABLE IF EXISTS summary_classes"))
    session.execute(text(
        "CREATE TEMP TABLE summary_classes ON COMMIT DROP AS "
        "SELECT DISTINCT class_id FROM enrollments JOIN summary_ids USING (student_id)"))
    _rebuild_classes(session)


def _rebuild_classes(session: Session) -> None:
    """Rebuild ``class_week_summary`` for the classes in the temp table ``summary_classes``."""
    session.execute(text("DELETE FROM class_week_summary WHERE class_id IN (SELECT class_id FROM summary_classes)"))
    session.execute(text(CLASS_SQL))


def refresh_class_weeks(session: Session, class_ids: Iterable[int]) -> None:
    """Rebuild ``class_week_summary`` for these classes (e.g. ones a student just left)."""
    ids = sorted({int(i) for i in class_ids})
    if not ids:
        return
    session.execute(text("DROP TABLE IF EXISTS summary_classes"))
    session.execute(text("CREATE TEMP TABLE summary_classes (class_id integer PRIMARY KEY) ON COMMIT DROP"))
    stmt = text("INSERT INTO summary_classes SELECT unnest(:ids)").bindparams(bindparam("ids", type_=ARRAY(BIGINT)))
    session.execute(stmt, {"ids": ids})
    _rebuild_classes(session)
