"""SQL that refreshes the summary tables the dashboards read.

For a set of students (all of them when no ids are given), inside the caller's transaction:

1. the event tables are read once into ``summary_days`` (sums and counts per student and date);
2. ``student_week_summary`` gets, for each of those students and each date of ``summary_calendar``
   from their first event on, that date's sums and the running sums (exact ``numeric``), so a date
   range is ``cum(b) - cum(a-)``; other students get carried-forward rows on dates new to the calendar;
3. ``student_summary`` is read off each student's last running row minus the one before their current school year
   began (1 August): the means are this year's, exact decimals, for a returning student as for a new one;
4. ``class_week_summary`` is rebuilt from ``student_week_summary`` for every class any of those
   students has been enrolled in, counting each event in the class the student belonged to in that
   event's school year (a year starts on 1 August) and the week starting on the Monday of its date.

When each student comes with the date from which their events changed (a later load: see ``refresh_summaries``),
steps 1 and 2 only cover their days and rows from that date on, starting from the running sums of their last
stored row before it (``summary_seed``), so appending a week writes one row per student, not the whole year.

A student's class and grade are those of their current enrolment (``db.enrolment.current_enrolment``); labels come
from ``derivation_rules`` (``lower <= v < upper``). Everything is set-based SQL over the affected students. Table and
column names come from the ORM where a list of them is generated (``DAY_SUMS``, ``RUNNING``, ``DAY_SOURCES``).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Integer, bindparam, column, table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.enrolment import current_enrolment
from db.indicators import refresh_indicators_of_summary_ids
from db.models import (
    CUMULATIVE_COLUMNS,
    ActivityParticipation,
    Attendance,
    ClassWeekSummary,
    Enrollment,
    Score,
    StudentWeekSummary,
    StudyHours,
)

log = logging.getLogger(__name__)
FULL_SHARE = 0.4  # refreshing this share of the students or more rebuilds everyone (see _most_students)
IDS_SQL = [
    "DROP TABLE IF EXISTS summary_ids",
    # since: the date from which the student's events changed (NULL: all of them; NO_EVENTS: none)
    "CREATE TEMP TABLE summary_ids (student_id bigint PRIMARY KEY, since date) ON COMMIT DROP",
]
NO_EVENTS = dt.date(9999, 12, 31)
"""A ``since`` date meaning none of the student's events changed (only who they are, or their class's grade)."""
NO_EVENTS_SQL = f"DATE '{NO_EVENTS.isoformat()}'"
SETTINGS_SQL = ["SET LOCAL work_mem = '1GB'", "SET LOCAL jit = off"]  # one process sorting a whole school in memory

# --------------------------------------------------------------------------- the vocabulary, from the ORM

WEEK = StudentWeekSummary.__table__
RUNNING = CUMULATIVE_COLUMNS
"""The running columns of ``student_week_summary``: ``c_<day sum>`` for each day sum, and ``latest_score``."""
DAY_SUMS = tuple(c.key for c in WEEK.c if f"c_{c.key}" in WEEK.c)
"""A date's sums and counts in ``student_week_summary`` (``att_sum, att_n, ...``): the columns with a running sum.
Both ways of reading them, from the event tables (``EVENTS_DAYS_SQL``) and from rows staged by a first load
(``day_sums_of_rows``), are generated from this list and ``DAY_SOURCES``."""
COUNTS = tuple(c for c in DAY_SUMS if isinstance(WEEK.c[c].type, Integer))  # 0 on a date without events
FRACTIONAL = tuple(c for c in DAY_SUMS if c not in COUNTS)  # NULL on a date without events
MEASURES = tuple(c.removesuffix("_sum") for c in DAY_SUMS if c.endswith("_sum"))
"""``att``, ``study``, ``sports``, ``score``: each has the day sums ``<measure>_sum`` and ``<measure>_n``."""
EVENT_COUNTS = tuple(f"{m}_n" for m in MEASURES)
LATEST = WEEK.c.latest_score.key


@dataclass(frozen=True)
class DaySource:
    """Where a measure's day sums come from: a column of an event table, on its rows matching ``condition``."""

    value: Column
    condition: str = ""
    latest_by: Column | None = None  # the measure's latest value of a date: the one with the highest ``latest_by``


SCORES = Score.__table__
DAY_SOURCES = {
    "att": DaySource(Attendance.__table__.c.rate),
    "study": DaySource(StudyHours.__table__.c.hours),
    "sports": DaySource(ActivityParticipation.__table__.c.participated, "activity = 'sports'"),
    "score": DaySource(SCORES.c.score, latest_by=SCORES.c.assessment_id),
}
"""The event column of each measure of ``MEASURES`` (same keys, same order)."""
CLASS_NAMES = {"att": "attendance"}  # a measure's name in ``class_week_summary`` when it differs
CLASS_SUMS = {f"{m}_{part}": ClassWeekSummary.__table__.c[f"{CLASS_NAMES.get(m, m)}_{part}"].key
              for m in MEASURES for part in ("sum", "n")}
