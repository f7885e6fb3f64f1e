"""Features as of a date: one row per student of a school year, built in SQL from data up to ``as_of`` only.

Population: every student enrolled in one school year (default: the latest school year that has classes,
the "current" students), with the class of that enrollment. Only rows dated from the start of that school
year (1 August) up to ``as_of`` feed the features, so adding data after ``as_of`` (or in another year) never
changes them. "Recent" means the last four weeks (dates after ``as_of - 28 days``).

The label is a year's final outcome: the running grade at the student's LAST score date of that school
year, failing when below the pass threshold. Training rows (``training_rows``) come from PAST school years
only, whose outcomes are known: for each past year, features as of several snapshot weeks of that year
(``SNAPSHOT_WEEKS``: the week's score date, the same point of the year a school scores at), each joined to
that year's outcome; rows whose outcome was already known at the snapshot are dropped. The current year's
outcomes are unknown and never reach training.

The one feature from before the school year is ``prior_final``: the student's final running grade of the
previous school year, their last one in its last four weeks (missing for a student new to the school or who
left before then; only those weeks are read), known from the first day of the year; early
in the year, when this year's marks are still few and noisy, it is what the Wisconsin DEWS leans on too.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

RECENT_DAYS = 28
TRAIN_FRACTION = 0.6
SNAPSHOT_WEEKS: tuple[int, ...] = (4, 8, 12, 16, 20, 28)
"""Every fourth week up to week 20, then week 28: the first half of the year, when a warning is still early, is
sampled densely (bench/lead_time.py: more of the eventual failures flagged 8 weeks or more ahead)."""

NUMERIC_FEATURES: tuple[str, ...] = (
    "grade_level",
    "n_weeks",
    "att_rate",
    "att_recent",
    "att_trend",
    "att_low_share",
    "att_vs_class",
    "study_mean",
    "study_trend",
    "study_vs_class",
    "sports_share",
    "score_latest",
    "score_mean",
    "score_min",
    "score_slope",
    "score_trend",
    "score_vs_class",
    "prior_final",
)
RISK_DIRECTION: dict[str, int] = {
    **dict.fromkeys(("att_rate", "att_recent", "att_trend", "att_vs_class"), -1),
    **dict.fromkeys(("study_mean", "study_trend", "study_vs_class"), -1),
    **dict.fromkeys(("score_latest", "score_mean", "score_min", "score_slope", "score_trend", "score_vs_class"), -1),
    "att_low_share": 1,
    "prior_final": -1,
}
"""Known directions (XGBoost monotone constraints): more attendance, study or grade never raises risk."""
DEMOGRAPHIC_NUMERIC: tuple[str, ...] = ("age",)
DEMOGRAPHIC_CATEGORICAL: tuple[str, ...] = ("gender",)
CONTEXT_COLUMNS: tuple[str, ...] = (
    "class_att_rate",
    "class_att_recent",
    "class_att_trend",
    "class_study_mean",
    "class_study_trend",
    "class_sports_share",
    "class_score_latest",
    "class_score_mean",
    "class_score_slope",
    "class_score_trend",
    "class_grade_level",
    "class_n_weeks",
    "class_prior_final",
)
"""Class medians kept beside the features so reasons can say "class median 94 %"."""


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns a model uses; saved with the model and checked when it is loaded."""

    include_demographics: bool = False

    @property
    def numeric(self) -> list[str]:
        """Numeric model inputs."""
        return list(NUMERIC_FEATURES) + (list(DEMOGRAPHIC_NUMERIC) if self.include_demographics else [])

    @property
    def categorical(self) -> list[str]:
        """Categorical model inputs (one-hot encoded in the pipeline)."""
        return list(DEMOGRAPHIC_CATEGORICAL) if self.include_demographics else []

    @property
    def columns(self) -> list[str]:
        """Every model input, in order."""
        return self.numeric + self.categorical


