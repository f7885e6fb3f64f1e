"""Uploads on /admin/uploads: files saved server-side, previewed with a column mapping, loaded as a background job.

The browser's bytes are checked (kind and size) and saved under ``Settings.uploads_dir`` in a folder named by a
random ticket; the browser only ever holds the ticket. The folder's ``manifest.json`` (written here, never by the
browser) says who uploaded which files, so the background job (another process, or a Celery worker) knows whose
load it runs. Each file is loaded by ``etl.pipeline.ingest_file`` in its own transaction, and its outcome audited.
Only administrators may do any of it (``Forbidden`` otherwise).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
import re
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from db.database import Database
from db.models import IngestionRun, RejectedRow, User
from etl.clean import CleanOptions
from etl.mapping import PROFILES, Mapping, Rule, get_mapping, preview, save_mapping, saved_names, suggest
from etl.pipeline import ingest_file
from etl.read import KNOWN, REQUIRED, MissingColumns, map_columns, sniff
from services import audit
from services.csv_safety import neutralise
from services.scope import Viewer

KINDS = (".csv.gz", ".csv", ".xlsx")
"""The kinds of file an upload may hold (longest suffix first)."""
MAX_FILES = 10
KEEP_S = 24 * 3600
"""An upload left unloaded this long is removed (at the next upload)."""
KNOWN_COLUMNS = KNOWN
"""Our columns (docs/EXPORT_FORMAT.md), the targets of a mapping."""
REQUIRED_COLUMNS = REQUIRED
TICKET = re.compile(r"^[A-Za-z0-9_-]{32}$")
ADMINS_ONLY = "Only administrators may upload data or change the model."
UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
TRANSFORMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "": ("As it is", "", {}),
    "rescale20": ("Out of 20: rescale to 100 (10 of 20 is the pass mark)", "rescale", {"from_max": 20, "from_pass": 10}),
    "rescale20plain": ("Out of 20: rescale to 100 (proportionally)", "rescale", {"from_max": 20}),
    "absences180": ("Counts of absences over a 180-day year", "absences", {"days": 180}),
    "percent": ("Percent strings such as 90%", "percent", {}),
    "percentall": ("Every number is a percent (90 is 90 %)", "percent", {"always": True}),
    "dayfirst": ("Dates day-first (01/09/2025 is 1 September)", "dayfirst", {}),
    "monthfirst": ("Dates month-first (01/09/2025 is 9 January)", "monthfirst", {}),
}
"""The transforms the mapping form offers, by key: label, ``etl.mapping`` transform, parameters."""
PREVIEW_NAMES = {"source_id": "student_id", "name": "student_name", "grade": "grade_level", "hours": "study_hours",
                 "rate": "attendance_rate", "sports": "sports_participation", "score": "final_score"}
"""The staging layout's columns (``etl.clean``) under the names of docs/EXPORT_FORMAT.md, for the preview."""
Progress = Callable[[int, str], None]
"""Called with (percent done, a sentence)."""


def require_admin(viewer: Viewer) -> None:
    """Raise Forbidden unless ``viewer`` administers the product."""
    if not viewer.is_admin:
        raise Forbidden(ADMINS_ONLY)


# --------------------------------------------------------------------------- saving the browser's files


@dataclass(frozen=True)
class StagedFile:
    """One saved file: the name shown (made safe) and its size in bytes."""

    name: str
    size: int


@dataclass(frozen=True)
class Ticket:
    """An upload saved on the server: its random id, who uploaded it, and its files."""

    token: str
    user_id: int
    email: str
    files: tuple[StagedFile, ...]

    def path(self, folder: Path, index: int) -> Path:
        """Where file ``index`` is saved."""
        return folder / self.token / str(index) / self.files[index].name


