"""Load a read OneRoster bundle (:class:`etl.oneroster.Roster`) into the product's tables, in one transaction.

Set-based upserts keyed like the flat files' (school by name, student by school and id, class by school, school
year and name, assessment by school and name), so a bundle re-imported updates the same rows; a student moved to
another class of the same school year leaves the old one. The summaries of every student of the bundle are rebuilt.
The run is recorded in ``ingestion_runs`` (format kind ``oneroster``), a failed one in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from pathlib import Path

from psycopg2.extras import execute_values
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import DomainError, InvalidInput, Unavailable
from db.database import Database
from db.summaries import refresh_class_weeks, refresh_summaries
from etl.oneroster import Roster, age_on, read_roster
from etl.pipeline import (
    RUN_FINISH,
    RUN_INSERT,
    IngestReport,
    _carrying,
    _interrupt_in,
    _json,
    _one_load_at_a_time,
)

log = logging.getLogger(__name__)


def bundle_sha256(path: Path) -> str:
    """The sha256 of a zip's bytes, or of a folder's CSV files (names and bytes, in name order)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(path.glob("*.csv"))
    for file in files:
        if path.is_dir():
            digest.update(file.name.encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _values(session: Session, sql: str, rows: list[tuple], fetch: bool = True) -> list[tuple]:
    """``execute_values`` on the session's connection (one statement per page of rows)."""
    if not rows:
        return []
    cur = session.connection().connection.dbapi_connection.cursor()
    try:
        return execute_values(cur, sql, rows, page_size=5000, fetch=fetch) or []
    finally:
        cur.close()


def _school_ids(session: Session, roster: Roster) -> dict[str, int]:
    """Insert the schools; return name -> id."""
    names = sorted(set(roster.schools.values()))
    _values(session, "INSERT INTO schools (name) VALUES %s ON CONFLICT (name) DO NOTHING", [(n,) for n in names], False)
    rows = session.execute(text("SELECT name, id FROM schools WHERE name = ANY(:n)"), {"n": names}).all()
    return {name: sid for name, sid in rows}


def _student_ids(session: Session, roster: Roster, schools: dict[str, int], counts: Counter[str]) -> dict[str, int]:
    """Upsert the students; return user sourcedId -> student id."""
    year = {user: y for (user, y), _ in sorted(roster.enrollments.items())}  # the latest school year of each
    keyed = {(schools[s["school"]], s["source_id"]): user for user, s in roster.students.items()}
    rows = [(school_id, src, s["name"], s["gender"], age_on(s["birth"], year[user]) if user in year else None)
            for (school_id, src), user in keyed.items() for s in (roster.students[user],)]
    returned = _values(session, """
        INSERT INTO students AS t (school_id, source_id, name, gender, age) VALUES %s
        ON CONFLICT (school_id, source_id) DO UPDATE
        SET name = excluded.name, gender = excluded.gender, age = excluded.age, updated_at = now()
        RETURNING t.school_id, t.source_id, t.id, (t.xmax = 0)""", rows)
    counts["students new"] += sum(1 for r in returned if r[3])
    counts["students updated"] += sum(1 for r in returned if not r[3])
    return {keyed[(school_id, src)]: sid for school_id, src, sid, _ in returned}


def _class_ids(session: Session, roster: Roster, schools: dict[str, int]) -> dict[str, int]:
    """Upsert the classes students are kept in; return class sourcedId -> class id."""
    used = sorted(set(roster.enrollments.values()))
    grades: dict[str, Counter[int]] = {c: Counter() for c in used}
    for (user, _), cls in roster.enrollments.items():
        if roster.students[user]["grade"] is not None:
            grades[cls][roster.students[user]["grade"]] += 1
    rows, keyed = [], {}
    for cls in used:
        c = roster.classes[cls]
        grade = c["grade"] or (grades[cls].most_common(1)[0][0] if grades[cls] else 0)
        keyed[(schools[c["school"]], c["year"], c["name"])] = cls
        rows.append((schools[c["school"]], c["name"], grade, c["year"]))
    returned = _values(session, """
        INSERT INTO classes AS t (school_id, name, grade_level, school_year) VALUES %s
        ON CONFLICT (school_id, school_year, name) DO UPDATE SET grade_level = excluded.grade_level
        RETURNING t.school_id, t.school_year, t.name, t.id""", rows)
    return {keyed[(school_id, year, name)]: cid for school_id, year, name, cid in returned}


def _enrol(session: Session, roster: Roster, students: dict[str, int], classes: dict[str, int]) -> list[int]:
    """Enrol each student in their class of each school year; return the classes students left."""
    rows = [(students[user], classes[cls], year) for (user, year), cls in roster.enrollments.items()]
    left = _values(session, """
        DELETE FROM enrollments en USING (VALUES %s) AS e (student_id, class_id, school_year)
        WHERE en.student_id = e.student_id AND en.school_year = e.school_year AND en.class_id <> e.class_id
        RETURNING en.class_id""", rows)
    _values(session, "INSERT INTO enrollments (student_id, class_id, school_year) VALUES %s ON CONFLICT DO NOTHING",
            rows, False)
    return sorted({r[0] for r in left})


def _scores(session: Session, roster: Roster, schools: dict[str, int], students: dict[str, int], run_id: int,
            counts: Counter[str]) -> None:
    """Upsert the assessments (tests out of 100) and the scores on them."""
    keyed = {(schools[a["school"]], a["name"]): item for item, a in roster.assessments.items()}
    rows = [(school_id, name, "test", roster.assessments[item]["date"], 100.0) for (school_id, name), item in keyed.items()]
    returned = _values(session, """
        INSERT INTO assessments AS t (school_id, name, kind, date, max_score) VALUES %s
        ON CONFLICT (school_id, name) DO UPDATE SET kind = excluded.kind, date = excluded.date, max_score = 100
        RETURNING t.school_id, t.name, t.id""", rows)
    items = {keyed[(school_id, name)]: aid for school_id, name, aid in returned}
    best = {(students[s["student"]], items[s["item"]]): (s["date"], s["score"]) for s in roster.scores}
    done = _values(session, """
        INSERT INTO scores AS t (student_id, assessment_id, date, score, run_id) VALUES %s
        ON CONFLICT (student_id, assessment_id) DO UPDATE SET date = excluded.date, score = excluded.score,
            imputed = false, run_id = excluded.run_id
        RETURNING (t.xmax = 0)""", [(sid, aid, day, score, run_id) for (sid, aid), (day, score) in best.items()])
    counts["scores new"] += sum(1 for r in done if r[0])
    counts["scores updated"] += sum(1 for r in done if not r[0])


def load_roster(session: Session, roster: Roster, run_id: int) -> Counter[str]:
    """Write a roster in the caller's transaction and rebuild its students' summaries; return the counts.

    Parameters
    ----------
    session : a session inside the bundle's transaction.
    roster : the bundle read by :func:`etl.oneroster.read_roster`.
    run_id : the ``ingestion_runs`` row the scores are tagged with.
    """
    counts: Counter[str] = Counter()
    schools = _school_ids(session, roster)
    students = _student_ids(session, roster, schools, counts)
    classes = _class_ids(session, roster, schools)
    left = _enrol(session, roster, students, classes)
    _scores(session, roster, schools, students, run_id, counts)
    refresh_summaries(session, dict.fromkeys(students.values()))
    refresh_class_weeks(session, left)
    return counts


def _start(session: Session, path: Path, sha256: str, user_id: int | None, fmt: dict) -> int:
    """Insert the run row; return its id."""
    return int(session.execute(RUN_INSERT, {"file_name": path.name, "sha256": sha256, "format": _json(fmt),
                                            "status": "running", "options": _json({"oneroster": True}),
                                            "user_id": user_id}).scalar_one())


def _finish(session: Session, report: IngestReport, error: str | None = None) -> None:
    """Write the outcome on the run row."""
    session.execute(RUN_FINISH, {"run_id": report.run_id, "status": report.status, "rows_read": report.rows_read,
                                 "rows_inserted": report.rows_inserted, "rows_updated": report.rows_updated,
                                 "rows_rejected": report.rows_rejected, "rows_duplicate": 0, "error": error,
                                 "duration_ms": int(report.duration_s * 1000)})


def describe(roster: Roster) -> dict[str, object]:
    """What the bundle mapped to and what was skipped, JSON-friendly (stored on the run, shown in the report)."""
    return {"kind": "oneroster", "version": roster.version, "read": dict(roster.read), "mapped": roster.mapped(),
            "skipped": dict(roster.skipped.most_common())}


def summary(report: IngestReport) -> str:
    """The report's sentence: what mapped to what, and what was skipped."""
    fmt = report.format
    mapped = ", ".join(f"{n} {what}" for what, n in fmt.get("mapped", {}).items())
    skipped = "; ".join(f"{why} ({n})" for why, n in fmt.get("skipped", {}).items())
    verb = "would load" if report.status == "dry_run" else "loaded"
    return (f"{report.file_name} (OneRoster {fmt.get('version')}): {verb} {mapped}; "
            f"{report.rows_inserted} rows new, {report.rows_updated} updated"
            + (f"; skipped {report.rows_rejected} rows: {skipped}." if skipped else "; nothing skipped."))


def _load(database: Database, path: Path, roster: Roster, report: IngestReport, user_id: int | None,
          dry_run: bool) -> None:
    """The bundle's transaction: wait for other loads, record the run, write, commit (or roll back a dry run)."""
    with database.Session() as session:
        session.begin()
        _one_load_at_a_time(session, path)
        report.run_id = _start(session, path, report.sha256, user_id, report.format)
        counts = load_roster(session, roster, report.run_id)
        report.rows_inserted = counts["students new"] + counts["scores new"]
        report.rows_updated = counts["students updated"] + counts["scores updated"]
        report.status = "dry_run" if dry_run else "succeeded"
        _finish(session, report)
        if dry_run:
            session.rollback()
        else:
            session.commit()


def _record_failed(database: Database, path: Path, report: IngestReport, user_id: int | None) -> None:
    """Record a failed (or dry) run in a transaction of its own."""
    with database.begin() as session:
        report.run_id = _start(session, path, report.sha256, user_id, report.format)
        _finish(session, report, report.message if report.status == "failed" else None)


def ingest_bundle(database: Database, path: Path, *, user_id: int | None = None, dry_run: bool = False) -> IngestReport:
    """Import a OneRoster 1.1 or 1.2 CSV bundle (zip or folder), all or nothing; return the report.

    Parameters
    ----------
    database : the product's database.
    path : a folder holding ``manifest.csv``, or a zip of one.
    user_id : who asked (kept on the run).
    dry_run : compute what would change, then roll back.

    Raises
    ------
    InvalidInput : the bundle is unusable or maps no student (a failed run is recorded for the latter).
    """
    started = time.perf_counter()
    roster = read_roster(path)
    report = IngestReport(None, path.name, bundle_sha256(path), "running", format=describe(roster))
    report.rows_read, report.rows_rejected = sum(roster.read.values()), sum(roster.skipped.values())
    try:
        if not roster.students:
            raise InvalidInput(f"{path.name}: no student of the bundle could be loaded ("
                               + "; ".join(f"{why}: {n}" for why, n in roster.skipped.most_common(3)) + ").")
        _load(database, path, roster, report, user_id, dry_run)
    except BaseException as exc:
        report.status, report.duration_s = "failed", time.perf_counter() - started
        report.message = _failure(path, exc)
        _record_failed(database, path, report, user_id)
        log.error("oneroster import failed", extra={"file": path.name, "run_id": report.run_id, "error": report.message})
        interrupt = _interrupt_in(exc)
        if interrupt is not None:
            raise _carrying(interrupt, report) from None
        if isinstance(exc, DomainError):
            _carrying(exc, report)
            raise
        raise _carrying(Unavailable(report.message), report) from exc
    report.duration_s = time.perf_counter() - started
    if dry_run:
        _record_failed(database, path, report, user_id)
    report.message = summary(report)
    return report


def _failure(path: Path, exc: BaseException) -> str:
    """The one sentence recorded for a failed import."""
    if isinstance(exc, DomainError):
        return str(exc)
    if _interrupt_in(exc) is not None:
        return f"{path.name}: interrupted; nothing of it was committed."
    return f"{path.name} could not be loaded: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
