"""Turn SHAP contributions into plain words: "attendance 71 %, class median 94 %: raises risk".

Related features are one factor (attendance level = rate, share of weeks below 90 % and the gap to the
class); a factor's contribution is the sum of its features' SHAP values (exact, by additivity). Each
factor is described by its headline value beside the class median of that value.

Each reason is a dict stored as-is in ``predictions.reasons``: ``factor`` (e.g. ``attendance``),
``value`` and ``class_median`` (raw numbers; rates are fractions), ``contribution`` (the model's own
units, never shown as words), ``effect`` (``raises`` / ``lowers``) and ``text`` (the sentence to show).

What a teacher reads is meant to be acted on: a student's top reasons list only factors whose
contribution matters (``MIN_CONTRIBUTION``), never a value equal to the class median (as shown) as
raising risk, and lead with what can change (attendance, study, the grade and its trend, sports)
before what cannot (grade level, weeks on record, age, gender).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %"


def _num(v: float) -> str:
    return f"{v:.0f}"


def _hours(v: float) -> str:
    return f"{v:.1f} h a week"


def _signed(v: float) -> str:
    return f"{v:+.1f} points a week"


@dataclass(frozen=True)
class Factor:
    """A group of model features explained together by one headline value."""

    name: str
    label: str
    features: tuple[str, ...]
    value: str
    reference: str | None
    fmt: Callable[[float], str]
    actionable: bool = True


FACTORS: tuple[Factor, ...] = (
    Factor("attendance", "attendance", ("att_rate", "att_vs_class", "att_low_share"), "att_rate", "class_att_rate", _pct),
    Factor("recent_attendance", "attendance over the last 4 weeks", ("att_recent", "att_trend"), "att_recent",
           "class_att_recent", _pct),
    Factor("grade", "running grade", ("score_latest", "score_vs_class", "score_mean", "score_min"), "score_latest",
           "class_score_latest", _num),
    Factor("grade_trend", "running grade trend", ("score_slope", "score_trend"), "score_slope", "class_score_slope",
           _signed),
    Factor("study", "study", ("study_mean", "study_vs_class", "study_trend"), "study_mean", "class_study_mean", _hours),
    Factor("sports", "sports in", ("sports_share",), "sports_share", "class_sports_share", lambda v: f"{_pct(v)} of weeks"),
    Factor("last_year", "last year's final grade", ("prior_final",), "prior_final", "class_prior_final", _num,
           actionable=False),
    Factor("grade_level", "grade level", ("grade_level",), "grade_level", None, _num, actionable=False),
    Factor("weeks", "weeks on record", ("n_weeks",), "n_weeks", "class_n_weeks", _num, actionable=False),
    Factor("age", "age", ("age",), "age", None, _num, actionable=False),
    Factor("gender", "gender", ("gender",), "gender", None, str, actionable=False),
)


MIN_CONTRIBUTION = 0.05
"""A factor whose contribution is smaller than this (in absolute value) is not a top reason."""


def factors_for(columns: list[str]) -> list[Factor]:
    """The factors that cover at least one of the model's ``columns``."""
    return [f for f in FACTORS if any(c in columns for c in f.features)]


def factor_contributions(values: pd.DataFrame) -> pd.DataFrame:
    """Sum the per-feature SHAP values of ``values`` into one column per factor."""
    columns = list(values.columns)
    factors = factors_for(columns)
    membership = np.zeros((len(columns), len(factors)))
    for j, factor in enumerate(factors):
        for feature in factor.features:
            if feature in columns:
                membership[columns.index(feature), j] = 1.0
    return pd.DataFrame(values.to_numpy() @ membership, index=values.index, columns=[f.name for f in factors])


def _fmt(factor: Factor, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not recorded"
    return factor.fmt(value)


def describe(factor: Factor, value: Any, reference: Any, contribution: float) -> dict[str, Any]:
    """One reason as plain data with its sentence."""
    effect = "raises risk" if contribution > 0 else "lowers risk"
    text = f"{factor.label} {_fmt(factor, value)}"
    if factor.reference is not None:
        text += f", class median {_fmt(factor, reference)}"
    return {
        "factor": factor.name,
        "value": plain(value),
        "class_median": plain(reference),
        "contribution": round(float(contribution), 4),
        "effect": "raises" if contribution > 0 else "lowers",
        "text": f"{text}: {effect}",
    }


def plain(value: Any) -> Any:
    """A JSON-friendly value: numpy floats rounded, NaN as None."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 4)
    return value


def at_class_median(factor: Factor, value: Any, reference: Any) -> bool:
    """True when the value reads the same as its class median (then it is no reason to worry)."""
    if factor.reference is None or reference is None or value is None:
        return False
    if isinstance(value, float) and math.isnan(value) or isinstance(reference, float) and math.isnan(reference):
        return False
    return _fmt(factor, value) == _fmt(factor, reference)


def _ordered(candidates: list[tuple[Factor, Any, Any, float]]) -> list[tuple[Factor, Any, Any, float]]:
    """What can change first, then what cannot; each by decreasing absolute contribution."""
    kept = [c for c in candidates if not (c[3] > 0 and at_class_median(c[0], c[1], c[2]))]
    return sorted(kept, key=lambda c: (not c[0].actionable, -abs(c[3])))


def top_reasons(
    values: pd.DataFrame, frame: pd.DataFrame, k: int = 3, min_abs: float = MIN_CONTRIBUTION
) -> list[list[dict[str, Any]]]:
    """For each row, up to ``k`` factors that matter (``min_abs``), in words: what can change first."""
    grouped = factor_contributions(values)
    by_name = {f.name: f for f in FACTORS}
    names = list(grouped.columns)
    matrix = grouped.to_numpy()
    value_cols = {n: frame[by_name[n].value].to_numpy() for n in names}
    ref_cols = {n: frame[by_name[n].reference].to_numpy() if by_name[n].reference else None for n in names}
    out = []
    for i in range(len(matrix)):
        candidates = [
            (by_name[name], value_cols[name][i], ref_cols[name][i] if ref_cols[name] is not None else None,
             float(matrix[i, j]))
            for j, name in enumerate(names) if abs(matrix[i, j]) >= min_abs
        ]
        out.append([describe(*c) for c in _ordered(candidates)[:k]])
    return out


def all_reasons(values: pd.Series, row: pd.Series) -> list[dict[str, Any]]:
    """Every factor for one student (none at its class median as raising risk): what can change first."""
    grouped = factor_contributions(values.to_frame().T).iloc[0]
    by_name = {f.name: f for f in FACTORS}
    candidates = []
    for name, contribution in grouped.items():
        factor = by_name[str(name)]
        ref = row.get(factor.reference) if factor.reference else None
        candidates.append((factor, row.get(factor.value), ref, float(contribution)))
    return [describe(*c) for c in _ordered(candidates)]