_WORK_MEM = "256MB"
"""Memory for the hashes and sorts of one whole-population feature query (about 100 MB at 100,000 students)."""

FEATURE_DECIMALS = 9
"""Features are rounded to this many decimals, far below any real difference and far above float noise."""

_FEATURES_SQL = """
WITH {snaps}
cur AS (
    SELECT DISTINCT ON (e.student_id) e.student_id, e.class_id, c.school_id, c.grade_level, e.school_year
    FROM enrollments e JOIN classes c ON c.id = e.class_id
    WHERE e.school_year = :school_year {class_filter}
    ORDER BY e.student_id, e.class_id
),
{events}
prior AS (
    SELECT s.student_id, (max(ARRAY[(s.date - DATE '2000-01-01')::float8, s.score]))[2] AS prior_final
    FROM scores s {event_join}
    WHERE s.date < :year_start AND s.date >= :prior_start
      AND s.date > (SELECT max(l.date) FROM scores l WHERE l.date < :year_start AND l.date >= :prior_start) - 28
    GROUP BY s.student_id
),
base AS (
    SELECT {base_key}cur.student_id, cur.class_id, cur.school_id, cur.grade_level::float8 AS grade_level,
           st.gender, st.age::float8 AS age,
           coalesce(att.n_weeks, 0)::float8 AS n_weeks,
           att.att_rate, att.att_recent, att.att_recent - att.att_before AS att_trend, att.att_low_share,
           sh.study_mean, sh.study_recent - sh.study_before AS study_trend,
           sp.sports_share,
           sc.score_latest, sc.score_mean, sc.score_min, sc.score_slope,
           sc.score_recent - sc.score_before AS score_trend,
           prior.prior_final
    FROM cur{snap_cross}
    JOIN students st ON st.id = cur.student_id
    LEFT JOIN att ON att.student_id = cur.student_id{att_key}
    LEFT JOIN sh ON sh.student_id = cur.student_id{sh_key}
    LEFT JOIN sp ON sp.student_id = cur.student_id{sp_key}
    LEFT JOIN sc ON sc.student_id = cur.student_id{sc_key}
    LEFT JOIN prior ON prior.student_id = cur.student_id
),
cls AS (
    SELECT {cls_key}class_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY att_rate) AS class_att_rate,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY att_recent) AS class_att_recent,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY att_trend) AS class_att_trend,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY study_mean) AS class_study_mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY study_trend) AS class_study_trend,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY sports_share) AS class_sports_share,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY score_latest) AS class_score_latest,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY score_mean) AS class_score_mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY score_slope) AS class_score_slope,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY score_trend) AS class_score_trend,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY grade_level) AS class_grade_level,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY n_weeks) AS class_n_weeks,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY prior_final) AS class_prior_final
    FROM base GROUP BY {cls_key}class_id
)
SELECT base.*,
       base.att_rate - cls.class_att_rate AS att_vs_class,
       base.study_mean - cls.class_study_mean AS study_vs_class,
       base.score_latest - cls.class_score_latest AS score_vs_class,
       cls.class_att_rate, cls.class_att_recent, cls.class_att_trend, cls.class_study_mean,
       cls.class_study_trend, cls.class_sports_share, cls.class_score_latest, cls.class_score_mean,
       cls.class_score_slope, cls.class_score_trend, cls.class_grade_level, cls.class_n_weeks, cls.class_prior_final
FROM base JOIN cls ON cls.class_id = base.class_id{final_key}
ORDER BY {order_key}base.student_id
"""
"""The feature query, as of one date (``:as_of``) or as of several snapshot dates of one school year in one pass:
see ``_feature_sql``. Both forms are built from this one text and ``_EVENTS``, so a training row and a scored row
are defined by the same expressions."""

