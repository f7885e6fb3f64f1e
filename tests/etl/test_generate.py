"""The sample-school generator: format, realism, determinism, dirt."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
