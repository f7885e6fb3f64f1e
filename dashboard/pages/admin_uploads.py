"""Uploads (``/admin/uploads``, administrators only): drop files, map their columns, load them as a background job.

The files are checked and saved on the server (``services.uploads``, which the API's ``POST /ingest`` uses too: the
same kinds, limit and sentences); the browser keeps only the upload's random ticket. Files over the limit
(``UPLOAD_MAX_MB``) are refused in the browser before anything is sent (``assets/upload_limit.js``, with
``dcc.Upload(max_size=...)`` behind it), and a request the server refuses as too large shows its sentence there too. A file that lacks our columns shows its own columns and a form to map each of ours (or a shipped profile or a
saved mapping), a preview of the first rows as they would load and the scale warnings, before anything is written.
The load runs as a Dash background callback (``dashboard.jobs``) with a progress bar, scores with the active model
as every load does, then shows the report (with what was scored), the rejected rows as a CSV download and the
history of ingestion runs.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, dcc, html, no_update
from flask import current_app

from core.errors import DomainError
from core.settings import Settings
from dashboard import ids, jobs
from dashboard.admin import viewer_or_none
from dashboard.auth import current_viewer
from dashboard.components.refused import not_found_view
from dashboard.deps import SETTINGS_KEY, read_session
from dashboard.security import client_address
from services import uploads
from services.uploads import KNOWN_COLUMNS, REQUIRED_COLUMNS, TRANSFORMS

dash.register_page(__name__, path="/admin/uploads", name="Uploads", title="Uploads", order=20)

SOURCES = [State(f"{ids.ADMIN_MAP_SOURCE}{t}", "value") for t in KNOWN_COLUMNS]
KINDS = [State(f"{ids.ADMIN_MAP_TRANSFORM}{t}", "value") for t in KNOWN_COLUMNS]
TRANSFORM_OPTIONS = [{"label": label, "value": key} for key, (label, _, _) in TRANSFORMS.items()]
HISTORY_COLUMNS = [("id", "Run"), ("started_at", "Started"), ("file_name", "File"), ("status", "Status"),
                   ("user", "By"), ("rows_read", "Read"), ("rows_loaded", "Loaded"), ("rows_rejected", "Rejected"),
                   ("duration_s", "Seconds"), ("error", "Message")]


def _settings() -> Settings:
    return current_app.extensions[SETTINGS_KEY]


def _mapping_row(target: str) -> dbc.Row:
    required = " (required)" if target in REQUIRED_COLUMNS else ""
    return dbc.Row(
        [
            dbc.Col(html.Label(f"{target}{required}", htmlFor=f"{ids.ADMIN_MAP_SOURCE}{target}"), md=3),
            dbc.Col(dcc.Dropdown(id=f"{ids.ADMIN_MAP_SOURCE}{target}", options=[], placeholder="Not in the file"), md=4),
            dbc.Col(dcc.Dropdown(id=f"{ids.ADMIN_MAP_TRANSFORM}{target}", options=TRANSFORM_OPTIONS,
                                 placeholder="As it is"), md=5),
        ],
        className="mb-1",
    )


def _mapping_form() -> html.Div:
    return html.Div(
        [
            html.H4("Columns"),
            html.P("Map each of our columns to a column of the file, or start from a shipped or saved mapping. "
                   "Nothing is written until you load."),
            dcc.Dropdown(id=ids.ADMIN_MAP_BASE, options=[], placeholder="Start from a mapping (optional)"),
            html.Div([_mapping_row(t) for t in KNOWN_COLUMNS], className="mt-2"),
            dbc.Button("Preview", id=ids.ADMIN_MAP_PREVIEW, n_clicks=0, color="secondary", className="me-2"),
            dcc.Input(id=ids.ADMIN_MAP_NAME, type="text", placeholder="mapping name, e.g. uci-maths", maxLength=64),
            dbc.Button("Save mapping", id=ids.ADMIN_MAP_SAVE, n_clicks=0, color="secondary", className="ms-2"),
            html.Div(id=ids.ADMIN_MAP_SAVED, className="mt-1"),
        ],
        id=ids.ADMIN_MAPPING,
        className="admin-mapping mt-3",
    )


def layout(**_query: str) -> html.Div:
    """The upload area, the mapping form, the load button with its progress, the report and the history."""
    viewer = viewer_or_none()
    if viewer is not None and not viewer.is_admin:
        return not_found_view()
    settings = _settings()
    return html.Div(
        [
            html.H2("Uploads"),
            dcc.Upload(
                html.Div([f"Drop {uploads.KIND_LIST} files here, or ", html.A("choose files")]),
                id=ids.ADMIN_UPLOAD, multiple=True, accept=uploads.ACCEPT, max_size=settings.upload_max_bytes,
                className="admin-upload",
                style={"border": "2px dashed #888", "padding": "1.5rem", "textAlign": "center"},
            ),
            html.P(f"Up to {settings.upload_max_mb} MB at a time.", className="text-muted"),
            html.Div(id=ids.ADMIN_UPLOAD_LIMIT, hidden=True, **{
                "data-max-bytes": str(settings.upload_max_bytes),
                "data-sentence": uploads.too_large(settings.upload_max_mb)}),
            html.Div(id=ids.ADMIN_UPLOAD_MESSAGE),
            dcc.Store(id=ids.ADMIN_TICKET),
            _mapping_form(),
            dcc.Loading(html.Div(id=ids.ADMIN_PREVIEW, className="mt-3")),
            dcc.Checklist(id=ids.ADMIN_ACCEPT, options=[{"label": " Load even though the warnings above stand",
                                                         "value": "yes"}], value=[]),
            dbc.Button("Load", id=ids.ADMIN_LOAD, n_clicks=0, color="primary", className="mt-2"),
            dbc.Progress(id=ids.ADMIN_PROGRESS, value=0, className="mt-2", style={"height": "1.2rem"}),
            html.Div(id=ids.ADMIN_PROGRESS_TEXT, className="text-muted"),
            dcc.Store(id=ids.ADMIN_RESULT),
            html.Div(id=ids.ADMIN_REPORT, className="mt-3"),
            html.H4("Rejected rows", className="mt-3"),
            dcc.Dropdown(id=ids.ADMIN_REJECTS_RUN, options=[], placeholder="Choose a run"),
            dbc.Button("Download the rejected rows (CSV)", id=ids.ADMIN_REJECTS_BUTTON, n_clicks=0,
                       color="secondary", className="mt-1"),
            dcc.Download(id=ids.ADMIN_REJECTS_DOWNLOAD),
            html.H4("History", className="mt-3"),
            dash_table.DataTable(id=ids.ADMIN_HISTORY, columns=[{"id": k, "name": n} for k, n in HISTORY_COLUMNS],
                                 data=[], page_size=20, style_cell={"textAlign": "left", "whiteSpace": "normal"}),
        ],
        id=ids.ADMIN_UPLOADS_PAGE,
        className="analytics-page",
    )


def _alert(text: str, color: str = "danger") -> dbc.Alert:
    return dbc.Alert(text, color=color, className="mb-1")


@callback(
    Output(ids.ADMIN_TICKET, "data"),
    Output(ids.ADMIN_UPLOAD_MESSAGE, "children"),
    Input(ids.ADMIN_UPLOAD, "contents"),
    State(ids.ADMIN_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def save_files(contents: Any, names: Any) -> tuple[Any, Any]:
    """Check and save the dropped files on the server; the page keeps only the upload's ticket."""
    contents = contents if isinstance(contents, list) else [contents]
    names = names if isinstance(names, list) else [names]
    settings = _settings()
    try:
        ticket = uploads.save_uploads(viewer=current_viewer(), folder=settings.uploads_dir,
                                      files=list(zip(names, contents, strict=False)),
                                      max_bytes=settings.upload_max_bytes)
    except DomainError as exc:
        return None, _alert(str(exc))
    listed = ", ".join(f"{f.name} ({f.size / 1e6:.1f} MB)" for f in ticket.files)
    return ticket.token, _alert(f"Received {listed}. Check the columns below, then load.", "info")