_EVENTS: tuple[tuple[str, str, str, tuple[tuple[str, str, str], ...]], ...] = (
    ("att", "attendance a", "", (
        ("n_weeks", "count(*)", ""),
        ("att_rate", "avg(a.rate)", ""),
        ("att_recent", "avg(a.rate)", "a.date > {recent_start}"),
        ("att_before", "avg(a.rate)", "a.date <= {recent_start}"),
        ("att_low_share", "avg((a.rate < 0.9)::int)", ""),
    )),
    ("sh", "study_hours h", "", (
        ("study_mean", "avg(h.hours)", ""),
        ("study_recent", "avg(h.hours)", "h.date > {recent_start}"),
        ("study_before", "avg(h.hours)", "h.date <= {recent_start}"),
    )),
    ("sp", "activity_participation p", " AND p.activity = 'sports'", (
        ("sports_share", "avg(p.participated::int)", ""),
    )),
    ("sc", "scores s", "", (
        ("score_latest", "(max(ARRAY[(s.date - DATE '2000-01-01')::float8, s.score]))[2]", ""),
        ("score_mean", "avg(s.score)", ""),
        ("score_min", "min(s.score)", ""),
        ("score_slope", "regr_slope(s.score, (s.date - {as_of})::float8 / 7.0)", ""),
        ("score_recent", "avg(s.score)", "s.date > {recent_start}"),
        ("score_before", "avg(s.score)", "s.date <= {recent_start}"),
    )),
)
"""Per event table: its CTE, the table and alias, an extra condition, and each aggregate (column, call, filter);
``{as_of}`` and ``{recent_start}`` stand for the features' date and the last date before the recent weeks."""

_ONE_DATE: dict[str, str] = {
    **dict.fromkeys(("snaps", "base_key", "cls_key", "order_key", "snap_cross", "final_key"), ""),
    **{f"{name}_key": "" for name in ("att", "sh", "sp", "sc")},
}
_SNAPSHOTS: dict[str, str] = {
    "snaps": "snaps AS (SELECT w AS snapshot_week FROM unnest(CAST(:weeks AS int[])) AS t(w)),",
    "base_key": "snap.snapshot_week, ", "cls_key": "snapshot_week, ",
    "order_key": "base.snapshot_week, ", "snap_cross": " CROSS JOIN snaps snap",
    "final_key": " AND cls.snapshot_week = base.snapshot_week",
    **{f"{name}_key": f" AND {name}.snapshot_week = snap.snapshot_week" for name in ("att", "sh", "sp", "sc")},
}


def _aggregate(call: str, *conditions: str) -> str:
    """``call`` filtered by ``conditions``; ``(agg(...))[i]`` (an element of an aggregate) keeps its subscript outside."""
    kept = [c for c in conditions if c]
    if not kept:
        return call
    if call.endswith("]"):
        cut = call.rindex(")")
        return f"({call[1:cut]} FILTER (WHERE {' AND '.join(kept)})){call[cut + 1:]}"
    return f"{call} FILTER (WHERE {' AND '.join(kept)})"


