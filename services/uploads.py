"""Uploaded export files, whichever surface they come through: the one owner of saving, checking, loading, auditing
and scoring after a load.

Two surfaces send files: the admin page ``/admin/uploads`` (the browser's bytes, base64 in a Dash callback, loaded
later by a background job) and the REST API's ``POST /api/v1/ingest`` (a multipart stream, loaded at once). Both
save through :func:`save_uploads` (one list of kinds, one size limit ``Settings.upload_max_mb``, the bytes checked
against the name, the same sentences) into ``Settings.uploads_dir``, in a folder named by a random ticket; the
browser only ever holds the ticket. The folder's ``manifest.json`` (written here, never by the browser) says who
uploaded which files, so the background job (another process, or a Celery worker) knows whose load it runs.
:func:`run_upload` loads each file with ``etl.pipeline.ingest_file`` in its own transaction, audits its outcome,
then scores with the active model (:func:`score_after_loads`, the policy ``studentperf ingest`` follows too).
Only administrators may do any of it (``Forbidden`` otherwise).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
import logging
import re
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import DomainError, Forbidden, InvalidInput, NotFound, TooLarge
from core.settings import Settings
from db.database import Database
from db.models import IngestionRun, RejectedRow, User
from etl.clean import CleanOptions
from etl.mapping import PROFILES, Mapping, Rule, get_mapping, preview, save_mapping, saved_names, suggest
from etl.pipeline import IngestReport, ingest_file
from etl.read import KNOWN, REQUIRED, MissingColumns, map_columns, sniff
from etl.read import file_kind as content_kind
from ml.errors import NoActiveModel
from ml.score import ScoreResult, score_all
from services import audit
from services.csv_safety import neutralise
from services.scope import Viewer

log = logging.getLogger("studentperf.uploads")

KINDS = {".csv.gz": "csv.gz", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx"}
"""The kinds of file an upload may hold (longest suffix first), and what their bytes must be (``etl.read``)."""
KIND_LIST = ".csv, .tsv, .txt, .csv.gz or .xlsx"
ACCEPT = ",".join([".csv", ".tsv", ".txt", ".gz", ".xlsx"])
"""The browser's file chooser filter (``accept``)."""
MAX_FILES = 10
KEEP_S = 24 * 3600
"""An upload left unloaded this long is removed (at the next upload)."""
KNOWN_COLUMNS = KNOWN
"""Our columns (docs/EXPORT_FORMAT.md), the targets of a mapping."""
REQUIRED_COLUMNS = REQUIRED
TICKET = re.compile(r"^[A-Za-z0-9_-]{32}$")
ADMINS_ONLY = "Only administrators may upload data or change the model."
UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
CHUNK = 1 << 20
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


def too_large(max_mb: float) -> str:
    """The one sentence for an upload over the limit (the page, the API, and a request Flask refuses)."""
    return (f"The upload is larger than the {max_mb:g} MB allowed: split it into smaller files or load it with "
            "`studentperf ingest`.")


