"""Exact SHAP contributions per raw feature, in batch or for one student.

XGBoost: TreeSHAP from the booster (``pred_contribs=True``), in log-odds; contributions plus the base
value equal the model margin. Logistic regression: coefficient times the scaled value (exact for a
linear margin). Random forest: ``shap.TreeExplainer`` in probability space.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from db.enrolment import current_class
from ml.errors import NotEnoughData
from ml.features import CONTEXT_COLUMNS, build_features
from ml.pipeline import output_feature_map
from ml.reasons import all_reasons, plain
from ml.registry import LoadedModel, require_columns


@dataclass(frozen=True)
class Contributions:
    """SHAP values per raw feature (rows = students), the base value and each row's model margin."""

    values: pd.DataFrame
    base_value: float
    margin: np.ndarray
    space: str  # "log-odds" or "probability"


def _to_raw(matrix: np.ndarray, mapping: list[str], columns: list[str]) -> np.ndarray:
    out = np.zeros((matrix.shape[0], len(columns)))
    position = {c: i for i, c in enumerate(columns)}
    for j, raw in enumerate(mapping):
        out[:, position[raw]] += matrix[:, j]
    return out


def contributions(model: LoadedModel, frame: pd.DataFrame, *, threads: int = 1) -> Contributions:
    """Exact per-feature contributions for every row of ``frame`` (one-hot columns summed back).

    ``threads``: XGBoost's TreeSHAP threads (a copy of the booster runs them; the loaded model stays on one thread).
    """
    x = require_columns(model, frame)
    prep = model.pipeline.named_steps["prep"]
    estimator = model.pipeline.named_steps["model"]
    xt = np.asarray(prep.transform(x), dtype=float)
    mapping = output_feature_map(model.pipeline, model.spec.numeric, model.spec.categorical)
    kind = model.info.model_type
    if kind == "xgboost":
        booster = estimator.get_booster()
        if threads > 1:  # a copy: the shared loaded model keeps its one thread (and no limits lookup per explanation)
            booster = booster.copy()
            booster.set_param({"nthread": threads})
            with threadpool_limits(limits=threads, user_api="openmp"):  # lift a caller's one-thread limit
                matrix = booster.predict(xgb.DMatrix(xt, nthread=threads), pred_contribs=True)
        else:
            matrix = booster.predict(xgb.DMatrix(xt), pred_contribs=True)
        base, raw, space = float(matrix[0, -1]) if len(matrix) else 0.0, matrix[:, :-1], "log-odds"
    elif kind == "logreg":
        raw = xt * estimator.coef_[0]
        base, space = float(estimator.intercept_[0]), "log-odds"
    else:
        import shap

        explanation = shap.TreeExplainer(estimator)
        values = np.asarray(explanation.shap_values(xt))
        raw = values[..., 1] if values.ndim == 3 else values
        base, space = float(np.ravel(explanation.expected_value)[-1]), "probability"
    per_feature = _to_raw(np.asarray(raw, dtype=float), mapping, model.columns)
    margin = per_feature.sum(axis=1) + base
    return Contributions(pd.DataFrame(per_feature, index=frame.index, columns=model.columns), base, margin, space)


def probability_from_margin(margin: np.ndarray, space: str) -> np.ndarray:
    """Model probability from a margin in ``space``."""
    if space == "probability":
        return np.clip(margin, 0.0, 1.0)
    return 1.0 / (1.0 + np.exp(-margin))


@dataclass(frozen=True)
class StudentExplanation:
    """Exact contributions for one student, their values and the class medians, and the reasons in words."""

    student_id: int
    class_id: int
    as_of: object
    probability: float
    base_value: float
    margin: float
    space: str
    contributions: dict[str, float]
    values: dict[str, object]
    reasons: list[dict]


def explain_one(
    session: Session, model: LoadedModel, student_id: int, as_of: dt.date, class_id: int | None = None
) -> StudentExplanation:
    """Exact SHAP contributions for one current student as of ``as_of`` (reads only the student's class).

    ``class_id`` is the student's current class when the caller already knows it (else it is looked up).
    """
    class_id = class_id if class_id is not None else current_class(session, student_id)
    frame = build_features(session, as_of, class_ids=[class_id]) if class_id is not None else None
    if frame is None or student_id not in frame.index:
        raise NotEnoughData(f"Student {student_id} is not a current student with data to explain.")
    one = frame.loc[[student_id]]
    contrib = contributions(model, one)
    row = one.iloc[0]
    values = contrib.values.iloc[0]
    return StudentExplanation(
        student_id=int(student_id),
        class_id=int(class_id),
        as_of=as_of,
        probability=float(probability_from_margin(contrib.margin, contrib.space)[0]),
        base_value=contrib.base_value,
        margin=float(contrib.margin[0]),
        space=contrib.space,
        contributions={k: float(v) for k, v in values.items()},
        values={c: plain(row[c]) for c in (*model.columns, *CONTEXT_COLUMNS) if c in row.index},
        reasons=all_reasons(values, row),
    )
