"""Score every current student with the active model into ``predictions``, with an interval and three reasons each.

Each run is stored in ``scoring_runs`` with how it set the tiers, and each prediction keeps its probability,
its uncertainty interval (``low``, ``high``) and its tier: every surface reads those stored values. Every run
is kept (a student's risk history); the tier words are defined here, where they are assigned.

Tiers, by default (method ``interval``), follow the Wisconsin DEWS (``ml.uncertainty.tier_from_interval``):
High when the student's whole interval lies at or above the model's decision threshold, Low when it lies
below it, Moderate when it straddles it (the model cannot tell on which side the student is). Given explicit
cut-offs (``TierCutoffs``, ``studentperf score --high/--low``; method ``cutoffs``), tiers are set on the
probability alone instead: High at or above ``high``, Low below ``low`` (default half of ``high``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from core.errors import InvalidInput
from core.settings import Settings
from db.database import Database
from ml.errors import NotEnoughData
from ml.explain import contributions
from ml.features import build_features, latest_data_date
from ml.reasons import top_reasons
from ml.registry import LoadedModel, load_model, record_run, require_columns
from ml.uncertainty import predict_with_interval, tier_from_interval

HIGH, MODERATE, LOW = "High", "Moderate", "Low"
TIERS = (HIGH, MODERATE, LOW)


@dataclass(frozen=True)
class TierCutoffs:
    """Probability cut-offs of the tiers; None means the model's default."""

    high: float | None = None
    low: float | None = None

    @property
    def given(self) -> bool:
        """Whether any cut-off was given (then tiers follow the cut-offs, not the interval)."""
        return self.high is not None or self.low is not None

    def resolve(self, threshold: float) -> tuple[float, float]:
        """The (high, low) cut-offs for a model whose decision threshold is ``threshold``."""
        high = self.high if self.high is not None else threshold
        low = self.low if self.low is not None else high / 2
        if not 0 <= low <= high <= 1:
            raise InvalidInput(f"Tier cut-offs must satisfy 0 <= low ({low}) <= high ({high}) <= 1.")
        return float(high), float(low)


def assign_tiers(probability: np.ndarray, high: float, low: float) -> np.ndarray:
    """High / Moderate / Low for each probability."""
    probability = np.asarray(probability, dtype=float)
    return np.where(probability >= high, HIGH, np.where(probability >= low, MODERATE, LOW))


@dataclass
class ScoreResult:
    """What one scoring run did: which model, which date, how many per tier, how long each step took."""

    version: str
    as_of: dt.date
    n_scored: int
    run_id: int
    tiers: dict[str, int]
    cutoffs: tuple[float, float]
    seconds: dict[str, float] = field(default_factory=dict)
    method: str = "cutoffs"

    def summary(self) -> str:
        """One short paragraph for the CLI."""
        counts = ", ".join(f"{t} {self.tiers.get(t, 0)}" for t in TIERS)
        timing = ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        if self.method == "interval":
            rule = f"tiers by the interval against the threshold {self.cutoffs[0]:.3f}"
        else:
            rule = f"High >= {self.cutoffs[0]:.3f}, Low < {self.cutoffs[1]:.3f}"
        return f"scored {self.n_scored} students as of {self.as_of} with model {self.version}: {counts} ({rule}); {timing}"


def predict_frame(model: LoadedModel, frame: pd.DataFrame) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """Probabilities and top-three reasons for every row of a feature frame."""
    probability = predict_probability(model, frame)
    return probability, batch_reasons(model, frame)


Interval = tuple[np.ndarray, np.ndarray, np.ndarray]


def predict_interval(model: LoadedModel, frame: pd.DataFrame) -> Interval:
    """Calibrated probability and its interval (low, high) for every row (``ml.uncertainty.predict_with_interval``),
    rounded to the 6 places they are stored with, so the tiers set from them follow the stored values exactly."""
    probability, low, high = (np.round(np.asarray(a, dtype=float), 6)
                              for a in predict_with_interval(model, require_columns(model, frame)))
    return probability, np.minimum(low, probability), np.maximum(high, probability)


