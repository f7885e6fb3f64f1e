"""Alerts (``/alerts``): students in my scope who became High or rose 20 points or more since the last scoring run,
and interventions whose review is overdue; each links to the student and can be marked read."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from core.errors import DomainError
from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.deps import read_session
from dashboard.security import client_address
from services.alerts import Alert, alerts_for, mark_read
from services.digest import digest_enabled, set_digest

PATH = "/alerts"
dash.register_page(__name__, path=PATH, name="Alerts", title="Alerts", order=6)

NONE = "No alerts: nobody in your scope became High or rose sharply since the last scoring run, and no review is overdue."


def layout(**_query: str) -> html.Div:
    """The list (filled on load) and the buttons that mark alerts read."""
    return html.Div(
        [html.H2("Alerts", className="page-title"),
         dcc.Store(id=ids.ALERTS_LOAD, data=0),
         dbc.Checklist(id=ids.ALERTS_LIST, options=[], value=[], className="alerts-list"),
         html.Div([dbc.Button("Mark selected read", id=ids.ALERTS_MARK, n_clicks=0, size="sm", color="secondary"),
                   dbc.Button("Mark all read", id=ids.ALERTS_MARK_ALL, n_clicks=0, size="sm", outline=True,
                              color="secondary")], className="d-flex gap-2 mt-2"),
         html.Div(id=ids.ALERTS_MESSAGE, className="small mt-2", role="status"),
         dbc.Switch(id=ids.ALERTS_DIGEST, label="Send me a weekly e-mail of new alerts", value=True,
                    className="mt-3")],
        id=ids.ALERTS_PAGE, className="analytics-page",
    )


def _option(alert: Alert) -> dict[str, Any]:
    state = "read" if alert.read else "new"
    label = html.Span([html.Span(state, className=f"badge me-2 {'text-bg-light' if alert.read else 'text-bg-danger'}"),
                       dcc.Link(alert.text, href=alert.href, className="alert-link-student"),
                       html.Span(f" · {alert.on.isoformat()}", className="text-muted small")],
                      className=f"alert-item alert-{alert.kind}")
    return {"label": label, "value": alert.key, "disabled": alert.read}


@callback(Output(ids.ALERTS_LIST, "options"), Output(ids.ALERTS_LIST, "value"), Output(ids.ALERTS_MESSAGE, "children"),
          Output(ids.ALERTS_DIGEST, "value"), Input(ids.ALERTS_LOAD, "data"))
def show_alerts(_load: Any) -> tuple[Any, Any, Any, Any]:
    """The viewer's alerts, unread first, and whether they get the weekly digest."""
    viewer = current_viewer()
    with read_session() as session:
        found = alerts_for(session=session, viewer=viewer)
        weekly = digest_enabled(session, viewer.user_id)
    found.sort(key=lambda a: a.read)
    return [_option(a) for a in found], [], dash.no_update if found else NONE, weekly


@callback(Output(ids.ALERTS_MESSAGE, "children", allow_duplicate=True), Input(ids.ALERTS_DIGEST, "value"),
          prevent_initial_call=True)
def choose_digest(enabled: Any) -> Any:
    """Turn the viewer's weekly e-mail digest on or off (audited when it changes)."""
    if not isinstance(enabled, bool):
        raise PreventUpdate
    viewer = current_viewer()
    with read_session() as session:
        before = digest_enabled(session, viewer.user_id)
        set_digest(session=session, viewer=viewer, enabled=enabled, address=client_address())
    if before == enabled:
        raise PreventUpdate
    return "You will get the weekly e-mail." if enabled else "No more weekly e-mails."


@callback(Output(ids.ALERTS_LOAD, "data"), Output(ids.ALERTS_MESSAGE, "children", allow_duplicate=True),
          Input(ids.ALERTS_MARK, "n_clicks"), Input(ids.ALERTS_MARK_ALL, "n_clicks"),
          State(ids.ALERTS_LIST, "value"), State(ids.ALERTS_LOAD, "data"), prevent_initial_call=True)
def mark_alerts(_one: Any, _all: Any, chosen: Any, load: Any) -> tuple[Any, Any]:
    """Mark the ticked alerts (or all of them) read; the list reloads."""
    keys = "all" if ctx.triggered_id == ids.ALERTS_MARK_ALL else chosen
    if keys != "all" and not chosen:
        raise PreventUpdate
    try:
        with read_session() as session:
            n = mark_read(session=session, viewer=current_viewer(), keys=keys, address=client_address())
    except DomainError as exc:
        return dash.no_update, str(exc)
    count = load if isinstance(load, int) and not isinstance(load, bool) else 0
    return count + 1, f"Marked {n} alert{'s' if n != 1 else ''} read."
