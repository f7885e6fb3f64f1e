"""The upload service (the page's and the API's): saved files, the load job (report, rejected rows as CSV, audit,
scoring after the load), previews and mappings."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.errors import Forbidden, InvalidInput, NotFound, TooLarge
from core.settings import Settings, SettingsError
from db.database import Database
from db.models import AuditLog, IngestionRun
from services import uploads
from services.scope import Viewer
from tests.conftest import SHARED_DATA, truncate_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboard"))
from webtools import make_user  # noqa: E402

UCI = SHARED_DATA / "uci-student-performance" / "student-mat.csv"
HEADER = "student_id,student_name,date,study_hours,attendance_rate,final_score\n"


def data_url(data: bytes) -> str:
    """What dcc.Upload sends."""
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def good_and_bad_rows(good: int = 8, bad: int = 2) -> bytes:
    """A file of ``good`` loadable rows and ``bad`` rows whose attendance and score are not numbers."""
    lines = [f"S{i},Pupil {i},2025-09-0{1 + i % 5},{5 + i % 3},0.9{i % 10},{60 + i}" for i in range(good)]
    lines += [f"B{i},Bad {i},2025-09-01,3,lots,abc" for i in range(bad)]
    return (HEADER + "\n".join(lines) + "\n").encode()


@pytest.fixture()
def admin(database: Database) -> Iterator[Viewer]:
    user = make_user(database, "upload-admin@test.example", "admin")
    truncate_data(database, ("column_mappings",))
    yield Viewer(user.user_id, user.email, "admin")
    truncate_data(database, ("column_mappings",))


@pytest.fixture()
def home(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose uploads folder is a temporary one; nothing scored after a load (see the scoring tests)."""
    return settings.with_(home=tmp_path, score_after_ingest=False)


@pytest.fixture()
def folder(home: Settings) -> Path:
    return home.uploads_dir


def test_non_admins_are_refused_everywhere(folder: Path, session) -> None:
    teacher = Viewer(999, "t@test.example", "teacher", frozenset({1}))
    staff = Viewer(998, "s@test.example", "staff")
    for viewer in (teacher, staff):
        with pytest.raises(Forbidden):
            uploads.save_uploads(viewer=viewer, folder=folder, files=[("a.csv", data_url(b"x"))], max_bytes=10**6)
        with pytest.raises(Forbidden):
            uploads.run_history(session, viewer=viewer)
        with pytest.raises(Forbidden):
            uploads.rejects_csv(session, viewer=viewer, run_id=1)
        with pytest.raises(Forbidden):
            uploads.mapping_choices(session, viewer=viewer)


def test_kind_size_and_malformed_uploads_get_one_sentence(admin: Viewer, folder: Path) -> None:
    def save(name: str, contents: str, max_bytes: int = 10**6) -> None:
        uploads.save_uploads(viewer=admin, folder=folder, files=[(name, contents)], max_bytes=max_bytes)

    with pytest.raises(InvalidInput, match=r"report\.pdf is not a file we can load: upload \.csv, \.tsv, \.txt, "
                                          r"\.csv\.gz or \.xlsx files\.$"):
        save("report.pdf", data_url(b"%PDF-1.4"))
    with pytest.raises(TooLarge, match=r"^The upload is larger than the 0\.004 MB allowed: split it"):
        save("big.csv", data_url(b"a" * 5000), max_bytes=4000)
    with pytest.raises(InvalidInput, match="not a gzip file"):
        save("x.csv.gz", data_url(b"plain text"))
    with pytest.raises(InvalidInput, match="did not arrive whole"):
        save("x.csv", "not a data address")
    with pytest.raises(InvalidInput, match="is empty"):
        save("x.csv", data_url(b""))
    with pytest.raises(InvalidInput, match=r"^x\.csv: this is not a CSV file \(it looks like a PNG image\)\.$"):
        save("x.csv", data_url(b"\x89PNG\r\n\x1a\n" + bytes(range(256))))
    assert not folder.exists() or not any(folder.iterdir())
    save("x.csv", data_url(gzip.compress(b"a,b\n1,2\n")))  # read by its bytes, as `studentperf ingest` does


