"""Clean stage: turn validated rows into the staging layout, with documented defaults.

* attendance above 1 is a percent and is divided by 100 (``93`` -> ``0.93``);
* gender is normalised (``f``/``FEMALE`` -> ``Female``, ``m`` -> ``Male``); blank -> ``Unknown``;
  any other value -> ``Other``;
* a blank or missing class is ``Unassigned`` with grade 0; a blank grade is 0;
* a file without ``student_id`` gets ``<id_prefix>-<line>`` (line zero-padded to 7 digits), so
  re-ingesting the same file updates the same students; without ``date`` every row gets
  ``default_date`` (``DEFAULT_DATE`` unless given);
* the school year (``2025-2026``) comes from the date: a year starts on 1 August.

Blank numbers stay null here; duplicates on (student, date) and the median imputation are
resolved set-based over the whole file by the load stage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_DATE = dt.date(2025, 9, 1)
DEFAULT_ID_PREFIX = "line"
UNASSIGNED = "Unassigned"
UNKNOWN = "Unknown"
GENDERS = {"female": "Female", "f": "Female", "girl": "Female", "male": "Male", "m": "Male", "boy": "Male",
           "other": "Other", "x": "Other", "non-binary": "Other", "nonbinary": "Other", "unknown": UNKNOWN}
STAGE_COLUMNS = ("line", "school", "source_id", "name", "gender", "age", "grade", "class_name", "school_year",
                 "date", "hours", "rate", "sports", "score")


@dataclass(frozen=True)
class CleanOptions:
    """Defaults applied while cleaning one file."""

    school: str = "Demo School"
    id_prefix: str = DEFAULT_ID_PREFIX
    default_date: dt.date = DEFAULT_DATE


def _gender(value: object) -> str:
    """One canonical gender label."""
    low = value.strip().lower() if isinstance(value, str) else ""
    return GENDERS.get(low, UNKNOWN if low == "" else "Other")


def normalise_gender(values: pd.Series) -> pd.Series:
    """Canonical gender labels; blank is ``Unknown``, anything unrecognised ``Other``."""
    codes, uniques = pd.factorize(values)
    mapped = np.asarray([_gender(u) for u in uniques] + [UNKNOWN], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def to_fraction(rate: pd.Series) -> pd.Series:
    """Attendance as a fraction: values above 1 are percents."""
    return rate.where(~(rate > 1), rate / 100)


def school_year(dates: pd.Series) -> pd.Series:
    """``2025-2026`` for any date from 2025-08-01 to 2026-07-31."""
    def one(d: pd.Timestamp) -> str:
        start = d.year - (d.month < 8)
        return f"{start}-{start + 1}"
    return _per_unique_date(dates, one)


def _per_unique_date(dates: pd.Series, fn) -> pd.Series:  # noqa: ANN001
    """Apply ``fn`` to each distinct date only."""
    codes, uniques = pd.factorize(dates)
    mapped = np.asarray([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=dates.index, dtype=object)


def _text(rows: pd.DataFrame, name: str, default: str | None) -> pd.Series:
    """A text column, ``default`` where blank or absent."""
    if name not in rows:
        return pd.Series(default, index=rows.index, dtype=object)
    return rows[name].fillna(default) if default is not None else rows[name]


def clean(rows: pd.DataFrame, options: CleanOptions) -> pd.DataFrame:
    """The staging frame (``STAGE_COLUMNS``) for validated rows.

    Parameters
    ----------
    rows : typed rows from ``etl.validate.validate``.
    options : the school, and the id prefix and date for files without those columns.
    """
    line = rows["_line"]
    if "student_id" in rows:
        source_id = rows["student_id"]
    else:
        source_id = options.id_prefix + "-" + line.astype(str).str.zfill(7)
    if "date" in rows:
        date = rows["date"]
    else:
        date = pd.Series(pd.Timestamp(options.default_date), index=rows.index, dtype="datetime64[ns]")
    na = pd.Series(np.nan, index=rows.index)
    out = pd.DataFrame({
        "line": line,
        "school": _text(rows, "school", options.school),
        "source_id": source_id,
        "name": _text(rows, "student_name", None),
        "gender": normalise_gender(_text(rows, "gender", "")),
        "age": rows.get("age", na).astype("Int16"),
        "grade": rows.get("grade_level", na).fillna(0).astype("Int16"),
        "class_name": _text(rows, "class_name", UNASSIGNED),
        "school_year": school_year(date),
        "date": _per_unique_date(date, lambda d: d.strftime("%Y-%m-%d")),
        "hours": rows["study_hours"],
        "rate": to_fraction(rows["attendance_rate"]),
        "sports": rows.get("sports_participation", pd.Series(pd.NA, index=rows.index, dtype="boolean")),
        "score": rows["final_score"],
    })
    return out.loc[:, list(STAGE_COLUMNS)]


def latest_per_student_year(staged: pd.DataFrame) -> pd.DataFrame:
    """The latest staged row (by date, then line) of each student and school year in a chunk."""
    ordered = staged.sort_values(["date", "line"], kind="stable")
    return ordered.drop_duplicates(["school", "source_id", "school_year"], keep="last")
