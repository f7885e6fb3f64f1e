"""The model page (``/admin/model``, administrators only): how the active model did beside the baselines, its calibration,
its error rates by group, teachers' feedback on flags, the versions (activate, audited), and retrain-and-rescore.

Every figure comes from the training report stored with each version (``model_versions.metrics``, written by
``ml.train``): the model, the rule baseline and logistic regression were all scored on the same held-out past year.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.settings import Settings
from db.database import Database
from db.models import ModelVersion
from ml.registry import activate_version, list_models
from ml.score import score_all
from ml.train import train_and_register
from services import audit
from services.at_risk import percent_words
from services.feedback import feedback_counts
from services.uploads import discard, require_admin, ticket_of_admin

MODEL_NAMES = {"xgboost": "Gradient-boosted trees", "logreg": "Logistic regression", "rf": "Random forest"}
METRICS = (("roc_auc", "Ranking (ROC AUC)"), ("pr_auc", "Precision-recall AUC"), ("precision", "Precision"),
           ("recall", "Recall (at-risk students found)"), ("f1", "F1"), ("brier", "Brier score (lower is better)"))
GROUPS = {"gender": "Gender", "grade_level": "Grade level"}
MIN_GROUP = 10
"""Groups smaller than this have rates too noisy to compare (as in ``ml.evaluate``)."""


@dataclass(frozen=True)
class VersionRow:
    """One registered model version."""

    version: str
    kind: str
    created: str
    as_of: str
    active: bool
    roc_auc: str


@dataclass(frozen=True)
class ModelPage:
    """Everything the model page shows, as plain data."""

    active: VersionRow | None
    comparison: list[dict[str, str]]
    calibration: list[dict[str, Any]]
    groups: list[dict[str, str]]
    gaps: list[str]
    group_source: str
    holdout: str
    lead_time: str | None
    feedback: list[dict[str, Any]] | None
    versions: list[VersionRow] = field(default_factory=list)


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2f}"


def _rate(value: Any) -> str:
    return "n/a" if value is None else percent_words(float(value))


def _version_row(info: Any) -> VersionRow:
    model = (info.metrics or {}).get("model") or {}
    return VersionRow(info.version, MODEL_NAMES.get(info.model_type, info.model_type),
                      info.created_at.strftime("%Y-%m-%d %H:%M"), info.as_of.isoformat() if info.as_of else "",
                      bool(info.is_active), _number(model.get("roc_auc")))


def comparison(metrics: dict[str, Any], kind: str) -> list[dict[str, str]]:
    """One row per metric: the model, the rule baseline and logistic regression side by side."""
    model, rule = metrics.get("model") or {}, metrics.get("rule") or {}
    logreg = model if kind == "logreg" else metrics.get("logreg") or {}
    return [{"metric": label, "model": _number(model.get(key)), "rule": _number(rule.get(key)),
             "logreg": _number(logreg.get(key))} for key, label in METRICS]


def _stored_groups(metrics: dict[str, Any]) -> dict[str, Any]:
    """The per-group rates wherever a training report stored them: under ``model`` (today), or at its top (older)."""
    found = (metrics.get("model") or {}).get("groups") or metrics.get("groups")
    return found if isinstance(found, dict) else {}


def _group_rows(found: Any) -> list[dict[str, Any]]:
    """One attribute's rows: ``{"rows": [...], gaps}`` (today), a bare list of rows, or ``{group: rates}`` (older)."""
    if isinstance(found, dict) and isinstance(found.get("rows"), list):
        found = found["rows"]
    elif isinstance(found, dict):
        found = [{**rates, "group": group} for group, rates in found.items() if isinstance(rates, dict)]
    rows = [r for r in found if isinstance(r, dict) and "group" in r] if isinstance(found, list) else []
    return [r for r in rows if r.get("fpr") is not None or r.get("fnr") is not None]


def _gap(found: Any, rows: list[dict[str, Any]], rate: str) -> float | None:
    """The stored gap between groups, else the one the rows give (groups of known size, ``MIN_GROUP`` or more)."""
    stored = found.get(f"{rate}_gap") if isinstance(found, dict) else None
    if stored is not None:
        return float(stored)
    values = [float(r[rate]) for r in rows if r.get(rate) is not None and (r.get("n") or 0) >= MIN_GROUP]
    return max(values) - min(values) if len(values) >= 2 else None


