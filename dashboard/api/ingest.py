"""``POST /api/v1/ingest``: an administrator loads an export file (multipart ``file``), answered with the run report."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from core.errors import Forbidden, InvalidInput, Unavailable
from dashboard.api import api_bp
from dashboard.api.schemas import IngestForm, IngestReport
from dashboard.api.spec import documented
from dashboard.auth import current_viewer
from dashboard.deps import SETTINGS_KEY, get_database
from dashboard.security import client_address
from services import uploads

ADMINS_ONLY = "Only administrators may load files."
NO_FILE = "Send the export as a multipart/form-data field named file."
FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}


def _force() -> bool:
    raw = (request.form.get("force") or "").strip().lower()
    if raw not in FLAGS:
        raise InvalidInput(f"force must be 1 or 0, not {raw[:20]!r}.")
    return FLAGS[raw]


@api_bp.post("/ingest")
@documented(form=IngestForm, resp={"HTTP_200": IngestReport},
            errors=("HTTP_400", "HTTP_401", "HTTP_403", "HTTP_413", "HTTP_429", "HTTP_503"), tags=["ingest"])
def ingest() -> Response:
    """Load one export file (all or nothing) with the same pipeline as studentperf ingest; admins only.

    The kinds and the size limit (``UPLOAD_MAX_MB``) are the upload page's (``services.uploads``). A bad file
    (another kind, unreadable, a missing column, mostly rejected rows) answers 400 with a sentence and changes
    nothing; a file over the limit answers 413 with a sentence naming it.
    The same bytes loaded before are skipped (``status`` ``skipped``) unless ``force`` is 1. After a load that
    changed data the active model scores everyone (``SCORE_AFTER_INGEST``, as the CLI): ``scoring`` says how many
    were scored per tier, a note when the model cannot score the data, or null (no model yet, or scoring off).
    """
    viewer = current_viewer()
    if not viewer.is_admin:
        raise Forbidden(ADMINS_ONLY)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(NO_FILE)
    settings = current_app.extensions[SETTINGS_KEY]
    options = uploads.LoadOptions(school=(request.form.get("school") or "").strip() or None, force=_force(),
                                  via="api", address=client_address())
    ticket = uploads.save_uploads(viewer=viewer, folder=settings.uploads_dir, files=[(upload.filename, upload.stream)],
                                  max_bytes=settings.upload_max_bytes)
    report = uploads.run_upload(get_database(), settings, token=ticket.token, options=options)
    [outcome] = report.files
    if outcome.fault:
        raise Unavailable(outcome.message)
    if outcome.report is None or outcome.refused:
        raise InvalidInput(outcome.message)
    return jsonify({**outcome.report.to_dict(), "scoring": report.scoring})
