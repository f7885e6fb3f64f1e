"""The ingestion pipeline: read -> validate -> clean -> stage -> load -> summaries, one transaction per file.

A file is loaded all or nothing: its rows, its rejected rows, the summary refresh and its
``ingestion_runs`` row are committed together. On an error the transaction is rolled back and a
``failed`` run is recorded in a transaction of its own; a killed process leaves no trace at all.
A file whose sha256 already loaded successfully is skipped unless ``force``. Loads run one at a time: each
file's transaction first takes an advisory lock, so a second load waits (and says so) instead of racing the first
over the same summary rows. Python holds one chunk (``batch_size`` rows) at a time, plus at most two of them
formatted for COPY and waiting for the background writer; whole-file work (duplicates, medians, upserts) happens
in SQL.

Files without a ``student_id`` column (e.g. the Kaggle "Student Performance Factors" export) get
deterministic ids ``<id_prefix>-<line>`` (``line-0000002`` for the first data row) and files without
a ``date`` column get ``default_date`` (2025-09-01 unless given), so re-ingesting such a file updates
the same rows instead of duplicating them.

A column mapping (``etl.mapping``: a shipped profile, a saved one or ``--map`` rules) renames and transforms the raw
chunks before validation. Before anything is written, the first rows are checked for scale problems that would load
wrong values without a sign (a score out of 20, counts of absences): the file is refused with the fix unless
``accept_warnings``. A load that lands nothing is a failure: when every row, or more than ``max_rejected_share`` of
them, is rejected, nothing is committed and the run is recorded as failed with (the first) rejected rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.errors import DomainError, InvalidInput, Unavailable
from db.database import Database
from db.models import DATA_TABLES
from db.summaries import refresh_class_weeks, refresh_summaries
from etl.clean import DEFAULT_DATE, DEFAULT_ID_PREFIX, CleanOptions, clean
from etl.load import (
    STAGED_DAYS_SQL,
    background_copies,
    create_staging,
    left_classes,
    load_staged,
    save_rejects,
    stage_chunk,
    stage_rejects,
    staged_days_suffice,
    touched_students,
)
from etl.mapping import Mapping, apply, prepare, sample, scale_warnings
from etl.oneroster import is_bundle as _is_bundle
from etl.read import FileFormat, read_chunks
from etl.validate import explain, text_limits, validate

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
"""Called after each chunk with (rows read so far, estimated total rows)."""


@dataclass
class IngestReport:
    """The outcome of ingesting one file."""

    run_id: int | None
    file_name: str
    sha256: str
    status: str  # succeeded | skipped | dry_run | failed
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    duration_s: float = 0.0
    summaries_s: float = 0.0  # of duration_s: refreshing the summary tables
    message: str = ""
    format: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict."""
        return asdict(self)


@dataclass(frozen=True)
class IngestOptions:
    """Options of one ingest call."""

    school: str = "Demo School"
    dry_run: bool = False
    truncate: bool = False
    batch_size: int = 100_000
    force: bool = False
    user_id: int | None = None
    id_prefix: str = DEFAULT_ID_PREFIX
    default_date: dt.date = DEFAULT_DATE
    mapping: Mapping | None = None
    max_rejected_share: float = 0.5
    accept_warnings: bool = False
    max_lengths: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict (stored on the run)."""
        return {**asdict(self), "default_date": self.default_date.isoformat(),
                "mapping": self.mapping.to_dict() if self.mapping else None}


RUN_INSERT = text("""
INSERT INTO ingestion_runs (file_name, sha256, format, status, options, user_id)
VALUES (:file_name, :sha256, CAST(:format AS jsonb), :status, CAST(:options AS jsonb), :user_id) RETURNING id
""")
RUN_FINISH = text("""
UPDATE ingestion_runs SET status = :status, rows_read = :rows_read, rows_inserted = :rows_inserted,
    rows_updated = :rows_updated, rows_rejected = :rows_rejected, rows_duplicate = :rows_duplicate,
    error = :error, finished_at = now(), duration_ms = :duration_ms