def group_table(metrics: dict[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    """False-positive and false-negative rates by gender and grade level, and the gap between groups, in words.

    Reports of every age are read: what a report stored is shown, what it lacks is left out (see
    :func:`group_source`)."""
    rows, gaps, stored = [], [], _stored_groups(metrics)
    for key, label in GROUPS.items():
        found = stored.get(key)
        found_rows = _group_rows(found)
        for r in found_rows:
            n = r.get("n")
            small = " (too few to compare)" if n is not None and n < MIN_GROUP else ""
            rows.append({"attribute": label, "group": f"{r['group']}{small}",
                         "students": "n/a" if n is None else f"{n:,}",
                         "false_positive": _rate(r.get("fpr")), "false_negative": _rate(r.get("fnr"))})
        for rate, words in (("fpr", "false-positive"), ("fnr", "false-negative")):
            gap = _gap(found, found_rows, rate) if found_rows else None
            if gap is not None:
                gaps.append(f"{label}: the {words} rates differ by {round(gap * 100)} points between groups.")
    return rows, gaps


def group_source(metrics: dict[str, Any], rows: list[dict[str, str]]) -> str:
    """Where the group rates come from, and what an older report lacks (retraining computes it)."""
    if not rows:
        return "The stored training report has no per-group rates: retrain to compute them."
    shown = {r["attribute"] for r in rows}
    missing = [label.lower() for label in GROUPS.values() if label not in shown]
    source = ("Computed on the held-out school year of the training report." if metrics.get("holdout") else
              "From the stored training report, an older one that does not say which rows were held out.")
    if missing:
        source += f" It has no rates by {' or '.join(missing)}: retrain to compute them."
    return source


def _holdout(metrics: dict[str, Any]) -> str:
    held = metrics.get("holdout") or {}
    years = ", ".join(held.get("school_years") or [])
    if not years:
        return "The stored report does not say which rows were held out."
    return f"Measured on the held-out school year {years} ({held.get('students', 0):,} students), not used to train."


def _lead_time(metrics: dict[str, Any]) -> str | None:
    lead = metrics.get("lead_time")
    if isinstance(lead, dict) and lead.get("median_weeks") is not None:
        return f"Students who went on to fail were flagged a median of {lead['median_weeks']:g} weeks before the end."
    if isinstance(lead, int | float):
        return f"Students who went on to fail were flagged a median of {lead:g} weeks before the end."
    return None


def flag_feedback(session: Session) -> list[dict[str, Any]]:
    """Teachers' feedback on flags, per model version, tier and verdict (``services.feedback.feedback_counts``)."""
    return [{"model_version": c.model_version, "tier": c.tier, "verdict": c.verdict, "count": c.count}
            for c in feedback_counts(session)]


def model_page(session: Session, *, viewer: Any) -> ModelPage:
    """The active model beside the baselines, its calibration, group rates, feedback, and every version.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : an administrator (Forbidden otherwise).
    """
    require_admin(viewer)
    infos = list_models(session)
    versions = [_version_row(i) for i in infos]
    active = next((i for i in infos if i.is_active), None)
    feedback = flag_feedback(session)
    if active is None:
        return ModelPage(None, [], [], [], [], "", "", None, feedback, versions)
    metrics = active.metrics or {}
    groups, gaps = group_table(metrics)
    source = group_source(metrics, groups)
    calibration = [{"predicted": b["mean_predicted"], "observed": b["observed"], "n": b["n"]}
                   for b in (metrics.get("model") or {}).get("calibration", [])]
    return ModelPage(_version_row(active), comparison(metrics, active.model_type), calibration, groups, gaps, source,
                     _holdout(metrics), _lead_time(metrics), feedback, versions)


def activate(session: Session, *, viewer: Any, version: Any, address: str | None = None) -> str:
    """Make ``version`` the active model (audited); the caller commits. Returns the version."""
    require_admin(viewer)
    if not isinstance(version, str) or not version or len(version) > 200:
        raise InvalidInput("Choose a model version to activate.")
    before = session.scalar(select(ModelVersion.version).where(ModelVersion.is_active))
    info = activate_version(session, version)
    audit.record(session, action=audit.MODEL_ACTIVATE, user_id=viewer.user_id, actor=viewer.email,
                 target=info.version, details={"previous": before}, address=address)
    return info.version


def retrain_and_rescore(database: Database, settings: Settings, *, folder: Path, token: Any,
                        progress: Callable[[int, str], None] | None = None) -> str:
    """The background job: train a new model on the past years, activate it, score everyone, audit; one sentence.

    Parameters
    ----------
    database : the product's database (the job's own handle).
    settings : the product settings (pass mark, models folder).
    folder, token : the ticket the page issued to the administrator who asked (``services.uploads``).
    progress : called with (percent, sentence).
    """
    ticket = ticket_of_admin(database, folder, token)
    step = progress or (lambda _pct, _text: None)
    step(5, "Training a new model on the past school years (this takes a few minutes)")
    result = train_and_register(database, settings)
    step(70, "Scoring every current student with the new model")
    scored = score_all(database, settings)
    with database.begin() as s:
        audit.record(s, action=audit.MODEL_RETRAIN, user_id=ticket.user_id, actor=ticket.email, target=result.version,
                     details={"scored": scored.n_scored})
    discard(folder, ticket)
    step(100, "Done")
    beats = "better" if result.beats_rule else "no better"
    return f"Trained and activated {result.version}; it ranks {beats} than the rule baseline; everyone was rescored."
