"""`studentperf generate` and `studentperf ingest`: make a sample school, load export files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from studentperf.cli.common import cli_actor, domain_errors, fail, is_terminal, load_settings, open_database

INGEST_HELP = """Load flat export files (docs/EXPORT_FORMAT.md) into the database, one transaction per file.

Delimiter (comma, semicolon, tab) and encoding (UTF-8 with or without BOM, else Latin-1) are detected; headers are matched case-insensitively with aliases (Hours_Studied, Attendance in percent, Exam_Score, Extracurricular_Activities, ...); extra columns are ignored. Bad rows are kept in rejected_rows with every reason while good rows load. A file already loaded (same sha256) is skipped unless --force.

Files without a student id column (such as the Kaggle StudentPerformanceFactors.csv) get ids "<id-prefix>-<line number, 7 digits>" (line-0000002 is the first data row); files without a date column get --date (default 2025-09-01). Re-ingesting such a file therefore updates, never duplicates. Exit code 0 on success, 2 for a bad file, 1 for other failures.
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
    for col in ("file", "status", "read", "new", "updated", "rejected", "duplicate", "seconds"):
        table.add_column(col, justify="left" if col in ("file", "status") else "right")
    for r in reports:
        table.add_row(r.file_name, r.status, str(r.rows_read), str(r.rows_inserted), str(r.rows_updated),
                      str(r.rows_rejected), str(r.rows_duplicate), f"{r.duration_s:.1f}")
    Console().print(table)


def _ingest_all(database, paths: list[Path], options: dict, show_progress: bool) -> list:  # noqa: ANN001
    """Ingest each path, with a progress bar on a terminal."""
    from etl.pipeline import ingest_file

    if not show_progress:
        return [ingest_file(database, p, **options) for p in paths]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    reports = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        for p in paths:
            task = bar.add_task(p.name, total=None)
            reports.append(ingest_file(database, p, progress=lambda done, total, t=task: bar.update(
                t, completed=done, total=total), **options))
    return reports


def _audit_uploads(database, reports: list) -> None:  # noqa: ANN001
    """One `upload` entry per file in the audit log: who loaded what, and what it did."""
    from services import audit

    with database.begin() as session:
        for r in reports:
            details = {"run_id": r.run_id, "status": r.status, "sha256": r.sha256, "rows_read": r.rows_read,
                       "rows_inserted": r.rows_inserted, "rows_updated": r.rows_updated, "rows_rejected": r.rows_rejected}
            audit.record(session, action=audit.UPLOAD, actor=cli_actor(), target=r.file_name, details=details)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV files to load, in order.")],
    school: Annotated[str, typer.Option(help="School of rows without a school column.")] = "Demo School",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change, then roll back.")] = False,
    truncate: Annotated[bool, typer.Option("--truncate", help="Empty the student data tables first (same transaction).")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per chunk (bounds memory).")] = 100_000,
    force: Annotated[bool, typer.Option("--force", help="Reload a file even if the same bytes were loaded before.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file instead of a table.")] = False,
    id_prefix: Annotated[str, typer.Option("--id-prefix", help="Id prefix for files without a student id column.")] = "line",
    date: Annotated[str, typer.Option("--date", help="Date (YYYY-MM-DD) for files without a date column.")] = "2025-09-01",
) -> None:
    """Load flat export files; see `studentperf ingest --help`."""
    try:
        default_date = dt.date.fromisoformat(date)
    except ValueError:
        fail(f"--date {date!r} is not a date (YYYY-MM-DD).", code=2)
    settings = load_settings()
    database = open_database(settings)
    options = {"school": school, "dry_run": dry_run, "truncate": truncate, "batch_size": batch_size,
               "force": force, "id_prefix": id_prefix, "default_date": default_date}
    with domain_errors():
        reports = _ingest_all(database, paths, options, show_progress=is_terminal() and not as_json)
    _audit_uploads(database, reports)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], default=str))
    else:
        _print_table(reports)
        for r in reports:
            typer.echo(r.message)


def register(app: typer.Typer) -> None:
    """Attach `generate` and `ingest`."""
    app.command("generate")(generate)
    app.command("ingest", help=INGEST_HELP)(ingest)
