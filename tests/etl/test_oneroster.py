"""OneRoster 1.1 and 1.2 CSV bundles (zip or folder) load into schools, classes, students, enrollments and scores."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from core.errors import InvalidInput
from db.database import Database
from etl.oneroster import is_bundle, read_roster
from etl.pipeline import ingest_file
from studentperf.cli import app

ORGS = [
    {"sourcedId": "d1", "status": "active", "name": "North District", "type": "district", "identifier": "", "parentSourcedId": ""},
    {"sourcedId": "o1", "status": "active", "name": "Hill High", "type": "school", "identifier": "HH", "parentSourcedId": "d1"},
    {"sourcedId": "o2", "status": "active", "name": "Vale High", "type": "school", "identifier": "VH", "parentSourcedId": "d1"},
]
SESSIONS = [
    {"sourcedId": "y26", "status": "active", "title": "2025-26", "type": "schoolYear", "startDate": "2025-08-20",
     "endDate": "2026-06-30", "parentSourcedId": "", "schoolYear": "2026"},
    {"sourcedId": "t1", "status": "active", "title": "Fall", "type": "term", "startDate": "",
     "endDate": "", "parentSourcedId": "y26", "schoolYear": "2026"},
]
CLASSES = [
    {"sourcedId": "c1", "status": "active", "title": "10A", "grades": "10", "courseSourcedId": "k1", "classCode": "10A",
     "classType": "homeroom", "location": "", "schoolSourcedId": "o1", "termSourcedIds": "t1"},
    {"sourcedId": "c2", "status": "active", "title": "Algebra", "grades": "10", "courseSourcedId": "k2", "classCode": "ALG",
     "classType": "scheduled", "location": "", "schoolSourcedId": "o1", "termSourcedIds": "t1"},
    {"sourcedId": "c3", "status": "active", "title": "9B", "grades": "09", "courseSourcedId": "k1", "classCode": "9B",
     "classType": "homeroom", "location": "", "schoolSourcedId": "o2", "termSourcedIds": "y26"},
]
PEOPLE = [  # sourcedId, role, org, given, family, identifier, grade
    ("u1", "student", "o1", "Ada", "Lovelace", "S001", "10"),
    ("u2", "student", "o1", "Alan", "Turing", "S002", "10"),
    ("u3", "student", "o2", "Grace", "Hopper", "S003", "09"),
    ("u4", "teacher", "o1", "Tom", "Teacher", "T001", ""),
    ("u5", "student", "o2", "Long", "X" * 300, "S005", "09"),  # a name longer than the limit
    ("u6", "student", "o1", "Gone", "Away", "S006", "10"),  # tobedeleted
]
ENROLL = [  # sourcedId, class, user, role, primary
    ("e1", "c1", "u1", "student", "true"), ("e2", "c2", "u1", "student", "false"), ("e3", "c2", "u2", "student", "true"),
    ("e4", "c3", "u3", "student", "true"), ("e5", "c1", "u4", "teacher", "true"), ("e6", "c9", "u2", "student", "false"),
]
DEMOGRAPHICS = [
    {"sourcedId": "u1", "status": "active", "birthDate": "2010-03-04", "sex": "female"},
    {"sourcedId": "u2", "status": "active", "birthDate": "2009-12-01", "sex": "male"},
    {"sourcedId": "u3", "status": "active", "birthDate": "", "sex": "unspecified"},
]
LINE_ITEMS = [
    {"sourcedId": "li1", "status": "active", "title": "Unit test 1", "assignDate": "2025-09-10", "dueDate": "2025-09-20",
     "classSourcedId": "c2", "resultValueMin": "0", "resultValueMax": "20"},
    {"sourcedId": "li2", "status": "active", "title": "Quiz", "assignDate": "2025-09-12", "dueDate": "",
     "classSourcedId": "c3", "resultValueMin": "", "resultValueMax": ""},
]
RESULTS = [
    {"sourcedId": "r1", "status": "active", "lineItemSourcedId": "li1", "studentSourcedId": "u1", "scoreStatus": "fully graded",
     "score": "15", "scoreDate": "2025-09-21"},
    {"sourcedId": "r2", "status": "active", "lineItemSourcedId": "li1", "studentSourcedId": "u2", "scoreStatus": "fully graded",
     "score": "8", "scoreDate": ""},
    {"sourcedId": "r3", "status": "active", "lineItemSourcedId": "li2", "studentSourcedId": "u3", "scoreStatus": "fully graded",
     "score": "72.5", "scoreDate": "2025-09-13"},
    {"sourcedId": "r4", "status": "active", "lineItemSourcedId": "li1", "studentSourcedId": "u4", "scoreStatus": "fully graded",
     "score": "10", "scoreDate": ""},
    {"sourcedId": "r5", "status": "active", "lineItemSourcedId": "li2", "studentSourcedId": "u3", "scoreStatus": "",
     "score": "150", "scoreDate": ""},
]


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _users(version: str) -> tuple[list[dict], list[dict]]:
    """users.csv (and for 1.2 roles.csv) of PEOPLE."""
    users, roles = [], []
    for sid, role, org, given, family, ident, grade in PEOPLE:
        row = {"sourcedId": sid, "status": "tobedeleted" if sid == "u6" else "active", "enabledUser": "true",
               "username": sid, "givenName": given, "familyName": family, "identifier": ident, "grades": grade}
        if version == "1.1":
            row = {**row, "orgSourcedIds": org, "role": role}
        else:
            row = {**row, "primaryOrgSourcedId": org}
            roles.append({"sourcedId": f"role-{sid}", "status": "active", "userSourcedId": sid, "roleType": "primary",
                          "role": role, "orgSourcedId": org})
        users.append(row)
    return users, roles


def write_bundle(folder: Path, version: str, *, results: bool = True) -> Path:
    """A small OneRoster bundle of ``version`` (1.1 or 1.2) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = ["orgs", "academicSessions", "classes", "users", "enrollments", "demographics"]
    files += ["lineItems", "results"] if results else []
    files += ["roles"] if version == "1.2" else []
    manifest = [{"propertyName": "manifest.version", "value": "1.0"}, {"propertyName": "oneroster.version", "value": version}]
    manifest += [{"propertyName": f"file.{f}", "value": "bulk"} for f in files]
    _write(folder, "manifest", manifest)
    users, roles = _users(version)
    _write(folder, "orgs", ORGS)
    _write(folder, "academicSessions", SESSIONS)
    _write(folder, "classes", CLASSES)
    _write(folder, "users", users)
    _write(folder, "enrollments", [{"sourcedId": e, "status": "active", "classSourcedId": c, "schoolSourcedId": "",
                                    "userSourcedId": u, "role": r, "primary": p} for e, c, u, r, p in ENROLL])
    _write(folder, "demographics", DEMOGRAPHICS)
    if results:
        _write(folder, "lineItems", LINE_ITEMS)
        _write(folder, "results", RESULTS)
    if version == "1.2":
        _write(folder, "roles", roles)
    return folder