def test_the_browser_name_never_chooses_the_path(admin: Viewer, folder: Path) -> None:
    ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[("../../etc/passwd.csv", data_url(b"a,b\n1,2\n"))],
                                  max_bytes=10**6)
    saved = ticket.path(folder, 0)
    assert saved.resolve().is_relative_to(folder.resolve())
    assert saved.name == "passwd.csv" and saved.read_bytes() == b"a,b\n1,2\n"
    assert uploads.load_ticket(folder, ticket.token) == ticket
    for forged in ("../" * 3, "x" * 32, None, 7):
        with pytest.raises(NotFound):
            uploads.load_ticket(folder, forged)


def test_a_file_with_bad_rows_loads_with_a_report_and_the_rejects_as_csv(admin: Viewer, folder: Path, home: Settings,
                                                                       database: Database) -> None:
    ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[("week 1.csv", data_url(good_and_bad_rows()))],
                                  max_bytes=10**6)
    seen: list[tuple[int, str]] = []
    report = uploads.run_upload(database, home, token=ticket.token, progress=lambda p, m: seen.append((p, m)))
    [outcome] = report.files
    assert (outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected) == ("succeeded", 10, 8, 2)
    assert outcome.rows_inserted == 8 and outcome.run_id is not None
    assert seen[-1] == (100, "Done") and any("rows read" in m for _, m in seen)
    assert not (folder / ticket.token).exists()  # the saved file is gone once loaded

    with database.begin() as s:
        history = uploads.run_history(s, viewer=admin)
        name, body = uploads.rejects_csv(s, viewer=admin, run_id=outcome.run_id)
        audited = s.execute(select(AuditLog.action, AuditLog.target).where(AuditLog.user_id == admin.user_id)).all()
    assert (history[0].id, history[0].status, history[0].user, history[0].rows_loaded) == (
        outcome.run_id, "succeeded", admin.email, 8)
    assert name.startswith(f"rejected-rows-run-{outcome.run_id}-week_1")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["line"] for r in rows] == ["10", "11"]
    assert all("attendance_rate" in r["reasons"] and "final_score" in r["reasons"] for r in rows)
    assert rows[0]["final_score"] == "abc"
    assert ("upload", "week 1.csv") in audited and ("export", f"run {outcome.run_id}") in audited


def test_an_all_rejected_file_is_a_failed_run_and_the_next_file_still_loads(admin: Viewer, folder: Path, home: Settings,
                                                                          database: Database) -> None:
    bad = (HEADER + "\n".join(f"B{i},Bad,01/09/2025,3,90%,70" for i in range(5)) + "\n").encode()
    ticket = uploads.save_uploads(viewer=admin, folder=folder, max_bytes=10**6,
                                  files=[("bad.csv", data_url(bad)), ("good.csv", data_url(good_and_bad_rows(4, 0)))])
    report = uploads.run_upload(database, home, token=ticket.token)
    first, second = report.files
    assert first.status == "failed" and first.run_id is not None and "0 of 5 rows loaded" in first.message
    assert second.status == "succeeded" and second.rows_loaded == 4
    assert not report.ok
    with database.begin() as s:
        assert s.execute(text("SELECT count(*) FROM students WHERE source_id LIKE 'B%'")).scalar() == 0
        _, body = uploads.rejects_csv(s, viewer=admin, run_id=first.run_id)
    assert len(list(csv.DictReader(io.StringIO(body)))) == 5


def test_a_job_of_a_demoted_user_is_refused(admin: Viewer, folder: Path, home: Settings, database: Database) -> None:
    ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[("a.csv", data_url(good_and_bad_rows(2, 0)))],
                                  max_bytes=10**6)
    with database.begin() as s:
        s.execute(text("UPDATE users SET role = 'teacher' WHERE id = :i"), {"i": admin.user_id})
    with pytest.raises(Forbidden):
        uploads.run_upload(database, home, token=ticket.token)
    with database.begin() as s:
        assert s.execute(select(IngestionRun.id)).first() is None


