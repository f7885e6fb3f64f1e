"""`studentperf generate` and `studentperf ingest`: make a sample school, load export files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from studentperf.cli.common import (
    cli_actor,
    domain_errors,
    fail,
    is_terminal,
    load_settings,
    open_database,
    terminate_as_interrupt,
)
from studentperf.cli.ml_cmds import score_after_ingest

INGEST_HELP = """Load flat export files (docs/EXPORT_FORMAT.md) into the database, one transaction per file.

Delimiter (comma, semicolon, tab) and encoding (UTF-8 with or without BOM, else Latin-1) are detected; headers are matched case-insensitively with aliases (Hours_Studied, Attendance in percent, Exam_Score, Extracurricular_Activities, ...); extra columns are ignored. Bad rows are kept in rejected_rows with every reason while good rows load. A file already loaded (same sha256) is skipped unless --force.

Files are .csv, .csv.gz or .xlsx (the first sheet), told from their bytes; UTF-16 text is read too.

A file in another format is mapped: --map SOURCE=TARGET[:TRANSFORM] (repeatable; transforms :rescale:MAX[:PASS] for a score out of MAX whose pass mark PASS lands on ours, :absences:DAYS for counts of absences over DAYS school days, :percent[:all], :dayfirst, :monthfirst, :values:A=B,C=D), or --mapping NAME for a shipped profile (uci-student-performance, kaggle-performance-factors) or a mapping saved with --save-mapping NAME. --preview shows the first rows as they would load, the warnings and the notes, and loads nothing. Before loading, the first rows are checked: a score out of 20, counts of absences, percent strings or day-first dates stop the load with the fix (--accept-warnings loads anyway).

Files without a student id column (such as the Kaggle StudentPerformanceFactors.csv) get ids "<id-prefix>-<line number, 7 digits>" (line-0000002 is the first data row); files without a date column get --date (default 2025-09-01). Re-ingesting such a file therefore updates, never duplicates.

A file where every row, or more than --max-rejected-share of them (default 0.5), is rejected loads nothing: the run is recorded as failed with its rejected rows. A text cell longer than its limit (--max-length COLUMN=N; student_name 200 by default) is a rejected row with its reason.

A OneRoster 1.1 or 1.2 CSV bundle (a .zip, or a folder, holding manifest.csv) is imported: schools, school years, classes, students, enrollments and demographics, and assessments and scores from lineItems and results; the report says what mapped to what and what was skipped, and why.

Several files load in order, each in its own transaction; the first that fails stops the rest, and every file tried (those committed before it too) is reported and audited. A second ingest while one runs says at once that it waits for the first. Ctrl-C or SIGTERM stops the load in progress: nothing of that file is committed and its run is recorded as failed (exit 130, or 143 for SIGTERM).

Exit code 0 on success, 2 for a bad file, 1 for other failures.
"""


def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.")],
    students: Annotated[int, typer.Option("--students", "-n", min=1, help="Students in each school year.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same options write a byte-identical file.")] = 0,
    dirty: Annotated[bool, typer.Option("--dirty", help="Add duplicates, blanks, bad values and dates, mixed case.")] = False,
    years: Annotated[int, typer.Option("--years", min=1, help="School years: N-1 complete past years, then the current one.")] = 3,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The current year's data end here (YYYY-MM-DD; default today).")] = None,
) -> None:
    """Write a realistic sample school with a history (grades 9-12, one row per student per week) as a flat CSV."""
    from etl.generate import plan_years, write_school

    load_settings()
    try:
        day = dt.date.fromisoformat(as_of) if as_of is not None else dt.date.today()
        plan = plan_years(years, day)
    except ValueError as exc:
        fail(f"--as-of: {exc}.", code=2)
    with domain_errors():
        try:
            path = write_school(out, students, seed=seed, dirty=dirty, years=years, as_of=day)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")
    rows = students * sum(y.n_weeks for y in plan)
    typer.echo(f"wrote {path} ({rows} rows before faults: school years {plan[0].name} to {plan[-1].name}, the last "
               f"up to {plan[-1].dates()[-1]}; seed {seed}{', dirty' if dirty else ''})")


def _print_table(reports: list) -> None:  # noqa: ANN001
    """A summary table of the runs (rich)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ingest")
    for col in ("file", "status", "read", "loaded", "new", "updated", "rejected", "duplicate", "seconds"):
        table.add_column(col, justify="left" if col in ("file", "status") else "right")
    for r in reports:
        loaded = r.rows_read - r.rows_rejected - r.rows_duplicate if r.status in ("succeeded", "dry_run") else 0
        table.add_row(r.file_name, r.status, str(r.rows_read), str(loaded), str(r.rows_inserted), str(r.rows_updated),
                      str(r.rows_rejected), str(r.rows_duplicate), f"{r.duration_s:.1f}")
    Console().print(table)