def safe_name(name: Any) -> str:
    """A browser's file name as one harmless path component (its folder parts, odd characters and dots removed)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    cleaned = UNSAFE.sub("_", base).strip(" ._")[-100:].lstrip(" ._")
    return cleaned or "upload.csv"


def file_kind(name: str) -> str:
    """The kind (``.csv``, ``.csv.gz``, ``.xlsx``) of a file name; InvalidInput for any other."""
    lower = name.lower()
    for kind in KINDS:
        if lower.endswith(kind):
            return kind
    raise InvalidInput(f"{name[:80]} is not a file we can load: upload .csv, .csv.gz or .xlsx files.")


def decode_contents(name: str, contents: Any) -> bytes:
    """The bytes of a ``data:...;base64,...`` address as ``dcc.Upload`` sends them; InvalidInput when malformed."""
    if not isinstance(contents, str) or "," not in contents:
        raise InvalidInput(f"{name[:80]} did not arrive whole: upload it again.")
    head, _, body = contents.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise InvalidInput(f"{name[:80]} did not arrive whole: upload it again.")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{name[:80]} did not arrive whole: upload it again.") from None


def _check_bytes(name: str, kind: str, data: bytes) -> None:
    """The bytes are of the kind the name says (gzip, a zip workbook) and not empty."""
    if not data:
        raise InvalidInput(f"{name[:80]} is empty.")
    if kind == ".csv.gz" and not data.startswith(b"\x1f\x8b"):
        raise InvalidInput(f"{name[:80]} is not a gzip file although its name ends in .gz.")
    if kind == ".xlsx" and not data.startswith(b"PK"):
        raise InvalidInput(f"{name[:80]} is not an Excel .xlsx workbook although its name says so.")


def save_uploads(*, viewer: Viewer, folder: Path, files: Sequence[tuple[Any, Any]], max_bytes: int) -> Ticket:
    """Check and save the browser's files (name, ``data:`` contents) in a new ticket folder; nothing is loaded yet.

    Parameters
    ----------
    viewer : who uploads (an administrator, else Forbidden).
    folder : ``Settings.uploads_dir``.
    files : the names and contents ``dcc.Upload`` sent.
    max_bytes : the most the files may hold together (``Settings.upload_max_mb``).

    Raises
    ------
    InvalidInput : no file, too many, a kind we do not load, a malformed or empty file, or too large (one sentence).
    """
    require_admin(viewer)
    if not files:
        raise InvalidInput("Choose at least one file to upload.")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"Upload at most {MAX_FILES} files at a time.")
    decoded = []
    for raw_name, contents in files:
        name = safe_name(raw_name)
        kind = file_kind(name)
        data = decode_contents(name, contents)
        _check_bytes(name, kind, data)
        decoded.append((name, data))
    prune(folder)
    total = sum(len(d) for _, d in decoded)
    if total > max_bytes:
        raise InvalidInput(f"The upload holds {total / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB allowed: "
                           "split it into smaller files or load it with `studentperf ingest`.")
    ticket = Ticket(secrets.token_urlsafe(24), viewer.user_id, viewer.email,
                    tuple(StagedFile(n, len(d)) for n, d in decoded))
    for index, (_, data) in enumerate(decoded):
        path = ticket.path(folder, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return _write_manifest(folder, ticket)


def _write_manifest(folder: Path, ticket: Ticket) -> Ticket:
    (folder / ticket.token).mkdir(parents=True, exist_ok=True)
    (folder / ticket.token / "manifest.json").write_text(json.dumps(asdict(ticket)))
    return ticket


def issue_job_ticket(*, viewer: Viewer, folder: Path) -> Ticket:
    """A ticket with no files, for a background job that must know who asked (e.g. retraining)."""
    require_admin(viewer)
    return _write_manifest(folder, Ticket(secrets.token_urlsafe(24), viewer.user_id, viewer.email, ()))


def ticket_of_admin(database: Database, folder: Path, token: Any) -> Ticket:
    """The ticket of ``token`` when its user is still an active administrator; Forbidden or NotFound otherwise."""
    ticket = load_ticket(folder, token)
    if not _still_admin(database, ticket.user_id):
        raise Forbidden(ADMINS_ONLY)
    return ticket


def load_ticket(folder: Path, token: Any) -> Ticket:
    """The saved upload of ``token``; NotFound when there is none (or the token is not one we make)."""
    gone = NotFound("That upload is no longer on the server: upload the files again.")
    if not isinstance(token, str) or not TICKET.match(token):
        raise gone
    try:
        data = json.loads((folder / token / "manifest.json").read_text())
    except (OSError, ValueError):
        raise gone from None
    files = tuple(StagedFile(str(f["name"]), int(f["size"])) for f in data["files"])
    return Ticket(token, int(data["user_id"]), str(data["email"]), files)


def prune(folder: Path, max_age_s: float = KEEP_S) -> int:
    """Remove uploads saved more than ``max_age_s`` ago and never loaded (previewed, then left); return how many."""
    if not folder.is_dir():
        return 0
    cutoff, removed = time.time() - max_age_s, 0
    for entry in folder.iterdir():
        if entry.is_dir() and TICKET.match(entry.name) and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def discard(folder: Path, ticket: Ticket) -> None:
    """Remove an upload's saved files."""
    shutil.rmtree(folder / ticket.token, ignore_errors=True)


