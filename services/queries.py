"""The one place that builds the scoped, filtered student set every analytics service reads.

:func:`student_metrics` returns one row per student in the viewer's scope that matches the filters,
with the per-student measures in :class:`M` columns. Without a date range it reads
``student_summary``; with one it subtracts running sums of ``student_week_summary``. Every builder applies
``viewer.class_clause(...)``: a teacher's query never reaches another class, whatever the filters say.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session

from db.models import (
    ClassWeekSummary,
    DerivationRule,
    SchoolClass,
    StudentSummary,
    StudentWeekSummary,
    SummaryCalendar,
)
from services.scope import Filters, Viewer

SS = StudentSummary
CHRONIC_DEFAULT = 0.90
SPORTS = "sports"


class M:
    """Column names of :func:`student_metrics` rows."""

    STUDENT_ID = "student_id"
    SCHOOL_ID = "school_id"
    CLASS_ID = "class_id"
    GRADE = "grade_level"
    ATTENDANCE = "attendance"  # mean weekly attendance rate, 0-1
    STUDY_HOURS = "study_hours"  # mean weekly study hours
    SPORTS_RATE = "sports_rate"  # share of weeks with sports, 0-1
    SCORE_MEAN = "score_mean"  # mean of the weekly running grades
    SCORE = "score"  # latest running grade (the outcome)
    STUDY_BAND = "study_band"
    SPORTS_LEVEL = "sports_level"
    CHRONIC = "chronically_absent"


@dataclass(frozen=True)
class Band:
    """One labelled interval of a derivation rule: ``lower <= v < upper`` (None is open)."""

    label: str
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Rules:
    """The derivation rules the analytics need, read from ``derivation_rules``."""

    study_bands: tuple[Band, ...]
    sports_levels: tuple[Band, ...]
    chronic_below: float = CHRONIC_DEFAULT


WORK_MEM = "32MB"


def sort_in_memory(session: Session) -> None:
    """Let this transaction sort a school's students in memory, without JIT compilation (``SET LOCAL``).

    JIT costs 50-100 ms per query here and never pays back on a few hundred thousand rows.
    """
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    session.execute(text("SET LOCAL jit = off"))


STUDY_BIN, SPORTS_LEVEL, CHRONIC_ABSENCE = "study_bin", "sports_level", "chronic_absence"
"""Kinds of ``derivation_rules``: the editable source of the study bands, sports levels and chronic absence."""


def _rule_bands(session: Session, *kinds: str) -> dict[str, tuple[Band, ...]]:
    """The rules of these kinds, each kind's in their order."""
    rows = session.execute(
        select(DerivationRule.kind, DerivationRule.label, DerivationRule.lower, DerivationRule.upper)
        .where(DerivationRule.kind.in_(kinds))
        .order_by(DerivationRule.kind, DerivationRule.ordinal, DerivationRule.id)
    ).all()
    return {kind: tuple(Band(r.label, r.lower, r.upper) for r in rows if r.kind == kind) for kind in kinds}


def study_bands(session: Session) -> tuple[Band, ...]:
    """The study bands (hours per week), in order, as the derivation rules define them."""
    return _rule_bands(session, STUDY_BIN)[STUDY_BIN]


def load_rules(session: Session) -> Rules:
    """Read the study bands, sports levels and chronic-absence threshold; sorts of this transaction stay in memory."""
    sort_in_memory(session)
    bands = _rule_bands(session, STUDY_BIN, SPORTS_LEVEL, CHRONIC_ABSENCE)
    chronic = next((b.upper for b in bands[CHRONIC_ABSENCE] if b.upper is not None), CHRONIC_DEFAULT)
    return Rules(study_bands=bands[STUDY_BIN], sports_levels=bands[SPORTS_LEVEL], chronic_below=chronic)


def _chained(bands: tuple[Band, ...]) -> bool:
    """True when each band starts where the previous one ends (one ``width_bucket`` can place a value)."""
    return len(bands) >= 2 and all(a.upper is not None and a.upper == b.lower for a, b in zip(bands, bands[1:], strict=False))


def band_case(value: ColumnElement, bands: tuple[Band, ...]) -> ColumnElement[str]:
    """The label of the band ``value`` falls in (NULL when none or when value is NULL).

    Chained bands use one ``width_bucket`` over the boundaries, so ``value`` (often a long expression)
    is evaluated once per row instead of once per ``CASE`` branch.
    """
    if _chained(bands):
        edges = ([bands[0].lower] if bands[0].lower is not None else []) + [b.upper for b in bands[:-1]]
        edges += [bands[-1].upper] if bands[-1].upper is not None else []
        labels = ([None] if bands[0].lower is not None else []) + [b.label for b in bands]
        labels += [None] if bands[-1].upper is not None else []
        bucket = func.width_bucket(cast(value, Float), cast(array([float(e) for e in edges]), ARRAY(Float)))
        return array([literal(label, String) if label is not None else null() for label in labels], type_=String)[bucket + 1]
    whens = []
    for band in bands:
        conds = [value >= band.lower] if band.lower is not None else []
        conds += [value < band.upper] if band.upper is not None else []
        whens.append((and_(value.is_not(None), *conds), literal(band.label)))
    return case(*whens, else_=null()) if whens else null()