def zip_bundle(folder: Path, out: Path, inner: str = "") -> Path:
    """Zip a bundle folder (its files under ``inner``/ inside the zip)."""
    with zipfile.ZipFile(out, "w") as zf:
        for file in sorted(folder.glob("*.csv")):
            zf.write(file, f"{inner}{file.name}")
    return out


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_read_roster_maps_and_reports_skips(tmp_path: Path, version: str) -> None:
    folder = write_bundle(tmp_path / "b", version)
    assert is_bundle(folder) and not is_bundle(folder / "orgs.csv")
    roster = read_roster(folder)
    assert roster.version == version
    assert sorted(s["source_id"] for s in roster.students.values()) == ["S001", "S002", "S003"]
    assert roster.mapped() == {"schools": 2, "school years": 1, "classes": 3, "students": 3, "enrollments": 3,
                               "assessments": 2, "scores": 3}
    assert roster.enrollments[("u1", "2025-2026")] == "c1"  # the homeroom wins over Algebra
    assert roster.skipped["orgs: type district (only schools are loaded)"] == 1
    assert roster.skipped["users: not a student"] == 1
    assert roster.skipped["users: name or identifier too long"] == 1
    assert roster.skipped["enrollments: another class kept (one class per student and school year)"] == 1
    assert roster.skipped["results: score blank, not a number or outside the line item's range"] == 1
    assert "u6" not in roster.students  # tobedeleted rows are not read


