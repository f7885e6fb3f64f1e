"""The sample-school generator: format, realism, determinism, dirt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from etl.generate import COLUMNS, N_WEEKS, generate_school, write_school


def test_flat_format_and_shape() -> None:
    df = generate_school(120, seed=1)
    assert tuple(df.columns) == COLUMNS
    assert len(df) == 120 * N_WEEKS
    assert df["student_id"].iloc[0] == "00001"
    dates = pd.to_datetime(df["date"])
    assert (dates.dt.dayofweek == 0).all()
    assert dates.min() == pd.Timestamp("2025-09-01") and dates.nunique() == N_WEEKS
    assert df["study_hours"].between(0, 80).all() and df["attendance_rate"].between(0, 1).all()
    assert df["final_score"].between(0, 100).all()
    assert set(df["sports_participation"]) == {"Yes", "No"}
    assert set(df["grade_level"]) <= {9, 10, 11, 12}


def test_classes_of_twenty_to_thirty() -> None:
    df = generate_school(600, seed=2)
    sizes = df.groupby("class_name")["student_id"].nunique().sort_values()
    assert sizes.iloc[1:].between(20, 30).all()  # the last class may be the remainder


def test_realistic_effects() -> None:
    df = generate_school(3000, seed=4)
    per = df.groupby("student_id").agg(hours=("study_hours", "mean"), att=("attendance_rate", "mean"),
                                       final=("final_score", "last"), first=("final_score", "first"))
    assert 0.10 <= (per["final"] < 60).mean() <= 0.20
    assert per["hours"].corr(per["final"]) > 0.2
    assert per["att"].corr(per["final"]) > 0.2
    # the running grade converges: late weeks are closer to the outcome than early weeks
    assert (per["first"] - per["final"]).abs().mean() > 3


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = write_school(tmp_path / "a.csv", 1500, seed=9, dirty=True)
    b = write_school(tmp_path / "b.csv", 1500, seed=9, dirty=True)
    c = write_school(tmp_path / "c.csv", 1500, seed=10, dirty=True)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_written_file_matches_frame(tmp_path: Path) -> None:
    path = write_school(tmp_path / "s.csv", 1100, seed=3)
    back = pd.read_csv(path, dtype=str)
    assert len(back) == 1100 * N_WEEKS
    assert back["student_id"].iloc[-1] == "01100"
    frame = generate_school(1100, seed=3)
    assert back["final_score"].astype(float).round(1).equals(frame["final_score"])


def test_dirty_has_every_fault() -> None:
    df = generate_school(300, seed=5, dirty=True)
    assert len(df) > 300 * N_WEEKS  # duplicates added
    assert df.duplicated().sum() > 0
    assert (df["study_hours"] == "").any() or (df["attendance_rate"] == "").any()
    assert df["date"].isin(["2025-13-01", "31/02/2026", "someday"]).any()
    assert df["study_hours"].isin(["five", "120"]).any() or df["final_score"].isin(["7O.5", "104.5"]).any()
    assert df["gender"].isin(["FEMALE", "female", "MALE", "male"]).any()
    assert (pd.to_numeric(df["attendance_rate"], errors="coerce") > 1).any()


def test_a_school_with_a_history_keeps_its_cohorts() -> None:
    df = generate_school(400, seed=6, years=3, as_of=dt.date(2026, 11, 23))
    df["year"] = df["date"].map(lambda d: int(d[:4]) - (int(d[5:7]) < 8))
    per = df.drop_duplicates(["student_id", "year"]).set_index(["student_id", "year"])
    assert sorted(df["year"].unique()) == [2024, 2025, 2026]
    assert (per.groupby(level="year").size() == 400).all()  # every year has the school's size
    weeks = df.groupby("year")["date"].nunique()
    assert list(weeks) == [N_WEEKS, N_WEEKS, 12]  # 2026-09-07 .. 2026-11-23 is 12 Mondays
    assert df[df["year"] == 2026]["date"].max() == "2026-11-23"
    grade = per["grade_level"].unstack()
    both = grade[2024].notna() & grade[2025].notna()
    assert both.sum() == 300 and (grade.loc[both, 2025] == grade.loc[both, 2024] + 1).all()  # ids stay, one grade up
    assert set(grade.loc[grade[2024].notna() & grade[2025].isna(), 2024]) == {12}  # grade 12 leaves
    assert set(grade.loc[grade[2024].isna() & grade[2025].notna(), 2025]) == {9}  # a new grade 9 enters
    assert (per["age"] - per["grade_level"]).groupby(level="student_id").nunique().eq(1).all()
    classes = per["class_name"].unstack()
    moved = classes.loc[both, 2025].str[2:] != classes.loc[both, 2024].str[2:]  # class letters re-formed
    assert 0.2 < moved.mean() < 1.0
    sizes = df[df["year"] == 2025].groupby("class_name")["student_id"].nunique()
    assert sizes.between(20, 30).all()


def test_the_current_year_is_what_the_past_years_were_up_to_as_of() -> None:
    whole = generate_school(120, seed=7, years=2)
    part = generate_school(120, seed=7, years=2, as_of=dt.date(2025, 11, 24))
    cut = whole[whole["date"] <= "2025-11-24"].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, cut)
    with pytest.raises(ValueError, match="before the first week"):
        generate_school(50, seed=1, years=2, as_of=dt.date(2026, 8, 20))


def test_an_early_warning_is_possible_but_not_certain() -> None:
    """Features of week 12, a model trained on two past years: ROC AUC on the next year in the 0.80-0.92 band."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    df = generate_school(2000, seed=8, years=3)
    df["year"] = df["date"].str[:4].astype(int) - (df["date"].str[5:7].astype(int) < 8)
    df["week"] = df.groupby(["student_id", "year"]).cumcount() + 1
    final = df.groupby(["student_id", "year"])["final_score"].last()
    assert 0.10 <= (final < 60).mean() <= 0.20
    early = df[df["week"] <= 12].groupby(["student_id", "year"])
    x = pd.DataFrame({"grade": early["final_score"].last(), "att": early["attendance_rate"].mean(),
                      "hours": early["study_hours"].mean()})
    y = (final.loc[x.index] < 60).astype(int)
    test = x.index.get_level_values("year") == 2025
    model = LogisticRegression(max_iter=1000).fit(x[~test], y[~test])
    auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    assert 0.80 <= auc <= 0.92, auc