"""Each day sum's column in ``class_week_summary`` (``att_sum`` -> ``attendance_sum``)."""



def _value(source: DaySource, name: str) -> str:
    """The SQL of one event's value held in the column ``name`` (a boolean counts as 1 or 0)."""
    return f"{name}::int" if isinstance(source.value.type, Boolean) else name


def _null(source: DaySource) -> str:
    """A NULL of the type of the measure's value."""
    return "NULL::int" if isinstance(source.value.type, Boolean) else "NULL::float8"


def _events_days(since: bool = False) -> str:
    """The day sums read from the event tables: one ``UNION ALL`` branch per measure, grouped by student and date.

    ``since``: only the events of the students of ``summary_ids`` from their ``since`` date on, each student's read
    by a range scan of the table's ``(student_id, date)`` key (a lateral subquery the planner may not flatten into
    a hash join, which would read the whole table to keep one week of it).
    """
    branches = []
    for measure, source in DAY_SOURCES.items():
        values = ", ".join(f"{_value(s, s.value.key) if m == measure else _null(s)} AS {m}" for m, s in DAY_SOURCES.items())
        last = "NULL::float8[]" if source.latest_by is None else f"ARRAY[{source.latest_by.key}::float8, {source.value.key}]"
        name = source.value.table.name
        if since:
            condition = f" AND e.{source.condition}" if source.condition else ""
            branches.append(f"SELECT l.student_id, l.date, {values}, {last} AS last\n    FROM summary_ids i CROSS JOIN "
                            f"LATERAL (SELECT * FROM {name} e WHERE e.student_id = i.student_id\n"
                            f"        AND e.date >= coalesce(i.since, '-infinity'){condition} OFFSET 0) l")
            continue
        where = "{where}" + (f" {{and_}} {source.condition}" if source.condition else "")
        branches.append(f"SELECT student_id, date, {values}, {last} AS last\n    FROM {name} {where}")
    sums = ", ".join(f"coalesce(sum({m}), 0) AS {m}_sum, count({m}) AS {m}_n" if f"{m}_sum" in COUNTS
                     else f"sum({m}) AS {m}_sum, count({m}) AS {m}_n" for m in MEASURES)
    union = "\n    UNION ALL\n    ".join(branches)
    return f"SELECT student_id, date, {sums}, max(last) AS last\nFROM (\n    {union}\n) ev\nGROUP BY student_id, date"


def day_sums_of_rows(source: str, column_of: Callable[[Column], str]) -> str:
    """The day sums of ``EVENTS_DAYS_SQL`` (same columns and types) from ``source``, one row per student and date.

    ``column_of(event_column)`` names the column of ``source`` holding that event column's value (NULL: no event).
    """
    sums = []
    for measure, source_of in DAY_SOURCES.items():
        name = column_of(source_of.value)
        value = _value(source_of, name)
        total = f"coalesce(({value})::int8, 0)" if f"{measure}_sum" in COUNTS else value
        sums.append(f"{total} AS {measure}_sum, ({name} IS NOT NULL)::int::int8 AS {measure}_n")
    latest = next(s for s in DAY_SOURCES.values() if s.latest_by is not None)
    value, key = column_of(latest.value), column_of(latest.latest_by)
    last = f"CASE WHEN {value} IS NOT NULL THEN ARRAY[{key}::float8, {value}] END AS last"
    return f"SELECT student_id, date, {', '.join(sums)}, {last}\nFROM {source}"


MONDAY = "({d} - (({d} - DATE '1900-01-01') % 7 + 7) % 7)"  # the Monday of a date's week (1900-01-01 was one)
IN_IDS = "WHERE student_id IN (SELECT student_id FROM summary_ids)"
EVENTS_DAYS_SQL = _events_days()
"""Sums and counts per student and date, read from the event tables (the columns a ``days`` query must give)."""
SINCE_DAYS_SQL = _events_days(since=True)
"""``EVENTS_DAYS_SQL`` of the students of ``summary_ids``, from each one's ``since`` date on."""
DAYS_SQL = """
CREATE TEMP TABLE summary_days ON COMMIT DROP AS
SELECT days.*, lag(date) OVER w AS prev,  -- the groups come out in this order: no sort
       max(date) FILTER (WHERE score_n > 0) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_scored
FROM ({days}) days
WINDOW w AS (PARTITION BY student_id ORDER BY date)
"""

NEW_DATES_SQL = """
CREATE TEMP TABLE summary_new_dates ON COMMIT DROP AS
SELECT n.date, (SELECT max(c.date) FROM summary_calendar c WHERE c.date < n.date) AS prev
FROM (SELECT DISTINCT date FROM summary_days) n
WHERE NOT EXISTS (SELECT 1 FROM summary_calendar c WHERE c.date = n.date)
"""