def test_uci_file_preview_shows_found_columns_then_scale_warnings_before_anything_is_written(
        admin: Viewer, folder: Path, home: Settings, database: Database) -> None:
    ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[("student-mat.csv", data_url(UCI.read_bytes()))],
                                  max_bytes=10**7)
    with database.begin() as s:
        [unmapped] = uploads.check_upload(s, viewer=admin, folder=folder, token=ticket.token)
    assert {"G1", "G2", "G3", "absences", "studytime"} <= set(unmapped.found)
    assert "final_score" in unmapped.missing and unmapped.suggestion == "uci-student-performance"

    plain = uploads.MappingSpec(columns={"study_hours": "studytime", "attendance_rate": "absences",
                                         "final_score": "G3"})
    with database.begin() as s:
        [checked] = uploads.check_upload(s, viewer=admin, folder=folder, token=ticket.token, spec=plain)
    by_column = {w["column"]: w for w in checked.warnings}
    assert "out of 20" in by_column["final_score"]["message"] and by_column["final_score"]["silent"]
    assert "absences" in by_column["attendance_rate"]["message"]
    assert len(checked.rows) == 10 and checked.error == ""

    fixed = uploads.MappingSpec(columns=plain.columns,
                                transforms={"final_score": "rescale20", "attendance_rate": "absences180"})
    with database.begin() as s:
        [good] = uploads.check_upload(s, viewer=admin, folder=folder, token=ticket.token, spec=fixed)
        assert s.execute(select(IngestionRun.id)).first() is None  # a preview writes nothing
    assert good.warnings == []
    assert 0 < good.rows[0]["final_score"] <= 100 and 0 < good.rows[0]["attendance_rate"] <= 1
    assert any("rescaled to 0-100" in n for n in good.notes) and any("No student id" in n for n in good.notes)

    with database.begin() as s:
        name = uploads.save_named_mapping(s, viewer=admin, name="uci-maths", spec=fixed)
    with database.begin() as s:
        assert {"label": "uci-maths", "value": "uci-maths"} in uploads.mapping_choices(s, viewer=admin)
    report = uploads.run_upload(database, home, token=ticket.token,
                                options=uploads.LoadOptions(spec=uploads.MappingSpec(base=name)))
    [outcome] = report.files
    assert outcome.status == "succeeded" and outcome.rows_loaded == 395
    with database.begin() as s:
        failing = s.execute(text("SELECT avg((s.score < 60)::int) FROM scores s")).scalar()
    assert 0.2 < failing < 0.5  # the file's own share below the pass mark (about a third), not 100 %


def test_a_bad_mapping_form_gets_one_sentence(admin: Viewer, database: Database) -> None:
    with database.begin() as s:
        with pytest.raises(InvalidInput, match="not one of the transforms"):
            uploads.build_mapping(s, uploads.MappingSpec(columns={"final_score": "G3"}, transforms={"final_score": "x"}))
        with pytest.raises(NotFound):
            uploads.build_mapping(s, uploads.MappingSpec(base="nope"))
        with pytest.raises(InvalidInput, match="not a mapping name"):
            uploads.save_named_mapping(s, viewer=admin, name="../x", spec=uploads.MappingSpec(columns={"final_score": "G3"}))
    spec = uploads.MappingSpec.from_form(None, {"final_score": "G3", "evil": "x", "age": 5}, {"final_score": ["x"]})
    assert spec == uploads.MappingSpec(None, {"final_score": "G3"}, {})


def test_uploads_left_unloaded_are_pruned(admin: Viewer, folder: Path) -> None:
    import os

    old = uploads.save_uploads(viewer=admin, folder=folder, files=[("a.csv", data_url(b"a,b\n1,2\n"))], max_bytes=10**6)
    os.utime(folder / old.token, (0, 0))
    fresh = uploads.save_uploads(viewer=admin, folder=folder, files=[("b.csv", data_url(b"a,b\n1,2\n"))], max_bytes=10**6)
    assert not (folder / old.token).exists() and (folder / fresh.token).exists()
    (folder / "not-a-ticket").mkdir()
    assert uploads.prune(folder, max_age_s=-1) == 1 and (folder / "not-a-ticket").exists()


def test_the_upload_limit_is_one_setting_and_the_request_limit_follows_it() -> None:
    assert Settings.from_env({"UPLOAD_MAX_MB": "12"}).upload_max_mb == 12
    default = Settings.from_env({})
    assert default.upload_max_mb == 40 and default.upload_max_bytes == 40_000_000
    assert default.upload_max_bytes * 4 / 3 < default.request_max_bytes < default.upload_max_bytes * 4 / 3 + 2**21
    with pytest.raises(SettingsError, match="UPLOAD_MAX_MB must lie between 1 and 200"):
        Settings.from_env({"UPLOAD_MAX_MB": "500"})