# --------------------------------------------------------------------------- mappings from the form


@dataclass(frozen=True)
class MappingSpec:
    """What the mapping form says: a profile or saved mapping to start from, then target -> source and transforms."""

    base: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    transforms: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, base: Any, columns: Any, transforms: Any) -> MappingSpec:
        """The spec of the form's values (strings only; anything else is ignored)."""
        cols = {str(t): str(s) for t, s in (columns or {}).items() if t in KNOWN and isinstance(s, str) and s}
        kinds = {str(t): str(k) for t, k in (transforms or {}).items() if t in KNOWN and isinstance(k, str) and k}
        return cls(base if isinstance(base, str) and base else None, cols, kinds)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (what the job receives)."""
        return asdict(self)


def _rule(target: str, source: str, key: str) -> Rule:
    if key not in TRANSFORMS:
        raise InvalidInput(f"{key[:40]!r} is not one of the transforms offered.")
    _, transform, params = TRANSFORMS[key]
    return Rule(source, target, transform, dict(params))


def build_mapping(session: Session, spec: MappingSpec | None, pass_mark: float = 60.0) -> Mapping | None:
    """The ``etl.mapping.Mapping`` of a form's spec (None when it maps nothing); InvalidInput or NotFound when bad."""
    if spec is None or (spec.base is None and not spec.columns):
        return None
    base = get_mapping(session, spec.base) if spec.base else Mapping("")
    rules = [_rule(t, s, spec.transforms.get(t, "")) for t, s in spec.columns.items()]
    return base.with_rules(rules).with_pass_mark(pass_mark)


def mapping_choices(session: Session, *, viewer: Viewer) -> list[dict[str, str]]:
    """The shipped profiles and the saved mappings, as dropdown options."""
    require_admin(viewer)
    shipped = [{"label": f"{name} (shipped)", "value": name} for name in PROFILES]
    return shipped + [{"label": name, "value": name} for name in saved_names(session)]


def save_named_mapping(session: Session, *, viewer: Viewer, name: Any, spec: MappingSpec, address: str | None = None,
                       pass_mark: float = 60.0) -> str:
    """Save the form's mapping under ``name`` (audited); the caller commits. Returns the name."""
    require_admin(viewer)
    mapping = build_mapping(session, spec, pass_mark)
    if mapping is None:
        raise InvalidInput("Map at least one column before saving the mapping.")
    saved = save_mapping(session, str(name or "").strip(), mapping, created_by=viewer.email)
    audit.record(session, action=audit.MAPPING_SAVE, user_id=viewer.user_id, actor=viewer.email, target=saved.name,
                 details={"rules": len(saved.rules)}, address=address)
    return saved.name


# --------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class FileCheck:
    """What a file would load as, before anything is written (plain data for the page)."""

    name: str
    found: list[str]
    missing: list[str]
    suggestion: str | None
    columns: dict[str, str]
    rows: list[dict[str, Any]]
    rejected: int
    warnings: list[dict[str, Any]]
    notes: list[str]
    error: str = ""


def _found_columns(path: Path) -> list[str]:
    """The headers of a file (read with nothing required)."""
    try:
        fmt = sniff(path)
    except MissingColumns as exc:
        return list(exc.found)
    return [*fmt.columns, *fmt.ignored]


def check_file(path: Path, mapping: Mapping | None, rows: int = 10) -> FileCheck:
    """Preview one saved file with ``mapping``: found columns, missing targets, first rows, warnings, notes."""
    try:
        found = _found_columns(path)
    except InvalidInput as exc:
        return FileCheck(path.name, [], list(REQUIRED), None, {}, [], 0, [], [], str(exc))
    try:
        seen = preview(path, mapping, rows=rows, options=CleanOptions())
    except MissingColumns as exc:
        mapped = set((mapping.columns if mapping else {}).values())
        missing = [t for t in REQUIRED if t not in mapped and t not in _auto_targets(found)]
        return FileCheck(path.name, found, missing, suggest(found), {}, [], 0, [], [], str(exc))
    except InvalidInput as exc:
        return FileCheck(path.name, found, [], None, {}, [], 0, [], [], str(exc))
    shown = seen.rows.rename(columns=PREVIEW_NAMES).head(rows)
    records = json.loads(shown.to_json(orient="records", date_format="iso")) if len(shown) else []
    warnings = [{"column": w.column, "message": w.message, "fix": w.fix, "silent": w.silent} for w in seen.warnings]
    return FileCheck(path.name, found, [], None, seen.columns, records, len(seen.rejected), warnings, seen.notes)


