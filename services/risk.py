"""Risk questions: a student's score and its reasons, the at-risk list, the model's metrics; scoped in SQL.

A teacher asking about a student outside their classes gets ``NotFound`` (never a hint that the
student exists). The model's own errors become ``Unavailable`` (no model, or one that does not match).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound, Unavailable
from db.models import Enrollment, ModelVersion, Prediction, SchoolClass, Student, StudentSummary
from services.queries import summary_filters
from services.scope import Filters, Viewer

TIERS = ("High", "Moderate", "Low")
MAX_LIMIT = 500


@dataclass(frozen=True)
class StudentRisk:
    """One student's stored risk score from the active model."""

    student_id: int
    source_id: str
    name: str | None
    class_id: int | None
    class_name: str | None
    grade_level: int | None
    probability: float
    tier: str
    as_of: dt.date
    reasons: list[dict[str, Any]]
    model_version: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


@dataclass(frozen=True)
class AtRiskPage:
    """One page of the at-risk list (highest probability first) and the total in scope."""

    items: list[StudentRisk]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class RiskExplanation:
    """Exact SHAP contributions for one student, with values beside the class medians, in words."""

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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


def _active_model_id(session: Session) -> tuple[int, str]:
    row = session.execute(select(ModelVersion.id, ModelVersion.version).where(ModelVersion.is_active)).first()
    if row is None:
        raise Unavailable("No active risk model: train one with `studentperf train`.")
    return int(row[0]), str(row[1])


def _current_class(session: Session, student_id: int) -> int | None:
    summary = session.scalar(select(StudentSummary.class_id).where(StudentSummary.student_id == student_id))
    if summary is not None:
        return int(summary)
    latest = (
        select(Enrollment.class_id).where(Enrollment.student_id == student_id)
        .order_by(Enrollment.school_year.desc(), Enrollment.class_id).limit(1)
    )
    value = session.scalar(latest)
    return int(value) if value is not None else None


def require_in_scope(session: Session, viewer: Viewer, student_id: int) -> int:
    """The student's current class id, or ``NotFound`` when the student is unknown or outside the scope."""
    class_id = _current_class(session, int(student_id))
    if class_id is not None:
        allowed = session.scalar(select(SchoolClass.id).where(SchoolClass.id == class_id,
                                                              viewer.class_clause(SchoolClass.id)))
        if allowed is not None:
            return class_id
    raise NotFound(f"No student {student_id} in your classes.")


def _risk_select(model_id: int) -> Select:
    return (
        select(Prediction.student_id, Student.source_id, Student.name, StudentSummary.class_id, SchoolClass.name,
               StudentSummary.grade_level, Prediction.probability, Prediction.tier, Prediction.as_of,
               Prediction.reasons)
        .join(Student, Student.id == Prediction.student_id)
        .join(StudentSummary, StudentSummary.student_id == Prediction.student_id)
        .outerjoin(SchoolClass, SchoolClass.id == StudentSummary.class_id)
        .where(Prediction.model_version_id == model_id)
    )


def _row(row: Any, version: str) -> StudentRisk:
    return StudentRisk(
        student_id=int(row[0]), source_id=row[1], name=row[2], class_id=row[3], class_name=row[4],
        grade_level=row[5], probability=float(row[6]), tier=row[7], as_of=row[8], reasons=list(row[9] or []),
        model_version=version,
    )


def predict_student_risk(*, session: Session, viewer: Viewer, student_id: int) -> StudentRisk:
    """The student's latest stored risk score from the active model (``NotFound`` outside the scope).

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : who asks; teachers see only their classes.
    student_id : the student's database id.
    """
    require_in_scope(session, viewer, student_id)
    model_id, version = _active_model_id(session)
    row = session.execute(_risk_select(model_id).where(Prediction.student_id == int(student_id))).first()
    if row is None:
        raise NotFound(f"No risk score for student {student_id} yet: run `studentperf score`.")
    return _row(row, version)


def _stored_as_of(session: Session, model_id: int, student_id: int) -> dt.date | None:
    return session.scalar(select(Prediction.as_of).where(Prediction.model_version_id == model_id,
                                                         Prediction.student_id == int(student_id)))


