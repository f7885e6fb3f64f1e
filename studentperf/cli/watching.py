"""`studentperf ingest --watch DIR`: the drop-folder watcher behind the command line (see etl/watch.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import typer

from studentperf.cli.common import domain_errors, fail


def check_watch_args(paths: list[Path] | None, watch: Path | None, once: bool, dry_run: bool, truncate: bool) -> None:
    """Refuse option combinations that make no sense with (or without) ``--watch``, in one sentence."""
    if watch is None:
        if once:
            fail("--once goes with --watch DIR.", code=2)
        if not paths:
            fail("give the files to load, or --watch DIR to load the files dropped into a folder.", code=2)
        return
    if paths:
        fail("give either files to load or --watch DIR, not both.", code=2)
    if dry_run or truncate:
        fail(f"{'--dry-run' if dry_run else '--truncate'} cannot be used with --watch.", code=2)


def run_watch(database, folder: Path, options: dict, *, once: bool, interval: float, as_json: bool,  # noqa: ANN001
              audit, settings=None) -> None:  # noqa: ANN001
    """Watch ``folder`` until SIGTERM/Ctrl-C (or one pass with ``once``); exit 1 after a pass with a failure.

    With ``settings`` given, each loaded file is followed by a scoring run, as after a normal ingest
    (``SCORE_AFTER_INGEST``; see :func:`studentperf.cli.ml_cmds.score_after_ingest`).
    """
    from etl.watch import DropResult, stop_on_signals, watch
    from studentperf.cli.ml_cmds import score_after_ingest

    def show(result: DropResult) -> None:
        if result.report is not None:
            audit(database, [result.report])
        if as_json:
            typer.echo(json.dumps(result.to_dict(), default=str))
        else:
            where = f" -> {result.moved_to}" if result.moved_to else ""
            typer.echo(f"{result.status}: {result.message}{where}")
        if result.report is not None and settings is not None:
            score_after_ingest(database, settings, [result.report], err=as_json)

    stop = threading.Event()
    with domain_errors(), stop_on_signals(stop):
        counts = watch(database, folder, options=options, interval=interval, once=once, stop=stop, on_result=show)
    if once and (counts["failed"] or counts["retry"]):
        raise typer.Exit(1)