def _spec(base: Any, sources: tuple[Any, ...], kinds: tuple[Any, ...]) -> uploads.MappingSpec:
    return uploads.MappingSpec.from_form(base, dict(zip(KNOWN_COLUMNS, sources, strict=True)),
                                         dict(zip(KNOWN_COLUMNS, kinds, strict=True)))


def _warning_list(check: uploads.FileCheck) -> list[Any]:
    items = []
    for w in check.warnings:
        fix = f" Choose how {w['column']} is read above (on the command line: {w['fix']})." if w["fix"] else ""
        items.append(_alert(f"{w['message']}.{fix}", "warning"))
    return items


def _file_preview(check: uploads.FileCheck) -> html.Div:
    parts: list[Any] = [html.H5(check.name), html.P(f"Columns found: {', '.join(check.found) or 'none'}.",
                                                    className="admin-found")]
    if check.error:
        parts.append(_alert(check.error))
    if check.suggestion:
        parts.append(_alert(f"This looks like the {check.suggestion} format: choose it under 'Start from a mapping'.",
                            "info"))
    parts += _warning_list(check)
    parts += [html.P(note, className="text-muted mb-0") for note in check.notes]
    if check.rejected:
        parts.append(html.P(f"{check.rejected} of the first rows would be rejected."))
    if check.rows:
        columns = list(check.rows[0])
        parts.append(dash_table.DataTable(data=check.rows, columns=[{"id": c, "name": c} for c in columns],
                                          style_table={"overflowX": "auto"}, page_size=10))
    return html.Div(parts, className="admin-file-preview mb-3")


