"""The one scikit-learn ``Pipeline`` (encoders + estimator) used in production and in the benchmarks.

A binary XGBoost model gets monotone constraints where the direction is known (``ml.features.RISK_DIRECTION``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier, XGBRegressor

from ml.errors import UnknownModel
from ml.features import RISK_DIRECTION

MODEL_TYPES = ("xgboost", "logreg", "rf")
TASKS = ("binary", "multiclass", "regression")

XGB_DEFAULTS: dict[str, Any] = {
    "n_estimators": 300,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "reg_lambda": 1.0,
    "tree_method": "hist",
    "n_jobs": 1,  # one thread: on a busy machine OpenMP threads spinning against each other are many times slower
}


def _numeric_steps(model: str) -> Pipeline | str:
    if model == "xgboost":
        return "passthrough"  # trees split on missing values natively
    if model == "logreg":
        return Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                         ("scale", StandardScaler())])
    return SimpleImputer(strategy="median", keep_empty_features=True)  # a year with no prior grades keeps the column


def build_preprocessor(model: str, numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    """Encoders: numeric columns as the model needs them, categorical columns one-hot (unknowns ignored)."""
    parts: list[tuple[str, Any, list[str]]] = [("num", _numeric_steps(model), list(numeric))]
    if categorical:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        cat = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="Unknown")), ("onehot", encoder)])
        parts.append(("cat", cat, list(categorical)))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def build_estimator(model: str, task: str = "binary", params: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """The estimator of ``model`` for ``task`` with ``params`` over the defaults."""
    if model not in MODEL_TYPES:
        raise UnknownModel(f"Unknown model type {model!r}: choose one of {', '.join(MODEL_TYPES)}.")
    if task not in TASKS:
        raise UnknownModel(f"Unknown task {task!r}: choose one of {', '.join(TASKS)}.")
    params = dict(params or {})
    if model == "xgboost":
        merged = {**XGB_DEFAULTS, **params, "random_state": seed}
        return XGBRegressor(**merged) if task == "regression" else XGBClassifier(**merged)
    if model == "rf":
        merged = {"n_estimators": 300, "min_samples_leaf": 2, "n_jobs": 2, "random_state": seed, **params}
        return RandomForestRegressor(**merged) if task == "regression" else RandomForestClassifier(**merged)
    if task == "regression":
        return LinearRegression(**params)
    return LogisticRegression(**{"C": 1.0, "max_iter": 2000, **params})


def monotone_constraints(numeric: list[str]) -> tuple[int, ...]:
    """XGBoost monotone constraints of the numeric columns (they come first in the preprocessed matrix)."""
    return tuple(RISK_DIRECTION.get(c, 0) for c in numeric)


def build_pipeline(
    model: str,
    numeric: list[str],
    categorical: list[str],
    *,
    task: str = "binary",
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> Pipeline:
    """One ``Pipeline``: preprocessing then the estimator (``model`` in ``MODEL_TYPES``)."""
    params = dict(params or {})
    if model == "xgboost" and task == "binary":
        params.setdefault("monotone_constraints", monotone_constraints(numeric))
    estimator = build_estimator(model, task, params, seed)
    return Pipeline([("prep", build_preprocessor(model, numeric, categorical)), ("model", estimator)])


def fit_early_stopped(
    pipeline: Pipeline,
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    rounds: int = 30,
) -> tuple[Pipeline, int]:
    """Fit an XGBoost pipeline with early stopping on the validation part; returns it and the best tree count."""
    fitted = clone(pipeline)
    prep = fitted.named_steps["prep"].fit(x_train, y_train)
    estimator = fitted.named_steps["model"]
    estimator.set_params(early_stopping_rounds=rounds)
    estimator.fit(prep.transform(x_train), y_train, eval_set=[(prep.transform(x_valid), y_valid)], verbose=False)
    best = int(estimator.best_iteration) + 1
    estimator.set_params(early_stopping_rounds=None)
    return fitted, best


def output_feature_map(pipeline: Pipeline, numeric: list[str], categorical: list[str]) -> list[str]:
    """For each column the preprocessor outputs, the raw feature it came from (one-hot columns map back)."""
    names = list(pipeline.named_steps["prep"].get_feature_names_out())
    mapped = []
    for name in names:
        if name in numeric:
            mapped.append(name)
        elif name.startswith("missingindicator_"):
            mapped.append(name[len("missingindicator_") :])
        else:
            mapped.append(next((c for c in categorical if name.startswith(f"{c}_")), name))
    return mapped
