"""Sample-school generator: a realistic, seeded school year in the flat export format.

The school has grades 9-12; students fill classes of 20-30 (``9A``, ``9B``, ... ``9AA``), one row per
student per week on Mondays from 2025-09-01 for 40 weeks (to 2026-06-01). Ids are zero-padded
(``00123``). Each student has a latent ability ``a ~ N(0, 1)``, a habitual weekly study time
(gamma, mean about 5 h), a sports habit (35 % regular, 30 % occasional, 35 % none) and a base
attendance (beta, mean about 0.90). Effect sizes, on the year's final outcome ``F`` (0-100):

* study hours: ``+6 * ln(1 + hours)``: diminishing returns, 1 -> 5 h/week is worth about +6.6 points;
* attendance: ``+45`` per unit of mean attendance rate (0.80 -> 0.95 is worth about +6.8 points);
* ability: ``+6`` per standard deviation; noise ``N(0, 3)``;
* regular sports raise attendance by about 3 percentage points (and so the score, indirectly).

The intercept is calibrated so that roughly 15 % of students end below 60. The ``final_score``
column is the running grade: it starts off ``F`` by a student-specific offset (sd 8) and converges
to ``F`` over the year (the last week's value is ``F``), with weekly noise shrinking to zero.

With ``dirty=True`` about 2-3 % of rows get one fault each: exact duplicate rows, blank cells (which
clean to imputed values), out-of-range numbers, mistyped numbers, bad dates, mixed-case
categories and yes/no variants, and attendance as a percent instead of a fraction. The faults that
must be rejected are listed in ``REJECTED_FAULTS``.

Output is deterministic: the same ``n_students``, ``seed`` and ``dirty`` give a byte-identical file,
because students are generated in fixed blocks of ``BLOCK`` students, each with its own seed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = (
    "student_id",
    "student_name",
    "age",
    "gender",
    "grade_level",
    "class_name",
    "date",
    "study_hours",
    "attendance_rate",
    "sports_participation",
    "final_score",
)
FIRST_WEEK = dt.date(2025, 9, 1)
N_WEEKS = 40
GRADES = (9, 10, 11, 12)
BLOCK = 1000
INTERCEPT = 17.3
REJECTED_FAULTS = ("out_of_range", "mistyped", "bad_date")
FAULTS = ("duplicate", "blank", *REJECTED_FAULTS, "mixed_case", "percent")

_FIRST = ("Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Zoe", "Omar", "Lena", "Ivan", "Sara", "Yuki",
          "Amir", "Chloe", "Mateo", "Nina", "Ethan", "Aisha", "Leo", "Maya", "Jonas", "Ines", "Ravi", "Elif")
_LAST = ("Smith", "Garcia", "Muller", "Rossi", "Nguyen", "Khan", "Silva", "Kowalski", "Dubois", "Jensen",
         "Okafor", "Tanaka", "Haddad", "Novak", "Brown", "Lopez", "Martin", "Costa", "Ali", "Berg")


def _letters(k: int) -> str:
    """Bijective base-26 label: 0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(65 + r) + out
    return out


