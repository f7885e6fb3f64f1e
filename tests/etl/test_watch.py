"""The drop-folder watcher (etl/watch.py, `studentperf ingest --watch DIR`): each file loaded once, failures reported
and survived, files still being written left alone, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from db.database import Database, connect
from etl.generate import write_school
from etl.watch import DropResult, look, stable, watch
from studentperf.cli import app

runner = CliRunner()
BAD_HEADER = "student_id,date,attendance_rate,final_score\n1,2025-09-01,0.9,70\n"


def _env(database: Database, tmp_path: Path) -> dict[str, str]:
    url = database.engine.url.render_as_string(hide_password=False)
    return {"DATABASE_URL": url, "STUDENTPERF_HOME": str(tmp_path / "home"), "LOG_LEVEL": "WARNING"}


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _runs(database: Database) -> list[tuple[str, str, int]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT file_name, status, rows_inserted FROM ingestion_runs ORDER BY id"))]


def _count(database: Database, table: str) -> int:
    with database.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_a_file_is_taken_only_once_unchanged_over_one_interval(tmp_path: Path) -> None:
    (tmp_path / "done").mkdir()
    growing = tmp_path / "growing.csv"
    growing.touch()
    assert stable(look(tmp_path), look(tmp_path)) == []  # created, nothing written yet
    growing.write_text("student_id,study_hours\n")
    for name in (".hidden.csv", "upload.csv.part", "copy.tmp"):
        (tmp_path / name).write_text("x")
    first = look(tmp_path)
    assert set(first) == {"growing.csv"}  # hidden files, temporaries and sub-folders are never candidates
    assert stable({}, first) == []  # new this look: not yet known to be complete
    with growing.open("a") as fh:
        fh.write("1,2\n")
    second = look(tmp_path)
    assert stable(first, second) == []  # grew since the last look: still being written
    third = look(tmp_path)
    assert stable(second, third) == ["growing.csv"]


def test_a_dropped_file_is_loaded_exactly_once(clean_db: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    results: queue.Queue[DropResult] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=watch, args=(clean_db, inbox),
                              kwargs={"interval": 0.05, "stop": stop, "on_result": results.put}, daemon=True)
    worker.start()
    try:
        write_school(tmp_path / "week1.csv", 5, seed=3)
        (tmp_path / "week1.csv").rename(inbox / "week1.csv")  # dropped whole, as an upload under a temporary name
        first = results.get(timeout=120)
        assert (first.file, first.status) == ("week1.csv", "succeeded"), first.message
        time.sleep(0.5)  # ten more looks at the folder: nothing is loaded again
        # the same bytes again (as after a crash between the commit and the move): found, skipped, not loaded
        (inbox / "week1-again.csv").write_bytes((inbox / "done" / "week1.csv").read_bytes())
        second = results.get(timeout=60)
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert (second.file, second.status) == ("week1-again.csv", "skipped")
    assert results.empty()
    assert _runs(clean_db) == [("week1.csv", "succeeded", 200), ("week1-again.csv", "skipped", 0)]
    assert (_count(clean_db, "students"), _count(clean_db, "attendance")) == (5, 200)
    assert _files(inbox) == []
    assert _files(inbox / "done") == ["week1-again.csv", "week1-again.csv.json", "week1.csv", "week1.csv.json"]
    report = json.loads((inbox / "done" / "week1.csv.json").read_text())
    assert report["status"] == "succeeded" and report["ingest"]["rows_inserted"] == 200
    assert report["moved_to"] == str((inbox / "done" / "week1.csv").resolve())


def test_failures_are_moved_aside_reported_and_the_rest_still_loads(clean_db: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-bad-header.csv").write_text(BAD_HEADER)
    (inbox / "b-binary.csv").write_bytes(bytes(range(256)) * 40)
    write_school(inbox / "c-good.csv", 3, seed=1)
    res = runner.invoke(app, ["ingest", "--watch", str(inbox), "--once", "--interval", "0.1", "--json"],
                        env=_env(clean_db, tmp_path))
    assert res.exit_code == 1, res.output  # one pass with a failure exits 1 (cron sees it), after every file
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["file"], r["status"]) for r in lines] == [
        ("a-bad-header.csv", "failed"), ("b-binary.csv", "failed"), ("c-good.csv", "succeeded")]
    assert "study_hours" in lines[0]["message"] and "Traceback" not in res.output
    assert _files(inbox / "failed") == ["a-bad-header.csv", "a-bad-header.csv.json", "b-binary.csv", "b-binary.csv.json"]
    assert json.loads((inbox / "failed" / "a-bad-header.csv.json").read_text())["message"] == lines[0]["message"]
    assert _files(inbox / "done") == ["c-good.csv", "c-good.csv.json"]
    assert _files(inbox) == []
    assert _count(clean_db, "students") == 3
    with clean_db.engine.connect() as conn:  # the loaded file is in the audit log, as with `studentperf ingest FILE`
        audited = conn.execute(text("SELECT target FROM audit_log WHERE action = 'upload' AND target = 'c-good.csv'")).all()
    assert len(audited) == 1


def test_a_second_file_of_the_same_name_keeps_the_first_report(clean_db: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = _env(clean_db, tmp_path)
    for seed in (1, 2):  # the SIS sends export.csv every night
        write_school(inbox / "export.csv", 2, seed=seed)
        res = runner.invoke(app, ["ingest", "--watch", str(inbox), "--once", "--interval", "0.05"], env=env)
        assert res.exit_code == 0 and res.stdout.startswith("succeeded: export.csv"), res.output
    done = _files(inbox / "done")
    assert len(done) == 4 and {"export.csv", "export.csv.json"} <= set(done)
    [second] = [name for name in done if re.fullmatch(r"export-\d{8}T\d{6}Z\.csv", name)]
    assert second + ".json" in done
    assert [status for _, status, _ in _runs(clean_db)] == ["succeeded", "succeeded"]


def test_an_unreachable_database_leaves_the_file_for_the_next_look(tmp_path: Path) -> None:
    down = connect("postgresql://postgres@127.0.0.1:1/nowhere", tmp_path, migrate=False)
    (tmp_path / "inbox").mkdir()
    write_school(tmp_path / "inbox" / "week.csv", 2, seed=0)
    seen: list[DropResult] = []
    counts = watch(down, tmp_path / "inbox", interval=0.05, once=True, on_result=seen.append)
    assert counts == {"retry": 1}
    assert seen[0].status == "retry" and "cannot be reached" in seen[0].message
    assert _files(tmp_path / "inbox") == ["week.csv"]
    assert _files(tmp_path / "inbox" / "failed") == [] and _files(tmp_path / "inbox" / "done") == []


@pytest.mark.parametrize(("args", "says"), [
    ([], "--watch DIR"),
    (["--once"], "--once goes with --watch"),
    (["--watch", "{inbox}", "some.csv"], "not both"),
    (["--watch", "{inbox}", "--dry-run"], "--dry-run cannot be used with --watch"),
    (["--watch", "{inbox}", "--truncate"], "--truncate cannot be used with --watch"),
    (["--watch", "{inbox}/missing", "--once"], "no such folder"),
])
def test_watch_options_are_checked_in_one_sentence(clean_db: Database, tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "inbox").mkdir()
    res = runner.invoke(app, ["ingest", *[a.format(inbox=tmp_path / "inbox") for a in args]], env=_env(clean_db, tmp_path))
    assert res.exit_code == 2, res.output
    assert says in res.stderr and len(res.stderr.strip().splitlines()) == 1


def _read_lines(stream, lines: queue.Queue[str]) -> None:  # noqa: ANN001
    for line in stream:
        lines.put(line)


def test_sigterm_stops_the_watcher_cleanly(clean_db: Database, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {**os.environ, **_env(clean_db, tmp_path), "LOG_LEVEL": "INFO", "LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "studentperf", "ingest", "--watch", str(inbox), "--interval", "0.1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stderr, events), daemon=True).start()
    try:
        _wait_for(lambda: any("watching the drop folder" in line for line in list(events.queue)), 120, "the watcher")
        write_school(tmp_path / "drop.csv", 2, seed=5)
        (tmp_path / "drop.csv").rename(inbox / "drop.csv")
        _wait_for(lambda: (inbox / "done" / "drop.csv.json").exists(), 120, "the file to be loaded")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    logged = [json.loads(line) for line in list(events.queue) if line.startswith("{")]
    stopped = [e for e in logged if e["event"] == "stopped watching"]
    assert stopped and stopped[0]["succeeded"] == 1
    assert "succeeded: drop.csv" in proc.stdout.read()
    assert _runs(clean_db) == [("drop.csv", "succeeded", 80)]