@callback(
    Output(ids.ADMIN_PREVIEW, "children"),
    *[Output(f"{ids.ADMIN_MAP_SOURCE}{t}", "options") for t in KNOWN_COLUMNS],
    Output(ids.ADMIN_MAP_BASE, "options"),
    Input(ids.ADMIN_TICKET, "data"),
    Input(ids.ADMIN_MAP_PREVIEW, "n_clicks"),
    Input(ids.ADMIN_MAP_BASE, "value"),
    *SOURCES,
    *KINDS,
)
def preview(token: Any, _clicks: Any, base: Any, *values: Any) -> tuple[Any, ...]:
    """The files' columns, warnings and first rows as they would load with the form's mapping (nothing written)."""
    n = len(KNOWN_COLUMNS)
    viewer, settings = current_viewer(), _settings()
    with read_session() as session:
        choices = uploads.mapping_choices(session, viewer=viewer)
        if not token:
            return (None, *([[]] * n), choices)
        try:
            checks = uploads.check_upload(session, viewer=viewer, folder=settings.uploads_dir, token=token,
                                          spec=_spec(base, values[:n], values[n:]), pass_mark=settings.pass_threshold)
        except DomainError as exc:
            return (_alert(str(exc)), *([no_update] * n), choices)
    found = sorted({c for check in checks for c in check.found})
    options = [{"label": c, "value": c} for c in found]
    return ([_file_preview(c) for c in checks], *([options] * n), choices)


@callback(
    Output(ids.ADMIN_MAP_SAVED, "children"),
    Input(ids.ADMIN_MAP_SAVE, "n_clicks"),
    State(ids.ADMIN_MAP_NAME, "value"),
    State(ids.ADMIN_MAP_BASE, "value"),
    *SOURCES,
    *KINDS,
    prevent_initial_call=True,
)
def save_mapping(_clicks: Any, name: Any, base: Any, *values: Any) -> Any:
    """Save the form's mapping by name (audited), for this and later uploads."""
    n = len(KNOWN_COLUMNS)
    viewer, settings = current_viewer(), _settings()
    try:
        with read_session() as session:
            saved = uploads.save_named_mapping(session, viewer=viewer, name=name, spec=_spec(base, values[:n], values[n:]),
                                               address=client_address(), pass_mark=settings.pass_threshold)
    except DomainError as exc:
        return _alert(str(exc))
    return _alert(f"Saved the mapping {saved}: choose it under 'Start from a mapping' next time.", "success")