CARRY_SQL = f"""
INSERT INTO student_week_summary (student_id, date, {', '.join(RUNNING)})
SELECT w.student_id, n.date, {', '.join('w.' + c for c in RUNNING)}
FROM summary_new_dates n JOIN student_week_summary w ON w.date = n.prev
WHERE NOT EXISTS (SELECT 1 FROM summary_ids i WHERE i.student_id = w.student_id {{rebuilt}})
"""
REBUILT = {False: "", True: "AND (i.since IS NULL OR i.since <= n.date)"}  # since mode: whose rows at n.date are rebuilt

HAS_EVENTS = " + ".join(f"w.{c}" for c in EVENT_COUNTS) + " > 0"
"""A stored row of ``student_week_summary w`` whose date has events (not a carried-forward row)."""

SEED_SQL = f"""
CREATE TEMP TABLE summary_seed ON COMMIT DROP AS
SELECT i.student_id, {', '.join('l.' + c for c in RUNNING)}, e.date AS prev_event
FROM summary_ids i
JOIN LATERAL (SELECT {', '.join(RUNNING)} FROM student_week_summary w WHERE w.student_id = i.student_id
              AND w.date < i.since ORDER BY w.date DESC LIMIT 1) l ON true
LEFT JOIN LATERAL (SELECT w.date FROM student_week_summary w WHERE w.student_id = i.student_id AND w.date < i.since
                   AND {HAS_EVENTS} ORDER BY w.date DESC LIMIT 1) e ON true
WHERE i.since < {NO_EVENTS_SQL}
"""
"""Each student's last stored row before the date their events changed: the running sums the rebuilt rows start from."""

SCALE = 10_000  # day sums with at most 4 decimals are summed as scaled integers (exact, and no numeric per row)
# per column: are the day sums scaled-integer exact; and is every student dense (a day row on each calendar date
# from their first on: then there are no rows to add and no join to the calendar)
CHECK_SQL = """
SELECT {fits}, coalesce(sum(f.n) = sum((SELECT count(*) FROM summary_calendar c WHERE c.date >= f.first)), true)
FROM (SELECT student_id, count(*) AS n, min(date) AS first, {row_fits} FROM summary_days GROUP BY student_id) f
"""


def _fits(column: str) -> str:
    """SQL true when every day sum of ``column`` is a decimal of at most 4 places that fits an integer once scaled."""
    return f"{column} = round({column} * {SCALE}) / {SCALE} AND abs({column}) < 200000"


def _running_sum(column: str, scaled: bool) -> str:
    """The running sum of one fractional column as exact numeric: scaled integers when they are exact."""
    if scaled:
        return f"coalesce(sum(round(d.{column} * {SCALE})::int) OVER w, 0)::numeric * 0.0001"  # dscale 4, like the sums
    return f"coalesce(sum(d.{column}::numeric) OVER w, 0)"


SPARSE = """(SELECT f.student_id, c.date
      FROM (SELECT student_id, min(date) AS first FROM summary_days GROUP BY student_id) f
      JOIN summary_calendar c ON c.date >= f.first) g
LEFT JOIN summary_days d ON d.student_id = g.student_id AND d.date = g.date"""
SINCE_SPARSE = """(SELECT f.student_id, c.date
      FROM (SELECT d.student_id, coalesce(i.since, min(d.date)) AS first FROM summary_days d
            JOIN summary_ids i USING (student_id) GROUP BY d.student_id, i.since) f
      JOIN summary_calendar c ON c.date >= f.first) g
LEFT JOIN summary_days d ON d.student_id = g.student_id AND d.date = g.date
LEFT JOIN summary_seed s ON s.student_id = g.student_id"""
"""Since mode: each student's calendar dates from the one their events changed on, and the running sums before it."""
RUNNING_SQL = f"""
INSERT INTO student_week_summary (student_id, date, prev_date, {', '.join(DAY_SUMS)}, {', '.join(RUNNING)})
SELECT {{k}}.student_id, {{k}}.date, d.prev, {', '.join(f"d.{c}" if c in FRACTIONAL else f"coalesce(d.{c}, 0)" for c in DAY_SUMS)},
       {{running}}
FROM {{source}}
WINDOW w AS (PARTITION BY {{k}}.student_id ORDER BY {{k}}.date ROWS UNBOUNDED PRECEDING)
"""
"""The days' sums and the running sums (``{running}``: see ``_running_column``) of the students' rows."""
LATEST_SQL = """coalesce((max(CASE WHEN d.last IS NOT NULL THEN ARRAY[({k}.date - DATE '2000-01-01')::float8] || d.last END)
                 OVER w)[3], {seed})"""

LABELS = {"study_bin": "b.study_hours_mean", "sports_level": "b.sports_rate", "performance": "b.latest_score"}
"""The labels of ``student_summary`` read off ``derivation_rules``: kind -> the value it labels."""