def _event_ctes(snapshots: int | None, event_join: str) -> str:
    """The per-student aggregates of each event table, as of ``:as_of`` (``snapshots`` None) or of each snapshot.

    As of snapshots, each table is read once (not once per snapshot): one row per student holds every snapshot's
    aggregates (the same calls, each also filtered to the rows up to ``:as_of_<k>``), then unfolds into one row per
    student and snapshot week.
    """
    ctes = []
    for name, table, extra, aggregates in _EVENTS:
        alias = table.split()[-1]
        source = (f"FROM {table} {event_join}\n    WHERE {alias}.date <= :as_of AND {alias}.date >= :year_start{extra} "
                  f"GROUP BY {alias}.student_id")
        if snapshots is None:
            columns = ",\n           ".join(
                f"{_aggregate(call, cond).format(as_of='CAST(:as_of AS date)', recent_start=':recent_start')} AS {col}"
                for col, call, cond in aggregates)
            ctes.append(f"{name} AS (\n    SELECT {alias}.student_id,\n           {columns}\n    {source}\n)")
            continue
        columns = ",\n           ".join(
            _aggregate(call, f"{alias}.date <= {{as_of}}", cond).format(
                as_of=f"CAST(:as_of_{k} AS date)", recent_start=f"CAST(:recent_start_{k} AS date)") + f" AS {col}_{k}"
            for k in range(snapshots) for col, call, cond in aggregates)
        names = [col for col, _, _ in aggregates]
        rows = ", ".join(f"(:week_{k}, {', '.join(f'x.{col}_{k}' for col in names)})" for k in range(snapshots))
        ctes.append(f"{name}_by_student AS (\n    SELECT {alias}.student_id,\n           {columns}\n    {source}\n),\n"
                    f"{name} AS (\n    SELECT x.student_id, w.* FROM {name}_by_student x\n"
                    f"    CROSS JOIN LATERAL (VALUES {rows}) AS w(snapshot_week, {', '.join(names)})\n)")
    return ",\n".join(ctes) + ","


def _feature_sql(snapshots: int | None = None, *, class_filter: str = "", event_join: str = "") -> str:
    """The feature query as of ``:as_of``, or as of ``snapshots`` dates ``:as_of_0``, ... in one pass over the events."""
    keys = _ONE_DATE if snapshots is None else _SNAPSHOTS
    return _FEATURES_SQL.format(class_filter=class_filter, event_join=event_join,
                                events=_event_ctes(snapshots, event_join), **keys)


_LABELS_SQL = """
SELECT DISTINCT ON (student_id) student_id, score AS final_score, date AS final_date
FROM scores WHERE date >= :start AND date < :end ORDER BY student_id, date DESC
"""


def _conn(bind: Connection | Session) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


def year_start(school_year: str) -> dt.date:
    """The first day (1 August) of ``school_year`` (``2025-2026``)."""
    return dt.date(int(school_year[:4]), 8, 1)


def year_end(school_year: str) -> dt.date:
    """The first day of the next school year."""
    return dt.date(int(school_year[:4]) + 1, 8, 1)


def school_years(bind: Connection | Session) -> list[str]:
    """Every school year that has classes, oldest first."""
    return [r[0] for r in _conn(bind).execute(text("SELECT DISTINCT school_year FROM classes ORDER BY 1"))]


def current_school_year(bind: Connection | Session) -> str | None:
    """The latest school year that has classes: the year being scored (None when there are none)."""
    years = school_years(bind)
    return years[-1] if years else None


def past_school_years(bind: Connection | Session) -> list[str]:
    """The school years before the current one, oldest first: the only years whose outcomes are known."""
    return school_years(bind)[:-1]


def build_features(
    bind: Connection | Session, as_of: dt.date, *, class_ids: Sequence[int] | None = None,
    school_year: str | None = None,
) -> pd.DataFrame:
    """One row per student of ``school_year`` (index ``student_id``) from that year's data up to ``as_of``.

    Parameters
    ----------
    bind : a SQLAlchemy connection or session.
    as_of : the last date whose data may be used.
    class_ids : restrict to these classes (class medians stay exact: the whole class is read).
    school_year : the population's school year (default: the current one, ``current_school_year``).
    """
    school_year = school_year or current_school_year(bind) or f"{as_of.year - (as_of.month < 8)}-{as_of.year}"
    # The whole population: aggregate every event row (hash aggregates); one class: join first (index scans).
    class_filter = "AND e.class_id = ANY(:class_ids)" if class_ids is not None else ""
    event_join = "JOIN cur USING (student_id)" if class_ids is not None else ""
    params: dict[str, object] = {"as_of": as_of, "recent_start": as_of - dt.timedelta(days=RECENT_DAYS),
                                 "school_year": school_year, "year_start": year_start(school_year),
                                 "prior_start": year_start(f"{int(school_year[:4]) - 1}-{school_year[:4]}")}
    if class_ids is not None:
        params["class_ids"] = [int(c) for c in class_ids]
    sql = _feature_sql(class_filter=class_filter, event_join=event_join)
    if class_ids is None:
        return _typed(_copy_out(_conn(bind), sql, params))
    result = _conn(bind).execute(text(sql), params)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return _typed(frame)


