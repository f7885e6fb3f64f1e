"""The model page (``/admin/model``, administrators only): the active model beside the baselines, its calibration,
error rates by group, teachers' feedback, the versions with "Activate", and "Retrain and rescore" as a background job.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, dcc, html
from flask import current_app

from core.errors import DomainError
from dashboard import ids, jobs
from dashboard.admin import viewer_or_none
from dashboard.auth import current_viewer
from dashboard.components.refused import not_found_view
from dashboard.deps import SETTINGS_KEY, read_session
from dashboard.figures.model import calibration_figure
from dashboard.figures.theme import GRAPH_CONFIG
from dashboard.security import client_address
from services import model_admin, uploads

dash.register_page(__name__, path="/admin/model", name="Model", title="Model", order=21)

COMPARISON_COLUMNS = [("metric", "Measure"), ("model", "Active model"), ("rule", "Rule baseline"),
                      ("logreg", "Logistic regression")]
GROUP_COLUMNS = [("attribute", "By"), ("group", "Group"), ("students", "Students"),
                 ("false_positive", "Flagged but passed"), ("false_negative", "Missed but failed")]
VERSION_COLUMNS = [("version", "Version"), ("kind", "Kind"), ("created", "Trained"), ("as_of", "Data up to"),
                   ("roc_auc", "ROC AUC"), ("active", "Active")]


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], table_id: str | None = None) -> Any:
    extra = {"id": table_id} if table_id else {}
    return dash_table.DataTable(data=rows, columns=[{"id": k, "name": n} for k, n in columns], page_size=20,
                                style_cell={"textAlign": "left", "whiteSpace": "normal"}, **extra)


def layout(**_query: str) -> html.Div:
    """The body (filled by a callback), activation and the retrain job with its progress."""
    viewer = viewer_or_none()
    if viewer is not None and not viewer.is_admin:
        return not_found_view()
    return html.Div(
        [
            html.H2("Model"),
            dcc.Store(id=ids.ADMIN_MODEL_CHANGED),
            dcc.Store(id=ids.ADMIN_MODEL_TICKET),
            dcc.Store(id=ids.ADMIN_MODEL_JOB),
            html.Div(id=ids.ADMIN_MODEL_MESSAGE),
            dcc.Loading(html.Div(id=ids.ADMIN_MODEL_BODY)),
            html.H4("Activate a version", className="mt-3"),
            dcc.Dropdown(id=ids.ADMIN_MODEL_VERSION, options=[], placeholder="Choose a version"),
            dbc.Button("Activate", id=ids.ADMIN_MODEL_ACTIVATE, n_clicks=0, color="secondary", className="mt-1"),
            html.H4("Retrain and rescore", className="mt-3"),
            html.P("Trains a new model on the past school years, activates it and scores every current student."),
            dbc.Button("Retrain and rescore", id=ids.ADMIN_MODEL_RETRAIN, n_clicks=0, color="primary"),
            dbc.Progress(id=ids.ADMIN_MODEL_PROGRESS, value=0, className="mt-2", style={"height": "1.2rem"}),
            html.Div(id=ids.ADMIN_MODEL_PROGRESS_TEXT, className="text-muted"),
        ],
        id=ids.ADMIN_MODEL_PAGE,
        className="analytics-page",
    )


def _body(page: model_admin.ModelPage) -> list[Any]:
    if page.active is None:
        return [dbc.Alert("No model is active yet: retrain below, or run `studentperf train`.", color="info"),
                html.H4("Versions"), _table([v.__dict__ for v in page.versions], VERSION_COLUMNS)]
    a = page.active
    parts: list[Any] = [
        html.P(f"Active: {a.version} ({a.kind}, trained {a.created}, data up to {a.as_of}).", className="lead"),
        html.P(page.holdout, className="text-muted"),
        html.H4("Against the baselines"), _table(page.comparison, COMPARISON_COLUMNS),
        dcc.Graph(id=ids.ADMIN_MODEL_CALIBRATION_GRAPH, figure=calibration_figure(page.calibration),
                  config=GRAPH_CONFIG),
        html.H4("Error rates by group"), html.P(page.group_source, className="text-muted"),
        _table(page.groups, GROUP_COLUMNS),
        *[html.P(g) for g in page.gaps],
        html.H4("Lead time"),
        html.P(page.lead_time or "Lead time is not measured in the stored training report."),
        html.H4("Teachers' feedback on flags"),
    ]
    if not page.feedback:
        parts.append(html.P("No teacher has given feedback on a flag yet."))
    else:
        parts.append(_table(page.feedback, [("model_version", "Model version"), ("tier", "Tier"), ("verdict", "Feedback"),
                                            ("count", "Flags")]))
    parts += [html.H4("Versions"), _table([{**v.__dict__, "active": "yes" if v.active else ""} for v in page.versions],
                                          VERSION_COLUMNS)]
    return parts


@callback(
    Output(ids.ADMIN_MODEL_BODY, "children"),
    Output(ids.ADMIN_MODEL_VERSION, "options"),
    Output(ids.ADMIN_MODEL_MESSAGE, "children"),
    Input(ids.ADMIN_MODEL_CHANGED, "data"),
    Input(ids.ADMIN_MODEL_JOB, "data"),
)
def show_model(changed: Any, job: Any) -> tuple[Any, Any, Any]:
    """The page's body and the versions to choose from, after any activation or retraining."""
    with read_session() as session:
        page = model_admin.model_page(session, viewer=current_viewer())
    options = [{"label": f"{v.version}{' (active)' if v.active else ''}", "value": v.version} for v in page.versions]
    said = job if isinstance(job, str) else changed if isinstance(changed, str) else None
    message = dbc.Alert(said, color="info") if said else None
    return _body(page), options, message