WHERE id = :run_id
""")


def _json(value: object) -> str:
    import json

    return json.dumps(value, default=str)


def _start_run(session: Session, path: Path, fmt: FileFormat, opts: IngestOptions, status: str) -> int:
    """Insert the ``ingestion_runs`` row; return its id."""
    params = {"file_name": path.name, "sha256": fmt.sha256, "format": _json(fmt.to_dict()), "status": status,
              "options": _json(opts.to_dict()), "user_id": opts.user_id}
    return int(session.execute(RUN_INSERT, params).scalar_one())


def _finish_run(session: Session, report: IngestReport, error: str | None = None) -> None:
    """Write the counts and the outcome on the run row."""
    params = {k: getattr(report, k) for k in ("run_id", "status", "rows_read", "rows_inserted", "rows_updated",
                                                "rows_rejected", "rows_duplicate")}
    session.execute(RUN_FINISH, {**params, "error": error, "duration_ms": int(report.duration_s * 1000)})


def _already_loaded(database: Database, sha256: str, mapping: Mapping | None = None) -> int | None:
    """Id of a succeeded run of the same bytes with the same mapping, if any."""
    with database.begin() as s:
        return s.execute(text("SELECT id FROM ingestion_runs WHERE sha256 = :h AND status = 'succeeded' "
                              "AND coalesce(options -> 'mapping', 'null') = CAST(:m AS jsonb) "
                              "ORDER BY id DESC LIMIT 1"), {"h": sha256, "m": _json(mapping and mapping.to_dict())}).scalar()


def _stage_file(session: Session, path: Path, fmt: FileFormat, opts: IngestOptions, report: IngestReport,
                progress: Progress | None) -> None:
    """Read, validate and clean the file chunk by chunk into the staging tables."""
    options = CleanOptions(school=opts.school, id_prefix=opts.id_prefix, default_date=opts.default_date)
    estimate, limits = 0, text_limits(opts.max_lengths)
    with background_copies(session):  # PostgreSQL loads a chunk while pandas reads and checks the next
        for chunk in read_chunks(path, fmt, opts.batch_size):
            checked = validate(apply(chunk, opts.mapping), limits)
            stage_chunk(session, clean(checked.rows, options))
            stage_rejects(session, checked.rejected)
            report.rows_read += len(chunk)
            report.rows_rejected += len(checked.rejected)
            if progress is not None:
                if not estimate and len(chunk):
                    estimate = fmt.estimated_rows
                progress(report.rows_read, max(estimate, report.rows_read))
    if report.rows_read == 0:
        raise InvalidInput(f"{path.name} has a header but no rows.")


class RejectedFile(InvalidInput):
    """Every row, or more than the allowed share, of a file was rejected: the load is a failure."""

    def __init__(self, message: str, rejects: list[tuple[int, object, list[str]]]) -> None:
        super().__init__(message)
        self.rejects = rejects


KEPT_REJECTS = 1000
"""Rejected rows kept on a failed run (the first ones, by line)."""


def _refuse_mostly_rejected(session: Session, path: Path, opts: IngestOptions, report: IngestReport) -> None:
    """Raise RejectedFile when nothing, or too little, of the file would load."""
    read, rejected = report.rows_read, report.rows_rejected
    if not read or (rejected < read and rejected <= opts.max_rejected_share * read):
        return
    rejects = [tuple(r) for r in session.execute(text(
        "SELECT line_number, raw, reasons FROM etl_rejects ORDER BY line_number LIMIT :n"), {"n": KEPT_REJECTS})]
    why = explain(r[2] for r in rejects)
    share = "" if rejected == read else f" ({rejected} rejected, more than the {opts.max_rejected_share:.0%} allowed)"
    raise RejectedFile(f"{path.name}: 0 of {read} rows loaded{share}: {why}; see the rejected rows", rejects)


def _refuse_scale_warnings(path: Path, fmt: FileFormat, opts: IngestOptions) -> None:
    """Raise InvalidInput, before anything is written, when the first rows look like another scale than ours.

    Only the warnings of values that would load wrong without a sign stop a load; percent strings and day-first
    dates are rejected rows, with their reasons (and too many of them fail the load).
    """
    warnings = [w for w in scale_warnings(sample(path, fmt, opts.mapping), fmt, opts.mapping) if w.silent]
    if warnings and not opts.accept_warnings:
        raise InvalidInput(f"{path.name}: nothing was loaded: {'; '.join(map(str, warnings))}; "
                           "or load it as it is with --accept-warnings.")


INSERT_REJECT = text("INSERT INTO rejected_rows (run_id, line_number, raw, reasons) "
                     "VALUES (:run_id, :line, CAST(:raw AS jsonb), :reasons)")


def _record_rejected_file(database: Database, path: Path, fmt: FileFormat, opts: IngestOptions, report: IngestReport,
                          exc: RejectedFile) -> str:
    """Record the failed run with its first rejected rows; return the message naming the run."""
    report.status = "failed"
    with database.begin() as s:
        report.run_id = _start_run(s, path, fmt, opts, report.status)
        report.message = f"{exc} of run {report.run_id}."
        _finish_run(s, report, report.message)
        if exc.rejects:
            s.execute(INSERT_REJECT, [{"run_id": report.run_id, "line": line, "raw": _json(raw), "reasons": reasons}
                                      for line, raw, reasons in exc.rejects])
    log.info("ingest failed", extra={"file": path.name, "run_id": report.run_id, "error": report.message})
    return report.message


INGEST_LOCK = 7261003
"""Advisory lock key held by each file's transaction: loads run one at a time (see ``_one_load_at_a_time``)."""