def set_tiers(scores: Interval, threshold: float, cutoffs: TierCutoffs | None) -> tuple[np.ndarray, str, float, float]:
    """Tiers, the method and the (high, low) recorded with the run: DEWS by the interval, or the given cut-offs."""
    probability, low, high = scores
    if cutoffs is not None and cutoffs.given:
        hi_cut, lo_cut = cutoffs.resolve(threshold)
        return assign_tiers(probability, hi_cut, lo_cut), "cutoffs", hi_cut, lo_cut
    if not 0 <= threshold <= 1:
        raise InvalidInput(f"The model's threshold {threshold} is not a probability: retrain it.")
    return tier_from_interval(low, high, threshold), "interval", float(threshold), float(threshold)


def predict_probability(model: LoadedModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's probability of ending below the pass threshold, for every row."""
    return model.pipeline.predict_proba(require_columns(model, frame))[:, 1]


REASON_THREADS = os.cpu_count() or 1
"""TreeSHAP threads of the batch reasons (only there: the rest of scoring and training stays on one thread)."""


def batch_reasons(model: LoadedModel, frame: pd.DataFrame, *, threads: int | None = None) -> list[list[dict[str, Any]]]:
    """Top-three reasons in words for every row, from exact SHAP values computed in one batch (``threads``: default
    ``REASON_THREADS``, every core)."""
    return top_reasons(contributions(model, frame, threads=threads or REASON_THREADS).values, frame)


def _copy_predictions(session: Session, rows: pd.DataFrame) -> None:
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    raw = session.connection().connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.copy_expert(
            "COPY predictions (student_id, model_version_id, scoring_run_id, as_of, probability, low, high, tier, "
            "reasons) "
            "FROM STDIN WITH (FORMAT csv)",
            buffer,
        )


def write_predictions(
    session: Session, model: LoadedModel, run_id: int, as_of: dt.date, frame: pd.DataFrame, scores: Interval,
    tiers: np.ndarray, reasons: list[list[dict[str, Any]]],
) -> None:
    """Add the predictions of scoring run ``run_id`` (bulk COPY); earlier runs' rows are kept."""
    probability, low, high = (np.round(np.asarray(a, dtype=float), 6) for a in scores)
    rows = pd.DataFrame({
        "student_id": frame.index.to_numpy(),
        "model_version_id": model.info.id,
        "scoring_run_id": run_id,
        "as_of": as_of.isoformat(),
        "probability": probability,
        "low": np.minimum(low, probability),
        "high": np.maximum(high, probability),
        "tier": tiers,
        "reasons": [json.dumps(r) for r in reasons],
    })
    _copy_predictions(session, rows)


def score_all(
    database: Database, settings: Settings, as_of: dt.date | None = None, *, cutoffs: TierCutoffs | None = None
) -> ScoreResult:
    """Score every current student with the active model as of ``as_of`` (default: the latest data date).

    Parameters
    ----------
    database : the product database; predictions are written in one transaction.
    settings : product settings (kept for symmetry with training; the model carries its own threshold).
    as_of : the features' date.
    cutoffs : tier cut-offs on the probability; None (or none given): DEWS tiers from each interval against the
        model's threshold. Either way the run records how it set the tiers.
    """
    seconds: dict[str, float] = {}
    with database.begin() as session:
        model = load_model(session)
        as_of = as_of or latest_data_date(session)
        if as_of is None:
            raise NotEnoughData("No attendance or scores in the database: load a school export first.")
        start = time.perf_counter()
        frame = build_features(session, as_of)
        seconds["features"] = time.perf_counter() - start
        if frame.empty:
            raise NotEnoughData("No current students to score: load a school export first.")
        with threadpool_limits(limits=1):  # one BLAS/OpenMP thread, as in training (ml.train.fit_and_evaluate)
            start = time.perf_counter()
            scores = predict_interval(model, frame)
            seconds["predict"] = time.perf_counter() - start
            start = time.perf_counter()
            reasons = batch_reasons(model, frame)
            seconds["reasons"] = time.perf_counter() - start
        tiers, method, high, low = set_tiers(scores, model.threshold, cutoffs)
        start = time.perf_counter()
        run = record_run(session, model.info, as_of, high, low, len(frame), method=method,
                         threshold=float(model.threshold))
        write_predictions(session, model, run.id, as_of, frame, scores, tiers, reasons)
        seconds["write"] = time.perf_counter() - start
    counts = {t: int((tiers == t).sum()) for t in TIERS}
    return ScoreResult(model.info.version, as_of, len(frame), run.id, counts, (high, low), seconds, method)