@callback(
    Output(ids.ADMIN_RESULT, "data"),
    Input(ids.ADMIN_LOAD, "n_clicks"),
    State(ids.ADMIN_TICKET, "data"),
    State(ids.ADMIN_ACCEPT, "value"),
    State(ids.ADMIN_MAP_BASE, "value"),
    *SOURCES,
    *KINDS,
    background=True,
    progress=[Output(ids.ADMIN_PROGRESS, "value"), Output(ids.ADMIN_PROGRESS_TEXT, "children")],
    running=[(Output(ids.ADMIN_LOAD, "disabled"), True, False)],
    prevent_initial_call=True,
)
def load(set_progress: Any, _clicks: Any, token: Any, accept: Any, base: Any, *values: Any) -> dict[str, Any]:
    """The background job: load every file of the upload with the form's mapping, reporting progress, then score."""
    n = len(KNOWN_COLUMNS)
    if not token:
        return {"error": "Upload a file first."}
    settings = jobs.job_settings()
    try:
        options = uploads.LoadOptions(spec=_spec(base, values[:n], values[n:]), via="page",
                                      accept_warnings=isinstance(accept, list) and "yes" in accept)
        with jobs.job_database() as database:
            report = uploads.run_upload(database, settings, token=token, options=options,
                                        progress=lambda pct, text: set_progress((pct, text)))
    except DomainError as exc:
        return {"error": str(exc)}
    return report.to_dict()


def _report(result: dict[str, Any]) -> list[Any]:
    if result.get("error"):
        return [_alert(str(result["error"]))]
    rows = []
    for f in result.get("files", []):
        color = "success" if f["status"] in ("succeeded", "skipped") else "danger"
        counts = (f"{f['rows_read']} rows read, {f['rows_loaded']} loaded ({f['rows_inserted']} new, "
                  f"{f['rows_updated']} updated), {f['rows_rejected']} rejected, {f['duration_s']:.1f} s")
        rows.append(_alert(f"{f['name']}: {f['status']}. {counts}. {f['message']}", color))
    if result.get("scoring_note"):
        rows.append(html.P(str(result["scoring_note"]), id=ids.ADMIN_SCORED, className="admin-scored"))
    rows.append(html.P(f"The upload took {result.get('duration_s', 0):.1f} s."))
    return rows


@callback(
    Output(ids.ADMIN_REPORT, "children"),
    Output(ids.ADMIN_HISTORY, "data"),
    Output(ids.ADMIN_REJECTS_RUN, "options"),
    Output(ids.ADMIN_REJECTS_RUN, "value"),
    Input(ids.ADMIN_RESULT, "data"),
)
def show_report(result: Any) -> tuple[Any, Any, Any, Any]:
    """The job's report, then the history of runs and the runs whose rejected rows can be downloaded."""
    with read_session() as session:
        history = uploads.run_history(session, viewer=current_viewer())
    runs = [{"label": f"Run {r.id}: {r.file_name} ({r.rows_rejected} rejected)", "value": str(r.id)}
            for r in history if r.rows_rejected]
    latest = None
    if isinstance(result, dict):
        rejected = [f for f in result.get("files", []) if f.get("run_id") and f.get("rows_rejected")]
        latest = str(rejected[0]["run_id"]) if rejected else None
    report = _report(result) if isinstance(result, dict) else None
    return report, [r.__dict__ for r in history], runs, latest


@callback(
    Output(ids.ADMIN_REJECTS_DOWNLOAD, "data"),
    Input(ids.ADMIN_REJECTS_BUTTON, "n_clicks"),
    State(ids.ADMIN_REJECTS_RUN, "value"),
    prevent_initial_call=True,
)
def download_rejects(_clicks: Any, run_id: Any) -> Any:
    """The chosen run's rejected rows, every reason, as CSV (audited)."""
    if not run_id:
        return no_update
    try:
        with read_session() as session:
            name, body = uploads.rejects_csv(session, viewer=current_viewer(), run_id=run_id)
    except DomainError:
        return no_update
    return {"content": body, "filename": name, "type": "text/csv"}