def _sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _labels(session: Session) -> dict[str, str]:
    """Each kind of ``LABELS`` as a ``CASE`` over its rules (the first by ordinal with ``lower <= v < upper``), the
    bounds written in as constants: one expression per row instead of a sorted lookup of the rules per row."""
    rules = session.execute(text("SELECT kind, label, lower, upper FROM derivation_rules WHERE kind IN :kinds "
                                 "ORDER BY kind, ordinal, id").bindparams(bindparam("kinds", expanding=True)),
                            {"kinds": list(LABELS)}).all()
    out = {}
    for kind, value in LABELS.items():
        whens = []
        for _, label, lower, upper in (r for r in rules if r.kind == kind):
            tests = [f"{value} >= '{float(lower)!r}'::float8" if lower is not None else "",
                     f"{value} < '{float(upper)!r}'::float8" if upper is not None else ""]
            whens.append(f"WHEN {' AND '.join(t for t in tests if t) or 'true'} THEN {_sql_text(label)}")
        out[kind] = f"CASE {' '.join(whens)} END" if whens else "NULL::text"
    return out


BELOW = "({value} < (SELECT min(r.upper) FROM derivation_rules r WHERE r.kind = '{kind}'))"

IDS = table("summary_ids", column("student_id"))
CURRENT_SQL = str(current_enrolment().join(IDS, IDS.c.student_id == Enrollment.student_id).compile(dialect=postgresql.dialect()))
"""Each refreshed student's current enrolment (``db.enrolment.current_enrolment``)."""

STUDENT_SQL = f"""
INSERT INTO student_summary (student_id, school_id, class_id, grade_level, school_year, gender, age, n_weeks,
    first_date, last_date, attendance_mean, study_hours_mean, sports_rate, score_mean, latest_score,
    latest_score_date, study_bin, sports_level, performance_label, low_attendance, chronically_absent)
WITH cur AS (
    {CURRENT_SQL}
), tot AS (
    SELECT w.* FROM student_week_summary w JOIN summary_ids USING (student_id)
    WHERE w.date = (SELECT max(date) FROM summary_calendar)
), yr AS (  -- each current school year and the last calendar date before it began (1 August)
    SELECT y.school_year, (SELECT max(c.date) FROM summary_calendar c
                           WHERE c.date < make_date(left(y.school_year, 4)::int, 8, 1)) AS before
    FROM (SELECT DISTINCT school_year FROM cur) y
), pre AS (  -- a returning student's running sums as the year began: this year's means are tot - pre
    SELECT w.* FROM cur JOIN yr USING (school_year)
    JOIN student_week_summary w ON w.student_id = cur.student_id AND w.date = yr.before
), sco AS (
    {{scored}}
), base AS (
    SELECT st.id AS student_id, st.school_id, cur.class_id, cur.grade_level, cur.school_year, st.gender, st.age,
           coalesce(sco.n_weeks, 0) AS n_weeks, sco.first_date, sco.last_date,
           ((t.c_att_sum - coalesce(p.c_att_sum, 0)) / nullif(t.c_att_n - coalesce(p.c_att_n, 0), 0))::float8
               AS attendance_mean,
           ((t.c_study_sum - coalesce(p.c_study_sum, 0)) / nullif(t.c_study_n - coalesce(p.c_study_n, 0), 0))::float8
               AS study_hours_mean,
           ((t.c_sports_sum - coalesce(p.c_sports_sum, 0))::numeric
               / nullif(t.c_sports_n - coalesce(p.c_sports_n, 0), 0))::float8 AS sports_rate,
           ((t.c_score_sum - coalesce(p.c_score_sum, 0)) / nullif(t.c_score_n - coalesce(p.c_score_n, 0), 0))::float8
               AS score_mean,
           CASE WHEN t.c_score_n > coalesce(p.c_score_n, 0) THEN t.latest_score END AS latest_score,
           CASE WHEN t.c_score_n > coalesce(p.c_score_n, 0) THEN sco.last_date END AS latest_score_date
    FROM students st JOIN summary_ids ids ON ids.student_id = st.id
    LEFT JOIN cur ON cur.student_id = st.id LEFT JOIN tot t ON t.student_id = st.id
    LEFT JOIN pre p ON p.student_id = st.id
    LEFT JOIN sco ON sco.student_id = st.id
)
SELECT b.*,
       {{study_bin}},
       {{sports_level}},
       {{performance}},
       {BELOW.format(kind="low_attendance", value="b.attendance_mean")},
       {BELOW.format(kind="chronic_absence", value="b.attendance_mean")}
FROM base b
"""

