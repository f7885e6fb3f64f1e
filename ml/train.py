"""Training on past school years: tuning, calibration, a held-out year, a bootstrap ensemble, registration.

Rows are ``ml.features.training_rows``: features of past school years as of snapshot weeks (4, 8, 12,
16, 20, 28), each labelled with that year's final outcome; the current year never enters. Protocol:

* Held out: the most recent past year (all its rows), touched once at the end. With a single past year,
  a quarter of its students (all their rows) are held out instead, and the report says so.
* On the other years a small grid is compared by ROC AUC over folds grouped by student (XGBoost with
  early stopping on each fold's validation part); the winner is refitted on those years with the median
  best tree count. Its out-of-fold probabilities choose and fit the calibration (isotonic or Platt, by
  Brier score) and the decision threshold (best F1 on the calibrated out-of-fold probabilities).
* The held-out year is scored with that model and calibrator: ROC AUC per snapshot week, Brier, the
  reliability table and the expected calibration error, beside logistic regression (same protocol, no
  tuning) and the transparent rule baseline.
* The registered model is then refitted with the same parameters on every past year; its calibrator
  and threshold come from out-of-fold predictions over those years, and a bootstrap ensemble
  (``ml.uncertainty``) gives every student an interval. All of it is saved in one artifact.
* Big data: past years far bigger than the fits need give rows for a sample of whole classes only
  (``training_students``; the metrics' ``training_classes`` say how many of how many). Above ``FIT_MAX_ROWS``
  training rows the fits use a sample of students of about that many rows (``BIG_DATA_MEMBERS`` bootstrap
  members once the fits use half of it or more), so a district of 100,000 students trains in minutes. Tuning
  uses about ``TUNE_MAX_ROWS`` rows in three folds, the logistic-regression baseline about ``LOGREG_MAX_ROWS``;
  the held-out year's rows (all of its sampled classes) are always scored whole. Everything runs on one thread
  (XGBoost ``n_jobs=1`` and one BLAS/OpenMP thread), and ``metrics["seconds"]`` says where the time went.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit, StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from core.settings import Settings
from db.database import Database
from ml.errors import NotEnoughData, UnknownModel
from ml.evaluate import best_f1_threshold, full_report, rule_baseline, snapshot_aucs
from ml.features import SNAPSHOT_WEEKS, FeatureSpec, past_school_years, training_rows
from ml.pipeline import MODEL_TYPES, build_pipeline, fit_early_stopped
from ml.registry import data_hash, save_model
from ml.uncertainty import N_MEMBERS, RISK_KEY, RiskModel, bootstrap_members, choose_calibrator

log = logging.getLogger(__name__)

HOLDOUT_SHARE = 0.25
"""With a single past year, this share of its students is held out."""
TUNE_MAX_ROWS = 20_000
"""Above this many training rows, tuning runs on a sample of students of about this many rows."""
FIT_MAX_ROWS = 150_000
"""Above this many training rows, the fits use a sample of students of about this many rows (all rows of each);
the held-out year is still scored whole. A model of 17 features learns no more from a million rows than from this
many, and a big district's training stays within minutes."""
ROWS_MARGIN = 2
"""On big data the training rows are built for whole classes of about ``ROWS_MARGIN * FIT_MAX_ROWS`` rows in all
(``training_students``), not for every student: the fits would sample them down to ``FIT_MAX_ROWS`` anyway."""
LOGREG_MAX_ROWS = 40_000
"""The logistic regression baseline is fitted (folds and final fit) on a sample of students of about this many rows
and scored on the whole held-out year: 17 coefficients are pinned down by far fewer rows (its held-out AUC moves in
the third decimal at most), and on 150,000 rows its folds took a quarter of the training time at 100,000 students."""
BIG_DATA_MEMBERS = 8
"""Bootstrap members when the fits use ``FIT_MAX_ROWS // 2`` rows or more (the interval's quantiles steady out)."""
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
    """The registered pipeline, its calibration and interval model, threshold, parameters and every metric."""

    pipeline: Pipeline
    threshold: float
    params: dict[str, Any]
    metrics: dict[str, Any]
    risk: RiskModel | None = None


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