def has_date_range(filters: Filters) -> bool:
    """True when the filters restrict dates (event tables must be read, not the year summary)."""
    return filters.date_from is not None or filters.date_to is not None


def only_class_filters(filters: Filters) -> bool:
    """True when no per-student filter (study band, attendance) is set: class-week sums answer trends."""
    return filters.study_band is None and filters.min_attendance is None


def date_clause(column: ColumnElement, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions keeping ``column`` inside the filters' date range."""
    conds: list[ColumnElement[bool]] = []
    if filters.date_from is not None:
        conds.append(column >= filters.date_from)
    if filters.date_to is not None:
        conds.append(column <= filters.date_to)
    return conds


def _class_conditions(viewer: Viewer, filters: Filters, *, class_id, school_id, grade) -> list[ColumnElement[bool]]:
    conds = [viewer.class_clause(class_id)]
    if filters.school_id is not None:
        conds.append(school_id == filters.school_id)
    if filters.grade_level is not None:
        conds.append(grade == filters.grade_level)
    if filters.class_id is not None:
        conds.append(class_id == filters.class_id)
    return conds


def _latest_years() -> Select:
    """Each school's current school year: its latest year with classes (rows school_id, school_year)."""
    return select(SchoolClass.school_id, func.max(SchoolClass.school_year)).group_by(SchoolClass.school_id)


def current_students() -> ColumnElement[bool]:
    """``student_summary`` rows of each school's current school year (its latest year with classes).

    A school with a history keeps last year's leavers and graduates in ``student_summary`` (their latest year is a
    past one); today's figures, lists and alerts are about the students on roll now.
    """
    return or_(SS.school_year.is_(None), tuple_(SS.school_id, SS.school_year).in_(_latest_years()))  # no year: no history


def current_classes() -> ColumnElement[bool]:
    """``classes`` rows of each school's current school year (the classes the filter bar offers)."""
    return tuple_(SchoolClass.school_id, SchoolClass.school_year).in_(_latest_years())


def scoped_summary(viewer: Viewer, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on ``student_summary`` for the viewer's scope, the current school year and the school/grade/class
    filters."""
    return [*_class_conditions(viewer, filters, class_id=SS.class_id, school_id=SS.school_id, grade=SS.grade_level),
            current_students()]


def summary_filters(viewer: Viewer, filters: Filters) -> list[ColumnElement[bool]]:
    """Conditions on ``student_summary`` for the viewer's scope and every filter but the dates (the year's measures)."""
    conds = scoped_summary(viewer, filters)
    if filters.study_band is not None:
        conds.append(SS.study_bin == filters.study_band)
    if filters.min_attendance is not None:
        conds.append(SS.attendance_mean >= filters.min_attendance)
    return conds


def scoped_classes(viewer: Viewer, filters: Filters) -> Select:
    """Ids of the classes in the viewer's scope matching the school/grade/class filters: of each school's current
    school year unless the filters name a date range (which may reach back into past years) or a class."""
    c = SchoolClass
    conds = _class_conditions(viewer, filters, class_id=c.id, school_id=c.school_id, grade=c.grade_level)
    if not has_date_range(filters) and filters.class_id is None:
        conds.append(current_classes())
    return select(c.id).where(*conds)


def _summary_metrics(viewer: Viewer, filters: Filters) -> Select:
    return select(
        SS.student_id.label(M.STUDENT_ID),
        SS.school_id.label(M.SCHOOL_ID),
        SS.class_id.label(M.CLASS_ID),
        SS.grade_level.label(M.GRADE),
        SS.attendance_mean.label(M.ATTENDANCE),
        SS.study_hours_mean.label(M.STUDY_HOURS),
        SS.sports_rate.label(M.SPORTS_RATE),
        SS.score_mean.label(M.SCORE_MEAN),
        SS.latest_score.label(M.SCORE),
        SS.study_bin.label(M.STUDY_BAND),
        SS.sports_level.label(M.SPORTS_LEVEL),
        SS.chronically_absent.label(M.CHRONIC),
    ).where(*scoped_summary(viewer, filters))


def _calendar_date(filters: Filters, *, before_start: bool) -> ColumnElement:
    """The last calendar date ``<= date_to`` (or ``< date_from`` with ``before_start``), as a scalar subquery."""
    cal = SummaryCalendar.date
    if before_start:
        return select(func.max(cal)).where(cal < filters.date_from).scalar_subquery()
    return select(func.max(cal)).where(*([cal <= filters.date_to] if filters.date_to is not None else [])).scalar_subquery()


def _range_diff(hi, lo, column: str) -> ColumnElement:
    """``cum(b') - cum(a')`` of one running column (no row before the range: zero)."""
    if lo is None:
        return hi.c[column]
    return hi.c[column] - func.coalesce(lo.c[column], 0)


def _range_mean(hi, lo, total: str, count: str) -> ColumnElement:
    """Mean over the range from running sums, as float; NULL when the range holds no value.

    The difference of the running sums is exact (numeric); only the division is in float8: a numeric
    division costs about a microsecond, and the filters and bands evaluate the mean several times per row.
    """
    return cast(_range_diff(hi, lo, total), Float) / cast(func.nullif(_range_diff(hi, lo, count), 0), Float)


def _event_metrics(viewer: Viewer, filters: Filters, rules: Rules) -> Select:
    """Per-student measures over the date range from two rows of ``student_week_summary`` per student."""
    hi = StudentWeekSummary.__table__.alias("hi")
    lo = StudentWeekSummary.__table__.alias("lo") if filters.date_from is not None else None
    att = _range_mean(hi, lo, "c_att_sum", "c_att_n")
    study = _range_mean(hi, lo, "c_study_sum", "c_study_n")
    sports = _range_mean(hi, lo, "c_sports_sum", "c_sports_n")
    n_scores = _range_diff(hi, lo, "c_score_n")
    query = (
        select(
            SS.student_id.label(M.STUDENT_ID),
            SS.school_id.label(M.SCHOOL_ID),
            SS.class_id.label(M.CLASS_ID),
            SS.grade_level.label(M.GRADE),
            att.label(M.ATTENDANCE),
            study.label(M.STUDY_HOURS),
            sports.label(M.SPORTS_RATE),
            _range_mean(hi, lo, "c_score_sum", "c_score_n").label(M.SCORE_MEAN),
            case((n_scores > 0, hi.c.latest_score), else_=null()).label(M.SCORE),
            band_case(study, rules.study_bands).label(M.STUDY_BAND),
            band_case(sports, rules.sports_levels).label(M.SPORTS_LEVEL),
            cast(att < rules.chronic_below, Boolean).label(M.CHRONIC),
        )
        .join(hi, and_(hi.c.student_id == SS.student_id, hi.c.date == _calendar_date(filters, before_start=False)))
        .where(*scoped_summary(viewer, filters))
    )
    if lo is not None:
        query = query.outerjoin(
            lo, and_(lo.c.student_id == SS.student_id, lo.c.date == _calendar_date(filters, before_start=True))
        )
    counts = [_range_diff(hi, lo, c) > 0 for c in ("c_att_n", "c_score_n", "c_study_n")]
    return query.where(or_(*counts)).offset(0)


def student_metrics(viewer: Viewer, filters: Filters, rules: Rules) -> Select:
    """One row per student in scope matching every filter, with the :class:`M` columns.

    Without a date range the year's ``student_summary`` is read; with one, each student's measures
    over the range are running sums at its end minus those before its start, read from
    ``student_week_summary`` (and bands re-derived with ``rules``). The study-band and attendance
    filters apply to the measures of the same period.
    """
    inner = _event_metrics(viewer, filters, rules) if has_date_range(filters) else _summary_metrics(viewer, filters)
    if only_class_filters(filters):
        return inner
    sub = inner.subquery("metrics")
    conds: list[ColumnElement[bool]] = []
    if filters.study_band is not None:
        conds.append(sub.c[M.STUDY_BAND] == filters.study_band)
    if filters.min_attendance is not None:
        conds.append(sub.c[M.ATTENDANCE] >= filters.min_attendance)
    return select(sub).where(*conds)


def class_week_sums(viewer: Viewer, filters: Filters) -> Select:
    """Weekly means over the scoped classes from ``class_week_summary`` (columns week, attendance, score, study)."""
    c = ClassWeekSummary
    return (
        select(
            c.week.label("week"),
            (func.sum(c.attendance_sum) / func.nullif(func.sum(c.attendance_n), 0)).label("attendance"),
            (func.sum(c.score_sum) / func.nullif(func.sum(c.score_n), 0)).label("score"),
            (func.sum(c.study_sum) / func.nullif(func.sum(c.study_n), 0)).label("study_hours"),
        )
        .where(c.class_id.in_(scoped_classes(viewer, filters)), *date_clause(c.week, filters))
        .group_by(c.week)
        .order_by(c.week)
    )


def student_week_means(students, filters: Filters) -> Select:
    """Weekly mean attendance and score over the students of the ``students`` subquery (columns week, attendance, score).

    Read from the per-date sums of ``student_week_summary``: one row per student and date, no event table.
    """
    w = StudentWeekSummary
    return (
        select(
            w.date.label("week"),
            cast(func.sum(w.att_sum) / func.nullif(func.sum(w.att_n), 0), Float).label("attendance"),
            cast(func.sum(w.score_sum) / func.nullif(func.sum(w.score_n), 0), Float).label("score"),
        )
        .join(students, students.c[M.STUDENT_ID] == w.student_id)
        .where(*date_clause(w.date, filters), (w.att_n + w.score_n) > 0)
        .group_by(w.date)
        .order_by(w.date)
    )
