"""Unit tests of the read, validate and clean stages (no database)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import InvalidInput
from etl.clean import CleanOptions, clean, normalise_gender, school_year, to_fraction
from etl.read import normalise_header, read_chunks, sniff
from etl.validate import validate

HEADER = "student_id,student_name,age,gender,grade_level,class_name,date,study_hours,attendance_rate,sports_participation,final_score"
ROW = "00123,Zoë Brontë,15,Female,10,10A,2025-09-08,4.5,0.93,Yes,71.5"


def _read(path: Path) -> pd.DataFrame:
    fmt = sniff(path)
    return pd.concat(list(read_chunks(path, fmt, 1000)))


def _write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(("sep", "newline", "encoding", "bom"), [
    (",", "\n", "utf-8", False),
    (",", "\r\n", "utf-8", True),
    (";", "\n", "utf-8", False),
    ("\t", "\r\n", "latin-1", False),
])
def test_reads_delimiters_encodings_and_newlines(tmp_path: Path, sep: str, newline: str, encoding: str, bom: bool) -> None:
    text = newline.join([HEADER.replace(",", sep), ROW.replace(",", sep)]) + newline
    path = _write(tmp_path, ("\ufeff" if bom else "") + text, encoding)
    fmt = sniff(path)
    assert fmt.delimiter == sep
    assert fmt.encoding == ("latin-1" if encoding == "latin-1" else "utf-8-sig" if bom else "utf-8")
    df = _read(path)
    assert df["student_id"].tolist() == ["00123"]  # leading zeros kept
    assert df["student_name"].tolist() == ["Zoë Brontë"]
    assert df["final_score"].tolist() == ["71.5"]  # no stray \r
    assert df["_line"].tolist() == [2]


def test_quoted_numbers_and_decimal_comma(tmp_path: Path) -> None:
    path = _write(tmp_path, 'student_id;date;study_hours;attendance_rate;final_score\n"007";2025-09-01;"4,5";"93";"70"\n')
    checked = validate(_read(path))
    assert checked.rejected.empty
    row = checked.rows.iloc[0]
    assert row["study_hours"] == 4.5 and row["attendance_rate"] == 93 and row["final_score"] == 70


def test_aliases_and_ignored_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, "Hours_Studied,Attendance,Extracurricular_Activities,Gender,Exam_Score,Sleep_Hours\n"
                            "23,84,No,Male,67,7\n")
    fmt = sniff(path)
    assert set(fmt.columns.values()) == {"study_hours", "attendance_rate", "sports_participation", "gender", "final_score"}
    assert fmt.ignored == ("Sleep_Hours",)
    assert normalise_header(" Student Number ") == "student_number"
    assert normalise_header("HoursStudied") == "hours_studied"


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "student_id,date,study_hours,final_score\n1,2025-09-01,3,70\n")
    with pytest.raises(InvalidInput, match="attendance_rate"):
        sniff(path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        sniff(_write(tmp_path, ""))


def test_validation_collects_every_reason() -> None:
    raw = pd.DataFrame({
        "_line": [2, 3, 4, 5],
        "student_id": ["1", "", "3", "4"],
        "date": ["2025-09-01", "2025-09-01", "2025-02-30", "2025-09-01"],
        "age": ["15", "15", "15", "14"],
        "study_hours": ["3", "abc", "90", ""],
        "attendance_rate": ["0.9", "0.9", "-1", "n/a"],
        "sports_participation": ["yes", "maybe", "NO", "TRUE"],
        "final_score": ["70", "70", "101", "55"],
    }, index=[10, 11, 12, 13])
    checked = validate(raw)
    assert checked.rows["_line"].tolist() == [2, 5]  # blanks are not errors: they are imputed later
    reasons = dict(zip(checked.rejected["line_number"], checked.rejected["reasons"], strict=True))
    assert sorted(reasons[3]) == sorted(["student_id is blank", "study_hours 'abc' is not a number",
                                         "sports_participation 'maybe' is not yes or no"])
    assert sorted(reasons[4]) == sorted(["date '2025-02-30' is not a date (YYYY-MM-DD)",
                                         "study_hours 90 is out of range 0-80",
                                         "attendance_rate -1 is out of range 0-100",
                                         "final_score 101 is out of range 0-100"])
    assert '"study_hours": "abc"' in checked.rejected["raw"].iloc[0]
    half = validate(raw.assign(age=["15", "15", "15", "14.5"]).iloc[[3]])
    assert half.rows.empty and half.rejected["reasons"].iloc[0] == ["age 14.5 is not a whole number"]


def test_clean_defaults_and_conversions() -> None:
    raw = pd.DataFrame({"_line": [2, 3], "study_hours": ["3", ""], "attendance_rate": ["93", "0.5"],
                        "final_score": ["70", "80"], "gender": ["FEMALE", ""]})
    out = clean(validate(raw).rows, CleanOptions(school="S"))
    assert out["source_id"].tolist() == ["line-0000002", "line-0000003"]
    assert out["date"].tolist() == ["2025-09-01", "2025-09-01"]
    assert out["rate"].tolist() == [0.93, 0.5]
    assert out["gender"].tolist() == ["Female", "Unknown"]
    assert out["class_name"].tolist() == ["Unassigned", "Unassigned"] and out["grade"].tolist() == [0, 0]
    assert out["school_year"].tolist() == ["2025-2026", "2025-2026"]
    assert pd.isna(out["hours"].iloc[1])


def test_derived_helpers() -> None:
    assert normalise_gender(pd.Series(["m", "Girl", "x", "zzz", ""])).tolist() == ["Male", "Female", "Other", "Other", "Unknown"]
    assert to_fraction(pd.Series([1.0, 95.0, 0.5])).tolist() == [1.0, 0.95, 0.5]
    dates = pd.Series(pd.to_datetime(["2025-07-31", "2025-08-01", "2026-06-01"]))
    assert school_year(dates).tolist() == ["2024-2025", "2025-2026", "2025-2026"]