def _one_load_at_a_time(session: Session, path: Path) -> None:
    """Wait, inside the file's transaction, until no other load is running.

    Two loads at once would rebuild the same summary rows (calendar dates, classes) from snapshots that miss each
    other's uncommitted rows; waiting costs nothing on two cores and turns a possible conflict into a queue.
    """
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": INGEST_LOCK}).scalar():
        log.warning(f"{path.name}: another load is running; this one waits for it to finish", extra={"file": path.name})
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})


def _load(session: Session, path: Path, fmt: FileFormat, opts: IngestOptions, report: IngestReport,
          progress: Progress | None, started: float) -> None:
    """The whole load of one file inside ``session``'s transaction."""
    _one_load_at_a_time(session, path)
    if opts.truncate:  # DELETE, not TRUNCATE: readers keep seeing the old rows until the commit instead of waiting
        for table in DATA_TABLES:
            session.execute(text(f"DELETE FROM {table}"))
    report.run_id = _start_run(session, path, fmt, opts, "running")
    create_staging(session)
    _stage_file(session, path, fmt, opts, report, progress)
    _refuse_mostly_rejected(session, path, opts, report)
    save_rejects(session, report.run_id)
    counts = load_staged(session, report.run_id)
    report.rows_inserted, report.rows_updated = counts.inserted, counts.updated
    report.rows_duplicate = counts.duplicates
    refreshing = time.perf_counter()
    # after a fresh load, or one that appended rows after every stored event, the day sums come from the staged
    # rows instead of the event tables just written
    appended = staged_days_suffice(session, counts)
    refresh_summaries(session, touched_students(session), days=STAGED_DAYS_SQL if counts.fresh or appended else None,
                      set_based_keys=True, days_since=appended)
    refresh_class_weeks(session, left_classes(session))
    report.summaries_s = time.perf_counter() - refreshing
    report.status = "dry_run" if opts.dry_run else "succeeded"
    report.duration_s = time.perf_counter() - started
    _finish_run(session, report)


def _record_run(database: Database, path: Path, fmt: FileFormat, opts: IngestOptions, report: IngestReport,
                error: str | None = None) -> None:
    """Record a failed, skipped or dry run in its own transaction (after any rollback)."""
    with database.begin() as s:
        report.run_id = _start_run(s, path, fmt, opts, report.status)
        _finish_run(s, report, error)


