"""Column mappings: transforms, scale warnings, the shipped profiles on the real public files, saved mappings."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from core.errors import InvalidInput, NotFound
from db.database import Database
from etl.generate import write_school
from etl.mapping import (
    KAGGLE,
    PROFILES,
    UCI,
    Mapping,
    Rule,
    apply,
    get_mapping,
    parse_rule,
    prepare,
    preview,
    sample,
    save_mapping,
    scale_warnings,
)
from etl.pipeline import ingest_file
from services.overview import kpi_summary
from services.scope import Filters, Viewer
from studentperf.cli import app
from tests.conftest import SHARED_DATA

runner = CliRunner()
UCI_MAT = SHARED_DATA / "uci-student-performance" / "student-mat.csv"
KAGGLE_FILE = SHARED_DATA / "kaggle-student-performance-factors" / "StudentPerformanceFactors.csv"
ADMIN = Viewer(user_id=0, email="admin@test", role="admin")


def _env(database: Database, tmp_path: Path) -> dict[str, str]:
    url = database.engine.url.render_as_string(hide_password=False)
    return {"DATABASE_URL": url, "STUDENTPERF_HOME": str(tmp_path / "home"), "LOG_LEVEL": "WARNING"}


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} is missing (set STUDENTPERF_SHARED_DATA to the shared data folder)")


def _uci_rows() -> list[dict[str, str]]:
    """The UCI file read independently of the product (the csv module)."""
    with UCI_MAT.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def _count(database: Database, sql: str, **params: object) -> object:
    with database.begin() as s:
        return s.execute(text(sql), params).scalar()


def test_transforms_rewrite_what_they_read_and_keep_the_rest() -> None:
    raw = pd.DataFrame({
        "_line": [2, 3, 4, 5, 6],
        "final_score": ["0", "10", "15", "20", "abc"],
        "attendance_rate": ["0", "18", "90", "-1", ""],
        "study_hours": ["90%", "85", "7,5 %", "x%", "1"],
        "date": ["01/09/2025", "31.12.25", "31/02/2025", "2025-09-01", "13-01-2026"],
        "gender": ["F", "m", "Q", "", "f"],
    })
    mapping = Mapping("t", (
        Rule("final_score", "final_score", "rescale", {"from_max": 20, "from_pass": 10, "to_pass": 60}),
        Rule("attendance_rate", "attendance_rate", "absences", {"days": 180}),
        Rule("study_hours", "study_hours", "percent"),
        Rule("date", "date", "dayfirst"),
        Rule("gender", "gender", "values", {"map": {"f": "Female", "M": "Male"}}),
    ))
    before = raw.copy()
    out = apply(raw, mapping)
    pd.testing.assert_frame_equal(raw, before)  # the raw chunk is not modified
    assert out["final_score"].tolist() == ["0", "60", "80", "100", "abc"]
    assert out["attendance_rate"].tolist() == ["1", "0.9", "0.5", "-1", ""]
    assert out["study_hours"].tolist() == ["0.9", "85", "0.075", "x%", "1"]
    assert out["date"].tolist() == ["2025-09-01", "2025-12-31", "31/02/2025", "2025-09-01", "2026-01-13"]
    assert out["gender"].tolist() == ["Female", "Male", "Q", "", "Female"]
    linear = apply(raw, Mapping("", (Rule("final_score", "final_score", "rescale", {"from_max": 20}),)))
    assert linear["final_score"].tolist() == ["0", "50", "75", "100", "abc"]
    always = apply(raw, Mapping("", (Rule("study_hours", "study_hours", "percent", {"always": True}),)))
    assert always["study_hours"].tolist() == ["0.9", "0.85", "0.075", "x%", "0.01"]
    month = apply(raw, Mapping("", (Rule("date", "date", "monthfirst"),)))
    assert month["date"].tolist()[:2] == ["2025-01-09", "31.12.25"]


def test_map_options_parse_and_bad_ones_say_why() -> None:
    assert parse_rule("G3=final_score:rescale:20:10", pass_mark=50) == Rule(
        "G3", "final_score", "rescale", {"from_max": 20.0, "to_pass": 50, "from_pass": 10.0})
    assert parse_rule("absences=attendance_rate:absences:180").params == {"days": 180.0}
    assert parse_rule("Att=attendance_rate:percent:all").params == {"always": True}
    assert parse_rule("studytime=study_hours:values:1=1,2=3.5").params == {"map": {"1": "1", "2": "3.5"}}
    assert parse_rule(" Nom = student_name") == Rule("Nom", "student_name")
    for bad, says in (("G3", "is not SOURCE=TARGET"), ("G3=grade", "not one of our columns"),
                      ("G3=final_score:squash", "not a transform"), ("G3=final_score:rescale:x", "needs MAX"),
                      ("G3=final_score:rescale:20:25", "between 0 and 20"), ("a=attendance_rate:absences:0", "days"),
                      ("s=study_hours:values:oops", "A=B")):
        with pytest.raises(InvalidInput, match=says):
            parse_rule(bad)
    with pytest.raises(InvalidInput, match="more than one column"):
        Mapping("", (Rule("a", "final_score"), Rule("b", "final_score")))
    assert Mapping.from_dict(json.loads(json.dumps(UCI.to_dict()))) == UCI
    with pytest.raises(InvalidInput, match="malformed"):
        Mapping.from_dict({"rules": [{"target": "final_score"}]})


def test_the_uci_file_says_which_profile_fits_it() -> None:
    _need(UCI_MAT)
    with pytest.raises(InvalidInput) as caught:
        prepare(UCI_MAT)
    message = str(caught.value)
    assert "lacks the required columns" in message and "use --mapping uci-student-performance" in message
    assert "and 21 more" in message and "\n" not in message


def test_preview_of_a_file_lacking_columns_lists_every_column_found(clean_db: Database, tmp_path: Path) -> None:
    _need(UCI_MAT)
    res = runner.invoke(app, ["ingest", str(UCI_MAT), "--preview"], env=_env(clean_db, tmp_path))
    assert res.exit_code == 2 and "use --mapping uci-student-performance" in res.stderr
    assert "columns found: school, sex, age" in res.stdout and "G1, G2, G3" in res.stdout


def test_scale_warnings_catch_a_hand_renamed_uci_file_and_spare_ours(tmp_path: Path) -> None:
    _need(UCI_MAT)
    renamed = Mapping("", (Rule("G3", "final_score"), Rule("absences", "attendance_rate"), Rule("studytime", "study_hours")))
    fmt = prepare(UCI_MAT, renamed)
    warnings = scale_warnings(sample(UCI_MAT, fmt, renamed), fmt, renamed)
    assert [w.column for w in warnings] == ["final_score", "attendance_rate"] and all(w.silent for w in warnings)
    assert "G3 looks like a score out of 20" in str(warnings[0]) and "rescale:20" in str(warnings[0])
    assert "absences:DAYS" in str(warnings[1])
    fmt = prepare(UCI_MAT, UCI)
    assert scale_warnings(sample(UCI_MAT, fmt, UCI), fmt, UCI) == []
    school = write_school(tmp_path / "ours.csv", 30, seed=3, dirty=True)
    fmt = prepare(school)
    assert scale_warnings(sample(school, fmt, None), fmt) == []
    counts = tmp_path / "counts.csv"  # no telling header: the values alone give it away
    counts.write_text("study_hours,attendance_rate,final_score,date\n" +
                      "".join(f"3,{i % 7},{40 + i},{1 + i % 28}/09/2025\n" for i in range(40)))
    fmt = prepare(counts)
    found = {w.column: w for w in scale_warnings(sample(counts, fmt, None), fmt)}
    assert set(found) == {"attendance_rate", "date"}
    assert found["attendance_rate"].silent and "counts of absences" in found["attendance_rate"].message
    assert not found["date"].silent and ":dayfirst" in found["date"].fix


def test_the_uci_profile_loads_with_the_files_own_share_below_the_pass_mark(clean_db: Database, tmp_path: Path) -> None:
    _need(UCI_MAT)
    res = runner.invoke(app, ["ingest", str(UCI_MAT), "--mapping", "uci-student-performance", "--json"],
                        env=_env(clean_db, tmp_path))
    assert res.exit_code == 0, res.output
    [report] = json.loads(res.stdout)
    rows = _uci_rows()
    assert (report["status"], report["rows_read"], report["rows_rejected"], report["rows_inserted"]) == (
        "succeeded", len(rows), 0, len(rows))
    failing = sum(int(r["G3"]) < 10 for r in rows) / len(rows)  # the study's own rule: G3 < 10 of 20 fails
    chronic = sum(int(r["absences"]) > 18 for r in rows) / len(rows)  # below 90 % of a 180-day year
    assert round(failing, 3) == 0.329
    with clean_db.begin() as s:
        kpi = kpi_summary(session=s, viewer=ADMIN, filters=Filters(), pass_threshold=60.0)
    assert kpi.n_students == len(rows)
    assert kpi.pass_rate == pytest.approx(1 - failing)
    assert kpi.chronic_share == pytest.approx(chronic) and chronic < 0.1
    assert _count(clean_db, "SELECT string_agg(name, ',' ORDER BY name) FROM schools") == "Gabriel Pereira,Mousinho da Silveira"
    assert _count(clean_db, "SELECT max(hours) FROM study_hours") == 12
    assert _count(clean_db, "SELECT count(*) FROM students WHERE age > 20") == 2
    run = _count(clean_db, "SELECT options FROM ingestion_runs WHERE id = :r", r=report["run_id"])
    assert run["mapping"]["name"] == "uci-student-performance"


def test_a_hand_renamed_uci_file_is_refused_before_anything_is_written(clean_db: Database, tmp_path: Path) -> None:
    _need(UCI_MAT)
    args = ["ingest", str(UCI_MAT), "--map", "G3=final_score", "--map", "absences=attendance_rate",
            "--map", "studytime=study_hours"]
    res = runner.invoke(app, args, env=_env(clean_db, tmp_path))
    assert res.exit_code == 2
    [line] = res.stderr.strip().splitlines()
    assert "nothing was loaded" in line and "G3 looks like a score out of 20" in line and "absences" in line
    assert _count(clean_db, "SELECT count(*) FROM students") == 0
    assert _count(clean_db, "SELECT count(*) FROM ingestion_runs") == 0
    fixed = runner.invoke(app, [*args, "--map", "G3=final_score:rescale:20:10", "--map",
                                "absences=attendance_rate:absences:180", "--json"], env=_env(clean_db, tmp_path))
    assert fixed.exit_code == 0, fixed.output
    with clean_db.begin() as s:
        kpi = kpi_summary(session=s, viewer=ADMIN, filters=Filters())
    assert kpi.pass_rate == pytest.approx(1 - sum(int(r["G3"]) < 10 for r in _uci_rows()) / 395)
    same = runner.invoke(app, [*args, "--map", "G3=final_score:rescale:20:10", "--map",
                               "absences=attendance_rate:absences:180"], env=_env(clean_db, tmp_path))
    assert same.exit_code == 0 and "already loaded" in same.stdout  # same bytes, same mapping
    other = runner.invoke(app, ["ingest", str(UCI_MAT), "--mapping", "uci-student-performance", "--json"],
                          env=_env(clean_db, tmp_path))
    assert json.loads(other.stdout)[0]["status"] == "succeeded"  # same bytes, another mapping: not skipped


def test_the_kaggle_profile_loads_like_the_aliases_do(clean_db: Database) -> None:
    _need(KAGGLE_FILE)
    report = ingest_file(clean_db, KAGGLE_FILE, mapping=KAGGLE)
    assert (report.rows_read, report.rows_rejected, report.rows_inserted) == (6607, 1, 6606)
    frame = pd.read_csv(KAGGLE_FILE)
    expected = frame.loc[frame["Exam_Score"] <= 100, "Attendance"].mean() / 100  # percent -> fraction
    assert _count(clean_db, "SELECT avg(rate) FROM attendance") == pytest.approx(expected)
    assert _count(clean_db, "SELECT count(*) FROM students WHERE source_id = 'line-0000002'") == 1


def test_a_mapping_is_saved_by_name_and_reused(clean_db: Database, tmp_path: Path) -> None:
    name = f"our-sis-{uuid.uuid4().hex[:6]}"
    env = _env(clean_db, tmp_path)
    header = "Pupil;Nom;Jour;Heures;Présence;Note sur 20\n"
    first, second = tmp_path / "term1.csv", tmp_path / "term2.csv"
    first.write_text(header + "".join(f"p{i};Élève {i};0{1 + i % 9}/09/2025;{i % 6};{90 + i % 10}%;{8 + i % 12}\n"
                                      for i in range(30)), encoding="utf-8")
    second.write_text(header + "p1;Élève 1;15/10/2025;2;50%;10\np2;Élève 2;15/10/2025;3;100%;9,5\n", encoding="utf-8")
    maps = ["--map", "Pupil=student_id", "--map", "Nom=student_name", "--map", "Jour=date:dayfirst",
            "--map", "Heures=study_hours", "--map", "Présence=attendance_rate:percent",
            "--map", "Note sur 20=final_score:rescale:20:10"]
    res = runner.invoke(app, ["ingest", str(first), *maps, "--save-mapping", name], env=env)
    assert res.exit_code == 0, res.output
    assert f"saved mapping {name} (6 rules)" in res.stdout and "loaded 30 of 30 rows" in res.stdout
    again = runner.invoke(app, ["ingest", str(second), "--mapping", name, "--json"], env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)[0]["rows_inserted"] == 2
    assert _count(clean_db, "SELECT s.score FROM scores s JOIN students st ON st.id = s.student_id "
                            "WHERE st.source_id = 'p2' AND s.date = '2025-10-15'") == 57  # 9.5 of 20, pass at 10 = 60
    with clean_db.begin() as s:
        saved = get_mapping(s, name)
        assert saved.columns["Jour"] == "date" and saved.name == name
        with pytest.raises(NotFound, match="no mapping is named 'nope'.*uci-student-performance"):
            get_mapping(s, "nope")
        with pytest.raises(InvalidInput, match="shipped profile"):
            save_mapping(s, "uci-student-performance", saved)
        with pytest.raises(InvalidInput, match="not a mapping name"):
            save_mapping(s, "Bad Name!", saved)
        s.execute(text("DELETE FROM column_mappings WHERE name = :n"), {"n": name})
    unknown = runner.invoke(app, ["ingest", str(second), "--mapping", "nope"], env=env)
    assert unknown.exit_code == 1 and "no mapping is named 'nope'" in unknown.stderr


def test_preview_shows_the_rows_as_they_would_load_and_writes_nothing(clean_db: Database, tmp_path: Path) -> None:
    _need(UCI_MAT)
    shown = preview(UCI_MAT, PROFILES["uci-student-performance"], rows=3)
    first = _uci_rows()[0]
    assert shown.rows["score"].tolist()[0] == pytest.approx(int(first["G3"]) * 6)  # 6 of 20 -> 36
    assert shown.rows["rate"].tolist()[0] == pytest.approx(1 - int(first["absences"]) / 180)
    assert shown.rows["source_id"].tolist() == ["line-0000002", "line-0000003", "line-0000004"]
    assert any("No student id column" in n for n in shown.notes) and any("dated 2025-09-01" in n for n in shown.notes)
    assert any("180 school days" in n for n in shown.notes) and shown.warnings == []
    res = runner.invoke(app, ["ingest", str(UCI_MAT), "--mapping", "uci-student-performance", "--preview"],
                        env=_env(clean_db, tmp_path))
    assert res.exit_code == 0, res.output
    assert "G3 -> final_score" in res.stdout and "note: No date column" in res.stdout
    assert _count(clean_db, "SELECT count(*) FROM ingestion_runs") == 0