def _auto_targets(found: list[str]) -> set[str]:
    """Our columns a file's headers already name (directly or by a known alias)."""
    try:
        mapped, _ = map_columns(found)
    except InvalidInput:
        return set()
    return set(mapped.values())


def check_upload(session: Session, *, viewer: Viewer, folder: Path, token: Any, spec: MappingSpec | None = None,
                 pass_mark: float = 60.0) -> list[FileCheck]:
    """Preview every file of an upload with the form's mapping, writing nothing."""
    require_admin(viewer)
    ticket = load_ticket(folder, token)
    mapping = build_mapping(session, spec, pass_mark)
    return [check_file(ticket.path(folder, i), mapping) for i in range(len(ticket.files))]


# --------------------------------------------------------------------------- the load (a background job)


@dataclass
class FileOutcome:
    """How one file of an upload went."""

    name: str
    status: str
    run_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_rejected: int = 0
    duration_s: float = 0.0
    message: str = ""


@dataclass
class UploadReport:
    """The outcome of a whole upload (plain data: the page keeps it in a store)."""

    files: list[FileOutcome]
    duration_s: float

    @property
    def ok(self) -> bool:
        """True when every file loaded (or was already loaded)."""
        return all(f.status in ("succeeded", "skipped") for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"files": [asdict(f) for f in self.files], "duration_s": self.duration_s, "ok": self.ok}


def _latest_run_id(database: Database, name: str, user_id: int, after: int = 0) -> int | None:
    """The run a failed load recorded (newer than ``after``), if it recorded one."""
    with database.begin() as s:
        return s.execute(select(IngestionRun.id).where(IngestionRun.file_name == name, IngestionRun.user_id == user_id,
                                                       IngestionRun.id > after)
                         .order_by(IngestionRun.id.desc()).limit(1)).scalar()


