"""Watch a drop folder: load each complete new file once, then move it to ``done/`` or ``failed/`` with a report.

A file is taken when it is not empty and its size and modification time are the same on two looks ``interval``
seconds apart (a writer still copying it changes one of them); hidden names (``.x``) and temporaries (``*.part``, ``*.tmp``, ...)
are left alone, so an uploader that writes under a temporary name and renames at the end is never read early.
Each file is loaded by :func:`etl.pipeline.ingest_file` (one transaction), then moved, with a JSON report beside it
(``name.csv.json``), to ``done/`` (loaded, or skipped because the same bytes were loaded before) or ``failed/``
(unusable, or its load failed). The pipeline's sha256 check makes a crash between the commit and the move harmless:
the file is found again and skipped, never loaded twice. When the database cannot be reached the file stays where it
is and is tried again on the next look. No failure stops the watcher; a stop request (SIGTERM, Ctrl-C) is honoured
between files, and a second one interrupts the load in progress (rolled back; the file stays in the folder).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from core.errors import DomainError, InvalidInput
from db.database import Database
from etl.pipeline import IngestReport, ingest_file

log = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"
TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".swp")
Snapshot = dict[str, tuple[int, int]]
"""File name -> (size, modification time in ns) of the candidate files of one look."""


@dataclass
class DropResult:
    """What the watcher did with one dropped file."""

    file: str
    status: str  # succeeded | skipped | failed (moved aside) | retry (left in place: database unreachable)
    message: str
    moved_to: str | None = None
    report: IngestReport | None = None
    finished_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict (the report written beside the moved file)."""
        return {"file": self.file, "status": self.status, "message": self.message, "moved_to": self.moved_to,
                "finished_at": self.finished_at, "ingest": self.report.to_dict() if self.report else None}


def is_candidate(name: str) -> bool:
    """True for a name the watcher may load: not hidden, not a temporary of an upload in progress."""
    return not name.startswith(".") and not name.lower().endswith(TEMPORARY_SUFFIXES)


def look(inbox: Path) -> Snapshot:
    """Size and modification time of every candidate regular file directly in ``inbox`` (sub-folders skipped)."""
    found: Snapshot = {}
    try:
        entries = list(os.scandir(inbox))
    except OSError as exc:
        log.error("cannot read the drop folder", extra={"folder": str(inbox), "error": str(exc)})
        return found
    for entry in entries:
        try:
            if is_candidate(entry.name) and entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                found[entry.name] = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:  # moved away between the listing and the stat
            continue
    return found


def stable(previous: Snapshot, current: Snapshot) -> list[str]:
    """Names whose size and modification time did not change between two looks, oldest first.

    Empty files are never taken: a writer that has just created its file has written nothing yet.
    """
    names = [name for name, stat in current.items() if stat[0] > 0 and previous.get(name) == stat]
    return sorted(names, key=lambda name: (current[name][1], name))


def prepare(inbox: Path) -> Path:
    """The drop folder, with its ``done/`` and ``failed/`` sub-folders created; InvalidInput if it is not a folder."""
    inbox = Path(inbox).resolve()
    if not inbox.is_dir():
        raise InvalidInput(f"{inbox}: no such folder to watch.")
    for sub in (DONE, FAILED):
        (inbox / sub).mkdir(exist_ok=True)
    return inbox


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or the name with a UTC time stamp (and a counter) when a file of that name is there."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    n = 0
    while target.exists() or target.with_name(target.name + ".json").exists():
        n += 1
        target = folder / f"{stem}-{stamp}{f'-{n}' if n > 1 else ''}{suffix}"
    return target


def _move_aside(path: Path, sub: str, result: DropResult) -> DropResult:
    """Move the file into ``sub`` and write its JSON report beside it; a move that fails is logged and reported."""
    try:
        target = _free_name(path.parent / sub, path.name)
        path.rename(target)
    except OSError as exc:
        log.error("cannot move the file aside", extra={"file": path.name, "folder": sub, "error": str(exc)})
        result.message += f" (it could not be moved to {sub}/: {exc.strerror or exc}; it is left alone until it changes)"
        return result
    result.moved_to = str(target)
    try:
        target.with_name(target.name + ".json").write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    except OSError as exc:
        log.error("cannot write the report", extra={"file": target.name, "error": str(exc)})
    return result