def _message(report: IngestReport) -> str:
    """One sentence summarising a run."""
    verb = {"dry_run": "would load", "succeeded": "loaded"}.get(report.status, report.status)
    loaded = report.rows_read - report.rows_rejected - report.rows_duplicate
    return (f"{report.file_name}: {verb} {loaded} of {report.rows_read} rows ({report.rows_inserted} new, "
            f"{report.rows_updated} updated, {report.rows_rejected} rejected, {report.rows_duplicate} duplicate).")


def _run(database: Database, path: Path, fmt: FileFormat, opts: IngestOptions, report: IngestReport,
         progress: Progress | None, started: float) -> None:
    """Load in one transaction; commit, or roll back for a dry run (and on any error)."""
    with database.Session() as session:
        session.begin()
        try:
            _load(session, path, fmt, opts, report, progress, started)
        except DBAPIError as exc:
            session.rollback()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise Unavailable(f"{path.name} could not be loaded: {reason}") from exc
        except BaseException:
            session.rollback()
            raise
        if opts.dry_run:
            session.rollback()
        else:
            session.commit()


def ingest_file(database: Database, path: str | PathLike[str], *, school: str = "Demo School", dry_run: bool = False,
                truncate: bool = False, batch_size: int = 100_000, force: bool = False, user_id: int | None = None,
                progress: Progress | None = None, id_prefix: str = DEFAULT_ID_PREFIX,
                default_date: dt.date = DEFAULT_DATE, mapping: Mapping | None = None,
                max_rejected_share: float = 0.5, accept_warnings: bool = False,
                max_lengths: dict[str, int] | None = None) -> IngestReport:
    """Load one flat export file into the database, all or nothing.

    Parameters
    ----------
    database : the product's database.
    path : a CSV file in the format of docs/EXPORT_FORMAT.md (aliases, ``;``/tab, Latin-1 accepted), or a OneRoster
        bundle (a zip or folder with ``manifest.csv``: see ``etl.oneroster``; only ``user_id`` and ``dry_run`` apply).
    school : school of rows without a ``school`` column.
    dry_run : compute what would change, then roll back (the run is recorded as ``dry_run``).
    truncate : empty ``db.models.DATA_TABLES`` first, in the same transaction.
    batch_size : rows per chunk (bounds the memory used).
    force : load even if the same bytes were loaded successfully before.
    user_id : who asked (kept on the run).
    progress : called with (rows read, estimated total) after each chunk.
    id_prefix, default_date : ids and date for files without ``student_id`` / ``date`` columns.
    mapping : headers and transforms for a file in another format (``etl.mapping``).
    max_rejected_share : more rejected rows than this share (or every row) fails the load.
    accept_warnings : load even if the first rows look like another scale than ours.
    max_lengths : the longest text allowed per column, over ``etl.validate.MAX_LENGTH`` (a longer cell is a rejected
        row with its reason, e.g. ``{"student_name": 100}``).

    Raises
    ------
    InvalidInput : the file is unusable (missing, empty, unreadable, lacks a required column, looks like another
        scale), nothing changes; or too many rows were rejected (``RejectedFile``), the run is recorded as failed.
    """
    if _is_bundle(Path(path)):
        from etl.roster_load import ingest_bundle

        return ingest_bundle(database, Path(path), user_id=user_id, dry_run=dry_run)
    if batch_size < 1:
        raise InvalidInput("batch_size must be at least 1.")
    if not 0 <= max_rejected_share <= 1:
        raise InvalidInput("the share of rejected rows allowed must lie between 0 and 1.")
    started = time.perf_counter()
    path = Path(path)
    fmt = prepare(path, mapping)
    opts = IngestOptions(school, dry_run, truncate, batch_size, force, user_id, id_prefix, default_date, mapping,
                         max_rejected_share, accept_warnings, dict(max_lengths or {}))
    text_limits(opts.max_lengths)  # refuse a bad limit before anything is read
    _refuse_scale_warnings(path, fmt, opts)
    report = IngestReport(None, path.name, fmt.sha256, "running", format=fmt.to_dict())
    previous = None if (force or dry_run) else _already_loaded(database, fmt.sha256, mapping)
    if previous is not None:
        report.status, report.message = "skipped", f"{path.name} was already loaded (run {previous}); use --force to reload."
        _record_run(database, path, fmt, opts, report)
        return report
    try:
        _run(database, path, fmt, opts, report, progress, started)
    except RejectedFile as exc:
        report.duration_s = time.perf_counter() - started
        raise _carrying(RejectedFile(_record_rejected_file(database, path, fmt, opts, report, exc), []), report) from None
    except InvalidInput as exc:
        report.status, report.message = "failed", str(exc)
        _carrying(exc, report)
        raise
    except BaseException as exc:
        report.status, report.duration_s = "failed", time.perf_counter() - started
        out = _failed(database, path, fmt, opts, report, exc)
        if out is exc:
            raise
        raise out from (None if isinstance(out, KeyboardInterrupt) else exc)
    report.duration_s = time.perf_counter() - started
    if dry_run:
        _record_run(database, path, fmt, opts, report)
    report.message = _message(report)
    log.info("ingest finished", extra={k: v for k, v in report.to_dict().items() if k not in ("format", "message")})
    return report


