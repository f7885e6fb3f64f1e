"""Two rows of a file for the same student and date with different values: the LAST one (by line) is loaded.

The rule lives in the load stage (``etl_rows``: ``DISTINCT ON (student, date) ... ORDER BY line DESC``; a student's
name, gender and age from their latest row by date, then line) and in ``etl.clean.latest_per_student_year``
(the same within a chunk). Keeping the first row instead must fail here, on every path: several chunks, a first
load into empty tables (bulk), and a later load over stored rows (upsert).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

import etl.load
from db.database import Database
from etl.generate import write_school
from etl.pipeline import ingest_file

EVENTS_SQL = """
SELECT st.name, st.age, a.rate, h.hours, p.participated, sc.score, w.att_sum, w.study_sum, w.score_sum, w.sports_sum
FROM students st
JOIN attendance a ON a.student_id = st.id AND a.date = :d
JOIN study_hours h ON h.student_id = st.id AND h.date = :d
JOIN activity_participation p ON p.student_id = st.id AND p.date = :d
JOIN scores sc ON sc.student_id = st.id AND sc.date = :d
JOIN student_week_summary w ON w.student_id = st.id AND w.date = :d
WHERE st.source_id = :s
"""


def _with_a_changed_copy(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """Append, at the end of the file, a second row for a student's latest date with every value different."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = df[df.student_id == df.student_id.iloc[0]].sort_values("date").iloc[-1].to_dict()
    last = {**first, "student_name": "Changed Name", "age": str(int(first["age"]) + 1), "study_hours": "11.25",
            "attendance_rate": "0.5", "final_score": "12.5",
            "sports_participation": "No" if first["sports_participation"] == "Yes" else "Yes"}
    out = pd.concat([df, pd.DataFrame([last])], ignore_index=True)
    out.to_csv(path, index=False)
    return out, last


@pytest.mark.parametrize(
    ("batch_size", "bulk", "reload"),
    [(100_000, False, False), (7, False, False), (100_000, True, False), (100_000, False, True)],
    ids=["one-chunk", "many-chunks", "bulk-first-load", "over-stored-rows"],
)
def test_the_last_of_two_rows_for_the_same_student_and_date_is_loaded(
        clean_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int, bulk: bool,
        reload: bool) -> None:
    path = write_school(tmp_path / "school.csv", 6, seed=4)
    if bulk:
        monkeypatch.setattr(etl.load, "BULK_MIN_ROWS", 10)
    if reload:
        ingest_file(clean_db, path)  # the first row's values are stored: the later load must replace them
    df, last = _with_a_changed_copy(path)
    report = ingest_file(clean_db, path, batch_size=batch_size, force=True)
    assert report.rows_read == len(df) and report.rows_duplicate == 1 and report.rows_rejected == 0
    with clean_db.begin() as s:
        row = s.execute(text(EVENTS_SQL), {"s": last["student_id"], "d": last["date"]}).one()
    sports = last["sports_participation"] == "Yes"
    assert (row.name, row.age) == ("Changed Name", int(last["age"]))
    assert (row.rate, row.hours, row.participated, row.score) == (0.5, 11.25, sports, 12.5)
    assert (row.att_sum, row.study_sum, row.score_sum, row.sports_sum) == (0.5, 11.25, 12.5, int(sports))