def _copy_out(conn: Connection, sql: str, params: dict[str, object]) -> pd.DataFrame:
    """Run ``sql`` through ``COPY ... TO STDOUT`` (much faster than row fetching for 100k rows)."""
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        # For this transaction only: the per-student aggregates and class medians hash and sort in memory rather
        # than spill to disk, and no JIT compilation (it costs seconds here and saves less: the estimates of freshly
        # loaded event tables are far too high, which is what triggers it).
        cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", (_WORK_MEM,))
        query = cursor.mogrify(re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql), params).decode()
        buffer = io.StringIO()
        cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype={"gender": object}, keep_default_na=False, na_values=[""])


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    numeric = [*NUMERIC_FEATURES, *DEMOGRAPHIC_NUMERIC, *CONTEXT_COLUMNS]
    out = frame.copy()
    # Rounded: averages of float columns differ in their last bits with the order PostgreSQL adds the rows in
    # (a new plan after autoanalyze), and the same data must give the same features, hence the same model.
    try:  # one conversion of the whole block (floats, Decimals of numeric averages, None): ~20 ms less per class
        out[numeric] = out[numeric].astype("float64").round(FEATURE_DECIMALS)
    except (TypeError, ValueError):
        for column in numeric:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64").round(FEATURE_DECIMALS)
    out["gender"] = out["gender"].astype(object).where(out["gender"].notna(), "Unknown")
    for column in ("student_id", "class_id", "school_id"):
        out[column] = out[column].astype("int64")
    return out.set_index("student_id")


def final_outcomes(bind: Connection | Session, school_year: str | None = None) -> pd.DataFrame:
    """Each student's final running grade of ``school_year`` (default: the current one) and its date."""
    school_year = school_year or current_school_year(bind)
    if school_year is None:
        return pd.DataFrame({"final_score": pd.Series(dtype="float64"), "final_date": pd.Series(dtype=object)},
                            index=pd.Index([], dtype="int64", name="student_id"))
    params = {"start": year_start(school_year), "end": year_end(school_year)}
    result = _conn(bind).execute(text(_LABELS_SQL), params)
    frame = pd.DataFrame(result.fetchall(), columns=["student_id", "final_score", "final_date"])
    frame["final_score"] = frame["final_score"].astype("float64")
    return frame.astype({"student_id": "int64"}).set_index("student_id")