def _mapping(database, names: str | None, specs: list[str], pass_mark: float):  # noqa: ANN001, ANN202
    """The mapping of --mapping NAME and --map rules (these win), or None."""
    from etl.mapping import Mapping, get_mapping, parse_rule

    mapping = Mapping("")
    if names is not None:
        with database.begin() as session:
            mapping = get_mapping(session, names).with_pass_mark(pass_mark)
    for spec in specs:  # a later --map replaces an earlier rule of the same source or target
        mapping = mapping.with_rules([parse_rule(spec, pass_mark)])
    return mapping if mapping.rules else None


def _print_preview(path: Path, mapping, options: dict) -> None:  # noqa: ANN001
    """The first rows of ``path`` as they would load, the warnings and the notes."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from etl.clean import CleanOptions
    from etl.mapping import preview
    from etl.read import MissingColumns, listed

    clean = CleanOptions(options["school"], options["id_prefix"], options["default_date"])
    try:
        shown = preview(path, mapping, options=clean)
    except MissingColumns as exc:  # list every column found (up to 100) to map from, then fail with the sentence
        typer.echo(f"{path.name}: columns found: {listed(exc.found, 100)}")
        raise
    typer.echo(f"{shown.file_name} ({shown.kind}): " + ", ".join(f"{k} -> {v}" for k, v in shown.columns.items()))
    table = Table(title=f"first rows as they would load ({len(shown.rejected)} of the sampled rows rejected)")
    for col in shown.rows.columns:
        table.add_column(str(col))
    for row in shown.rows.itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    Console(width=200).print(table)
    for w in shown.warnings:
        typer.echo(f"warning: {w}")
    for note in shown.notes:
        typer.echo(f"note: {note}")


def _save_mapping(database, name: str, mapping) -> None:  # noqa: ANN001
    """Save the mapping used under ``name``."""
    from etl.mapping import save_mapping

    if mapping is None:
        fail("--save-mapping needs a mapping (--map or --mapping) to save.", code=2)
    with database.begin() as session:
        save_mapping(session, name, mapping, created_by=cli_actor())
    typer.echo(f"saved mapping {name} ({len(mapping.rules)} rules)")


def _ingest_all(database, paths: list[Path], options: dict, show_progress: bool):  # noqa: ANN001, ANN202
    """Ingest each path in order (a progress bar on a terminal) until one fails; return the batch."""
    from etl.pipeline import ingest_paths

    if not show_progress:
        return ingest_paths(database, paths, **options)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        def progress_for(p: Path):  # noqa: ANN202
            task = bar.add_task(p.name, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)

        return ingest_paths(database, paths, progress_for=progress_for, **options)


def _max_lengths(specs: list[str]) -> dict[str, int]:
    """``--max-length COLUMN=N`` rules as a dict (checked), exit 2 with a sentence when one is malformed."""
    from etl.validate import text_limits

    limits: dict[str, int] = {}
    for spec in specs:
        column, _, value = spec.partition("=")
        if not value.strip().isdigit():
            fail(f"--max-length {spec!r}: write COLUMN=N, e.g. student_name=100.", code=2)
        limits[column.strip()] = int(value)
    with domain_errors():
        text_limits(limits)
    return limits


def _audit_uploads(database, reports: list) -> None:  # noqa: ANN001
    """One `upload` entry per file in the audit log: who loaded what, and what it did."""
    from services import audit
    from services.uploads import FileOutcome, audit_details

    with database.begin() as session:
        for r in reports:
            audit.record(session, action=audit.UPLOAD, actor=cli_actor(), target=r.file_name,
                         details=audit_details(FileOutcome.of(r), via="cli"))


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="CSV/.csv.gz/.xlsx files or OneRoster bundles (zip or folder) to load, in order (or --watch DIR).")] = None,
    school: Annotated[str, typer.Option(help="School of rows without a school column.")] = "Demo School",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change, then roll back.")] = False,
    truncate: Annotated[bool, typer.Option("--truncate", help="Empty the student data tables first (same transaction).")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per chunk (bounds memory).")] = 100_000,
    force: Annotated[bool, typer.Option("--force", help="Reload a file even if the same bytes were loaded before.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file instead of a table.")] = False,
    id_prefix: Annotated[str, typer.Option("--id-prefix", help="Id prefix for files without a student id column.")] = "line",
    date: Annotated[str, typer.Option("--date", help="Date (YYYY-MM-DD) for files without a date column.")] = "2025-09-01",
    watch: Annotated[Path | None, typer.Option("--watch", help="Watch this drop folder: load each complete new file once, move it to DIR/done or DIR/failed with a JSON report; runs until SIGTERM or Ctrl-C.")] = None,
    once: Annotated[bool, typer.Option("--once", help="With --watch: load the complete files there now, then exit (1 if any failed).")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.01, help="With --watch: seconds between looks; a file is taken once unchanged over one interval.")] = 5.0,
    maps: Annotated[list[str] | None, typer.Option(
        "--map", help="SOURCE=TARGET[:TRANSFORM[:ARG...]]: map a file column to ours (repeatable; see above).")] = None,
    mapping_name: Annotated[str | None, typer.Option(
        "--mapping", help="A shipped profile (uci-student-performance, kaggle-performance-factors) or a saved mapping.")] = None,
    save_as: Annotated[str | None, typer.Option("--save-mapping", help="Save the mapping used under this name.")] = None,
    max_rejected_share: Annotated[float, typer.Option(
        "--max-rejected-share", min=0.0, max=1.0, help="Fail the load when more than this share of rows is rejected.")] = 0.5,
    accept_warnings: Annotated[bool, typer.Option(
        "--accept-warnings", help="Load even if the first rows look like another scale than ours.")] = False,
    show_preview: Annotated[bool, typer.Option(
        "--preview", help="Show the first rows as they would load, the warnings and the notes; load nothing.")] = False,
    max_length: Annotated[list[str] | None, typer.Option(
        "--max-length", help="COLUMN=N: a longer text cell in COLUMN rejects its row (repeatable; defaults: "
        "student_name=200, school=200, class_name=100, student_id=64, gender=50).")] = None,
) -> None:
    """Load flat export files; see `studentperf ingest --help`."""
    from studentperf.cli.watching import check_watch_args, run_watch

    check_watch_args(paths, watch, once, dry_run, truncate)
    try:
        default_date = dt.date.fromisoformat(date)
    except ValueError:
        fail(f"--date {date!r} is not a date (YYYY-MM-DD).", code=2)
    settings = load_settings()
    database = open_database(settings)
    options = {"school": school, "dry_run": dry_run, "truncate": truncate, "batch_size": batch_size,
               "force": force, "id_prefix": id_prefix, "default_date": default_date,
               "max_rejected_share": max_rejected_share, "accept_warnings": accept_warnings,
               "max_lengths": _max_lengths(max_length or [])}
    if watch is not None:
        with domain_errors():
            mapping = _mapping(database, mapping_name, maps or [], settings.pass_threshold)
        return run_watch(database, watch, {**options, "mapping": mapping}, once=once, interval=interval,
                         as_json=as_json, audit=_audit_uploads, settings=settings)
    with domain_errors(), terminate_as_interrupt():
        mapping = _mapping(database, mapping_name, maps or [], settings.pass_threshold)
        if show_preview:
            for p in paths:
                _print_preview(p, mapping, options)
            batch = None
        else:
            batch = _ingest_all(database, paths, {**options, "mapping": mapping},
                                show_progress=is_terminal() and not as_json)
        if save_as and (batch is None or batch.error is None):
            _save_mapping(database, save_as, mapping)
    if batch is not None:
        _report(database, batch.reports, as_json, options)
        with domain_errors():
            if batch.error is not None:  # the files before it are committed, reported and audited
                raise batch.error
        score_after_ingest(database, settings, batch.reports, err=as_json)


def _report(database, reports: list, as_json: bool, options: dict) -> None:  # noqa: ANN001
    """Audit the uploads, then print the table and one sentence per file (and how ids and dates were assigned)."""
    from etl.mapping import id_and_date_notes

    _audit_uploads(database, reports)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], default=str))
        return
    if any(r.status != "failed" for r in reports):
        _print_table(reports)
    for r in reports:
        if r.status != "failed":  # a failed file's sentence is the error printed last
            typer.echo(r.message)
        if r.status in ("succeeded", "dry_run"):
            for note in id_and_date_notes(r.format.get("columns", {}).values(), options["id_prefix"],
                                          options["default_date"]):
                typer.echo(f"note: {note}")


def register(app: typer.Typer) -> None:
    """Attach `generate` and `ingest`."""
    app.command("generate")(generate)
    app.command("ingest", help=INGEST_HELP)(ingest)