SCORED = {
    # each student's weeks with a score, first and last score date: from the day sums of every event day
    False: f"""SELECT student_id, count(*) FILTER (WHERE prev_scored IS NULL OR prev_scored < {MONDAY.format(d="date")})
               AS n_weeks, min(date) AS first_date, max(date) AS last_date
    FROM summary_days WHERE score_n > 0 GROUP BY student_id""",
    # since mode (summary_days holds only the changed days): the stored figures (``summary_old_scored``) with the
    # weeks from the Monday of ``since`` on counted again, from the rows of student_week_summary just rebuilt
    True: """SELECT o.student_id, coalesce(o.n_weeks - o.old_weeks, 0) + n.weeks AS n_weeks,
           CASE WHEN o.first_date < o.m0 THEN o.first_date ELSE n.first END AS first_date,
           coalesce(n.last, CASE WHEN o.last_date < o.m0 THEN o.last_date
                                 ELSE (SELECT max(w.date) FROM student_week_summary w WHERE w.student_id = o.student_id
                                       AND w.date < o.m0 AND w.score_n > 0) END) AS last_date
    FROM summary_old_scored o CROSS JOIN LATERAL ({weeks}) n""",
}
WEEKS_FROM_M0 = f"""SELECT count(DISTINCT {MONDAY.format(d="w.date")}) AS weeks, min(w.date) AS first, max(w.date) AS last
    FROM student_week_summary w WHERE w.student_id = {{id}} AND w.date >= {{m0}} AND w.score_n > 0"""
"""A student's scored weeks whose Monday is ``m0`` or later, and their first and last scored dates."""
OLD_SCORED_SQL = f"""
CREATE TEMP TABLE summary_old_scored ON COMMIT DROP AS
SELECT m.student_id, m.m0, o.n_weeks, o.first_date, o.last_date, n.weeks AS old_weeks
FROM (SELECT i.student_id, CASE WHEN i.since IS NULL OR NOT EXISTS (SELECT FROM student_summary x
                                 WHERE x.student_id = i.student_id) THEN DATE '-infinity'
                                 ELSE {MONDAY.format(d="i.since")} END AS m0
      FROM summary_ids i) m
LEFT JOIN student_summary o USING (student_id)
CROSS JOIN LATERAL ({WEEKS_FROM_M0.format(id="m.student_id", m0="m.m0")}) n
"""
"""Since mode, before the rows are rebuilt: each student's stored scored-weeks count, first and last scored dates,
and how many of those weeks start on the Monday of the week of ``since`` or later (``m0``: ``-infinity`` when the
student is rebuilt whole or has no stored summary). A week before ``m0`` has all its dates before ``since``: the
rebuild leaves it as it was, so ``n_weeks`` is the stored count less the old weeks from ``m0`` on plus the new ones.
"""

EVENT_DAYS = {
    # every student's stored dates with events, and the previous one (kept with them: no window over the class)
    False: f"""SELECT w.student_id, w.date, {', '.join(f"w.{c}" for c in DAY_SUMS)}, w.prev_date AS prev
    FROM student_week_summary w
    WHERE w.student_id IN (SELECT student_id FROM members) AND {HAS_EVENTS}
      AND w.date >= (SELECT min(from_week) FROM summary_classes)""",
    # after a full refresh ``summary_days`` holds exactly those rows, narrower and with ``prev`` already
    True: f"""SELECT student_id, date, {', '.join(DAY_SUMS)}, prev
    FROM summary_days""",
}
CLASS_SQL = f"""
INSERT INTO class_week_summary (class_id, week, n_students, {', '.join(CLASS_SUMS.values())})
WITH members AS MATERIALIZED (  -- a small hash table: no sort of the event days by class
    SELECT en.student_id, en.class_id, make_date(left(en.school_year, 4)::int, 8, 1) AS y0,
           make_date(left(en.school_year, 4)::int + 1, 8, 1) AS y1, summary_classes.from_week
    FROM enrollments en JOIN summary_classes USING (class_id)
), ev AS (
    {{events}}
)
SELECT m.class_id, {MONDAY.format(d="ev.date")} AS week,
       -- a student counts once per week and school year: on its first date (prev < y0: another school year)
       count(*) FILTER (WHERE ev.prev IS NULL OR ev.prev < {MONDAY.format(d="ev.date")} OR ev.prev < m.y0),
       {', '.join(f"coalesce(sum(ev.{c}), 0)" if c in FRACTIONAL else f"sum(ev.{c})" for c in CLASS_SUMS)}
FROM ev JOIN members m ON m.student_id = ev.student_id AND ev.date >= m.y0 AND ev.date < m.y1
    AND ev.date >= m.from_week
GROUP BY 1, 2
"""


Students = Iterable[int] | Mapping[int, dt.date | None]
"""Students to refresh: ids (each rebuilt whole), or ids with the date from which their events changed."""


COPY_NULL = "\\N"


def _fill_ids(session: Session, student_ids: Students | None) -> bool:
    """Put the students to refresh into the temp table ``summary_ids``; return whether any has a ``since`` date."""
    for sql in IDS_SQL:
        session.execute(text(sql))
    if student_ids is None:
        session.execute(text("INSERT INTO summary_ids SELECT id FROM students"))
        return False
    since = dict(student_ids) if isinstance(student_ids, Mapping) else dict.fromkeys(student_ids)
    rows = {int(i): d for i, d in since.items()}
    # COPY, not arrays bound as parameters: 25,000 dates bound one by one cost half a second of a weekly upload
    payload = "".join(f"{i}\t{COPY_NULL if d is None else d.isoformat()}\n" for i, d in sorted(rows.items()))
    with session.connection().connection.dbapi_connection.cursor() as cur:
        cur.copy_expert("COPY summary_ids (student_id, since) FROM STDIN", io.StringIO(payload))
    return any(since.values())