@contextmanager
def _stopwatch(seconds: dict[str, float], step: str) -> Iterator[None]:
    """Add the wall time of the block to ``seconds[step]`` (reported with the metrics: where training time goes)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[step] = seconds.get(step, 0.0) + time.perf_counter() - start


def _check_data(y: np.ndarray) -> None:
    positives = int(y.sum())
    negatives = int(len(y) - positives)
    if len(y) < MIN_ROWS or positives < MIN_PER_CLASS or negatives < MIN_PER_CLASS:
        raise NotEnoughData(
            f"Not enough students to train: {len(y)} rows with an outcome ({positives} at risk, {negatives} not); "
            f"need at least {MIN_ROWS} and {MIN_PER_CLASS} of each."
        )


def _folds(n: int) -> int:
    return 5 if n < 20_000 else 3


def _grouped_folds(
    y: np.ndarray, groups: np.ndarray, seed: int, n_splits: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds stratified by outcome with every row of a student in one fold (``n_splits``: default by the rows).

    Students are dealt into folds stratified by whether any of their rows is at risk, then bring all their rows:
    the same guarantee as scikit-learn's ``StratifiedGroupKFold``, whose row-level balancing loops in Python over
    the students (about 10 s for the 25,000 students of 150,000 rows, on every out-of-fold pass).
    """
    students, row_student = np.unique(groups, return_inverse=True)
    positive = np.zeros(len(students), dtype=int)
    np.maximum.at(positive, row_student, np.asarray(y, dtype=int))
    n_splits = n_splits or _folds(len(y))
    fold_of = np.empty(len(students), dtype=int)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for fold, (_, members) in enumerate(splitter.split(np.zeros(len(students)), positive)):
        fold_of[members] = fold
    row_fold = fold_of[row_student]
    return [(np.flatnonzero(row_fold != fold), np.flatnonzero(row_fold == fold)) for fold in range(n_splits)]


def _cv_candidate(
    base: Pipeline, model: str, x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seed: int, folds: int
) -> tuple[list[float], np.ndarray, int | None]:
    """Fold AUCs, out-of-fold raw probabilities and (XGBoost) the median best tree count."""
    oof = np.zeros(len(y))
    aucs, trees = [], []
    for train_idx, valid_idx in _grouped_folds(y, groups, seed, folds):
        xt, xv, yt, yv = x.iloc[train_idx], x.iloc[valid_idx], y[train_idx], y[valid_idx]
        if model == "xgboost":
            fitted, best = fit_early_stopped(base, xt, yt, xv, yv)
            trees.append(best)
        else:
            fitted = clone(base).fit(xt, yt)
        oof[valid_idx] = fitted.predict_proba(xv)[:, 1]
        aucs.append(float(roc_auc_score(yv, oof[valid_idx])))
    return aucs, oof, (int(np.median(trees)) if trees else None)


