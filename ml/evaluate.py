"""Honest evaluation on a held-out set: ranking (per snapshot week too), threshold metrics, calibration (reliability
table and expected calibration error), per-group error gaps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)

CHRONIC_ABSENCE = 0.90


def rule_baseline(features: pd.DataFrame, pass_threshold: float) -> np.ndarray:
    """Transparent rule: at risk when attendance so far is below 90 % or the latest grade is failing."""
    attendance = features["att_rate"].to_numpy(dtype=float)
    score = features["score_latest"].to_numpy(dtype=float)
    low = np.nan_to_num(attendance, nan=1.0) < CHRONIC_ABSENCE
    failing = np.nan_to_num(score, nan=100.0) < pass_threshold
    return (low | failing).astype(float)


def best_f1_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    """The probability cut-off that maximises F1 (chosen on out-of-fold training predictions)."""
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    if len(thresholds) == 0:
        return 0.5
    return float(thresholds[int(np.argmax(f1[:-1]))])


def _safe(fn: Any, *args: Any) -> float | None:
    try:
        return float(fn(*args))
    except ValueError:
        return None


def binary_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, Any]:
    """ROC AUC, PR AUC, accuracy, precision/recall/F1 at ``threshold``, Brier score, confusion matrix."""
    y_true = np.asarray(y_true, dtype=int)
    predicted = (np.asarray(proba) >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y_true, predicted, labels=[0, 1]).ravel()
    return {
        "n": int(len(y_true)),
        "positives": int(y_true.sum()),
        "roc_auc": _safe(roc_auc_score, y_true, proba),
        "pr_auc": _safe(average_precision_score, y_true, proba),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "brier": float(brier_score_loss(y_true, np.clip(proba, 0, 1))),
        "threshold": float(threshold),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def calibration_table(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per probability decile-width bin: count, mean predicted probability, observed at-risk rate."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(proba, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append({
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "n": int(mask.sum()),
                "mean_predicted": float(np.mean(proba[mask])),
                "observed": float(np.mean(y_true[mask])),
            })
    return rows


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted gap between predicted and observed rate over equal-width bins."""
    y_true, proba = np.asarray(y_true, dtype=float), np.asarray(proba, dtype=float)
    if len(y_true) == 0:
        return float("nan")
    index = np.clip(np.digitize(proba, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(proba[mask].mean() - y_true[mask].mean())
    return float(total / len(y_true))


def snapshot_aucs(y_true: np.ndarray, proba: np.ndarray, weeks: np.ndarray) -> dict[str, float | None]:
    """ROC AUC per snapshot week (keys are the weeks as text, for JSON)."""
    y_true, proba, weeks = np.asarray(y_true, dtype=int), np.asarray(proba, dtype=float), np.asarray(weeks)
    return {str(int(w)): _safe(roc_auc_score, y_true[weeks == w], proba[weeks == w]) for w in sorted(set(weeks))}


def group_rates(y_true: np.ndarray, predicted: np.ndarray, groups: pd.Series) -> dict[str, Any]:
    """False-positive and false-negative rates per group, and the largest gap between groups."""
    table = []
    keys = [*sorted(groups.dropna().unique()), *([None] if groups.isna().any() else [])]  # grade 9 before 10
    for key in keys:
        value = "missing" if key is None else _label(key)
        mask = (groups.isna() if key is None else groups == key).to_numpy()
        yt, yp = y_true[mask], predicted[mask]
        negatives, positives = int((yt == 0).sum()), int((yt == 1).sum())
        fpr = float(((yp == 1) & (yt == 0)).sum() / negatives) if negatives else None
        fnr = float(((yp == 0) & (yt == 1)).sum() / positives) if positives else None
        table.append({"group": value, "n": int(mask.sum()), "positives": positives, "fpr": fpr, "fnr": fnr})
    return {"rows": table, "fpr_gap": _gap(table, "fpr"), "fnr_gap": _gap(table, "fnr")}


def _label(key: object) -> str:
    """A group's name: whole floats (a grade read next to blanks) print as integers."""
    return str(int(key)) if isinstance(key, float) and key.is_integer() else str(key)


def _gap(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None and r["n"] >= 10]
    return float(max(values) - min(values)) if len(values) >= 2 else None


def full_report(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, groups: dict[str, pd.Series]
) -> dict[str, Any]:
    """Everything reported for one model on the test set."""
    y_true = np.asarray(y_true, dtype=int)
    proba = np.asarray(proba, dtype=float)
    predicted = (proba >= threshold).astype(int)
    report = binary_metrics(y_true, proba, threshold)
    report["calibration"] = calibration_table(y_true, proba)
    report["ece"] = expected_calibration_error(y_true, proba)
    report["groups"] = {name: group_rates(y_true, predicted, series) for name, series in groups.items()}
    return report