def _read_days(session: Session, everyone: bool, days: str | None = None, since: bool = False) -> None:
    """Sums and counts per student and date of the students to refresh, in one pass over the events (or ``days``).

    ``since``: only each student's days from their ``since`` date on; the first one's ``prev`` comes from the seed.
    """
    session.execute(text("DROP TABLE IF EXISTS summary_days"))
    if days is not None:
        session.execute(text(DAYS_SQL.format(days=days)))
        if since:
            session.execute(text("UPDATE summary_days d SET prev = s.prev_event FROM summary_seed s "
                                 "WHERE s.student_id = d.student_id AND d.prev IS NULL"))
        session.execute(text("ANALYZE summary_days"))
        return
    where, and_ = ("", "WHERE") if everyone else (IN_IDS, "AND")
    # 4M groups (estimated at a few thousand): grouping an ordered stream beats a hash table of arrays, and for
    # everyone a Merge Append of the (student_id, date) index scans needs no sort of the 16M event rows.
    toggles = ("enable_hashagg", "enable_sort") if everyone else ("enable_hashagg",)
    for name in toggles:
        session.execute(text(f"SET LOCAL {name} = off"))
    events = SINCE_DAYS_SQL if since else EVENTS_DAYS_SQL.format(where=where, and_=and_)
    session.execute(text(DAYS_SQL.format(days=events)))
    for name in toggles:
        session.execute(text(f"RESET {name}"))
    if since:
        session.execute(text("UPDATE summary_days d SET prev = s.prev_event FROM summary_seed s "
                             "WHERE s.student_id = d.student_id AND d.prev IS NULL"))
    session.execute(text("ANALYZE summary_days"))


def _refresh_running(session: Session, everyone: bool, since: bool = False) -> None:
    """Rebuild the students' rows of ``student_week_summary`` and extend the calendar with their new dates.

    ``since``: only each student's rows from their ``since`` date on, starting from the running sums of ``summary_seed``.
    """
    if everyone:  # DELETE, not TRUNCATE: the dashboard keeps reading the old rows until the commit instead of waiting
        session.execute(text("DELETE FROM student_week_summary"))
        session.execute(text("DELETE FROM summary_calendar"))
    session.execute(text("DROP TABLE IF EXISTS summary_new_dates"))
    session.execute(text(NEW_DATES_SQL))
    session.execute(text("ANALYZE summary_new_dates"))  # a date or two: the carried rows are read by the date index
    if not everyone:
        session.execute(text(CARRY_SQL.format(rebuilt=REBUILT[since])))
        # the earliest since date as a constant: the rows of a weekly upload are found by the date index
        floor = session.execute(text("SELECT min(coalesce(since, '-infinity'))::text FROM summary_ids")).scalar()
        session.execute(text("DELETE FROM student_week_summary w USING summary_ids i WHERE w.student_id = i.student_id "
                             "AND w.date >= coalesce(i.since, '-infinity') AND w.date >= CAST(:floor AS date)"),
                        {"floor": floor or "-infinity"})
    session.execute(text("INSERT INTO summary_calendar SELECT date FROM summary_new_dates"))
    running = _running_sql(session, since)
    if not everyone:
        session.execute(text(running))
        return
    # No DROP INDEX / ALTER TABLE here: they would lock every reader out until the commit. Rows in key order keep
    # the index inserts cheap (appends to the right of each B-tree).
    session.execute(text(running + " ORDER BY 1, 2"))
    session.execute(text("ANALYZE student_week_summary"))


def _plan(session: Session) -> tuple[list[bool], bool]:
    """Which fractional columns can be summed as scaled integers, and whether every student is dense."""
    row_fits = ", ".join(f"bool_and({_fits(c)}) AS ok_{c}" for c in FRACTIONAL)
    fits = ", ".join(f"coalesce(bool_and(f.ok_{c}), true)" for c in FRACTIONAL)
    row = session.execute(text(CHECK_SQL.format(fits=fits, row_fits=row_fits))).one()
    return [bool(ok) for ok in row[:-1]], bool(row[-1])


def _running_sql(session: Session, since: bool = False) -> str:
    """The running-sums insert, with each fractional column summed as scaled integers where that is exact.

    A day sum ``s`` with ``round(s * 10^4) / 10^4 = s`` is the double nearest to a decimal of at most 15
    significant digits, so ``s::numeric`` is that decimal and the scaled integer sum times ``0.0001`` is the
    same numeric as the sum of ``s::numeric`` (scale at most 4 either way): the stored sums do not depend on the path.
    """
    scaled, dense = _plan(session)
    fits = dict(zip(FRACTIONAL, scaled, strict=True))
    k, source = ("g", SINCE_SPARSE) if since else ("d", "summary_days d") if dense else ("g", SPARSE)
    running = ",\n       ".join(_running_column(c, k, fits, since) for c in RUNNING)
    return RUNNING_SQL.format(k=k, source=source, running=running)


