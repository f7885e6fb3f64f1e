"""Loading an uploaded export (the API's ``POST /ingest``): the same pipeline as ``studentperf ingest``, audited."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.errors import DomainError, InvalidInput
from core.settings import Settings
from db.database import Database
from etl.pipeline import IngestReport, ingest_file
from ml.errors import NoActiveModel
from ml.score import ScoreResult, score_all
from services import audit
from services.scope import Viewer

SUFFIXES = (".csv", ".txt", ".tsv")
BAD_NAME = "The file must be a CSV export (.csv, .tsv or .txt)."
MAX_NAME = 200


def safe_file_name(name: str) -> str:
    """The upload's base name, reduced to safe characters (the browser's name is not trusted), or InvalidInput."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).strip("._")[:MAX_NAME]
    if not base.lower().endswith(SUFFIXES):
        raise InvalidInput(BAD_NAME)
    return base


def _audit(database: Database, viewer: Viewer, report: IngestReport | None, name: str, address: str | None,
           error: str | None = None) -> None:
    details: dict[str, object] = {"via": "api", "error": error}
    if report is not None:
        details |= {"run_id": report.run_id, "status": report.status, "sha256": report.sha256,
                    "rows_read": report.rows_read, "rows_inserted": report.rows_inserted,
                    "rows_updated": report.rows_updated, "rows_rejected": report.rows_rejected}
    with database.begin() as session:
        audit.record(session, action=audit.UPLOAD, user_id=viewer.user_id, actor=viewer.email, target=name,
                     details=details, address=address)


def ingest_upload(database: Database, *, viewer: Viewer, file_name: str, stream: BinaryIO, school: str | None = None,
                  force: bool = False, address: str | None = None) -> IngestReport:
    """Load one uploaded file all or nothing and record it in the audit log (a refused file too).

    Parameters
    ----------
    database : the product's database (the load runs in its own transaction, like the CLI's).
    viewer : the administrator who sent it (the caller checked the role); kept on the run and the audit entry.
    file_name : the name the client gave (only its safe base name is used).
    stream : the file's bytes.
    school : school of rows without a ``school`` column (default: the pipeline's).
    force : load even if the same bytes were loaded successfully before.
    address : the client's address, for the audit log.

    Raises
    ------
    InvalidInput : a bad name or a bad file (nothing is loaded); the sentence says why.
    """
    name = safe_file_name(file_name)
    options: dict[str, object] = {"force": force, "user_id": viewer.user_id}
    if school:
        options["school"] = school
    with tempfile.TemporaryDirectory(prefix="studentperf-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, length=1024 * 1024)
        try:
            report = ingest_file(database, path, **options)  # type: ignore[arg-type]
        except InvalidInput as exc:
            _audit(database, viewer, None, name, address, error=str(exc))
            raise
    _audit(database, viewer, report, name, address)
    return report


@dataclass(frozen=True)
class AfterLoad:
    """What scoring after a load came to: the scoring run's result, or why the model could not score the data."""

    result: ScoreResult | None = None
    reason: str | None = None


def score_after_loads(database: Database, settings: Settings, reports: Sequence[IngestReport]) -> AfterLoad | None:
    """After loads that changed data, score with the active model (``SCORE_AFTER_INGEST``): every surface's policy.

    Parameters
    ----------
    database : the product's database (scoring commits its own run).
    settings : ``score_after_ingest`` off, or no active model yet: nothing is scored (None).
    reports : the loads' reports; scoring follows only when one of them ``succeeded``.

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


def score_after_load(database: Database, settings: Settings, report: IngestReport) -> dict[str, object] | None:
    """:func:`score_after_loads` for one load, as the API answers it.

    Returns
    -------
    ``{"scored": n, "as_of": date, "tiers": {...}}``, ``{"note": sentence}`` when the model cannot score the data,
    or None when nothing was scored.
    """
    outcome = score_after_loads(database, settings, [report])
    if outcome is None:
        return None
    if outcome.result is None:
        return {"note": f"Not scored after the load: {outcome.reason}"}
    result = outcome.result
    return {"scored": result.n_scored, "as_of": str(result.as_of), "tiers": dict(result.tiers)}
