"""Files that are not plain CSV, and loads that land nothing: `studentperf ingest` end to end on real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from core.errors import InvalidInput
from db.database import Database
from etl.pipeline import RejectedFile, ingest_file
from etl.read import sniff
from studentperf.cli import app

runner = CliRunner()
HEADER = ["student_id", "student_name", "date", "study_hours", "attendance_rate", "final_score"]
# the smallest valid PNG: signature, IHDR, IDAT, IEND
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _env(database: Database, tmp_path: Path) -> dict[str, str]:
    url = database.engine.url.render_as_string(hide_password=False)
    return {"DATABASE_URL": url, "STUDENTPERF_HOME": str(tmp_path / "home"), "LOG_LEVEL": "WARNING"}


def _rows(n: int) -> list[list[str]]:
    """``n`` valid rows: students s001.. on 2025-09-01."""
    return [[f"s{i:03d}", f"Student {i}", "2025-09-01", str(i % 9), "0.9", str(50 + i % 50)] for i in range(1, n + 1)]


def _csv(rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in [HEADER, *rows]) + "\n"


def _count(database: Database, sql: str, **params: object) -> object:
    with database.begin() as s:
        return s.execute(text(sql), params).scalar()


def _ingest_json(database: Database, tmp_path: Path, *args: str) -> dict:
    res = runner.invoke(app, ["ingest", "--json", *args], env=_env(database, tmp_path))
    assert res.exit_code == 0, res.output
    [report] = json.loads(res.stdout)
    return report


def test_an_all_rejected_day_first_file_exits_non_zero_and_commits_nothing(clean_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "resaved.csv"  # a spreadsheet re-save: day-first dates and percent strings
    rows = [[f"s{i:03d}", f"Student {i}", f"{1 + i % 28:02d}/09/2025", "3", f"{80 + i % 20}%", "70"] for i in range(400)]
    path.write_text(_csv(rows))
    res = runner.invoke(app, ["ingest", str(path)], env=_env(clean_db, tmp_path))
    assert res.exit_code != 0
    [line] = res.stderr.strip().splitlines()
    assert "0 of 400 rows loaded" in line and "day-first" in line and "see the rejected rows" in line
    assert "Traceback" not in res.output + res.stderr
    assert _count(clean_db, "SELECT count(*) FROM students") == 0
    assert _count(clean_db, "SELECT count(*) FROM schools") == 0
    run = _count(clean_db, "SELECT row_to_json(r) FROM ingestion_runs r")
    assert run["status"] == "failed" and run["rows_read"] == 400 and run["rows_rejected"] == 400
    assert f"run {run['id']}" in line
    reasons = _count(clean_db, "SELECT reasons FROM rejected_rows WHERE run_id = :r AND line_number = 2", r=run["id"])
    assert "date '01/09/2025' is not a date (YYYY-MM-DD)" in reasons
    assert _count(clean_db, "SELECT count(*) FROM rejected_rows WHERE run_id = :r", r=run["id"]) == 400
    fixed = _ingest_json(clean_db, tmp_path, str(path), "--map", "date=date:dayfirst",
                         "--map", "attendance_rate=attendance_rate:percent")
    assert (fixed["status"], fixed["rows_rejected"], fixed["rows_inserted"]) == ("succeeded", 0, 400)
    assert _count(clean_db, "SELECT count(*) FROM attendance WHERE date = '2025-09-28'") == 14  # i % 28 == 27
    assert _count(clean_db, "SELECT a.rate FROM attendance a JOIN students s ON s.id = a.student_id "
                            "WHERE s.source_id = 's027' AND a.date = '2025-09-28'") == 0.87  # '87%'


def test_more_than_the_allowed_share_rejected_fails_and_the_share_is_configurable(clean_db: Database,
                                                                                    tmp_path: Path) -> None:
    rows = _rows(10)
    for row in rows[:6]:
        row[5] = "high"  # 6 of 10 rejected
    path = tmp_path / "mostly_bad.csv"
    path.write_text(_csv(rows))
    with pytest.raises(RejectedFile, match=r"0 of 10 rows loaded \(6 rejected, more than the 50% allowed\): "
                                           r"final_score 'high' is not a number"):
        ingest_file(clean_db, path)
    assert _count(clean_db, "SELECT count(*) FROM students") == 0
    report = ingest_file(clean_db, path, max_rejected_share=0.7)
    assert (report.status, report.rows_inserted, report.rows_rejected) == ("succeeded", 4, 6)
    assert report.message.startswith("mostly_bad.csv: loaded 4 of 10 rows")  # loaded, never read, as "loaded"
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        ingest_file(clean_db, path, max_rejected_share=1.5)


def test_xlsx_csv_gz_and_utf16_files_load(clean_db: Database, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for sid, name, _, hours, rate, score in _rows(5):
        sheet.append([sid, name, dt.datetime(2025, 9, 1), float(hours), float(rate), int(score)])
    book.save(tmp_path / "school.xlsx")
    with gzip.open(tmp_path / "school.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(_csv([[f"g{r[0]}", *r[1:]] for r in _rows(5)]))
    (tmp_path / "school16.csv").write_bytes(_csv([[f"u{r[0]}", "Zoë Brontë", *r[2:]] for r in _rows(5)]).encode("utf-16"))
    for name, kind in (("school.xlsx", "xlsx"), ("school.csv.gz", "csv.gz"), ("school16.csv", "csv")):
        report = _ingest_json(clean_db, tmp_path, str(tmp_path / name))
        assert (report["status"], report["rows_inserted"], report["rows_rejected"]) == ("succeeded", 5, 0), name
        assert report["format"]["kind"] == kind
    assert _count(clean_db, "SELECT count(*) FROM students") == 15
    assert _count(clean_db, "SELECT name FROM students WHERE source_id = 'us001'") == "Zoë Brontë"
    assert _count(clean_db, "SELECT count(*) FROM scores WHERE date = '2025-09-01'") == 15
    assert sniff(tmp_path / "school16.csv").encoding == "utf-16"


def test_a_workbook_named_csv_is_still_read_as_a_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["007", "A", "2025-09-01", 3, 0.9, 70])
    book.save(tmp_path / "export.xlsx")
    disguised = tmp_path / "export.csv"
    disguised.write_bytes((tmp_path / "export.xlsx").read_bytes())
    assert sniff(disguised).kind == "xlsx"


@pytest.mark.parametrize(("payload", "what"), [
    (PNG, "a PNG image"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
    (bytes(range(256)) * 4, "binary data"),
    (gzip.compress(PNG), "a PNG image inside the gzip file"),
])
def test_a_binary_file_gets_one_sentence(clean_db: Database, tmp_path: Path, payload: bytes, what: str) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(payload)
    res = runner.invoke(app, ["ingest", str(path)], env=_env(clean_db, tmp_path))
    assert res.exit_code == 2
    assert res.stderr.strip() == f"error: photo.csv: this is not a CSV file (it looks like {what})."


def test_a_huge_cell_is_a_rejected_row_and_messages_are_bounded(clean_db: Database, tmp_path: Path) -> None:
    rows = _rows(3)
    rows[1][1] = "N" * 1_000_000  # a 1 MB "name"
    rows[2][5] = "9" * 5000
    path = tmp_path / "huge.csv"
    path.write_text(_csv(rows))
    report = ingest_file(clean_db, path, max_rejected_share=1.0)
    assert (report.rows_inserted, report.rows_rejected) == (1, 2)
    assert _count(clean_db, "SELECT max(length(name)) FROM students") == len("Student 1")
    raw, reasons = _count(clean_db, "SELECT json_build_array(raw, reasons) FROM rejected_rows WHERE line_number = 3")
    assert reasons == ["student_name is longer than 200 characters"]
    assert 200 < len(raw["student_name"]) <= 500
    long_reason = _count(clean_db, "SELECT reasons[1] FROM rejected_rows WHERE line_number = 4")
    assert long_reason.startswith("final_score ") and len(long_reason) < 120
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"column_with_a_long_name_{i}_" + "x" * 100 for i in range(300)) + "\n" + "1," * 299 + "1\n")
    with pytest.raises(InvalidInput) as caught:
        ingest_file(clean_db, wide)
    assert "and 288 more" in str(caught.value) and len(str(caught.value)) < 1000


def test_an_unusable_workbook_and_an_empty_gzip_get_one_sentence(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    with pytest.raises(InvalidInput, match="empty.xlsx is empty"):
        sniff(empty)
    (tmp_path / "empty.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(InvalidInput, match="is empty"):
        sniff(tmp_path / "empty.csv.gz")
    (tmp_path / "cut.csv.gz").write_bytes(gzip.compress(_csv(_rows(50)).encode())[:40])
    with pytest.raises(InvalidInput, match="damaged gzip|cannot be read"):
        sniff(tmp_path / "cut.csv.gz")


def test_the_cell_length_limit_is_configurable(clean_db: Database, tmp_path: Path) -> None:
    rows = _rows(4)
    rows[0][1] = "A rather long name"  # 18 characters
    path = tmp_path / "limits.csv"
    path.write_text(_csv(rows))
    report = ingest_file(clean_db, path, max_lengths={"student_name": 12})
    assert (report.rows_inserted, report.rows_rejected) == (3, 1)
    assert _count(clean_db, "SELECT reasons[1] FROM rejected_rows") == "student_name is longer than 12 characters"
    with pytest.raises(InvalidInput, match="no length limit can be set for 'age'"):
        ingest_file(clean_db, path, max_lengths={"age": 3})
    res = runner.invoke(app, ["ingest", str(path), "--force", "--json", "--max-length", "student_name=40"],
                        env=_env(clean_db, tmp_path))
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["rows_rejected"] == 0, res.output
    bad = runner.invoke(app, ["ingest", str(path), "--max-length", "student_name"], env=_env(clean_db, tmp_path))
    assert bad.exit_code == 2 and "COLUMN=N" in bad.stderr
