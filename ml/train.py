"""Training: stratified hold-out, cross-validated tuning with early stopping, comparison, registration.

Protocol: 20 % of the students are held out (stratified) and touched once, at the end. On the other
80 %, a small grid is compared by stratified K-fold ROC AUC (XGBoost with early stopping on each
fold's validation part); the winner is refitted on the whole 80 % with the median best tree count.
The decision threshold maximises F1 on the out-of-fold predictions (never on the test set).
Logistic regression and the transparent rule baseline are scored on the same test students.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline

from core.settings import Settings
from db.database import Database
from ml.errors import NotEnoughData
from ml.evaluate import best_f1_threshold, full_report, rule_baseline
from ml.features import FeatureSpec, default_training_as_of, training_frame
from ml.pipeline import MODEL_TYPES, build_pipeline, fit_early_stopped
from ml.registry import data_hash, save_model

log = logging.getLogger(__name__)

TEST_SIZE = 0.2
TUNE_MAX_ROWS = 20_000
"""Above this many training rows, tuning runs on a stratified sample of this size (the final fit uses all)."""
MIN_ROWS, MIN_PER_CLASS = 40, 8
GRIDS: dict[str, list[dict[str, Any]]] = {
    "xgboost": [
        {"max_depth": 2, "learning_rate": 0.1, "min_child_weight": 1.0, "n_estimators": 1000},
        {"max_depth": 4, "learning_rate": 0.1, "min_child_weight": 5.0, "n_estimators": 1000},
    ],
    "logreg": [{"C": 0.1}, {"C": 1.0}],
    "rf": [{"min_samples_leaf": 2, "n_estimators": 200}, {"min_samples_leaf": 10, "n_estimators": 200}],
}


@dataclass
class Evaluation:
    """A fitted pipeline, its threshold and chosen parameters, and every metric of the comparison."""

    pipeline: Pipeline
    threshold: float
    params: dict[str, Any]
    metrics: dict[str, Any]


@dataclass
class TrainResult:
    """What `studentperf train` reports: the registered version and its metrics beside the baselines."""

    version: str
    model_type: str
    as_of: dt.date
    activated: bool
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def beats_rule(self) -> bool:
        """True when the model's test ROC AUC is above the rule baseline's."""
        return bool(self.metrics.get("beats_rule"))

    def summary(self) -> str:
        """Headline metrics beside the baselines, in a few lines."""
        from ml.report import train_summary

        return train_summary(self)


def _check_data(y: np.ndarray) -> None:
    positives = int(y.sum())
    negatives = int(len(y) - positives)
    if len(y) < MIN_ROWS or positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        raise NotEnoughData(
            f"Not enough students to train: {len(y)} with an outcome ({positives} at risk, {negatives} not); "
            f"need at least {MIN_ROWS} and {MIN_PER_CLASS} of each."
        )


def _folds(n: int) -> int:
    return 5 if n < 20_000 else 3


def _cv_candidate(
    base: Pipeline, model: str, x: pd.DataFrame, y: np.ndarray, seed: int
) -> tuple[float, list[float], np.ndarray, int | None]:
    """Mean fold AUC, fold AUCs, out-of-fold probabilities and (XGBoost) the median best tree count."""
    splitter = StratifiedKFold(n_splits=_folds(len(y)), shuffle=True, random_state=seed)
    oof = np.zeros(len(y))
    aucs, trees = [], []
    for train_idx, valid_idx in splitter.split(x, y):
        xt, xv, yt, yv = x.iloc[train_idx], x.iloc[valid_idx], y[train_idx], y[valid_idx]
        if model == "xgboost":
            fitted, best = fit_early_stopped(base, xt, yt, xv, yv)
            trees.append(best)
        else:
            fitted = clone(base).fit(xt, yt)
        oof[valid_idx] = fitted.predict_proba(xv)[:, 1]
        aucs.append(float(roc_auc_score(yv, oof[valid_idx])))
    best_trees = int(np.median(trees)) if trees else None
    return float(np.mean(aucs)), aucs, oof, best_trees


def _tuning_sample(x: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    if len(y) <= TUNE_MAX_ROWS:
        return x, y
    keep, _ = train_test_split(np.arange(len(y)), train_size=TUNE_MAX_ROWS, stratify=y, random_state=seed)
    keep = np.sort(keep)
    return x.iloc[keep], y[keep]


def tune(model: str, spec: FeatureSpec, x: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[dict[str, Any], dict]:
    """Pick the grid point with the best cross-validated AUC; returns its params and CV figures.

    The out-of-fold probabilities (``cv["oof"]``) and labels (``cv["y"]``) are of the rows tuned on.
    """
    x, y = _tuning_sample(x, y, seed)
    best: tuple[float, dict[str, Any], dict] | None = None
    for params in GRIDS[model]:
        base = build_pipeline(model, spec.numeric, spec.categorical, params=params, seed=seed)
        mean_auc, aucs, oof, trees = _cv_candidate(base, model, x, y, seed)
        chosen = {**params, "n_estimators": trees} if trees else dict(params)
        log.info("cv candidate", extra={"model": model, "params": chosen, "auc": round(mean_auc, 4)})
        if best is None or mean_auc > best[0]:
            best = (mean_auc, chosen, {"auc_mean": mean_auc, "auc_std": float(np.std(aucs)), "fold_auc": aucs,
                                        "folds": len(aucs), "rows": int(len(y)), "oof": oof, "y": y})
    assert best is not None
    return best[1], best[2]


def _logreg_report(spec: FeatureSpec, x_tr, y_tr, x_te, y_te, groups, seed: int) -> dict[str, Any]:
    pipe = build_pipeline("logreg", spec.numeric, spec.categorical, seed=seed)
    cv = StratifiedKFold(n_splits=_folds(len(y_tr)), shuffle=True, random_state=seed)
    oof = cross_val_predict(pipe, x_tr, y_tr, cv=cv, method="predict_proba")[:, 1]
    threshold = best_f1_threshold(y_tr, oof)
    proba = pipe.fit(x_tr, y_tr).predict_proba(x_te)[:, 1]
    return full_report(y_te, proba, threshold, groups)


def fit_and_evaluate(
    frame: pd.DataFrame, model: str, spec: FeatureSpec, *, seed: int = 0, pass_threshold: float = 60.0
) -> Evaluation:
    """Split, tune, fit and compare ``model`` with logistic regression and the rule baseline on one split."""
    if model not in MODEL_TYPES:
        from ml.errors import UnknownModel

        raise UnknownModel(f"Unknown model type {model!r}: choose one of {', '.join(MODEL_TYPES)}.")
    y = frame["at_risk"].to_numpy(dtype=int)
    _check_data(y)
    x = frame[spec.columns]
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=TEST_SIZE, stratify=y, random_state=seed)
    x_tr, x_te, y_tr, y_te = x.iloc[idx_tr], x.iloc[idx_te], y[idx_tr], y[idx_te]
    params, cv = tune(model, spec, x_tr, y_tr, seed)
    threshold = best_f1_threshold(cv.pop("y"), cv.pop("oof"))
    pipeline = build_pipeline(model, spec.numeric, spec.categorical, params=params, seed=seed).fit(x_tr, y_tr)
    test = frame.iloc[idx_te]
    groups = {"gender": test["gender"], "grade_level": test["grade_level"].astype("Int64")}
    proba = pipeline.predict_proba(x_te)[:, 1]
    report = full_report(y_te, proba, threshold, groups)
    rule = full_report(y_te, rule_baseline(test, pass_threshold), 0.5, groups)
    metrics: dict[str, Any] = {
        "model": report, "rule": rule, "cv": cv, "n_train": int(len(y_tr)), "n_test": int(len(y_te)),
        "positive_rate": float(y.mean()), "beats_rule": bool((report["roc_auc"] or 0) > (rule["roc_auc"] or 0)),
    }
    if model != "logreg":
        metrics["logreg"] = _logreg_report(spec, x_tr, y_tr, x_te, y_te, groups, seed)
    return Evaluation(pipeline=pipeline, threshold=threshold, params=params, metrics=metrics)


def train_and_register(
    database: Database,
    settings: Settings,
    as_of: dt.date | None = None,
    model: str = "xgboost",
    *,
    seed: int = 0,
    include_demographics: bool = False,
    activate: bool = True,
) -> TrainResult:
    """Build features as of ``as_of`` (default: 60 % into the year), train, evaluate, save and register.

    Parameters
    ----------
    database : the product database (features are read, the registry row is written).
    settings : gives ``pass_threshold`` (the label) and ``models_dir`` (the artifact).
    as_of : the features' date; default ``ml.features.default_training_as_of``.
    model : ``xgboost`` (default), ``logreg`` or ``rf``.
    """
    spec = FeatureSpec(include_demographics=include_demographics)
    with database.begin() as session:
        as_of = as_of or default_training_as_of(session)
        if as_of is None:
            raise NotEnoughData("No scores in the database: load a school export first (`studentperf ingest`).")
        frame = training_frame(session, as_of, settings.pass_threshold)
    evaluation = fit_and_evaluate(frame, model, spec, seed=seed, pass_threshold=settings.pass_threshold)
    metrics = {**evaluation.metrics, "as_of": as_of.isoformat(), "pass_threshold": settings.pass_threshold}
    with database.begin() as session:
        info = save_model(
            session, settings.models_dir, pipeline=evaluation.pipeline, spec=spec, threshold=evaluation.threshold,
            model_type=model, as_of=as_of, data_hash_=data_hash(frame[[*spec.columns, "at_risk"]]),
            params={**evaluation.params, "seed": seed}, metrics=metrics, activate=activate,
        )
    return TrainResult(version=info.version, model_type=model, as_of=as_of, activated=activate, metrics=metrics)