# --------------------------------------------------------------------------- saving the files


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
    """A client's file name as one harmless path component (its folder parts, odd characters and dots removed)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    cleaned = UNSAFE.sub("_", base).strip(" ._")[-100:].lstrip(" ._")
    return cleaned or "upload.csv"


def file_kind(name: str) -> str:
    """The suffix (``.csv``, ``.tsv``, ``.txt``, ``.csv.gz``, ``.xlsx``) of a file name; InvalidInput for any other."""
    lower = name.lower()
    for kind in KINDS:
        if lower.endswith(kind):
            return kind
    raise InvalidInput(f"{name[:80]} is not a file we can load: upload {KIND_LIST} files.")


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


def _stream(name: str, contents: Any) -> BinaryIO:
    """The file's bytes as a stream: a browser's ``data:`` address, bytes, or a stream (the API's) as it is."""
    if isinstance(contents, bytes):
        return io.BytesIO(contents)
    if isinstance(contents, str) or contents is None:
        return io.BytesIO(decode_contents(name, contents))
    if callable(getattr(contents, "read", None)):
        return contents
    raise InvalidInput(f"{name[:80]} did not arrive as a file: upload it again.")  # a forged callback value


def _copy(stream: BinaryIO, path: Path, budget: int, max_bytes: int) -> int:
    """Copy ``stream`` to ``path``, at most ``budget`` bytes (TooLarge beyond); return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("wb") as out:
        while block := stream.read(CHUNK):
            written += len(block)
            if written > budget:
                raise TooLarge(too_large(max_bytes / 1e6))
            out.write(block)
    return written


def _check_content(name: str, kind: str, path: Path) -> None:
    """Not empty, a gzip or a workbook when the name says so, and not some other binary file."""
    if path.stat().st_size == 0:
        raise InvalidInput(f"{name[:80]} is empty.")
    expected = KINDS[kind]
    with path.open("rb") as fh:
        head = fh.read(4)
    if expected == "csv.gz" and not head.startswith(b"\x1f\x8b"):
        raise InvalidInput(f"{name[:80]} is not a gzip file although its name ends in .gz.")
    if expected == "xlsx" and not head.startswith(b"PK"):
        raise InvalidInput(f"{name[:80]} is not an Excel .xlsx workbook although its name says so.")
    content_kind(path)  # a binary file: "this is not a CSV file (it looks like ...)"; else read by its bytes, as the CLI


def save_uploads(*, viewer: Viewer, folder: Path, files: Sequence[tuple[Any, Any]], max_bytes: int) -> Ticket:
    """Check and save uploaded files (name, contents) in a new ticket folder; nothing is loaded yet.

    Parameters
    ----------
    viewer : who uploads (an administrator, else Forbidden).
    folder : ``Settings.uploads_dir``.
    files : the names the client gave and the contents: a browser's ``data:`` address (what ``dcc.Upload`` sends),
        bytes, or a binary stream (the API's multipart file).
    max_bytes : the most the files may hold together (``Settings.upload_max_bytes``).

    Raises
    ------
    InvalidInput : no file, too many, a kind we do not load, a malformed or empty file, or bytes that are not what
        the name says (one sentence); nothing is kept.
    TooLarge : the files hold more than ``max_bytes`` together; nothing is kept.
    """
    require_admin(viewer)
    if not files:
        raise InvalidInput("Choose at least one file to upload.")
    if len(files) > MAX_FILES:
        raise InvalidInput(f"Upload at most {MAX_FILES} files at a time.")
    named = [(name, file_kind(name), contents) for name, contents in ((safe_name(n), c) for n, c in files)]
    streams = [(name, kind, _stream(name, contents)) for name, kind, contents in named]
    prune(folder)
    token, staged, budget = secrets.token_urlsafe(24), [], max_bytes
    try:
        for index, (name, kind, stream) in enumerate(streams):
            path = folder / token / str(index) / name
            size = _copy(stream, path, budget, max_bytes)
            budget -= size
            _check_content(name, kind, path)
            staged.append(StagedFile(name, size))
    except DomainError:
        shutil.rmtree(folder / token, ignore_errors=True)
        raise
    return _write_manifest(folder, Ticket(token, viewer.user_id, viewer.email, tuple(staged)))


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


# --------------------------------------------------------------------------- the load, its audit, then scoring


@dataclass
class FileOutcome:
    """How one file of an upload went (``report`` is the pipeline's, when it got that far)."""

    name: str
    status: str
    run_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    duration_s: float = 0.0
    message: str = ""
    sha256: str = ""
    fault: bool = False  # the load failed on our side (the database, the disk), not because of the file
    report: IngestReport | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, r: IngestReport) -> FileOutcome:
        """The outcome of a pipeline report (``rows_loaded``: read, less rejected and duplicate rows)."""
        return cls(r.file_name, r.status, r.run_id, r.rows_read, r.rows_read - r.rows_rejected - r.rows_duplicate,
                   r.rows_inserted, r.rows_updated, r.rows_rejected, r.rows_duplicate, round(r.duration_s, 2),
                   r.message, r.sha256, report=r)

    @property
    def refused(self) -> bool:
        """True when nothing of the file was loaded (refused, or its load failed)."""
        return self.status in ("refused", "failed")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (without the pipeline's report)."""
        return {k: v for k, v in asdict(self).items() if k != "report"}


@dataclass
class UploadReport:
    """The outcome of a whole upload (plain data: the page keeps it in a store)."""

    files: list[FileOutcome]
    duration_s: float
    scoring: dict[str, Any] | None = None  # {"scored", "as_of", "tiers"} or {"note"}: see scoring_answer
    scoring_note: str = ""  # what was scored after the load, in one sentence

    @property
    def ok(self) -> bool:
        """True when every file loaded (or was already loaded)."""
        return all(f.status in ("succeeded", "skipped") for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"files": [f.to_dict() for f in self.files], "duration_s": self.duration_s, "ok": self.ok,
                "scoring": self.scoring, "scoring_note": self.scoring_note}


@dataclass(frozen=True)
class LoadOptions:
    """How an upload's files are loaded, and by which surface (for the audit log)."""

    spec: MappingSpec | None = None  # the mapping form's values, if any
    accept_warnings: bool = False  # load although the first rows look like another scale
    school: str | None = None  # school of rows without a school column (default: the pipeline's)
    force: bool = False  # load even if the same bytes were loaded successfully before
    via: str = "page"  # "page" (/admin/uploads) or "api" (POST /api/v1/ingest)
    address: str | None = None  # the client's address


def _latest_run_id(database: Database, name: str, user_id: int, after: int = 0) -> int | None:
    """The run a failed load recorded (newer than ``after``), if it recorded one."""
    with database.begin() as s:
        return s.execute(select(IngestionRun.id).where(IngestionRun.file_name == name, IngestionRun.user_id == user_id,
                                                       IngestionRun.id > after)
                         .order_by(IngestionRun.id.desc()).limit(1)).scalar()


def _load_one(database: Database, path: Path, ticket: Ticket, options: dict[str, Any],
              progress: Callable[[int, int], None]) -> FileOutcome:
    """Load one file; a refused or failed file becomes an outcome with its sentence, not an exception."""
    before = _latest_run_id(database, path.name, ticket.user_id) or 0
    try:
        report = ingest_file(database, path, user_id=ticket.user_id, progress=progress, **options)
    except (InvalidInput, NotFound) as exc:
        run_id = _latest_run_id(database, path.name, ticket.user_id, before)
        return FileOutcome(path.name, "failed" if run_id else "refused", run_id, message=str(exc))
    except Exception:  # noqa: BLE001 - a database or disk failure: logged, and the report says so
        log.exception("upload %s failed", path.name)
        return FileOutcome(path.name, "failed", _latest_run_id(database, path.name, ticket.user_id, before),
                           message="The load failed on our side (it was logged); nothing of this file was written.",
                           fault=True)
    return FileOutcome.of(report)


def audit_details(outcome: FileOutcome, via: str) -> dict[str, Any]:
    """What the audit log keeps of one file's load (every surface: the page, the API, the command line)."""
    return {"via": via, "status": outcome.status, "run_id": outcome.run_id, "sha256": outcome.sha256,
            "rows_read": outcome.rows_read, "rows_loaded": outcome.rows_loaded, "rows_inserted": outcome.rows_inserted,
            "rows_updated": outcome.rows_updated, "rows_rejected": outcome.rows_rejected,
            "error": outcome.message[:500] if outcome.refused else None}


def _audit_outcome(database: Database, ticket: Ticket, outcome: FileOutcome, options: LoadOptions) -> None:
    with database.begin() as s:
        audit.record(s, action=audit.UPLOAD, user_id=ticket.user_id, actor=ticket.email, target=outcome.name,
                     details=audit_details(outcome, options.via), address=options.address)


def _still_admin(database: Database, user_id: int) -> bool:
    with database.begin() as s:
        row = s.execute(select(User.role, User.is_active).where(User.id == user_id)).one_or_none()
    return row is not None and row.role == "admin" and bool(row.is_active)


def _ingest_options(database: Database, options: LoadOptions, pass_mark: float) -> dict[str, Any]:
    """The pipeline's keyword arguments for every file of the upload (the mapping built once)."""
    with database.begin() as s:
        mapping = build_mapping(s, options.spec, pass_mark)
    chosen: dict[str, Any] = {"mapping": mapping, "accept_warnings": options.accept_warnings, "force": options.force}
    if options.school:
        chosen["school"] = options.school
    return chosen


def run_upload(database: Database, settings: Settings, *, token: Any, options: LoadOptions | None = None,
               progress: Progress | None = None) -> UploadReport:
    """Load every file of a saved upload, each in its own transaction, audited; score; remove the saved files.

    Parameters
    ----------
    database : the product's database (the job opens its own sessions).
    settings : ``uploads_dir`` (where the files were saved), ``pass_threshold`` (where a rescaled file's pass mark
        lands) and ``score_after_ingest`` (see :func:`score_after_loads`).
    token : the upload's ticket (from the browser: looked up, never trusted).
    options : the mapping, the flags and the surface (:class:`LoadOptions`).
    progress : called with (percent, sentence) as rows are read.
    """
    options = options or LoadOptions()
    folder = settings.uploads_dir
    ticket = ticket_of_admin(database, folder, token)
    chosen = _ingest_options(database, options, settings.pass_threshold)
    started, outcomes, count = time.perf_counter(), [], len(ticket.files)
    tell = progress or (lambda _pct, _text: None)
    for index, staged in enumerate(ticket.files):
        def step(read: int, total: int, index: int = index, name: str = staged.name) -> None:
            share = (index + min(read / max(total, 1), 1.0)) / count
            tell(int(share * 100), f"{name}: {read:,} of about {total:,} rows read")
        tell(int(index * 100 / count), f"{staged.name}: reading")
        outcome = _load_one(database, ticket.path(folder, index), ticket, chosen, step)
        _audit_outcome(database, ticket, outcome, options)
        outcomes.append(outcome)
    discard(folder, ticket)
    if any(f.status == "succeeded" for f in outcomes) and settings.score_after_ingest:
        tell(99, "Scoring with the active model")
    after = score_after_loads(database, settings, outcomes)
    tell(100, "Done")
    return UploadReport(outcomes, round(time.perf_counter() - started, 2), scoring_answer(after),
                        scoring_note(settings, outcomes, after))


@dataclass(frozen=True)
class AfterLoad:
    """What scoring after a load came to: the scoring run's result, or why the model could not score the data."""

    result: ScoreResult | None = None
    reason: str | None = None


def score_after_loads(database: Database, settings: Settings,
                      reports: Sequence[IngestReport | FileOutcome]) -> AfterLoad | None:
    """After loads that changed data, score with the active model (``SCORE_AFTER_INGEST``): every surface's policy.

    Parameters
    ----------
    database : the product's database (scoring commits its own run).
    settings : ``score_after_ingest`` off, or no active model yet: nothing is scored (None).
    reports : the loads' reports (or outcomes); scoring follows only when one of them ``succeeded``.

    Returns
    -------
    None when nothing was scored, else the run's result, or the reason the model cannot score the data.
    """
    if not settings.score_after_ingest or not any(r.status == "succeeded" for r in reports):
        return None
    try:
        return AfterLoad(result=score_all(database, settings))
    except NoActiveModel:
        return None
    except DomainError as exc:
        return AfterLoad(reason=str(exc))


def scoring_answer(after: AfterLoad | None) -> dict[str, Any] | None:
    """What scoring after a load came to, as the API answers it.

    Returns
    -------
    ``{"scored": n, "as_of": date, "tiers": {...}}``, ``{"note": sentence}`` when the model cannot score the data,
    or None when nothing was scored.
    """
    if after is None:
        return None
    if after.result is None:
        return {"note": f"Not scored after the load: {after.reason}"}
    result = after.result
    return {"scored": result.n_scored, "as_of": str(result.as_of), "tiers": dict(result.tiers)}


def scoring_note(settings: Settings, outcomes: Sequence[FileOutcome], after: AfterLoad | None) -> str:
    """One sentence saying what was scored after the load, and why nothing was when nothing was."""
    if after is not None and after.result is not None:
        r = after.result
        tiers = ", ".join(f"{n} {t}" for t, n in r.tiers.items())
        return f"Scored {r.n_scored:,} students as of {r.as_of} with the active model {r.version}: {tiers}."
    if after is not None:
        return f"Not scored after the load: {after.reason}"
    if not any(f.status == "succeeded" for f in outcomes):
        return "Nothing was scored: no file changed the data."
    if not settings.score_after_ingest:
        return "Not scored: scoring after a load is off (SCORE_AFTER_INGEST); the risk list keeps its last run."
    return "Not scored: there is no active model yet (train one on the model page)."


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
