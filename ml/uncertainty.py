"""Calibrated probabilities, an uncertainty interval per student, and DEWS tiers from the interval.

Calibration maps the model's raw probability to an honest one: isotonic regression or Platt scaling
(a logistic fit on the raw log-odds), whichever has the lower Brier score when each is fitted on one
half of the held-out predictions (split by student) and scored on the other. The interval comes from a
bootstrap ensemble: ``N_MEMBERS`` copies of the model, each fitted on students drawn with replacement,
all passed through the same calibrator; a student's interval is the ``INTERVAL`` quantiles (10 % - 90 %)
of the members' probabilities, widened to contain the model's own. Tiers follow the Wisconsin DEWS:
High when the whole interval lies at or above the decision threshold, Low when it lies below it,
Moderate when it straddles it (the model cannot tell on which side the student is).

Everything here is saved in the model artifact under ``RISK_KEY`` (a ``RiskModel``) beside the raw
pipeline, so an artifact stays loadable by ``ml.registry.load_model``; ``predict_with_interval`` reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

RISK_KEY = "risk"
N_MEMBERS = 16
INTERVAL = (0.1, 0.9)
CALIBRATION_METHODS = ("isotonic", "platt")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class PlattCalibrator:
    """Platt scaling: a logistic regression on the raw log-odds."""

    method = "platt"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        """Fit on raw probabilities ``raw`` and outcomes ``y``; returns self."""
        self.model_ = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw)[:, None], np.asarray(y, dtype=int))
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        return self.model_.predict_proba(_logit(raw)[:, None])[:, 1]


class IsotonicCalibrator:
    """Isotonic regression of the outcome on the raw probability (clipped at the ends)."""

    method = "isotonic"

    def fit(self, raw: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        """Fit on raw probabilities ``raw`` and outcomes ``y``; returns self."""
        self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        self.model_.fit(np.asarray(raw, dtype=float), np.asarray(y, dtype=float))
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities."""
        return np.clip(self.model_.predict(np.asarray(raw, dtype=float)), 0.0, 1.0)


Calibrator = PlattCalibrator | IsotonicCalibrator
_CALIBRATORS: dict[str, Callable[[], Calibrator]] = {"isotonic": IsotonicCalibrator, "platt": PlattCalibrator}


def choose_calibrator(raw: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[Calibrator, dict[str, Any]]:
    """The calibration method with the lower cross-fitted Brier score (two halves by student), fitted on all rows.

    Parameters
    ----------
    raw : held-out (out-of-fold) raw probabilities of the model.
    y : the outcomes of those rows.
    groups : the student of each row (a student's rows stay in one half).
    """
    raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=int)
    briers: dict[str, float] = {}
    for name, make in _CALIBRATORS.items():
        calibrated = np.zeros(len(y))
        for fit_idx, eval_idx in GroupKFold(n_splits=2).split(raw, y, groups):
            calibrated[eval_idx] = make().fit(raw[fit_idx], y[fit_idx]).predict(raw[eval_idx])
        briers[name] = float(brier_score_loss(y, calibrated))
    method = min(briers, key=lambda k: (briers[k], k))
    return _CALIBRATORS[method]().fit(raw, y), {"method": method, "brier": briers}


def bootstrap_members(
    make: Callable[[], Pipeline], x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, *, n: int = N_MEMBERS,
    seed: int = 0,
) -> list[Pipeline]:
    """``n`` pipelines from ``make()``, each fitted on students drawn with replacement (all rows of a drawn student)."""
    order = np.argsort(np.asarray(groups), kind="stable")  # rows grouped by student, each student's in row order
    students, starts, counts = np.unique(np.asarray(groups)[order], return_index=True, return_counts=True)
    rng = np.random.default_rng([seed, 11])
    members = []
    for _ in range(n):
        drawn = rng.choice(len(students), size=len(students), replace=True)
        # Every row of each drawn student, in draw order (vectorised: no Python loop over the students).
        lengths = counts[drawn]
        idx = order[np.repeat(starts[drawn] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())]
        if len(np.unique(y[idx])) < 2:
            continue
        members.append(make().fit(x.iloc[idx], y[idx]))
    return members


@dataclass
class RiskModel:
    """What turns the raw pipeline into calibrated probabilities with intervals (saved in the artifact)."""

    calibrator: Calibrator
    members: list[Pipeline]
    threshold: float
    interval: tuple[float, float] = INTERVAL
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, pipeline: Pipeline, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Calibrated probability and its interval (low, high) for every row of ``x``."""
        p = self.calibrator.predict(pipeline.predict_proba(x)[:, 1])
        if not self.members:
            return p, p.copy(), p.copy()
        spread = np.column_stack([self.calibrator.predict(m.predict_proba(x)[:, 1]) for m in self.members])
        lo, hi = np.quantile(spread, self.interval, axis=1)
        return p, np.minimum(lo, p), np.maximum(hi, p)


def tier_from_interval(lo: np.ndarray, hi: np.ndarray, threshold: float) -> np.ndarray:
    """DEWS tiers: High when the interval lies at or above ``threshold``, Low when below it, else Moderate."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return np.where(lo >= threshold, "High", np.where(hi < threshold, "Low", "Moderate"))


@lru_cache(maxsize=4)
def _risk_in(path: str, _mtime_ns: int, _size: int) -> RiskModel | None:
    """The ``RiskModel`` of an artifact file (read once per file version), None for an older artifact."""
    return joblib.load(path).get(RISK_KEY)


def risk_model_of(model: Any) -> RiskModel | None:
    """The ``RiskModel`` saved with a loaded model (``ml.registry.LoadedModel``), None when it has none."""
    path = Path(model.info.artifact_path)
    if not path.is_file():
        return None
    stat = path.stat()
    return _risk_in(str(path), stat.st_mtime_ns, stat.st_size)


def predict_with_interval(model: Any, x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated probability, interval low and high of every row (an older artifact: raw probability, no width).

    Parameters
    ----------
    model : a loaded model (``ml.registry.load_model``).
    x : the model's input columns (``ml.registry.require_columns``).
    """
    risk = risk_model_of(model)
    if risk is None:
        p = model.pipeline.predict_proba(x)[:, 1]
        return p, p.copy(), p.copy()
    return risk.predict(model.pipeline, x)
