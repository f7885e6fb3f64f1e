"""Audit log (``/admin/audit``): search by user, action, student and dates, a page at a time, and export as CSV.

District administrators see every entry, school administrators the entries about their schools (the
service decides); anyone else gets the page-not-found view and the callbacks answer 403. An export is
itself recorded in the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dash_table, dcc, html
from dash.exceptions import PreventUpdate

from core.errors import InvalidInput
from dashboard import ids
from dashboard.admin import viewer_or_none
from dashboard.auth import current_viewer
from dashboard.components.refused import not_found_view
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit
from services.audit import AuditEntry
from services.audit_search import PER_PAGE, action_names, export_audit_csv, parse_query, search_audit
from services.user_admin import require_admin

PATH = "/admin/audit"
dash.register_page(__name__, path=PATH, name="Audit log", title="Audit log", order=11)

EXPORT_TARGET = "audit log"
COLUMNS = [{"name": n, "id": i} for n, i in (("When (UTC)", "at"), ("Action", "action"), ("Who", "actor"),
                                              ("About", "target"), ("Details", "details"), ("Address", "address"))]
SEARCH_FIELDS = [State(ids.AUDIT_USER, "value"), State(ids.AUDIT_ACTION, "value"), State(ids.AUDIT_STUDENT, "value"),
                 State(ids.AUDIT_DATES, "start_date"), State(ids.AUDIT_DATES, "end_date")]


def layout(**_query: str) -> html.Div:
    """The search fields, the table and the export button; the not-found view for anyone but administrators."""
    viewer = viewer_or_none()
    if viewer is not None and not viewer.administers:
        return not_found_view()
    actions: list[str] = []
    if viewer is not None:
        with read_session() as s:
            actions = action_names(session=s, viewer=viewer)
    fields = dbc.Row([
        dbc.Col([dbc.Label("Who (part of the email)"), dbc.Input(id=ids.AUDIT_USER, type="text", maxLength=200, debounce=True)], md=3),
        dbc.Col([dbc.Label("Action"), dcc.Dropdown(id=ids.AUDIT_ACTION, options=actions, placeholder="Any action")], md=3),
        dbc.Col([dbc.Label("Student id"), dbc.Input(id=ids.AUDIT_STUDENT, type="text", maxLength=40, debounce=True)], md=2),
        dbc.Col([dbc.Label("Dates"), dcc.DatePickerRange(id=ids.AUDIT_DATES, display_format="YYYY-MM-DD")], md=4),
    ], className="g-2")
    return html.Div([
        html.H2("Audit log"), fields,
        html.Div(id=ids.AUDIT_STATUS, className="mt-2", role="status"),
        dash_table.DataTable(id=ids.AUDIT_TABLE, columns=COLUMNS, data=[], page_action="custom", page_current=0,
                             page_size=PER_PAGE, page_count=1, style_table={"overflowX": "auto"},
                             style_cell={"whiteSpace": "normal", "textAlign": "left", "maxWidth": "28rem"}),
        dbc.Button("Export these entries (CSV)", id=ids.AUDIT_EXPORT_BUTTON, n_clicks=0, color="secondary", className="mt-2"),
        dcc.Download(id=ids.AUDIT_DOWNLOAD),
    ], id=ids.ADMIN_AUDIT_PAGE, className="admin-page")


def _row(entry: AuditEntry) -> dict[str, Any]:
    details = ", ".join(f"{k}: {v}" for k, v in sorted(entry.details.items()))
    return {"at": entry.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"), "action": entry.action,
            "actor": entry.actor or "", "target": entry.target or "", "details": details[:300], "address": entry.address or ""}


@callback(Output(ids.AUDIT_TABLE, "data"), Output(ids.AUDIT_TABLE, "page_count"), Output(ids.AUDIT_STATUS, "children"),
          Input(ids.AUDIT_USER, "value"), Input(ids.AUDIT_ACTION, "value"), Input(ids.AUDIT_STUDENT, "value"),
          Input(ids.AUDIT_DATES, "start_date"), Input(ids.AUDIT_DATES, "end_date"), Input(ids.AUDIT_TABLE, "page_current"))
def search(user: Any, action: Any, student: Any, start: Any, end: Any, page_current: Any) -> tuple[Any, int, Any]:
    """One page of the entries matching the fields, newest first, and how many match (or why the fields are wrong)."""
    viewer = current_viewer()
    require_admin(viewer)
    try:
        query = parse_query(user=user, action=action, student=student, date_from=start, date_to=end)
        with read_session() as s:
            found = search_audit(session=s, viewer=viewer, query=query, page=int(page_current or 0) + 1)
    except InvalidInput as exc:
        return [], 1, dbc.Alert(str(exc), color="warning")
    first = (found.page - 1) * found.per_page + 1 if found.total else 0
    shown = f"Showing {first:,}-{first + len(found.items) - 1:,} of {found.total:,} entries" if found.items else (
        f"No entry matches: {found.total:,} entries")
    return [_row(e) for e in found.items], found.pages, shown


@callback(Output(ids.AUDIT_DOWNLOAD, "data"), Input(ids.AUDIT_EXPORT_BUTTON, "n_clicks"), *SEARCH_FIELDS,
          prevent_initial_call=True)
def export(n_clicks: Any, user: Any, action: Any, student: Any, start: Any, end: Any) -> dict[str, Any]:
    """Every matching entry as a CSV download (cells made safe for spreadsheets); the export is audited."""
    viewer = current_viewer()
    require_admin(viewer)
    if not n_clicks:
        raise PreventUpdate
    query = parse_query(user=user, action=action, student=student, date_from=start, date_to=end)
    with read_session() as s:
        content, n = export_audit_csv(session=s, viewer=viewer, query=query)
        audit.record(s, action=audit.EXPORT, user_id=viewer.user_id, actor=viewer.email, target=EXPORT_TARGET,
                     details={"rows": n, **{k: str(v) for k, v in vars(query).items() if v is not None}},
                     address=client_address())
    return {"content": content, "filename": f"audit-log-{dt.date.today().isoformat()}.csv", "type": "text/csv"}