def _class_bounds(n_students: int, seed: int) -> np.ndarray:
    """Start index of every class (sizes 20-30), plus ``n_students`` at the end."""
    rng = np.random.default_rng([seed, 7])
    sizes = rng.integers(20, 31, size=n_students // 20 + 2)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    starts = starts[starts < n_students]
    return np.append(starts, n_students)


def _students(first: int, count: int, n_students: int, seed: int) -> pd.DataFrame:
    """Per-student traits of students ``first .. first+count-1``."""
    rng = np.random.default_rng([seed, 1, first])
    idx = np.arange(first, first + count)
    bounds = _class_bounds(n_students, seed)
    klass = np.searchsorted(bounds, idx, side="right") - 1
    grade = np.asarray(GRADES)[klass % len(GRADES)]
    width = max(5, len(str(n_students)))
    sports = rng.choice([0.85, 0.3, 0.0], size=count, p=[0.35, 0.30, 0.35])
    return pd.DataFrame({
        "student_id": [str(i + 1).zfill(width) for i in idx],
        "student_name": [f"{_FIRST[(i * 7 + seed) % len(_FIRST)]} {_LAST[(i * 13 + seed) % len(_LAST)]}" for i in idx],
        "age": grade + 5 + rng.integers(0, 2, size=count),
        "gender": rng.choice(["Female", "Male", "Other"], size=count, p=[0.48, 0.48, 0.04]),
        "grade_level": grade,
        "class_name": [f"{g}{_letters(int(k) // len(GRADES))}" for g, k in zip(grade, klass, strict=True)],
        "ability": rng.normal(0, 1, count),
        "hours": rng.gamma(2.5, 2.0, count),
        "sports_p": sports,
        "attendance": np.clip(rng.beta(18, 2, count) + 0.035 * (sports > 0.5), 0.3, 1.0),
        "offset": rng.normal(0, 8, count),
    })


def _weeks(traits: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per student per week, with the running grade converging to the final outcome."""
    n = len(traits)
    shape = (n, N_WEEKS)
    hours = np.clip(traits["hours"].to_numpy()[:, None] * rng.lognormal(0, 0.35, shape), 0, 40).round(1)
    att = np.clip(traits["attendance"].to_numpy()[:, None] + rng.normal(0, 0.06, shape), 0, 1).round(2)
    sports = rng.random(shape) < traits["sports_p"].to_numpy()[:, None]
    final = (INTERCEPT + 6 * np.log1p(hours.mean(axis=1)) + 45 * att.mean(axis=1)
             + 6 * traits["ability"].to_numpy() + rng.normal(0, 3, n))
    final = np.clip(final, 0, 100)
    remaining = 1 - np.arange(N_WEEKS) / (N_WEEKS - 1)
    running = (final[:, None] + traits["offset"].to_numpy()[:, None] * remaining ** 1.5
               + rng.normal(0, 2.5, shape) * remaining)
    running = np.clip(running, 0, 100).round(1)
    dates = pd.date_range(FIRST_WEEK, periods=N_WEEKS, freq="7D").strftime("%Y-%m-%d")
    rows = traits.loc[traits.index.repeat(N_WEEKS), list(COLUMNS[:6])].reset_index(drop=True)
    rows["date"] = np.tile(np.asarray(dates), n)
    rows["study_hours"] = hours.ravel()
    rows["attendance_rate"] = att.ravel()
    rows["sports_participation"] = np.where(sports.ravel(), "Yes", "No")
    rows["final_score"] = running.ravel()
    return rows


def _dirty(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Inject the faults listed in the module docstring (about 1 row in 40 gets one)."""
    out = frame.astype(str)
    n = len(out)
    pick = rng.random(n)
    kinds = np.full(n, "", dtype=object)
    for i, kind in enumerate(FAULTS):
        kinds[(pick >= 0.004 * i) & (pick < 0.004 * (i + 1))] = kind
    col = out.columns.get_loc
    for row in np.flatnonzero(kinds != ""):
        _apply_fault(out, row, kinds[row], rng, col)
    dup = np.flatnonzero(kinds == "duplicate")
    if len(dup):
        out = pd.concat([out, out.iloc[dup]]).sort_index(kind="stable").reset_index(drop=True)
    return out


def _apply_fault(out: pd.DataFrame, row: int, kind: str, rng: np.random.Generator, col) -> None:  # noqa: ANN001
    """Damage one cell of ``row`` according to ``kind``."""
    choice = int(rng.integers(0, 3))
    if kind == "blank":
        name = ("study_hours", "attendance_rate", "gender")[choice]
        out.iat[row, col(name)] = ""
    elif kind == "out_of_range":
        name, value = (("study_hours", "120"), ("final_score", "104.5"), ("age", "45"))[choice]
        out.iat[row, col(name)] = value
    elif kind == "mistyped":
        name, value = (("study_hours", "five"), ("final_score", "7O.5"), ("attendance_rate", "0..9"))[choice]
        out.iat[row, col(name)] = value
    elif kind == "bad_date":
        out.iat[row, col("date")] = ("2025-13-01", "31/02/2026", "someday")[choice]
    elif kind == "mixed_case":
        gender, sports = out.iat[row, col("gender")], out.iat[row, col("sports_participation")]
        out.iat[row, col("gender")] = gender.upper() if choice else gender.lower()
        out.iat[row, col("sports_participation")] = {"Yes": ("y", "TRUE", "yes"), "No": ("n", "FALSE", "NO")}[sports][choice]
    elif kind == "percent":
        out.iat[row, col("attendance_rate")] = f"{float(out.iat[row, col('attendance_rate')]) * 100:g}"


def iter_school(n_students: int, seed: int = 0, dirty: bool = False) -> Iterator[pd.DataFrame]:
    """Yield the school's rows in blocks of ``BLOCK`` students (bounded memory)."""
    for first in range(0, n_students, BLOCK):
        count = min(BLOCK, n_students - first)
        rng = np.random.default_rng([seed, 2, first])
        frame = _weeks(_students(first, count, n_students, seed), rng)
        if dirty:
            frame = _dirty(frame, np.random.default_rng([seed, 3, first]))
        yield frame


def generate_school(n_students: int, seed: int = 0, dirty: bool = False) -> pd.DataFrame:
    """The whole school as one flat DataFrame (all columns text when ``dirty``).

    Parameters
    ----------
    n_students : number of students (each gets 40 weekly rows).
    seed : random seed; the same seed gives the same rows.
    dirty : inject the faults described in the module docstring.
    """
    if n_students < 1:
        raise ValueError("n_students must be at least 1")
    return pd.concat(list(iter_school(n_students, seed, dirty)), ignore_index=True)


def write_school(path: str | PathLike[str], n_students: int, seed: int = 0, dirty: bool = False) -> Path:
    """Write the school as a CSV file block by block (never all rows in memory); return its path."""
    if n_students < 1:
        raise ValueError("n_students must be at least 1")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as fh:
        for i, frame in enumerate(iter_school(n_students, seed, dirty)):
            frame.to_csv(fh, index=False, header=(i == 0), lineterminator="\n")
    return target
