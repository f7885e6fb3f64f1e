"""The at-risk list: the scored students of the viewer's scope, its CSV export, the tiers, and one student's
stored risk with its explanation.

Everything here reads the active model's latest stored scoring run (:func:`ml.registry.scored_run`) and the
tier stored with each prediction by that run's cut-offs; nothing recomputes a tier. Until a model is
active, or until it has scored anyone, every function raises the same ``Unavailable`` sentence
(``NO_ACTIVE_MODEL``, ``NOT_SCORED_YET``) that every surface shows as it is. Scope is applied in SQL: a
list keeps only the viewer's classes; one student's risk takes a :class:`services.students.StudentInScope`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, aliased

from core.errors import DomainError, InvalidInput, NotFound, Unavailable
from db.models import Prediction, SchoolClass, Student, StudentIndicator, StudentSummary
from db.models import ScoringRun as ScoringRunRow
from ml.explain import explain_one
from ml.registry import NO_ACTIVE_MODEL, NOT_SCORED_YET, ScoringRunInfo, load_model, scored_run
from ml.score import HIGH, LOW, MODERATE, TIERS
from services.csv_safety import neutralise
from services.indicators import check_filter, flags_of, indicator_condition, words_of
from services.interventions import open_clause, overdue_clause, summary_words
from services.queries import summary_filters
from services.scope import Filters, Viewer
from services.students import StudentInScope, require_in_scope

__all__ = [  # the tier words and the "no scores" sentences are ml's, re-exported for the dashboard
    "BOM", "CSV_COLUMNS", "CsvExport", "DEFAULT_LIMIT", "HIGH", "LOW", "MAX_LIMIT", "MODERATE", "NOT_SCORED_YET",
    "NO_ACTIVE_MODEL", "SORT_KEYS", "TIERS", "RiskExplanation", "RiskHistory", "RiskPoint", "RiskRow", "RiskTable",
    "ScoringRun", "StudentRisk", "change_words", "check_tier", "explain_student", "export_risk_csv", "iter_risk_rows",
    "percent_words", "risk_history", "risk_table", "risk_words", "run_words", "student_risk",
]

ScoringRun = ScoringRunInfo
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
BOM = "\ufeff"  # the UTF-8 byte-order mark: Excel then reads the CSV as UTF-8
SORT_KEYS = ("probability", "tier", "name", "class", "grade", "latest_score", "attendance")
CSV_COLUMNS = ("student_id", "source_id", "name", "class", "grade", "risk", "tier", "indicators", "reason_1",
               "reason_2", "reason_3", "latest_score", "attendance_percent", "scored_as_of", "model_trained_on",
               "risk_probability", "risk_low", "risk_high")


ROSE_BY = 0.005  # "rose since the last run": up by at least one whole percentage point once rounded


def _whole(probability: float) -> int:
    """A probability as whole percentage points, rounded half up."""
    return int(math.floor(probability * 100 + 0.5))


def percent_words(probability: float) -> str:
    """A probability in whole percentages, never 0 % or 100 %: ``62 %``, ``under 1 %``, ``over 99 %``."""
    points = _whole(probability)
    if points < 1:
        return "under 1 %"
    if points > 99:
        return "over 99 %"
    return f"{points} %"


def _range_words(low: float, high: float) -> str | None:
    lo, hi = _whole(low), _whole(high)
    if lo == hi:
        return None
    if lo < 1 and hi > 99:
        return "likely anywhere from under 1 % to over 99 %"
    if lo < 1:
        return "likely under 1 %" if hi < 1 else f"likely under {hi} %"
    if hi > 99:
        return "likely over 99 %" if lo > 99 else f"likely over {lo} %"
    return f"likely {lo}-{hi} %"


def risk_words(probability: float, low: float | None = None, high: float | None = None) -> str:
    """A risk in words for every surface: ``62 %, likely 48-75 %`` (whole percentages; ``under 1 %``/``over 99 %``).

    Parameters
    ----------
    probability : the stored probability.
    low, high : its stored interval; omitted, or as wide as one whole point, the range is left out.
    """
    words = percent_words(probability)
    band = None if low is None or high is None else _range_words(low, high)
    return words if band is None else f"{words}, {band}"


def change_words(probability: float, previous: float | None, previous_tier: str | None, tier: str) -> str:
    """The change since the previous run in words: ``▲ 5 pts``, ``▼ 3 pts``, ``no change``, or ``new``.

    ``new`` marks a student first scored in this run, or High in this run and not in the previous one.
    """
    if previous is None or (tier == HIGH and previous_tier != HIGH):
        return "new"
    points = _whole(probability) - _whole(previous)
    if points > 0:
        return f"▲ {points} pts"
    if points < 0:
        return f"▼ {-points} pts"
    return "no change"


def date_words(day: dt.date, *, year: bool = True) -> str:
    """A date as teachers write it: ``1 June 2026`` (``1 June`` without the year)."""
    return f"{day.day} {day:%B %Y}" if year else f"{day.day} {day:%B}"


def run_words(run: ScoringRun) -> str:
    """Which run a page shows, in plain words: ``scored on 1 June 2026 by the model trained on 3 May``.

    The model is named by the day it was trained (its year only when it differs from the scoring date's), never
    by its version string.
    """
    scored = f"scored on {date_words(run.as_of)}"
    trained = run.model_trained
    if trained is None:
        return scored
    return f"{scored} by the model trained on {date_words(trained, year=trained.year != run.as_of.year)}"


def check_tier(tier: str | None) -> None:
    """``InvalidInput`` unless ``tier`` is None or one of ``TIERS``."""
    if tier is not None and tier not in TIERS:
        raise InvalidInput(f"Unknown tier {tier[:40]!r}: choose one of {', '.join(TIERS)}.")


# --------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class RiskRow:
    """One scored student: their stored probability and tier, the reasons in words, their latest numbers."""

    student_id: int
    source_id: str
    name: str | None
    class_id: int | None
    class_name: str | None
    grade_level: int | None
    probability: float
    tier: str
    reasons: list[str]
    latest_score: float | None
    attendance: float | None
    as_of: dt.date
    low: float | None = None
    high: float | None = None
    previous: float | None = None  # the probability in the same model's previous run (None: not scored then)
    previous_tier: str | None = None
    intervention: str | None = None  # the open interventions in words (services.interventions.summary_words)
    indicators: tuple[str, ...] = ()  # the keys of the indicators that are on (services.indicators.KEYS)

    @property
    def words(self) -> str:
        """The risk in words with its interval, e.g. ``62 %, likely 48-75 %``."""
        return risk_words(self.probability, self.low, self.high)

    @property
    def change(self) -> str:
        """The change since the previous run in words (``▲ 5 pts``, ``▼ 3 pts``, ``no change``, ``new``)."""
        return change_words(self.probability, self.previous, self.previous_tier, self.tier)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {
            "student_id": self.student_id, "source_id": self.source_id, "name": self.name, "class_id": self.class_id,
            "class_name": self.class_name, "grade_level": self.grade_level, "probability": self.probability,
            "low": self.low, "high": self.high, "risk": self.words, "previous_probability": self.previous,
            "change": self.change, "tier": self.tier, "reasons": list(self.reasons),
            "latest_score": self.latest_score, "attendance": self.attendance, "as_of": self.as_of.isoformat(),
            "intervention": self.intervention,
            "indicators": list(self.indicators),
        }


@dataclass(frozen=True)
class RiskTable:
    """One page of the at-risk list, the number of matching students, the count per tier and the run it shows."""

    items: list[RiskRow]
    total: int
    limit: int
    offset: int
    run: ScoringRun
    tier_counts: dict[str, int] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        """The version of the model that scored the run."""
        return self.run.model_version


Previous = aliased(Prediction, name="previous")  # the same student's prediction in the model's previous run
DETAIL_COLUMNS = (
    Prediction.student_id, Student.source_id, Student.name, StudentSummary.class_id, SchoolClass.name,
    StudentSummary.grade_level, Prediction.probability, Prediction.tier, Prediction.reasons, StudentSummary.latest_score,
    StudentSummary.attendance_mean, Prediction.as_of, Prediction.low, Prediction.high, Previous.probability,
    Previous.tier, StudentIndicator.chronic_absence, StudentIndicator.course_performance, StudentIndicator.low_study,
)


def _of_run(columns: tuple[Any, ...], run: ScoringRun, *, student: bool = False, klass: bool = False,
            previous: bool = False, indicators: bool = False) -> Select:
    """The run's predictions joined to the summaries (and names, the previous run's prediction, indicators on demand)."""
    ss = StudentSummary
    stmt = select(*columns).select_from(Prediction).join(ss, ss.student_id == Prediction.student_id)
    if student:
        stmt = stmt.join(Student, Student.id == Prediction.student_id)
    if klass:
        stmt = stmt.outerjoin(SchoolClass, SchoolClass.id == ss.class_id)
    if previous:
        stmt = stmt.outerjoin(Previous, (Previous.student_id == Prediction.student_id)
                              & (Previous.scoring_run_id == (run.previous_id or 0)))
    if indicators or columns is DETAIL_COLUMNS:
        stmt = stmt.outerjoin(StudentIndicator, StudentIndicator.student_id == Prediction.student_id)
    return stmt.where(Prediction.model_version_id == run.model_version_id, Prediction.scoring_run_id == run.id)


WORKFLOW_FILTERS = ("unsupported", "overdue")
"""``unsupported``: High without an open (planned or active) intervention; ``overdue``: an open intervention's
review date has passed."""


def check_workflow(workflow: str | None) -> None:
    """``InvalidInput`` unless ``workflow`` is None or one of ``WORKFLOW_FILTERS``."""
    if workflow is not None and workflow not in WORKFLOW_FILTERS:
        raise InvalidInput(f"Unknown intervention filter {workflow[:40]!r}: choose one of {', '.join(WORKFLOW_FILTERS)}.")


def _workflow_clause(workflow: str | None) -> list[ColumnElement[bool]]:
    if workflow == "unsupported":
        return [Prediction.tier == HIGH, ~open_clause(Prediction.student_id)]
    if workflow == "overdue":
        return [overdue_clause(Prediction.student_id)]
    return []


def _scoped(columns: tuple[Any, ...], run: ScoringRun, viewer: Viewer, filters: Filters, *, student: bool = False,
            klass: bool = False, rose: bool = False, workflow: str | None = None,
            indicator: str | None = None) -> Select:
    """The run's predictions in the viewer's scope and the filters (``rose``: only those up since the last run;
    ``workflow``: one of ``WORKFLOW_FILTERS``; ``indicator``: a filter of
    :func:`services.indicators.indicator_condition`)."""
    stmt = _of_run(columns, run, student=student, klass=klass, previous=rose or columns is DETAIL_COLUMNS,
                   indicators=indicator is not None)
    if indicator is not None:
        stmt = stmt.where(indicator_condition(indicator))
    if rose:
        stmt = stmt.where(Prediction.probability - Previous.probability >= ROSE_BY)
    return stmt.where(*summary_filters(viewer, filters), *_workflow_clause(workflow))


def _table_select(run: ScoringRun, viewer: Viewer, filters: Filters, rose: bool = False,
                  workflow: str | None = None, indicator: str | None = None) -> Select:
    return _scoped(DETAIL_COLUMNS, run, viewer, filters, student=True, klass=True, rose=rose, workflow=workflow,
                   indicator=indicator)


def _order(sort: str, descending: bool) -> list[ColumnElement]:
    columns = {
        "probability": Prediction.probability, "tier": Prediction.probability, "name": Student.name,
        "class": SchoolClass.name, "grade": StudentSummary.grade_level, "latest_score": StudentSummary.latest_score,
        "attendance": StudentSummary.attendance_mean,
    }
    if sort not in columns:
        raise InvalidInput(f"Unknown sort column {sort[:40]!r}: choose one of {', '.join(SORT_KEYS)}.")
    column = columns[sort]
    first = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return [first, Prediction.probability.desc(), Prediction.student_id]


def _risk_row(row: Any) -> RiskRow:
    reasons = [str(r.get("text", "")) for r in (row[8] or []) if isinstance(r, dict)]
    return RiskRow(
        student_id=int(row[0]), source_id=row[1], name=row[2], class_id=row[3], class_name=row[4], grade_level=row[5],
        probability=float(row[6]), tier=row[7], reasons=reasons, latest_score=row[9], attendance=row[10], as_of=row[11],
        low=row[12], high=row[13], previous=row[14], previous_tier=row[15], indicators=flags_of(tuple(row[16:19])),
    )


def risk_table(
    *,
    session: Session,
    viewer: Viewer,
    filters: Filters | None = None,
    tier: str | None = None,
    sort: str = "probability",
    descending: bool = True,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    rose: bool = False,
    workflow: str | None = None,
    indicator: str | None = None,
) -> RiskTable:
    """One page of the viewer's scored students (the active model's latest run), sorted in SQL, with the count per tier.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : who asks; teachers see only their classes.
    filters : the filter bar (school, grade, class, study band, minimum attendance; dates do not apply).
    tier : ``High``, ``Moderate`` or ``Low``; None for every tier.
    sort, descending : one of ``SORT_KEYS``; ties go to the higher risk, then the student id.
    limit, offset : the page (limit 1 to ``MAX_LIMIT``, default ``DEFAULT_LIMIT``).
    rose : only students whose risk rose (by a whole point or more) since the model's previous run.
    workflow : ``unsupported`` (High without an open intervention) or ``overdue`` (an intervention's review passed).
    indicator : only students matching this indicator filter (``services.indicators.FILTER_LABELS`` or a segment).
    """
    check_tier(tier)
    check_workflow(workflow)
    check_filter(indicator)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"Page out of range: limit must be 1-{MAX_LIMIT} and offset at least 0.")
    order = _order(sort, descending)
    run = scored_run(session)
    filters = filters or Filters()
    counted = _scoped((Prediction.tier, func.count()), run, viewer, filters, rose=rose,
                      workflow=workflow, indicator=indicator).group_by(Prediction.tier)
    counts = {t: 0 for t in TIERS} | dict(session.execute(counted).tuples().all())
    total = counts[tier] if tier is not None else sum(counts.values())
    # Sort and page the ids alone (narrow rows), then read the details of the page's rows only.
    keys = _scoped((Prediction.student_id,), run, viewer, filters, student=sort == "name", klass=sort == "class",
                   rose=rose, workflow=workflow, indicator=indicator)
    if tier is not None:
        keys = keys.where(Prediction.tier == tier)
    page = list(session.execute(keys.order_by(*order).limit(limit).offset(offset)).scalars())
    details = session.execute(_table_select(run, viewer, filters, rose, workflow, indicator)
                              .where(Prediction.student_id.in_(page)))
    words = summary_words(session, page)
    by_id = {int(r[0]): replace(_risk_row(r), intervention=words.get(int(r[0]))) for r in details}
    return RiskTable([by_id[i] for i in page if i in by_id], int(total), limit, offset, run, counts)


def _iter_rows(session: Session, run: ScoringRun, viewer: Viewer, filters: Filters | None, tier: str | None,
               sort: str, descending: bool, indicator: str | None = None,
               workflow: str | None = None) -> Iterator[RiskRow]:
    check_tier(tier)
    check_filter(indicator)
    check_workflow(workflow)
    order = _order(sort, descending)
    stmt = _table_select(run, viewer, filters or Filters(), workflow=workflow, indicator=indicator)
    if tier is not None:
        stmt = stmt.where(Prediction.tier == tier)
    for row in session.execute(stmt.order_by(*order).execution_options(yield_per=5_000)):
        yield _risk_row(row)


def iter_risk_rows(
    *, session: Session, viewer: Viewer, filters: Filters | None = None, tier: str | None = None,
    sort: str = "probability", descending: bool = True, indicator: str | None = None, workflow: str | None = None,
) -> Iterator[RiskRow]:
    """Every matching row of the at-risk list (no paging), streamed from the server in batches.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer, filters, tier, sort, descending, indicator, workflow : as for :func:`risk_table`.
    """
    return _iter_rows(session, scored_run(session), viewer, filters, tier, sort, descending, indicator, workflow)


def _text_id(source_id: str) -> str:
    """A source id a spreadsheet would turn into a number (``00123`` -> 123) gets a visible ``'`` in front."""
    return "'" + source_id if source_id.isdigit() and (source_id.startswith("0") or len(source_id) > 15) else source_id


def _fraction(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _csv_line(row: RiskRow, trained: dt.date | None) -> list[Any]:
    reasons = (row.reasons + ["", "", ""])[:3]
    attendance = None if row.attendance is None else round(row.attendance * 100)  # a whole percent, like the screen
    return [neutralise(v) for v in (
        row.student_id, _text_id(row.source_id), row.name, row.class_name, row.grade_level, row.words, row.tier,
        words_of(row.indicators) if row.indicators else "",
        *reasons, row.latest_score, attendance, row.as_of.isoformat(), None if trained is None else trained.isoformat(),
        _fraction(row.probability), _fraction(row.low), _fraction(row.high),
    )]


class CsvExport(NamedTuple):
    """An export's text (UTF-8 byte-order mark first), its number of students and the scoring date of its run."""

    text: str
    rows: int
    as_of: dt.date


def export_risk_csv(
    *, session: Session, viewer: Viewer, filters: Filters | None = None, tier: str | None = None,
    sort: str = "probability", descending: bool = True, indicator: str | None = None, workflow: str | None = None,
) -> CsvExport:
    """The whole filtered, scoped at-risk list as CSV text (header first), written the way spreadsheets open it.

    The text starts with a UTF-8 byte-order mark, so Excel reads accented names as UTF-8. ``risk`` is the
    screen's words (``62 %, likely 48-75 %``); ``risk_probability``, ``risk_low`` and ``risk_high`` keep the
    stored numbers (fractions, 4 places) for sorting and charts. The model is named by the day it was trained
    (``model_trained_on``), never by a version string. Attendance is a whole percent (``86``, as the screen's "86 %"). A source id that a spreadsheet would read as a number and so lose
    its leading zeros (``00123``) is written ``'00123``: the quote is visible, but the id's digits stay whole
    and it is never a formula (``="00123"`` would be one, which the CSV-injection rule of
    :mod:`services.csv_safety` forbids); a program reading the file drops one leading ``'``. ``student_id``
    (the product's own number) needs no such care.

    Parameters
    ----------
    session : an open session; the caller owns the transaction (and records the export in the audit log).
    viewer, filters, tier, sort, descending, indicator, workflow : as for :func:`risk_table`.
    """
    run = scored_run(session)
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for row in _iter_rows(session, run, viewer, filters, tier, sort, descending, indicator, workflow):
        writer.writerow(_csv_line(row, run.model_trained))
        n += 1
    return CsvExport(buffer.getvalue(), n, run.as_of)


# --------------------------------------------------------------------------- one student's stored risk and why


@dataclass(frozen=True)
class RiskExplanation:
    """One student's stored probability and tier, and the exact SHAP contributions behind them, in words."""

    student_id: int
    model_version: str
    as_of: dt.date
    probability: float
    tier: str
    base_value: float
    margin: float
    space: str
    contributions: dict[str, float]
    values: dict[str, Any]
    reasons: list[dict[str, Any]] = field(default_factory=list)
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (with ``risk``: the probability and its interval in words)."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["risk"] = risk_words(self.probability, self.low, self.high)
        return data


@dataclass(frozen=True)
class StudentRisk:
    """What a profile shows of one student's risk: the run, the stored row and its explanation, or why not."""

    run: ScoringRun | None
    row: RiskRow | None
    explanation: RiskExplanation | None
    note: str | None


def _stored_row(session: Session, run: ScoringRun, student: StudentInScope) -> RiskRow:
    stmt = _of_run(DETAIL_COLUMNS, run, student=True, klass=True, previous=True).where(
        Prediction.student_id == student.student_id)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"This student was not scored in the latest run (as of {run.as_of.isoformat()}): "
                       "run `studentperf score` again.")
    return _risk_row(row)


def _explain(session: Session, run: ScoringRun, student: StudentInScope, stored: RiskRow) -> RiskExplanation:
    """The SHAP contributions as of the stored score's date, beside the stored probability and tier."""
    model = load_model(session, run.model_version)
    result = explain_one(session, model, student.student_id, stored.as_of, student.class_id)
    return RiskExplanation(
        student_id=student.student_id, model_version=run.model_version, as_of=stored.as_of,
        probability=stored.probability, tier=stored.tier, base_value=result.base_value, margin=result.margin,
        space=result.space, contributions=result.contributions, values=result.values, reasons=result.reasons,
        low=stored.low, high=stored.high,
    )


def explain_student(*, session: Session, viewer: Viewer, student_id: int) -> RiskExplanation:
    """One student's stored probability and tier with the exact SHAP contributions behind them.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : who asks; ``NotFound`` outside their classes (as for a student that does not exist).
    student_id : the student's database id (untrusted).
    """
    student = require_in_scope(session, viewer, student_id)
    run = scored_run(session)
    return _explain(session, run, student, _stored_row(session, run, student))


def student_risk(session: Session, student: StudentInScope, *, explain: bool = True) -> StudentRisk:
    """A checked student's stored risk and (optionally) its explanation; a sentence instead when there is none.

    Parameters
    ----------
    session : an open session; nothing is written.
    student : a student the viewer may see (from :func:`services.students.require_in_scope`).
    explain : also compute the exact SHAP explanation (as of the stored score's date).
    """
    try:
        run = scored_run(session)
        row = _stored_row(session, run, student)
    except (Unavailable, NotFound) as exc:
        return StudentRisk(None, None, None, str(exc))
    if not explain:
        return StudentRisk(run, row, None, None)
    try:
        explanation = _explain(session, run, student, row)
    except DomainError as exc:
        return StudentRisk(run, row, None, f"The reasons cannot be worked out right now: {exc}")
    return StudentRisk(run, row, explanation, None)


# --------------------------------------------------------------------------- one student's risk over time


@dataclass(frozen=True)
class RiskPoint:
    """One scoring run's stored risk of a student: the features' date, probability, interval and tier."""

    run_id: int
    as_of: dt.date
    scored_at: dt.datetime
    probability: float
    low: float
    high: float
    tier: str

    @property
    def words(self) -> str:
        """The risk in words with its interval."""
        return risk_words(self.probability, self.low, self.high)


@dataclass(frozen=True)
class RiskHistory:
    """A student's risk in every kept run of the active model (oldest first) and when it first flagged them High."""

    points: list[RiskPoint] = field(default_factory=list)
    first_high: dt.date | None = None
    other_models: int = 0  # the student's runs by models other than the active one (not shown)

    @property
    def caption(self) -> str | None:
        """Says that only the current model's runs are shown, when a previous model also scored the student."""
        if not self.other_models:
            return None
        runs = f"{self.other_models} earlier run{'s' if self.other_models != 1 else ''}"
        return (f"Only the current model's runs are shown: {runs} by a previous model "
                "used other rules, so they are left out.")

    @property
    def sentence(self) -> str:
        """When the student was first flagged High, in words (or that they never were)."""
        if not self.points:
            return "No risk history yet."
        if self.first_high is None:
            return f"Never flagged {HIGH} in {len(self.points)} scoring run{'s' if len(self.points) != 1 else ''}."
        return f"First flagged {HIGH} on {self.first_high.day} {self.first_high:%b %Y}."


def risk_history(session: Session, student: StudentInScope) -> RiskHistory:
    """A checked student's stored risk in every run of the active model, oldest first (empty when nothing is scored).

    Parameters
    ----------
    session : an open session; nothing is written.
    student : a student the viewer may see (from :func:`services.students.require_in_scope`).
    """
    try:
        run = scored_run(session)
    except Unavailable:
        return RiskHistory()
    r = ScoringRunRow
    stmt = (
        select(r.id, r.as_of, r.created_at, Prediction.probability, Prediction.low, Prediction.high, Prediction.tier)
        .join(r, r.id == Prediction.scoring_run_id)
        .where(Prediction.student_id == student.student_id, Prediction.model_version_id == run.model_version_id,
               r.id <= run.id)
        .order_by(r.id)
    )
    points = [RiskPoint(*row) for row in session.execute(stmt)]
    first_high = next((p.as_of for p in points if p.tier == HIGH), None)
    others = session.scalar(select(func.count()).select_from(Prediction).where(
        Prediction.student_id == student.student_id, Prediction.model_version_id != run.model_version_id))
    return RiskHistory(points, first_high, int(others or 0))