def _running_column(column: str, k: str, fits: dict[str, bool], since: bool) -> str:
    """One running column of ``RUNNING_SQL``; in since mode it starts from the student's ``summary_seed`` row."""
    if column == LATEST:
        return LATEST_SQL.format(k=k, seed=f"s.{column}" if since else "NULL")
    day = column.removeprefix("c_")
    seed = f"coalesce(s.{column}, 0) + " if since else ""
    return seed + (_running_sum(day, fits[day]) if day in FRACTIONAL else f"coalesce(sum(d.{day}) OVER w, 0)")


def refresh_student_weeks(session: Session, student_ids: Students | None = None, days: str | None = None) -> bool:
    """Rebuild ``student_week_summary`` (and extend ``summary_calendar``) for these students (None: everyone).

    Leaves the temp tables ``summary_ids`` and ``summary_days`` for the other summaries; never commits.
    Returns whether everyone was rebuilt (None, or at least ``FULL_SHARE`` of the students).
    ``days``: see ``refresh_summaries``.
    """
    return _refresh_student_weeks(session, student_ids, days)[0]


def _refresh_student_weeks(session: Session, student_ids: Students | None, days: str | None,
                           days_since: bool = False) -> tuple[bool, bool]:
    """``refresh_student_weeks``; returns whether everyone was rebuilt and whether only rows from ``since`` dates on."""
    for sql in SETTINGS_SQL:
        session.execute(text(sql))
    since = _fill_ids(session, student_ids)
    everyone = student_ids is None or _most_students(session)
    if days_since and everyone:
        days = None  # ``days`` holds only the days from each student's since date on: not enough to rebuild everyone
    since = since and not everyone and (days is None or days_since)
    session.execute(text("ANALYZE summary_ids"))
    if since:
        session.execute(text("DROP TABLE IF EXISTS summary_seed"))
        session.execute(text(SEED_SQL))
        session.execute(text("ANALYZE summary_seed"))
        session.execute(text("DROP TABLE IF EXISTS summary_old_scored"))
        session.execute(text(OLD_SCORED_SQL))
    _read_days(session, everyone, days, since)
    _refresh_running(session, everyone, since)
    return everyone, since


def _most_students(session: Session) -> bool:
    """Whether so many students are to be refreshed that rebuilding everyone is faster; if so, lists them all.

    A full rebuild reads each event table once and builds the indexes once; an incremental one also
    re-reads the stored rows of every class it touches (bench/summary_bench.py: 25k of 100k students
    took 28 s incrementally, everyone 41 s).
    """
    n_ids, n_all, n_rows, n_cal = session.execute(text(MOST_SQL)).one()
    if n_all == 0 or (n_ids < FULL_SHARE * n_all and n_rows < FULL_SHARE * n_all * max(n_cal, 1)):
        return False
    session.execute(text("UPDATE summary_ids SET since = NULL"))
    session.execute(text("INSERT INTO summary_ids SELECT id FROM students ON CONFLICT DO NOTHING"))
    return True


MOST_SQL = """
SELECT (SELECT count(*) FROM summary_ids WHERE since IS NULL), (SELECT count(*) FROM students),
       (SELECT count(*) FROM summary_ids i JOIN summary_calendar c ON c.date >= i.since),
       (SELECT count(*) FROM summary_calendar)
"""
"""Students to rebuild whole, all students, stored rows to rebuild from a ``since`` date on (about), calendar dates."""


def skip_key_checks(session: Session) -> bool:
    """Turn off the row-by-row foreign-key triggers for the rest of the transaction, if this role may; True if so.

    ``session_replication_role = replica`` needs a superuser (or the SET privilege on it); without it the checks run.
    """
    try:
        with session.begin_nested():
            session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        log.info("foreign keys checked row by row: this role may not set session_replication_role")
        return False
    return True


KEY_SHARE_SQL = (
    "SELECT count(*) FROM (SELECT FROM students WHERE id IN (SELECT student_id FROM summary_ids) FOR KEY SHARE) s",
    """SELECT count(*) FROM (SELECT FROM schools WHERE id IN (SELECT school_id FROM students
       WHERE id IN (SELECT student_id FROM summary_ids)) FOR KEY SHARE) s""",
    """SELECT count(*) FROM (SELECT FROM classes WHERE id IN (SELECT class_id FROM enrollments
       WHERE student_id IN (SELECT student_id FROM summary_ids)) FOR KEY SHARE) c""",
)
"""The rows the refreshed students' summaries refer to (``student_summary``: student, school, class;
``student_indicators``: student; ``class_week_summary``: the classes of their enrolments), locked as the
foreign-key checks would lock them row by row."""