def database_reachable(database: Database) -> bool:
    """True when the database answers ``SELECT 1``."""
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure to answer means "not reachable"
        return False
    return True


def load_one(database: Database, path: Path, options: dict[str, object]) -> DropResult:
    """Load one dropped file and move it aside; never raises for a bad file or a failed load."""
    try:
        report = ingest_file(database, path, **options)  # type: ignore[arg-type]
    except InvalidInput as exc:
        log.warning("dropped file refused", extra={"file": path.name, "error": str(exc)})
        return _move_aside(path, FAILED, DropResult(path.name, "failed", str(exc)))
    except Exception as exc:  # a failure is reported, never allowed to stop the watcher
        if not database_reachable(database):
            log.warning("database unreachable; the file stays and is tried again", extra={"file": path.name})
            return DropResult(path.name, "retry", f"{path.name} was not loaded: the database cannot be reached; "
                                                  "it stays in the folder and is tried again.")
        message = str(exc) if isinstance(exc, DomainError) else f"{path.name} could not be loaded: {exc}"
        log.error("dropped file failed", extra={"file": path.name, "error": message}, exc_info=not isinstance(exc, DomainError))
        return _move_aside(path, FAILED, DropResult(path.name, "failed", message))
    return _move_aside(path, DONE, DropResult(path.name, report.status, report.message, report=report))


def _report(on_result: Callable[[DropResult], None] | None, result: DropResult) -> None:
    """Hand a result to the caller; a failure there is logged, never allowed to stop the watcher."""
    if on_result is None:
        return
    try:
        on_result(result)
    except Exception:  # the caller's reporting (audit log, output) must not stop the loads
        log.exception("reporting a dropped file failed", extra={"file": result.file})


def _process(database: Database, inbox: Path, ready: list[str], current: Snapshot, stuck: Snapshot,
             options: dict[str, object], stop: threading.Event,
             on_result: Callable[[DropResult], None] | None) -> Counter[str]:
    """Load the files of one look that are ready, in order, until done or asked to stop."""
    counts: Counter[str] = Counter()
    for name in ready:
        if stop.is_set():
            break
        if stuck.get(name) == current[name]:
            continue
        result = load_one(database, inbox / name, options)
        if result.status != "retry" and result.moved_to is None:
            stuck[name] = current[name]
        counts[result.status] += 1
        _report(on_result, result)
    return counts


def watch(database: Database, inbox: str | os.PathLike[str], *, options: dict[str, object] | None = None,
          interval: float = 5.0, once: bool = False, stop: threading.Event | None = None,
          on_result: Callable[[DropResult], None] | None = None) -> Counter[str]:
    """Load every complete new file dropped into ``inbox``, once, until ``stop`` is set (or after one pass).

    Parameters
    ----------
    database : the product's database.
    inbox : the drop folder; ``done/`` and ``failed/`` are created inside it.
    options : keyword arguments of :func:`etl.pipeline.ingest_file` (school, batch_size, ...).
    interval : seconds between two looks; a file is taken once it is unchanged over one interval.
    once : look twice (``interval`` apart), load what is complete, and return (cron, tests).
    stop : set it (or send SIGTERM under :func:`stop_on_signals`) to stop between files.
    on_result : called with each file's :class:`DropResult` (printing, audit); its failures are only logged.

    Returns
    -------
    The number of files per status (succeeded, skipped, failed, retry).

    Raises
    ------
    InvalidInput : ``inbox`` is not a folder.
    """
    folder = prepare(Path(inbox))
    stop = stop or threading.Event()
    options = dict(options or {})
    counts: Counter[str] = Counter()
    stuck: Snapshot = {}  # files that could not be moved aside: left alone while unchanged
    log.info("watching the drop folder", extra={"folder": str(folder), "interval_s": interval, "once": once})
    previous = look(folder)
    while not stop.wait(interval):
        current = look(folder)
        ready = stable(previous, current)
        counts += _process(database, folder, ready, current, stuck, options, stop, on_result)
        if once:
            waiting = sorted(set(current) - set(ready))
            if waiting:
                log.info("files still being written are left for the next run", extra={"files": waiting})
            break
        previous = current
    log.info("stopped watching", extra={"folder": str(folder), **counts})
    return counts


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT set ``stop``; a second signal interrupts the load in progress.

    The interrupted load is rolled back by the pipeline and its file stays in the folder. Outside the main thread
    (where handlers cannot be installed) nothing is changed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