def explain_student(
    *, session: Session, viewer: Viewer, student_id: int, as_of: dt.date | None = None
) -> RiskExplanation:
    """Exact SHAP contributions for one student in plain words (default date: that of the stored score).

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : who asks; teachers see only their classes (``NotFound`` otherwise).
    student_id : the student's database id.
    as_of : the features' date; default the stored prediction's date, else the latest data date.
    """
    from ml.explain import explain_one
    from ml.features import latest_data_date
    from ml.registry import load_model
    from ml.score import TierCutoffs, assign_tiers

    require_in_scope(session, viewer, student_id)
    model = load_model(session)
    when = as_of or _stored_as_of(session, model.info.id, student_id) or latest_data_date(session)
    if when is None:
        raise NotFound("No attendance or scores loaded yet.")
    result = explain_one(session, model, int(student_id), when)
    high, low = TierCutoffs().resolve(model.threshold)
    tier = str(assign_tiers([result.probability], high, low)[0])
    return RiskExplanation(
        student_id=result.student_id, model_version=model.info.version, as_of=when,
        probability=result.probability, tier=tier, base_value=result.base_value, margin=result.margin,
        space=result.space, contributions=result.contributions, values=result.values, reasons=result.reasons,
    )


def check_tier(tier: str | None) -> None:
    """``InvalidInput`` unless ``tier`` is None or one of ``TIERS``."""
    if tier is not None and tier not in TIERS:
        raise InvalidInput(f"Unknown tier {tier[:40]!r}: choose one of {', '.join(TIERS)}.")


def at_risk_list(
    *,
    session: Session,
    viewer: Viewer,
    filters: Filters | None = None,
    tier: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AtRiskPage:
    """The viewer's students scored by the active model, highest risk first, optionally one tier only.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : who asks; teachers see only their classes.
    filters : the filter bar (school, grade, class, study band, minimum attendance).
    tier : ``High``, ``Moderate`` or ``Low``; None for every tier.
    limit, offset : the page (limit 1-500).
    """
    check_tier(tier)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"Page out of range: limit must be 1-{MAX_LIMIT} and offset at least 0.")
    model_id, version = _active_model_id(session)
    stmt = _risk_select(model_id).where(*summary_filters(viewer, filters or Filters()))
    if tier is not None:
        stmt = stmt.where(Prediction.tier == tier)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = stmt.order_by(Prediction.probability.desc(), Prediction.student_id).limit(limit).offset(offset)
    items = [_row(r, version) for r in session.execute(page)]
    return AtRiskPage(items=items, total=int(total), limit=limit, offset=offset)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "brier")
    return {name: {k: metrics[name].get(k) for k in keys} for name in ("model", "logreg", "rule") if name in metrics}


def model_metrics(*, session: Session, viewer: Viewer | None = None) -> dict[str, Any]:
    """The admin page's model facts: the active model's full test metrics and every registered version.

    Parameters
    ----------
    session : an open session; the caller owns the transaction.
    viewer : optional; contains no student data, so every role may read it.
    """
    rows = session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc()))
    versions, active = [], None
    for row in rows:
        metrics = dict(row.metrics or {})
        versions.append({
            "version": row.version, "created_at": row.created_at.isoformat(), "model_type": row.model_type,
            "as_of": row.as_of.isoformat() if row.as_of else None, "is_active": row.is_active,
            "roc_auc": (metrics.get("model") or {}).get("roc_auc"), "beats_rule": metrics.get("beats_rule"),
        })
        if row.is_active:
            active = {
                "version": row.version, "model_type": row.model_type, "threshold": row.threshold,
                "as_of": row.as_of.isoformat() if row.as_of else None, "data_hash": row.data_hash,
                "code_version": row.code_version, "params": dict(row.params or {}), "features": list(row.features),
                "headline": _headline(metrics), "beats_rule": metrics.get("beats_rule"),
                "cv": metrics.get("cv"), "confusion": (metrics.get("model") or {}).get("confusion"),
                "calibration": (metrics.get("model") or {}).get("calibration"),
                "groups": (metrics.get("model") or {}).get("groups"),
                "n_train": metrics.get("n_train"), "n_test": metrics.get("n_test"),
            }
    return {"active": active, "versions": versions}
