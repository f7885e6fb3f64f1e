"""The Overview page's questions: headline KPIs, the score distribution and weekly trends.

Every number is computed in SQL over :func:`services.queries.student_metrics` (the viewer's scope
and the filters); only a handful of aggregate rows come back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from core.errors import Unavailable
from db.models import Prediction
from ml.registry import ScoringRunInfo, scored_run
from ml.score import HIGH
from services.queries import (
    M,
    class_week_sums,
    load_rules,
    only_class_filters,
    sort_in_memory,
    student_metrics,
    student_week_means,
)
from services.scope import Filters, Viewer
from services.small_groups import MIN_COMPARE


@dataclass(frozen=True)
class KpiSummary:
    """Headline numbers of the filtered scope; shares are fractions 0-1, None when undefined."""

    n_students: int
    mean_score: float | None
    median_score: float | None
    pass_rate: float | None
    pass_threshold: float
    mean_attendance: float | None
    chronic_share: float | None
    chronic_below: float
    at_risk_share: float | None  # None until the active model has scored someone in the scope
    n_scored: int = 0
    risk_note: str | None = None  # why there is no share: the sentence every risk surface shows

    @property
    def empty(self) -> bool:
        """True when no student matches."""
        return self.n_students == 0


def _scored_run(session: Session) -> tuple[ScoringRunInfo | None, str | None]:
    try:
        return scored_run(session), None
    except Unavailable as exc:
        return None, str(exc)


def kpi_summary(*, session: Session, viewer: Viewer, filters: Filters, pass_threshold: float = 60.0) -> KpiSummary:
    """Students, mean and median score, pass rate, attendance, chronic absence and the share at high risk.

    The share is that of the stored High tier in the active model's latest scoring run
    (:func:`ml.registry.scored_run`); until there is one, ``risk_note`` holds the sentence saying why.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Whose scope to count.
    filters:
        The filter bar's values.
    pass_threshold:
        A latest score at or above this passes (``Settings.pass_threshold``).
    """
    rules = load_rules(session)
    m = student_metrics(viewer, filters, rules).subquery("m")
    score = m.c[M.SCORE]
    run, risk_note = _scored_run(session)
    cols = [
        func.count().label("n"),
        func.avg(score).label("mean"),
        func.percentile_cont(0.5).within_group(score).label("median"),
        func.avg(cast(score >= pass_threshold, Integer)).label("pass_rate"),
        func.avg(m.c[M.ATTENDANCE]).label("attendance"),
        func.avg(cast(m.c[M.CHRONIC], Integer)).label("chronic"),
    ]
    query = select(*cols).select_from(m)
    if run is not None:
        of_run = (Prediction.model_version_id == run.model_version_id) & (Prediction.scoring_run_id == run.id)
        query = query.add_columns(
            func.count(Prediction.student_id).label("scored"),
            func.count(Prediction.student_id).filter(Prediction.tier == HIGH).label("high"),
        ).outerjoin(Prediction, (Prediction.student_id == m.c[M.STUDENT_ID]) & of_run)
    row = session.execute(query).one()._mapping
    n = int(row["n"])
    scored = int(row["scored"]) if run is not None else 0
    return KpiSummary(
        n_students=n,
        mean_score=_num(row["mean"]),
        median_score=_num(row["median"]),
        pass_rate=_num(row["pass_rate"]),
        pass_threshold=pass_threshold,
        mean_attendance=_num(row["attendance"]),
        chronic_share=_num(row["chronic"]),
        chronic_below=rules.chronic_below,
        at_risk_share=(int(row["high"]) / scored) if scored else None,
        n_scored=scored,
        risk_note=risk_note,
    )


def _num(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- distribution


@dataclass(frozen=True)
class ScoreDistribution:
    """Histogram of the latest scores (bins computed in SQL), with moments and a plain note."""

    bins: pd.DataFrame  # columns lower, upper, count
    n: int
    mean: float | None
    median: float | None
    sd: float | None
    skewness: float | None  # Fisher-Pearson g1 (biased), as scipy.stats.skew
    note: str

    @property
    def empty(self) -> bool:
        """True when no student has a score."""
        return self.n == 0


def score_distribution(*, session: Session, viewer: Viewer, filters: Filters, bin_width: float = 5.0) -> ScoreDistribution:
    """The latest scores binned in SQL on ``[0, 100]`` (100 falls in the last bin), with skewness.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Whose scope to count.
    filters:
        The filter bar's values.
    bin_width:
        Width of a bin in score points; 100 must be a multiple of it.
    """
    n_bins = round(100 / bin_width)
    m = student_metrics(viewer, filters, load_rules(session)).subquery("m")
    score = m.c[M.SCORE]
    bucket = func.least(cast(func.floor(score / bin_width), Integer), n_bins - 1).label("bucket")
    counts = dict(
        session.execute(select(bucket, func.count()).where(score.is_not(None)).group_by(bucket)).tuples().all()
    )
    bins = pd.DataFrame(
        {
            "lower": [i * bin_width for i in range(n_bins)],
            "upper": [(i + 1) * bin_width for i in range(n_bins)],
            "count": [int(counts.get(i, 0)) for i in range(n_bins)],
        }
    )
    dev = select(score.label("x"), (score - func.avg(score).over()).label("d")).where(score.is_not(None)).subquery()
    row = session.execute(
        select(
            func.count().label("n"),
            func.avg(dev.c.x).label("mean"),
            func.percentile_cont(0.5).within_group(dev.c.x).label("median"),
            func.stddev_samp(dev.c.x).label("sd"),
            func.avg(dev.c.d * dev.c.d).label("m2"),
            func.avg(dev.c.d * dev.c.d * dev.c.d).label("m3"),
        )
    ).one()
    m2, m3 = _num(row.m2), _num(row.m3)
    skew = m3 / m2**1.5 if m2 and m3 is not None and m2 > 1e-12 else None
    mean, median, n = _num(row.mean), _num(row.median), int(row.n)
    note = skew_note(skew, mean, median) if n >= MIN_COMPARE else (
        f"Too few scores ({n:,}) to describe the shape of the distribution: at least {MIN_COMPARE} are needed.")
    return ScoreDistribution(bins=bins, n=n, mean=mean, median=median, sd=_num(row.sd), skewness=skew, note=note)


def skew_note(skew: float | None, mean: float | None, median: float | None) -> str:
    """A plain sentence on what the skewness means for setting thresholds."""
    if skew is None or mean is None or median is None or math.isnan(skew):
        return "Too few scores to describe the shape of the distribution."
    centre = f"the mean ({mean:.1f}) and median ({median:.1f})"
    if abs(skew) < 0.5:
        return (
            f"Scores are roughly symmetric (skewness {skew:+.2f}): {centre} agree, so a cut-off set "
            "from the average flags about as many students as one set from the median."
        )
    side, tail = ("left", "a tail of low scores") if skew < 0 else ("right", "a tail of high scores")
    return (
        f"Scores are skewed {side} (skewness {skew:+.2f}): {tail} stretches the distribution "
        f"(mean {mean:.1f}, median {median:.1f}). Set thresholds from percentiles or fixed scores rather "
        "than from the mean and standard deviation, which the tail distorts."
    )


# --------------------------------------------------------------------------- trends


@dataclass(frozen=True)
class WeeklyTrends:
    """Weekly mean attendance (0-1) and mean score of the filtered scope."""

    frame: pd.DataFrame  # columns week, attendance, score
    source: str  # "class_week_summary" or "events"

    @property
    def empty(self) -> bool:
        """True when there is no week to show."""
        return self.frame.empty


def weekly_trends(*, session: Session, viewer: Viewer, filters: Filters) -> WeeklyTrends:
    """Weekly attendance and score: class-week sums for class-level filters, else the events of the students.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Whose scope to count.
    filters:
        The filter bar's values.
    """
    if only_class_filters(filters):
        sort_in_memory(session)
        rows = session.execute(class_week_sums(viewer, filters)).all()
        frame = pd.DataFrame(rows, columns=["week", "attendance", "score", "study_hours"])[["week", "attendance", "score"]]
        return WeeklyTrends(frame=_typed(frame), source="class_week_summary")
    students = student_metrics(viewer, filters, load_rules(session)).subquery("m")
    rows = session.execute(student_week_means(students, filters)).all()
    return WeeklyTrends(frame=_typed(pd.DataFrame(rows, columns=["week", "attendance", "score"])), source="events")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["week"] = pd.to_datetime(out["week"]) if len(out) else pd.Series([], dtype="datetime64[ns]")
    for col in ("attendance", "score"):
        out[col] = out[col].astype("float64")
    return out