def _kinds_of_one_file(folder: Path) -> dict[str, bytes]:
    """The same three rows as every kind an upload may hold: .tsv, .txt (;), UTF-16 text, .csv.gz and .xlsx."""
    import pandas as pd

    rows = [f"K{i},Kind {i},2025-09-01,{4 + i},0.9{i},{60 + i}" for i in range(3)]
    text_csv = HEADER + "\n".join(rows) + "\n"
    frame = pd.read_csv(io.StringIO(text_csv))
    workbook = io.BytesIO()
    frame.to_excel(workbook, index=False)
    return {"week.tsv": text_csv.replace(",", "\t").encode(), "week.txt": text_csv.replace(",", ";").encode(),
            "utf16.csv": text_csv.encode("utf-16"), "week.csv.gz": gzip.compress(text_csv.encode()),
            "week.xlsx": workbook.getvalue()}


def test_every_kind_loads_through_the_same_path(admin: Viewer, folder: Path, home: Settings, database: Database) -> None:
    truncate_data(database)
    for name, data in _kinds_of_one_file(folder).items():
        ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[(name, data)], max_bytes=10**6)
        [outcome] = uploads.run_upload(database, home, token=ticket.token, options=uploads.LoadOptions(force=True)).files
        assert (outcome.status, outcome.rows_loaded) == ("succeeded", 3), (name, outcome.message)
    with database.begin() as s:
        assert s.execute(text("SELECT count(*) FROM students WHERE source_id LIKE 'K%'")).scalar() == 3


def test_a_stream_over_the_limit_is_refused_while_it_is_saved(admin: Viewer, folder: Path) -> None:
    class Endless(io.RawIOBase):
        """More bytes than any limit (the API's stream is read in blocks, never whole)."""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # noqa: ANN001
            buffer[:] = b"a" * len(buffer)
            return len(buffer)

    with pytest.raises(TooLarge, match="larger than the 3 MB allowed"):
        uploads.save_uploads(viewer=admin, folder=folder, files=[("x.csv", io.BufferedReader(Endless()))],
                             max_bytes=3_000_000)
    assert not any(p.is_file() for p in folder.rglob("*"))
    two = [("a.csv", b"a,b\n" + b"1,2\n" * 300), ("b.csv", b"a,b\n" + b"1,2\n" * 300)]
    with pytest.raises(TooLarge):  # the limit holds for the files together
        uploads.save_uploads(viewer=admin, folder=folder, files=two, max_bytes=2000)


def test_the_report_says_what_was_scored_after_the_load(admin: Viewer, folder: Path, home: Settings,
                                                        database: Database) -> None:
    from etl.generate import write_school
    from ml.train import train_and_register

    truncate_data(database, ("model_versions",))
    scoring = home.with_(score_after_ingest=True)
    first = write_school(folder.parent / "s1.csv", 60, seed=5, years=2)
    ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[(first.name, first.read_bytes())], max_bytes=10**7)
    report = uploads.run_upload(database, scoring, token=ticket.token, options=uploads.LoadOptions(school="Score One"))
    assert report.scoring is None and "no active model yet" in report.scoring_note
    train_and_register(database, scoring, seed=0)
    second = write_school(folder.parent / "s2.csv", 20, seed=6, years=2)
    ticket = uploads.save_uploads(viewer=admin, folder=folder, files=[(second.name, second.read_bytes())],
                                  max_bytes=10**7)
    seen: list[str] = []
    report = uploads.run_upload(database, scoring, token=ticket.token, options=uploads.LoadOptions(school="Score Two"),
                                progress=lambda _p, m: seen.append(m))
    with database.begin() as s:
        n_scored = s.execute(text("SELECT max(n_scored) FROM scoring_runs")).scalar()
    assert report.scoring["scored"] == n_scored > 0 and report.to_dict()["scoring_note"] == report.scoring_note
    assert report.scoring_note.startswith(f"Scored {n_scored:,} students as of ") and "High" in report.scoring_note
    assert "Scoring with the active model" in seen
    off = uploads.scoring_note(home, report.files, None)
    assert "SCORE_AFTER_INGEST" in off
    assert "no file changed" in uploads.scoring_note(scoring, [uploads.FileOutcome("x.csv", "refused")], None)
    truncate_data(database, ("model_versions",))