@callback(
    Output(ids.ADMIN_MODEL_CHANGED, "data"),
    Input(ids.ADMIN_MODEL_ACTIVATE, "n_clicks"),
    State(ids.ADMIN_MODEL_VERSION, "value"),
    prevent_initial_call=True,
)
def activate(_clicks: Any, version: Any) -> str:
    """Activate the chosen version (audited)."""
    try:
        with read_session() as session:
            done = model_admin.activate(session, viewer=current_viewer(), version=version, address=client_address())
    except DomainError as exc:
        return str(exc)
    return f"{done} is now the active model: run 'Retrain and rescore' or `studentperf score` to rescore students."


@callback(
    Output(ids.ADMIN_MODEL_TICKET, "data"),
    Input(ids.ADMIN_MODEL_RETRAIN, "n_clicks"),
    prevent_initial_call=True,
)
def request_retrain(_clicks: Any) -> str:
    """Record on the server who asked for the retraining; the job receives only the ticket."""
    settings = current_app.extensions[SETTINGS_KEY]
    return uploads.issue_job_ticket(viewer=current_viewer(), folder=settings.uploads_dir).token


@callback(
    Output(ids.ADMIN_MODEL_JOB, "data"),
    Input(ids.ADMIN_MODEL_TICKET, "data"),
    background=True,
    progress=[Output(ids.ADMIN_MODEL_PROGRESS, "value"), Output(ids.ADMIN_MODEL_PROGRESS_TEXT, "children")],
    running=[(Output(ids.ADMIN_MODEL_RETRAIN, "disabled"), True, False)],
    prevent_initial_call=True,
)
def retrain(set_progress: Any, token: Any) -> str:
    """The background job: train, activate and rescore, reporting progress; one sentence at the end."""
    settings = jobs.job_settings()
    try:
        with jobs.job_database() as database:
            return model_admin.retrain_and_rescore(database, settings, folder=settings.uploads_dir, token=token,
                                                   progress=lambda pct, text: set_progress((pct, text)))
    except DomainError as exc:
        set_progress((0, ""))
        return f"Nothing changed: {exc}"