def _student_sample(groups: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Row positions of a random sample of students (all rows of each) of about ``max_rows`` rows (all if fewer)."""
    if len(groups) <= max_rows:
        return np.arange(len(groups))
    students = np.unique(groups)
    keep_students = np.random.default_rng([seed, 5]).choice(
        students, size=max(2, int(len(students) * max_rows / len(groups))), replace=False)
    return np.flatnonzero(np.isin(groups, keep_students))


def training_students(years: int, weeks: int) -> int:
    """Students per past year whose rows are built: whole classes of about this many (``ml.features.sample_classes``).

    ``ROWS_MARGIN * FIT_MAX_ROWS`` rows over every past year (each student has about one row per snapshot week), so
    that with two past years the fitted year alone still fills ``FIT_MAX_ROWS`` and the held-out year is scored on
    as many rows again. Building rows is most of a big district's training (about 50 s a year at 100,000 students),
    and rows beyond what the fits sample add nothing to the model. A school smaller than this uses every class
    (same rows, same model as before).
    """
    return int(np.ceil(ROWS_MARGIN * FIT_MAX_ROWS / (max(1, weeks) * max(1, years))))


def _tuning_sample(
    x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seed: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    keep = _student_sample(groups, TUNE_MAX_ROWS, seed)
    return x.iloc[keep], y[keep], groups[keep]


def _fit_sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The rows the fits use: every row, or a sample of students of about ``FIT_MAX_ROWS`` rows."""
    return frame.iloc[_student_sample(frame.index.to_numpy(), FIT_MAX_ROWS, seed)]


def tune(
    model: str, spec: FeatureSpec, x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seed: int
) -> tuple[dict[str, Any], dict]:
    """Pick the grid point with the best grouped cross-validated AUC; returns its params and CV figures.

    The out-of-fold probabilities (``cv["oof"]``), labels (``cv["y"]``) and students (``cv["groups"]``) are of
    the rows tuned on.
    """
    # The folds follow the rows before sampling: on big data (20,000 rows or more) three folds, as everywhere else,
    # although the tuning sample itself has about 20,000 rows (five folds there cost two more fits per grid point;
    # three folds of about 7,000 rows each still compare two grid points).
    folds = _folds(len(y))
    x, y, groups = _tuning_sample(x, y, groups, seed)
    best: tuple[float, dict[str, Any], dict] | None = None
    for params in GRIDS[model]:
        base = build_pipeline(model, spec.numeric, spec.categorical, params=params, seed=seed)
        aucs, oof, trees = _cv_candidate(base, model, x, y, groups, seed, folds)
        mean_auc = float(np.mean(aucs))
        chosen = {**params, "n_estimators": trees} if trees else dict(params)
        log.info("cv candidate", extra={"model": model, "params": chosen, "auc": round(mean_auc, 4)})
        if best is None or mean_auc > best[0]:
            best = (mean_auc, chosen, {"auc_mean": mean_auc, "auc_std": float(np.std(aucs)), "fold_auc": aucs,
                                        "folds": len(aucs), "rows": int(len(y)), "oof": oof, "y": y, "groups": groups})
    assert best is not None
    return best[1], best[2]


def holdout_split(frame: pd.DataFrame, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Row positions to fit on and to hold out, and what was held out: the latest past year, else a share of students."""
    years = sorted(frame["school_year"].unique())
    if len(years) >= 2:
        test = (frame["school_year"] == years[-1]).to_numpy()
        return np.flatnonzero(~test), np.flatnonzero(test), f"school year {years[-1]}"
    splitter = GroupShuffleSplit(n_splits=1, test_size=HOLDOUT_SHARE, random_state=seed)
    fit_idx, test_idx = next(splitter.split(frame, groups=frame.index.to_numpy()))
    return np.sort(fit_idx), np.sort(test_idx), (
        f"{HOLDOUT_SHARE:.0%} of the students of {years[0]} (only one past year)")


def _oof(make, x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:  # noqa: ANN001
    """Out-of-fold raw probabilities of ``make()`` over folds grouped by student."""
    oof = np.zeros(len(y))
    for train_idx, valid_idx in _grouped_folds(y, groups, seed):
        oof[valid_idx] = make().fit(x.iloc[train_idx], y[train_idx]).predict_proba(x.iloc[valid_idx])[:, 1]
    return oof


def _report(frame: pd.DataFrame, y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, Any]:
    groups = {"gender": frame["gender"], "grade_level": frame["grade_level"].astype("Int64")}
    report = full_report(y, proba, threshold, groups)
    report["by_week"] = snapshot_aucs(y, proba, frame["snapshot_week"].to_numpy())
    return report


def _logreg_report(spec: FeatureSpec, fit: pd.DataFrame, test: pd.DataFrame, seed: int) -> dict[str, Any]:
    """Logistic regression by the same protocol (calibrated on its out-of-fold probabilities), on the held-out rows."""
    def make() -> Pipeline:
        return build_pipeline("logreg", spec.numeric, spec.categorical, seed=seed)

    fit = fit.iloc[_student_sample(fit.index.to_numpy(), LOGREG_MAX_ROWS, seed)]
    y_fit, groups = fit["at_risk"].to_numpy(dtype=int), fit.index.to_numpy()
    oof = _oof(make, fit[spec.columns], y_fit, groups, seed)
    calibrator, _ = choose_calibrator(oof, y_fit, groups)
    threshold = best_f1_threshold(y_fit, calibrator.predict(oof))
    raw = make().fit(fit[spec.columns], y_fit).predict_proba(test[spec.columns])[:, 1]
    return {**_report(test, test["at_risk"].to_numpy(dtype=int), calibrator.predict(raw), threshold),
            "fit_rows": int(len(fit))}


def _evaluate(
    frame: pd.DataFrame, model: str, spec: FeatureSpec, seed: int, pass_threshold: float, seconds: dict[str, float]
) -> dict:
    """Tune and calibrate on all but the held-out rows, then report the model and the baselines on those."""
    fit_idx, test_idx, _ = holdout_split(frame, seed)
    fit, test = _fit_sample(frame.iloc[fit_idx], seed), frame.iloc[test_idx]
    y_fit, y_test = fit["at_risk"].to_numpy(dtype=int), test["at_risk"].to_numpy(dtype=int)
    _check_data(y_fit)
    with _stopwatch(seconds, "tune"):
        params, cv = tune(model, spec, fit[spec.columns], y_fit, fit.index.to_numpy(), seed)
        calibrator, calibration = choose_calibrator(cv["oof"], cv["y"], cv["groups"])
        threshold = best_f1_threshold(cv["y"], calibrator.predict(cv["oof"]))
    with _stopwatch(seconds, "held-out fit"):
        pipeline = build_pipeline(model, spec.numeric, spec.categorical, params=params, seed=seed)
        pipeline.fit(fit[spec.columns], y_fit)
    with _stopwatch(seconds, "held-out report"):
        proba = calibrator.predict(pipeline.predict_proba(test[spec.columns])[:, 1])
        report = _report(test, y_test, proba, threshold)
        rule = _report(test, y_test, rule_baseline(test, pass_threshold), 0.5)
    metrics: dict[str, Any] = {
        "model": report, "rule": rule, "cv": {k: v for k, v in cv.items() if k not in ("oof", "y", "groups")},
        "holdout": holdout_label(frame, test_idx), "calibration_method": calibration,
        "n_train": int(len(fit)), "n_test": int(len(test)), "positive_rate": float(frame["at_risk"].mean()),
        "beats_rule": bool((report["roc_auc"] or 0) > (rule["roc_auc"] or 0)), "params": params,
    }
    if model != "logreg":
        with _stopwatch(seconds, "logreg baseline"):
            metrics["logreg"] = _logreg_report(spec, fit, test, seed)
    return metrics


def holdout_label(frame: pd.DataFrame, test_idx: np.ndarray) -> dict[str, Any]:
    """Which rows were held out, in plain data for the report."""
    test = frame.iloc[test_idx]
    return {"school_years": sorted(test["school_year"].unique().tolist()), "rows": int(len(test)),
            "students": int(test.index.nunique()), "weeks": sorted(int(w) for w in test["snapshot_week"].unique()),
            "description": holdout_split(frame)[2] if len(test) else ""}


def _final_fit(
    frame: pd.DataFrame, model: str, spec: FeatureSpec, params: dict[str, Any], seed: int, members: int,
    seconds: dict[str, float],
) -> tuple[Pipeline, RiskModel]:
    """The registered model: fitted on every past year, calibrated out-of-fold, with its bootstrap ensemble."""
    def make() -> Pipeline:
        return build_pipeline(model, spec.numeric, spec.categorical, params=params, seed=seed)

    frame = _fit_sample(frame, seed)
    x, y, groups = frame[spec.columns], frame["at_risk"].to_numpy(dtype=int), frame.index.to_numpy()
    with _stopwatch(seconds, "final out-of-fold"):
        oof = _oof(make, x, y, groups, seed)
    with _stopwatch(seconds, "final calibration"):
        calibrator, calibration = choose_calibrator(oof, y, groups)
        threshold = best_f1_threshold(y, calibrator.predict(oof))
    if len(y) >= FIT_MAX_ROWS // 2:
        members = min(members, BIG_DATA_MEMBERS)
    with _stopwatch(seconds, "bootstrap members"):
        ensemble = bootstrap_members(make, x, y, groups, n=members, seed=seed)
    info = {"calibration": calibration, "members": len(ensemble), "rows": int(len(y))}
    with _stopwatch(seconds, "final fit"):
        pipeline = make().fit(x, y)
    return pipeline, RiskModel(calibrator=calibrator, members=ensemble, threshold=threshold, info=info)


def fit_and_evaluate(
    frame: pd.DataFrame, model: str, spec: FeatureSpec, *, seed: int = 0, pass_threshold: float = 60.0,
    members: int = N_MEMBERS,
) -> Evaluation:
    """Evaluate ``model`` on a held-out past year beside logistic regression and the rule, then fit the registered one.

    Parameters
    ----------
    frame : training rows (``ml.features.training_rows``: past years only, with ``school_year`` and ``snapshot_week``).
    model : ``xgboost``, ``logreg`` or ``rf``.
    spec : the model's input columns.
    members : size of the bootstrap ensemble that gives the intervals.
    """
    if model not in MODEL_TYPES:
        raise UnknownModel(f"Unknown model type {model!r}: choose one of {', '.join(MODEL_TYPES)}.")
    _check_data(frame["at_risk"].to_numpy(dtype=int))
    seconds: dict[str, float] = {}
    # One BLAS/OpenMP thread, as XGBoost's n_jobs=1 (ml.pipeline): on a busy machine threads spinning against each
    # other made the logistic regressions (their matrix products and L-BFGS steps) about eight times slower.
    with threadpool_limits(limits=1):
        metrics = _evaluate(frame, model, spec, seed, pass_threshold, seconds)
        params = metrics.pop("params")
        pipeline, risk = _final_fit(frame, model, spec, params, seed, members, seconds)
    metrics["registered"] = {"threshold": risk.threshold, **risk.info}
    metrics["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    return Evaluation(pipeline=pipeline, threshold=risk.threshold, params=params, metrics=metrics, risk=risk)


def train_and_register(
    database: Database,
    settings: Settings,
    model: str = "xgboost",
    *,
    seed: int = 0,
    include_demographics: bool = False,
    activate: bool = True,
    weeks: Sequence[int] = SNAPSHOT_WEEKS,
    members: int = N_MEMBERS,
) -> TrainResult:
    """Build training rows from past school years, train, evaluate on the latest past year, save and register.

    Parameters
    ----------
    database : the product database (features are read, the registry row is written).
    settings : gives ``pass_threshold`` (the label) and ``models_dir`` (the artifact).
    model : ``xgboost`` (default), ``logreg`` or ``rf``.
    weeks : the snapshot weeks of each past year (default ``ml.features.SNAPSHOT_WEEKS``).
    members : size of the bootstrap ensemble that gives each student's interval.
    """
    spec = FeatureSpec(include_demographics=include_demographics)
    with database.begin() as session:
        if not past_school_years(session):
            raise NotEnoughData(
                "No past school year with known outcomes: the model learns from past years only. Load the exports "
                "of earlier years (or `studentperf generate --years 3`) first.")
        start = time.perf_counter()
        max_students = training_students(len(past_school_years(session)), len(weeks))
        frame = training_rows(session, settings.pass_threshold, weeks=weeks, max_students=max_students, seed=seed)
        rows_seconds = time.perf_counter() - start
    classes = frame.attrs.get("classes", [])
    if frame.empty:
        raise NotEnoughData("The past school years have no scores at the snapshot weeks: nothing to learn from.")
    evaluation = fit_and_evaluate(frame, model, spec, seed=seed, pass_threshold=settings.pass_threshold,
                                  members=members)
    as_of = max(frame["as_of"])
    evaluation.metrics["seconds"] = {"training rows": round(rows_seconds, 2), **evaluation.metrics["seconds"]}
    metrics = {**evaluation.metrics, "as_of": as_of.isoformat(), "pass_threshold": settings.pass_threshold,
               "training_years": sorted(frame["school_year"].unique().tolist()), "snapshot_weeks": list(weeks),
               "training_classes": classes}
    with database.begin() as session:
        info = save_model(
            session, settings.models_dir, pipeline=evaluation.pipeline, spec=spec, threshold=evaluation.threshold,
            model_type=model, as_of=as_of, data_hash_=data_hash(frame[[*spec.columns, "at_risk"]]),
            params={**evaluation.params, "seed": seed}, metrics=metrics, activate=activate,
            extras={RISK_KEY: evaluation.risk},
        )
    return TrainResult(version=info.version, model_type=model, as_of=as_of, activated=activate, metrics=metrics)