def _state(database: Database) -> dict[str, object]:
    with database.engine.connect() as conn:
        q = lambda sql: [tuple(r) for r in conn.execute(text(sql))]  # noqa: E731
        return {
            "schools": q("SELECT name FROM schools ORDER BY 1"),
            "students": q("SELECT sc.name, s.source_id, s.name, s.gender, s.age FROM students s "
                          "JOIN schools sc ON sc.id = s.school_id ORDER BY 2"),
            "enrol": q("SELECT s.source_id, c.name, c.grade_level, e.school_year FROM enrollments e "
                       "JOIN students s ON s.id = e.student_id JOIN classes c ON c.id = e.class_id ORDER BY 1"),
            "scores": q("SELECT s.source_id, a.name, a.kind, sc.score, sc.date::text FROM scores sc "
                        "JOIN students s ON s.id = sc.student_id JOIN assessments a ON a.id = sc.assessment_id ORDER BY 1"),
            "summary": q("SELECT s.source_id, ss.latest_score FROM student_summary ss JOIN students s ON s.id = ss.student_id ORDER BY 1"),
        }


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_bundle_loads_and_reloads(clean_db: Database, tmp_path: Path, version: str) -> None:
    bundle = zip_bundle(write_bundle(tmp_path / "b", version), tmp_path / "roster.zip", inner="export/")
    report = ingest_file(clean_db, bundle)
    assert report.status == "succeeded" and report.format["kind"] == "oneroster"
    assert "3 students" in report.message and "not a student (1)" in report.message
    state = _state(clean_db)
    assert state["schools"] == [("Hill High",), ("Vale High",)]
    assert state["students"] == [("Hill High", "S001", "Ada Lovelace", "Female", 15),
                                 ("Hill High", "S002", "Alan Turing", "Male", 15),
                                 ("Vale High", "S003", "Grace Hopper", "Unknown", None)]
    assert state["enrol"] == [("S001", "10A", 10, "2025-2026"), ("S002", "Algebra", 10, "2025-2026"),
                              ("S003", "9B", 9, "2025-2026")]
    assert state["scores"] == [("S001", "Algebra: Unit test 1", "test", 75.0, "2025-09-21"),
                               ("S002", "Algebra: Unit test 1", "test", 40.0, "2025-09-20"),
                               ("S003", "9B: Quiz", "test", 72.5, "2025-09-13")]
    assert len(state["summary"]) == 3
    again = ingest_file(clean_db, bundle)  # the same bundle again updates, never duplicates
    assert again.status == "succeeded" and again.rows_inserted == 0
    assert _state(clean_db) == state
    with clean_db.engine.connect() as conn:
        runs = conn.execute(text("SELECT status, format ->> 'kind', rows_rejected FROM ingestion_runs ORDER BY id")).all()
    assert [tuple(r) for r in runs] == [("succeeded", "oneroster", report.rows_rejected)] * 2


def test_folder_without_results_loads(clean_db: Database, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b", "1.1", results=False)
    report = ingest_file(clean_db, folder)
    assert report.status == "succeeded" and report.format["mapped"]["scores"] == 0
    assert _state(clean_db)["scores"] == []


def test_bundle_without_students_fails_and_is_recorded(clean_db: Database, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b", "1.1")
    _write(folder, "orgs", [ORGS[0]])  # only the district: nobody belongs to a school
    with pytest.raises(InvalidInput, match="no student"):
        ingest_file(clean_db, folder)
    with clean_db.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM ingestion_runs")).scalars().all() == ["failed"]
        assert conn.execute(text("SELECT count(*) FROM students")).scalar() == 0


def test_bundle_lacking_files_is_one_sentence(tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b", "1.1")
    (folder / "users.csv").unlink()
    with pytest.raises(InvalidInput, match=r"lacks users\.csv"):
        read_roster(folder)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_cli_ingests_a_bundle_with_the_report(clean_db: Database, tmp_path: Path, version: str) -> None:
    env = {"DATABASE_URL": clean_db.engine.url.render_as_string(hide_password=False),
           "STUDENTPERF_HOME": str(tmp_path / "home"), "LOG_LEVEL": "WARNING"}
    bundle = zip_bundle(write_bundle(tmp_path / "b", version), tmp_path / "roster.zip")
    res = CliRunner().invoke(app, ["ingest", str(bundle)], env=env)
    assert res.exit_code == 0, res.output
    assert f"OneRoster {version}" in res.stdout and "skipped" in res.stdout
    as_json = CliRunner().invoke(app, ["ingest", str(tmp_path / "b"), "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    [report] = json.loads(as_json.stdout)
    assert report["format"]["mapped"]["students"] == 3 and report["status"] == "succeeded"


def test_sections_and_line_items_sharing_a_title_stay_apart(clean_db: Database, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b", "1.1")
    twin = {**CLASSES[1], "sourcedId": "c2b", "classCode": "ALG-2"}  # a second section titled "Algebra"
    _write(folder, "classes", [*CLASSES, twin])
    _write(folder, "enrollments", [{"sourcedId": "e1", "status": "active", "classSourcedId": "c2", "schoolSourcedId": "",
                                    "userSourcedId": "u1", "role": "student", "primary": "true"},
                                   {"sourcedId": "e2", "status": "active", "classSourcedId": "c2b", "schoolSourcedId": "",
                                    "userSourcedId": "u2", "role": "student", "primary": "true"}])
    _write(folder, "lineItems", [*LINE_ITEMS, {**LINE_ITEMS[0], "sourcedId": "li1b"}])  # the same title twice
    _write(folder, "results", [*RESULTS, {**RESULTS[1], "sourcedId": "r2b", "lineItemSourcedId": "li1b", "score": "20"}])
    report = ingest_file(clean_db, folder)
    assert report.status == "succeeded"
    state = _state(clean_db)
    assert [(src, cls) for src, cls, *_ in state["enrol"]] == [("S001", "Algebra (ALG)"), ("S002", "Algebra (ALG-2)")]
    assert sorted((src, name) for src, name, *_ in state["scores"]) == [
        ("S001", "Algebra (ALG): Unit test 1 (li1)"), ("S002", "Algebra (ALG): Unit test 1 (li1)"),
        ("S002", "Algebra (ALG): Unit test 1 (li1b)"), ("S003", "9B: Quiz")]