def _failed(database: Database, path: Path, fmt: FileFormat, opts: IngestOptions, report: IngestReport,
            exc: BaseException) -> BaseException:
    """Record the failed run of a load that raised ``exc``; return what to raise (carrying the report).

    Ctrl-C, or SIGTERM under the CLI (even when a library wrapped it in its own error, as an import does), becomes
    the KeyboardInterrupt again; the product's errors stay as they are; anything else becomes ``Unavailable``.
    """
    interrupt = _interrupt_in(exc)
    if interrupt is not None:
        report.message = f"{path.name}: interrupted; nothing of it was committed."
    elif isinstance(exc, DomainError):
        report.message = str(exc)
    elif isinstance(exc, Exception):
        report.message = f"{path.name} could not be loaded: {exc}"
    else:  # SystemExit and the like: nothing to record
        return exc
    _record_run(database, path, fmt, opts, report, report.message)
    log.log(logging.INFO if interrupt else logging.ERROR, "ingest failed",
            extra={"file": path.name, "run_id": report.run_id, "error": report.message})
    return _carrying(interrupt or (exc if isinstance(exc, DomainError) else Unavailable(report.message)), report)


def _interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt that ``exc`` is or was raised while handling (an import wraps it), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


REPORT_ATTR = "ingest_report"
"""A failure raised by :func:`ingest_file` carries the failed file's report under this attribute."""


def _carrying(exc: BaseException, report: IngestReport) -> BaseException:
    """``exc`` with the failed file's report attached (see :func:`failed_report`)."""
    setattr(exc, REPORT_ATTR, report)
    return exc


def failed_report(exc: BaseException, path: str | PathLike[str]) -> IngestReport:
    """The report of the file whose load raised ``exc`` (run id set when a failed run was recorded)."""
    report = getattr(exc, REPORT_ATTR, None)
    if isinstance(report, IngestReport):
        return report
    message = str(exc) if isinstance(exc, DomainError) else f"{Path(path).name}: interrupted; nothing of it was committed."
    return IngestReport(None, Path(path).name, "", "failed", message=message)


@dataclass
class Batch:
    """The outcome of several files: one report per file tried, and the failure that stopped the batch, if any."""

    reports: list[IngestReport]
    error: BaseException | None = None


def ingest_paths(database: Database, paths: Iterable[str | PathLike[str]],
                 progress_for: Callable[[Path], Progress | None] | None = None, **options: object) -> Batch:
    """Ingest several files in order, each in its own transaction; stop at the first failure.

    The files before it stay committed; every file tried has its report, the failed one included (status
    ``failed``), so the caller can report and audit each one. ``progress_for(path)`` gives a file's progress callback.
    Errors other than the product's own (and Ctrl-C) propagate as they are.
    """
    batch = Batch([])
    for p in paths:
        try:
            progress = progress_for(Path(p)) if progress_for is not None else None
            batch.reports.append(ingest_file(database, p, progress=progress, **options))  # type: ignore[arg-type]
        except (DomainError, KeyboardInterrupt) as exc:
            batch.reports.append(failed_report(exc, p))
            batch.error = exc
            break
    return batch