def _load_one(database: Database, path: Path, ticket: Ticket, mapping: Mapping | None, accept_warnings: bool,
              progress: Callable[[int, int], None]) -> FileOutcome:
    """Load one file; a refused or failed file becomes an outcome with its sentence, not an exception."""
    before = _latest_run_id(database, path.name, ticket.user_id) or 0
    try:
        r = ingest_file(database, path, user_id=ticket.user_id, mapping=mapping, accept_warnings=accept_warnings,
                        progress=progress)
    except (InvalidInput, NotFound) as exc:
        run_id = _latest_run_id(database, path.name, ticket.user_id, before)
        return FileOutcome(path.name, "failed" if run_id else "refused", run_id, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - a database or disk failure: the sentence is the report
        return FileOutcome(path.name, "failed", _latest_run_id(database, path.name, ticket.user_id, before),
                           message=str(exc))
    loaded = r.rows_read - r.rows_rejected - r.rows_duplicate
    return FileOutcome(path.name, r.status, r.run_id, r.rows_read, loaded, r.rows_inserted, r.rows_updated,
                       r.rows_rejected, round(r.duration_s, 2), r.message)


def _audit_outcome(database: Database, ticket: Ticket, outcome: FileOutcome) -> None:
    with database.begin() as s:
        audit.record(s, action=audit.UPLOAD, user_id=ticket.user_id, actor=ticket.email, target=outcome.name,
                     details={"status": outcome.status, "run_id": outcome.run_id, "rows_loaded": outcome.rows_loaded,
                              "rows_rejected": outcome.rows_rejected, "page": "admin/uploads"})


def _still_admin(database: Database, user_id: int) -> bool:
    with database.begin() as s:
        row = s.execute(select(User.role, User.is_active).where(User.id == user_id)).one_or_none()
    return row is not None and row.role == "admin" and bool(row.is_active)


def run_upload(database: Database, *, folder: Path, token: Any, spec: MappingSpec | None = None,
               accept_warnings: bool = False, progress: Progress | None = None, pass_mark: float = 60.0) -> UploadReport:
    """Load every file of a saved upload, each in its own transaction, audited; then remove the saved files.

    Parameters
    ----------
    database : the product's database (the job opens its own sessions).
    folder : ``Settings.uploads_dir``.
    token : the upload's ticket (from the browser: looked up, never trusted).
    spec : the mapping form's values, if any.
    accept_warnings : load although the first rows look like another scale.
    progress : called with (percent, sentence) as rows are read.
    pass_mark : ``Settings.pass_threshold`` (where a rescaled file's pass mark lands).
    """
    ticket = ticket_of_admin(database, folder, token)
    with database.begin() as s:
        mapping = build_mapping(s, spec, pass_mark)
    started, outcomes, count = time.perf_counter(), [], len(ticket.files)
    for index, staged in enumerate(ticket.files):
        def step(read: int, total: int, index: int = index, name: str = staged.name) -> None:
            if progress is not None:
                share = (index + min(read / max(total, 1), 1.0)) / count
                progress(int(share * 100), f"{name}: {read:,} of about {total:,} rows read")
        if progress is not None:
            progress(int(index * 100 / count), f"{staged.name}: reading")
        outcome = _load_one(database, ticket.path(folder, index), ticket, mapping, accept_warnings, step)
        _audit_outcome(database, ticket, outcome)
        outcomes.append(outcome)
    if progress is not None:
        progress(100, "Done")
    discard(folder, ticket)
    return UploadReport(outcomes, round(time.perf_counter() - started, 2))


# --------------------------------------------------------------------------- history and rejected rows


@dataclass(frozen=True)
class RunRow:
    """One ingestion run in the history table."""

    id: int
    started_at: str
    file_name: str
    status: str
    user: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    duration_s: float | None
    error: str


def run_history(session: Session, *, viewer: Viewer, limit: int = 50) -> list[RunRow]:
    """The latest ingestion runs, newest first, with who ran them (``command line`` when nobody logged in did)."""
    require_admin(viewer)
    query = (select(IngestionRun, User.email).outerjoin(User, User.id == IngestionRun.user_id)
             .order_by(IngestionRun.id.desc()).limit(max(1, min(int(limit), 500))))
    rows = []
    for run, email in session.execute(query):
        loaded = run.rows_read - run.rows_rejected - run.rows_duplicate if run.status == "succeeded" else 0
        rows.append(RunRow(run.id, run.started_at.strftime("%Y-%m-%d %H:%M"), run.file_name, run.status,
                           email or "command line", run.rows_read, loaded, run.rows_rejected,
                           None if run.duration_ms is None else round(run.duration_ms / 1000, 1), (run.error or "")[:300]))
    return rows


def parse_run_id(raw: Any) -> int:
    """A run id from the browser; InvalidInput unless it is a positive whole number."""
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit() or not 0 < int(raw) < 2**31:
        raise InvalidInput("That is not a run of this product.")
    return int(raw)


def rejects_csv(session: Session, *, viewer: Viewer, run_id: Any) -> tuple[str, str]:
    """The rejected rows of a run as CSV (line, every reason, then the raw cells): (file name, text); audited."""
    require_admin(viewer)
    run = session.get(IngestionRun, parse_run_id(run_id))
    if run is None:
        raise NotFound("That run does not exist.")
    rejected = session.execute(select(RejectedRow.line_number, RejectedRow.reasons, RejectedRow.raw)
                               .where(RejectedRow.run_id == run.id).order_by(RejectedRow.line_number)).all()
    columns = sorted({k for _, _, raw in rejected for k in (raw or {}) if not str(k).startswith("_")})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "reasons", *columns])
    for line, reasons, raw in rejected:
        writer.writerow([line, neutralise("; ".join(reasons or [])), *(neutralise((raw or {}).get(c, "")) for c in columns)])
    audit.record(session, action=audit.EXPORT, user_id=viewer.user_id, actor=viewer.email, target=f"run {run.id}",
                 details={"what": "rejected rows", "rows": len(rejected)})
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", run.file_name.rsplit(".", 1)[0])[:60]
    return f"rejected-rows-run-{run.id}-{stem}-{dt.date.today().isoformat()}.csv", out.getvalue()
