"""Exact SHAP contributions per raw feature, in batch or for one student.

XGBoost: TreeSHAP from the booster (``pred_contribs=True``), in log-odds; contributions plus the base
value equal the model margin. Logistic regression: coefficient times the scaled value (exact for a
linear margin). Random forest: ``shap.TreeExplainer`` in probability space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.pipeline import output_feature_map
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


def contributions(model: LoadedModel, frame: pd.DataFrame) -> Contributions:
    """Exact per-feature contributions for every row of ``frame`` (one-hot columns summed back)."""
    x = require_columns(model, frame)
    prep = model.pipeline.named_steps["prep"]
    estimator = model.pipeline.named_steps["model"]
    xt = np.asarray(prep.transform(x), dtype=float)
    mapping = output_feature_map(model.pipeline, model.spec.numeric, model.spec.categorical)
    kind = model.info.model_type
    if kind == "xgboost":
        matrix = estimator.get_booster().predict(xgb.DMatrix(xt), pred_contribs=True)
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
