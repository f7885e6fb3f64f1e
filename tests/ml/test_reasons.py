"""Reasons a teacher can act on: only contributions that matter, no class-median value as a risk, what can change first."""

from __future__ import annotations

import pandas as pd

from ml.reasons import FACTORS, all_reasons, at_class_median, top_reasons

COLUMNS = ["grade_level", "n_weeks", "att_rate", "att_recent", "att_trend", "att_low_share", "att_vs_class",
           "study_mean", "study_trend", "study_vs_class", "sports_share", "score_latest", "score_mean", "score_min",
           "score_slope", "score_trend", "score_vs_class"]


def _student(**values: float) -> pd.DataFrame:
    row = {"grade_level": 10.0, "n_weeks": 12.0, "att_rate": 0.9, "att_recent": 0.9, "study_mean": 5.0,
           "sports_share": 0.5, "score_latest": 70.0, "score_slope": 0.0, "class_att_rate": 0.9,
           "class_att_recent": 0.9, "class_study_mean": 5.0, "class_sports_share": 0.5, "class_score_latest": 70.0,
           "class_score_slope": 0.0, "class_n_weeks": 12.0, **values}
    return pd.DataFrame([row], index=[1])


def _shap(**contributions: float) -> pd.DataFrame:
    return pd.DataFrame([{c: contributions.get(c, 0.0) for c in COLUMNS}], index=[1])


def test_a_value_at_the_class_median_is_never_a_risk() -> None:
    frame = _student(att_rate=0.94, class_att_rate=0.94, score_latest=55.0)
    values = _shap(att_rate=0.9, score_latest=0.4)
    [reasons] = top_reasons(values, frame)
    assert [r["factor"] for r in reasons] == ["grade"]  # attendance 94 %, class median 94 % is left out
    assert all(r["factor"] != "attendance" for r in all_reasons(values.iloc[0], frame.iloc[0]))
    # the same attendance below its class median is a reason (the check above can fail):
    [below] = top_reasons(values, _student(att_rate=0.80, class_att_rate=0.94, score_latest=55.0))
    assert below[0]["factor"] == "attendance" and below[0]["text"] == "attendance 80 %, class median 94 %: raises risk"


def test_only_contributions_that_matter() -> None:
    [reasons] = top_reasons(_shap(att_rate=0.01, study_mean=-0.02, score_latest=0.3), _student(score_latest=50.0))
    assert [r["factor"] for r in reasons] == ["grade"]


def test_what_can_change_comes_before_what_cannot() -> None:
    values = _shap(grade_level=1.5, n_weeks=-1.0, att_recent=0.2, score_slope=0.3)
    [reasons] = top_reasons(values, _student(att_recent=0.7, score_slope=-1.5))
    assert [r["factor"] for r in reasons] == ["grade_trend", "recent_attendance", "grade_level"]
    every = [r["factor"] for r in all_reasons(values.iloc[0], _student(att_recent=0.7, score_slope=-1.5).iloc[0])]
    fixed = {f.name for f in FACTORS if not f.actionable}
    first_fixed = next(i for i, name in enumerate(every) if name in fixed)
    assert all(name in fixed for name in every[first_fixed:])


def test_at_class_median_compares_what_is_shown() -> None:
    attendance = next(f for f in FACTORS if f.name == "attendance")
    assert at_class_median(attendance, 0.9404, 0.9371)  # both read "94 %"
    assert not at_class_median(attendance, 0.93, 0.95)
    assert not at_class_median(attendance, float("nan"), 0.95)
