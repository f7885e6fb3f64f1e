"""Score every current student with the active model into ``predictions``, with three reasons each.

Each run is stored in ``scoring_runs`` with the cut-offs it used, and each prediction keeps its tier:
every surface reads that stored tier. The tier words are defined here, where they are assigned.

Tiers (cut-offs configurable, ``TierCutoffs``): High when the probability is at or above ``high``
(default: the model's threshold, the F1-best cut chosen out-of-fold); Low below ``low`` (default: half
of it); Moderate in between. Like DEWS, the Moderate band holds the students the model cannot place
confidently on either side of the line: close below the threshold, where a small change in attendance
or grades would flag them, so they are worth watching but not yet an intervention.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.settings import Settings
from db.database import Database
from db.models import Prediction
from ml.errors import NotEnoughData
from ml.explain import contributions
from ml.features import build_features, latest_data_date
from ml.reasons import top_reasons
from ml.registry import LoadedModel, load_model, record_run, require_columns

HIGH, MODERATE, LOW = "High", "Moderate", "Low"
TIERS = (HIGH, MODERATE, LOW)


@dataclass(frozen=True)
class TierCutoffs:
    """Probability cut-offs of the tiers; None means the model's default."""

    high: float | None = None
    low: float | None = None

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

    def summary(self) -> str:
        """One short paragraph for the CLI."""
        counts = ", ".join(f"{t} {self.tiers.get(t, 0)}" for t in TIERS)
        timing = ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        return (
            f"scored {self.n_scored} students as of {self.as_of} with model {self.version}: {counts} "
            f"(High >= {self.cutoffs[0]:.3f}, Low < {self.cutoffs[1]:.3f}); {timing}"
        )


def predict_frame(model: LoadedModel, frame: pd.DataFrame) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """Probabilities and top-three reasons for every row of a feature frame."""
    probability = predict_probability(model, frame)
    return probability, batch_reasons(model, frame)


def predict_probability(model: LoadedModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's probability of ending below the pass threshold, for every row."""
    return model.pipeline.predict_proba(require_columns(model, frame))[:, 1]


def batch_reasons(model: LoadedModel, frame: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """Top-three reasons in words for every row, from exact SHAP values computed in one batch."""
    return top_reasons(contributions(model, frame).values, frame)


def _copy_predictions(session: Session, rows: pd.DataFrame) -> None:
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    raw = session.connection().connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.copy_expert(
            "COPY predictions (student_id, model_version_id, scoring_run_id, as_of, probability, tier, reasons) "
            "FROM STDIN WITH (FORMAT csv)",
            buffer,
        )


def write_predictions(
    session: Session, model: LoadedModel, run_id: int, as_of: dt.date, frame: pd.DataFrame, probability: np.ndarray,
    tiers: np.ndarray, reasons: list[list[dict[str, Any]]],
) -> None:
    """Replace this model's predictions with those of scoring run ``run_id`` (bulk COPY)."""
    session.execute(delete(Prediction).where(Prediction.model_version_id == model.info.id))
    rows = pd.DataFrame({
        "student_id": frame.index.to_numpy(),
        "model_version_id": model.info.id,
        "scoring_run_id": run_id,
        "as_of": as_of.isoformat(),
        "probability": np.round(probability, 6),
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
    cutoffs : tier cut-offs; default High >= model threshold, Low < half of it. Stored with the run.
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
        start = time.perf_counter()
        probability = predict_probability(model, frame)
        seconds["predict"] = time.perf_counter() - start
        start = time.perf_counter()
        reasons = batch_reasons(model, frame)
        seconds["reasons"] = time.perf_counter() - start
        high, low = (cutoffs or TierCutoffs()).resolve(model.threshold)
        tiers = assign_tiers(probability, high, low)
        start = time.perf_counter()
        run = record_run(session, model.info, as_of, high, low, len(frame))
        write_predictions(session, model, run.id, as_of, frame, probability, tiers, reasons)
        seconds["write"] = time.perf_counter() - start
    counts = {t: int((tiers == t).sum()) for t in TIERS}
    return ScoreResult(model.info.version, as_of, len(frame), run.id, counts, (high, low), seconds)