def training_frame(
    bind: Connection | Session, as_of: dt.date, pass_threshold: float, *, school_year: str | None = None,
    outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features of ``school_year`` as of ``as_of`` joined to that year's label ``at_risk`` (final grade below pass).

    Only students whose final score date is after ``as_of`` are kept (an outcome known at ``as_of`` is no prediction).
    """
    features = build_features(bind, as_of, school_year=school_year)
    outcomes = final_outcomes(bind, school_year) if outcomes is None else outcomes
    return _labelled(features, outcomes, as_of, pass_threshold)


def _labelled(features: pd.DataFrame, outcomes: pd.DataFrame, as_of: dt.date, pass_threshold: float) -> pd.DataFrame:
    """Features joined to their year's outcome, the rows whose outcome is not yet known at ``as_of``, with ``at_risk``."""
    frame = features.join(outcomes, how="inner")
    frame = frame[pd.to_datetime(frame["final_date"]) > pd.Timestamp(as_of)]
    return frame.assign(at_risk=(frame["final_score"] < pass_threshold).astype("int64"))


_PRIMARY_CLASS_FILTER = """AND e.class_id = ANY(:class_ids) AND NOT EXISTS (
        SELECT 1 FROM enrollments o
        WHERE o.student_id = e.student_id AND o.school_year = e.school_year AND o.class_id < e.class_id)"""
"""The students whose class (their lowest class id of the year, as ``cur`` picks it) is one of ``:class_ids``: the
rows of those classes exactly as the whole population's query gives them."""

_CLASS_SIZES_SQL = """
SELECT class_id, count(*) AS students FROM (
    SELECT DISTINCT ON (student_id) student_id, class_id FROM enrollments
    WHERE school_year = :school_year ORDER BY student_id, class_id
) p GROUP BY class_id ORDER BY class_id
"""


@dataclass(frozen=True)
class ClassSample:
    """The classes of one school year whose students give training rows (all of them unless the year is big)."""

    school_year: str
    class_ids: list[int] | None
    """The sampled classes; None for every class."""
    classes: int
    classes_total: int
    students: int
    students_total: int

    def as_dict(self) -> dict[str, object]:
        return {"school_year": self.school_year, "classes": self.classes, "classes_total": self.classes_total,
                "students": self.students, "students_total": self.students_total}


def sample_classes(
    bind: Connection | Session, school_year: str, max_students: int | None, seed: int = 0
) -> ClassSample:
    """Whole classes of ``school_year`` of at least ``max_students`` students in all, or every class if fewer.

    Classes are taken in an order shuffled by ``seed`` and ``school_year`` (the same data and seed give the same
    classes) until they hold ``max_students`` students; whole classes keep every class median exact. A student
    belongs to their lowest class id of the year, as in the feature query.
    """
    sizes = _conn(bind).execute(text(_CLASS_SIZES_SQL), {"school_year": school_year}).fetchall()
    ids = np.array([int(r[0]) for r in sizes], dtype=np.int64)
    counts = np.array([int(r[1]) for r in sizes], dtype=np.int64)
    total = int(counts.sum())
    if max_students is None or total <= max_students:
        return ClassSample(school_year, None, len(ids), len(ids), total, total)
    order = np.random.default_rng([seed, int(school_year[:4]), 7]).permutation(len(ids))
    taken = int(np.searchsorted(np.cumsum(counts[order]), max_students)) + 1  # first prefix reaching the cap
    chosen = np.sort(ids[order[:taken]])
    return ClassSample(school_year, chosen.tolist(), taken, len(ids), int(counts[order[:taken]].sum()), total)


def snapshot_features(
    bind: Connection | Session, school_year: str, dates: dict[int, dt.date], *,
    class_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Features of ``school_year`` as of each snapshot date (``{week: date}``) in one pass over the year's events.

    One row per student and snapshot (index ``student_id``, column ``snapshot_week``), equal to
    ``build_features(bind, date, school_year=school_year)`` of each date: the same query text, whose aggregates are
    grouped by snapshot as well as by student (an event counts towards every snapshot on or after its date).
    With ``class_ids``, only the students of those classes (see ``sample_classes``): their rows are the same.
    """
    weeks = sorted(dates)
    params: dict[str, object] = {
        "weeks": [int(w) for w in weeks], "as_of": max(dates.values()),
        "school_year": school_year, "year_start": year_start(school_year),
        "prior_start": year_start(f"{int(school_year[:4]) - 1}-{school_year[:4]}"),
    }
    for k, week in enumerate(weeks):
        params |= {f"week_{k}": int(week), f"as_of_{k}": dates[week],
                   f"recent_start_{k}": dates[week] - dt.timedelta(days=RECENT_DAYS)}
    if class_ids is None:
        sql = _feature_sql(len(weeks))
    else:  # the sampled students' events only (joined first): the aggregates read a fraction of the year
        params["class_ids"] = [int(c) for c in class_ids]
        sql = _feature_sql(len(weeks), class_filter=_PRIMARY_CLASS_FILTER, event_join="JOIN cur USING (student_id)")
    return _typed(_copy_out(_conn(bind), sql, params))


def year_score_dates(bind: Connection | Session, school_year: str) -> list[dt.date]:
    """The distinct score dates of ``school_year``, in order (one per week for a weekly gradebook)."""
    sql = text("SELECT DISTINCT date FROM scores WHERE date >= :start AND date < :end ORDER BY date")
    params = {"start": year_start(school_year), "end": year_end(school_year)}
    return [row[0] for row in _conn(bind).execute(sql, params)]


def snapshot_dates(
    bind: Connection | Session, school_year: str, weeks: Sequence[int] = SNAPSHOT_WEEKS
) -> dict[int, dt.date]:
    """For each snapshot week the year has reached, its date: the week-th score date of ``school_year``."""
    dates = year_score_dates(bind, school_year)
    return {int(w): dates[w - 1] for w in weeks if 1 <= w <= len(dates)}


def training_rows(
    bind: Connection | Session, pass_threshold: float, *, weeks: Sequence[int] = SNAPSHOT_WEEKS,
    years: Sequence[str] | None = None, max_students: int | None = None, seed: int = 0,
) -> pd.DataFrame:
    """Training rows of past school years: features as of each snapshot week, labelled with that year's outcome.

    Parameters
    ----------
    bind : a SQLAlchemy connection or session.
    pass_threshold : a final grade below this is the positive label ``at_risk``.
    weeks : the snapshot weeks of each year (default ``SNAPSHOT_WEEKS``).
    years : the school years to use (default: every past year); the current year is always refused.
    max_students : per year, the rows of whole classes of about this many students only (``sample_classes``,
        drawn with ``seed``); None (default) or a smaller year: every class.

    ``frame.attrs["classes"]`` lists, per year, how many classes and students of how many gave rows.
    """
    current = current_school_year(bind)
    chosen = list(years) if years is not None else past_school_years(bind)
    frames, samples = [], []
    for school_year in chosen:
        if school_year == current:
            raise ValueError(f"{school_year} is the current school year: its outcomes are not known yet")
        dates = snapshot_dates(bind, school_year, weeks)
        if not dates:
            continue
        sample = sample_classes(bind, school_year, max_students, seed)
        samples.append(sample.as_dict())
        # One pass over the year's events for all its snapshots (not one query per snapshot: 12 passes at 100k).
        features = snapshot_features(bind, school_year, dates, class_ids=sample.class_ids)
        week_of_row = features.pop("snapshot_week").to_numpy()
        outcomes = final_outcomes(bind, school_year)
        for week, as_of in dates.items():
            frame = _labelled(features[week_of_row == week], outcomes, as_of, pass_threshold)
            frames.append(frame.assign(school_year=school_year, snapshot_week=week, as_of=as_of))
    if not frames:
        return pd.DataFrame(columns=["school_year", "snapshot_week", "as_of", "at_risk"])
    out = pd.concat(frames)
    out.attrs["classes"] = samples
    return out


def score_dates(bind: Connection | Session) -> list[dt.date]:
    """The distinct score dates of the current school year, in order."""
    current = current_school_year(bind)
    return year_score_dates(bind, current) if current else []


def default_training_as_of(bind: Connection | Session, fraction: float = TRAIN_FRACTION) -> dt.date | None:
    """The score date at ``fraction`` of the current year's score dates (None when there are no scores)."""
    dates = score_dates(bind)
    if not dates:
        return None
    index = max(0, int(np.ceil(fraction * len(dates))) - 1)
    return dates[index]


def latest_data_date(bind: Connection | Session) -> dt.date | None:
    """The most recent date with attendance or scores (default date for scoring)."""
    sql = text("SELECT greatest((SELECT max(date) FROM attendance), (SELECT max(date) FROM scores))")
    return _conn(bind).execute(sql).scalar()