@contextmanager
def _key_checks_set_based(session: Session, enabled: bool) -> Iterator[None]:
    """Within the block, the summary tables' foreign keys are checked set-based: the rows they refer to are locked
    ``FOR KEY SHARE`` in three statements, then the row-by-row checks are off (when the role may; otherwise they
    run). A weekly upload writes 25,000 rows of ``student_summary`` (three foreign keys) and of
    ``student_indicators``: 100,000 checks otherwise. Every summary row is built by a join with the rows it refers
    to, in this transaction, and those rows stay locked until it ends.
    """
    skipped = False
    if enabled:
        for sql in KEY_SHARE_SQL:
            session.execute(text(sql))
        skipped = skip_key_checks(session)
    yield
    if skipped:
        session.execute(text("SET LOCAL session_replication_role = origin"))


def refresh_summaries(session: Session, student_ids: Students | None = None, days: str | None = None,
                      set_based_keys: bool = False, days_since: bool = False) -> None:
    """Recompute every summary table for these students (None: everyone).

    Runs in the caller's transaction and never commits.

    Parameters
    ----------
    session : a session inside the caller's transaction.
    student_ids : the students to refresh (None: everyone); ids, or ids mapped to the date from which their events
        changed (None: all of them, or a class move; ``NO_EVENTS``: none, only who they are), so that only
        their rows from that date on are rebuilt (a weekly upload appends one week instead of rebuilding the year).
    days : a query giving, one row per student and date, exactly what ``EVENTS_DAYS_SQL`` would read from the
        event tables for these students (same columns and types). A first load into empty event tables passes
        its deduplicated staging rows here, which saves reading back and regrouping every event it just wrote.
    days_since : ``days`` gives, for each student with a since date, exactly their days from that date on (a load
        whose rows all came after every stored event: they are its staged rows); for the others, all their days.
    set_based_keys : check the foreign keys of the summary rows written set-based (``_key_checks_set_based``), as a
        load does for its event rows.
    """
    everyone, since = _refresh_student_weeks(session, student_ids, days, days_since)
    with _key_checks_set_based(session, set_based_keys):
        session.execute(text("DELETE FROM student_summary WHERE student_id IN (SELECT student_id FROM summary_ids)"))
        scored = SCORED[since].format(weeks=WEEKS_FROM_M0.format(id="o.student_id", m0="o.m0"))
        session.execute(text(STUDENT_SQL.format(scored=scored, **_labels(session))))
        refresh_indicators_of_summary_ids(session)  # the early-warning indicators, from the summaries just written
        session.execute(text("DROP TABLE IF EXISTS summary_classes"))
        session.execute(text(CLASSES_SQL[since]))
        _rebuild_classes(session, from_days=everyone)


CLASSES_SQL = {
    # the classes of the refreshed students, each rebuilt from its first week
    False: """CREATE TEMP TABLE summary_classes ON COMMIT DROP AS
              SELECT DISTINCT class_id, DATE '-infinity' AS from_week FROM enrollments JOIN summary_ids USING (student_id)""",
    # since mode: each class from the week of its earliest changed event (a student whose events did not change,
    # NO_EVENTS, changes nothing there: a class move comes with since NULL, the whole year)
    True: f"""CREATE TEMP TABLE summary_classes ON COMMIT DROP AS
              SELECT en.class_id, min(CASE WHEN i.since IS NULL THEN DATE '-infinity'
                                          ELSE {MONDAY.format(d="i.since")} END) AS from_week
              FROM enrollments en JOIN summary_ids i USING (student_id)
              WHERE i.since IS DISTINCT FROM {NO_EVENTS_SQL} GROUP BY en.class_id""",
}


def _rebuild_classes(session: Session, from_days: bool = False) -> None:
    """Rebuild ``class_week_summary`` for the classes in the temp table ``summary_classes``.

    ``from_days``: every student was just refreshed, so their event days are read from ``summary_days``.
    """
    session.execute(text("DELETE FROM class_week_summary w USING summary_classes c "
                         "WHERE w.class_id = c.class_id AND w.week >= c.from_week"))
    session.execute(text(CLASS_SQL.format(events=EVENT_DAYS[from_days])))


def refresh_class_weeks(session: Session, class_ids: Iterable[int]) -> None:
    """Rebuild ``class_week_summary`` for these classes (e.g. ones a student just left)."""
    ids = sorted({int(i) for i in class_ids})
    if not ids:
        return
    session.execute(text("DROP TABLE IF EXISTS summary_classes"))
    session.execute(text("CREATE TEMP TABLE summary_classes (class_id integer PRIMARY KEY, from_week date DEFAULT "
                         "'-infinity') ON COMMIT DROP"))
    stmt = text("INSERT INTO summary_classes (class_id) SELECT unnest(:ids)").bindparams(bindparam("ids", type_=ARRAY(BIGINT)))
    session.execute(stmt, {"ids": ids})
    _rebuild_classes(session)
