"""Users (``/admin/users``): list, create, change role, schools and classes, deactivate, unlock, one-time password links.

District administrators manage everyone; school administrators only users of their schools (the services
decide). Anyone else gets the page-not-found view, and the callbacks refuse them (403, or 404 for a user
out of reach). A new user and a forgotten password both get a one-time link shown once here: nobody sets
another user's password and no hash ever leaves the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app, request

from core.errors import InvalidInput, Unavailable
from dashboard import ids
from dashboard.admin import viewer_or_none
from dashboard.auth import current_viewer
from dashboard.components.refused import not_found_view
from dashboard.deps import SETTINGS_KEY, read_session
from dashboard.security import client_address
from services import mail, user_admin
from services.scope import ADMIN, SCHOOL_ADMIN, STAFF, TEACHER, Viewer
from services.users import UserInfo

PATH = "/admin/users"
dash.register_page(__name__, path=PATH, name="Users", title="Users", order=10)

ROLE_LABELS = {ADMIN: "District administrator", SCHOOL_ADMIN: "School administrator", STAFF: "Staff", TEACHER: "Teacher"}
COLUMNS = [{"name": n, "id": i} for n, i in (("Email", "email"), ("Name", "name"), ("Role", "role"), ("Schools", "schools"),
                                              ("Classes", "classes"), ("Status", "status"), ("Last login", "last_login"))]


def _roles(viewer: Viewer) -> list[dict[str, str]]:
    return [{"label": label, "value": role} for role, label in ROLE_LABELS.items() if viewer.is_admin or role != ADMIN]


def _options(choices: list[user_admin.Choice]) -> list[dict[str, Any]]:
    return [{"label": c.label, "value": c.value} for c in choices]


def _pickers(prefix: str, viewer: Viewer, schools: list, classes: list) -> list[Any]:
    """Role, schools and classes pickers with the ids ``ids.ADMIN_<prefix>_*``."""
    return [
        dbc.Label("Role"), dcc.Dropdown(id=getattr(ids, f"ADMIN_{prefix}_ROLE"), options=_roles(viewer), value=TEACHER,
                                        clearable=False),
        dbc.Label("Schools (school administrators and staff see these)", className="mt-2"),
        dcc.Dropdown(id=getattr(ids, f"ADMIN_{prefix}_SCHOOLS"), options=_options(schools), multi=True),
        dbc.Label("Classes (teachers see these)", className="mt-2"),
        dcc.Dropdown(id=getattr(ids, f"ADMIN_{prefix}_CLASSES"), options=_options(classes), multi=True),
    ]


def _create_card(viewer: Viewer, schools: list, classes: list) -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H3("Add a user", className="h5"),
        dbc.Label("Email"), dbc.Input(id=ids.ADMIN_NEW_EMAIL, type="email", maxLength=254),
        dbc.Label("Name", className="mt-2"), dbc.Input(id=ids.ADMIN_NEW_NAME, type="text", maxLength=200),
        *_pickers("NEW", viewer, schools, classes),
        dbc.Button("Add the user", id=ids.ADMIN_NEW_SUBMIT, n_clicks=0, className="mt-3"),
        html.Div(id=ids.ADMIN_NEW_RESULT, className="mt-3"),
    ]))


def _edit_card(viewer: Viewer, schools: list, classes: list) -> dbc.Card:
    buttons = [(ids.ADMIN_EDIT_SAVE, "Save role, schools and classes", "primary"),
               (ids.ADMIN_EDIT_RESET, "Make a password link", "secondary"),
               (ids.ADMIN_EDIT_UNLOCK, "Unlock (clear failed logins)", "secondary"),
               (ids.ADMIN_EDIT_DEACTIVATE, "Deactivate", "danger"), (ids.ADMIN_EDIT_REACTIVATE, "Reactivate", "success")]
    return dbc.Card(dbc.CardBody([
        html.H3("Change a user", className="h5"),
        dbc.Label("User"), dcc.Dropdown(id=ids.ADMIN_EDIT_USER, options=[], placeholder="Pick a user"),
        *_pickers("EDIT", viewer, schools, classes),
        html.Div([dbc.Button(label, id=bid, n_clicks=0, color=color, className="me-2 mt-3")
                  for bid, label, color in buttons]),
        html.Div(id=ids.ADMIN_EDIT_RESULT, className="mt-3"),
    ]))


def layout(**_query: str) -> html.Div:
    """The users table and the two forms; the not-found view for anyone who is not an administrator.

    With nobody logged in (only Dash's layout validation at start-up: the guard refuses anonymous requests)
    the forms are built empty, so every callback id exists in a layout.
    """
    viewer: Viewer | None = viewer_or_none()
    if viewer is not None and not viewer.administers:
        return not_found_view()
    schools: list[user_admin.Choice] = []
    classes: list[user_admin.Choice] = []
    if viewer is not None:
        with read_session() as s:
            schools = user_admin.school_choices(session=s, viewer=viewer)
            classes = user_admin.class_choices(session=s, viewer=viewer)
    viewer = viewer or Viewer(user_id=0, email="", role=ADMIN)
    return html.Div([
        html.H2("Users"),
        dcc.Store(id=ids.ADMIN_USERS_CREATED, data=0), dcc.Store(id=ids.ADMIN_USERS_CHANGED, data=0),
        dash_table.DataTable(id=ids.ADMIN_USERS_TABLE, columns=COLUMNS, data=[], page_size=25, sort_action="native",
                             filter_action="native", style_table={"overflowX": "auto"}),
        dbc.Row([dbc.Col(_create_card(viewer, schools, classes), md=6), dbc.Col(_edit_card(viewer, schools, classes), md=6)],
                className="mt-3"),
    ], id=ids.ADMIN_USERS_PAGE, className="admin-page")


def _row(user: UserInfo) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.full_name or "", "role": ROLE_LABELS.get(user.role, user.role),
            "schools": ", ".join(user.schools), "classes": ", ".join(user.classes),
            "status": "active" if user.is_active else "deactivated",
            "last_login": user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"}


@callback(Output(ids.ADMIN_USERS_TABLE, "data"), Output(ids.ADMIN_EDIT_USER, "options"),
          Input(ids.ADMIN_USERS_CREATED, "data"), Input(ids.ADMIN_USERS_CHANGED, "data"))
def show_users(_created: Any, _changed: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The users this administrator manages, and the same list to pick one from."""
    viewer = current_viewer()
    with read_session() as s:
        found = user_admin.managed_users(session=s, viewer=viewer)
    return [_row(u) for u in found], [{"label": u.email, "value": u.id} for u in found]


@callback(Output(ids.ADMIN_EDIT_ROLE, "value"), Output(ids.ADMIN_EDIT_SCHOOLS, "value"),
          Output(ids.ADMIN_EDIT_CLASSES, "value"), Input(ids.ADMIN_EDIT_USER, "value"))
def pick_user(user_id: Any) -> tuple[str, list[int], list[int]]:
    """Fill the change form with the picked user's role, schools and classes."""
    if user_id is None:
        raise PreventUpdate
    viewer = current_viewer()
    with read_session() as s:
        found = {u.id: u for u in user_admin.managed_users(session=s, viewer=viewer)}
    user = found.get(int(user_id))
    if user is None:
        raise PreventUpdate
    return user.role, list(user.school_ids), list(user.class_ids)


def _link(issued: user_admin.IssuedLink, what: str) -> dbc.Alert:
    """E-mail the link when SMTP is configured (after the commit), else (or when sending fails) show it once."""
    url = f"{request.host_url.rstrip('/')}/reset/{issued.token}"
    expires = f"{issued.expires_at:%d %b %Y %H:%M}"
    settings = current_app.extensions[SETTINGS_KEY]
    note = ""
    if settings.smtp_url:
        try:
            mail.send(settings.smtp_url, mail.reset_message(sender=settings.mail_from, to=issued.user.email, link=url,
                                                            expires=expires))
            return dbc.Alert(f"{what} The link to set a password was e-mailed to {issued.user.email}; it works once, "
                             f"until {expires} UTC.", color="success")
        except Unavailable as exc:
            note = f" {exc}"
    return dbc.Alert([
        html.P(f"{what}{note} Give {issued.user.email} this link to set their password; it works once, until "
               f"{expires} UTC, and is not shown again:"),
        html.Code(url, className="reset-link"),
    ], color="success")


@callback(Output(ids.ADMIN_NEW_RESULT, "children"), Output(ids.ADMIN_USERS_CREATED, "data"),
          Input(ids.ADMIN_NEW_SUBMIT, "n_clicks"),
          State(ids.ADMIN_NEW_EMAIL, "value"), State(ids.ADMIN_NEW_NAME, "value"), State(ids.ADMIN_NEW_ROLE, "value"),
          State(ids.ADMIN_NEW_SCHOOLS, "value"), State(ids.ADMIN_NEW_CLASSES, "value"), State(ids.ADMIN_USERS_CREATED, "data"),
          prevent_initial_call=True)
def create_user(n_clicks: Any, email: Any, name: Any, role: Any, schools: Any, classes: Any, version: Any) -> tuple[Any, int]:
    """Create the user and show their one-time link (or the one sentence why not)."""
    if not n_clicks:
        raise PreventUpdate
    viewer = current_viewer()
    try:
        with read_session() as s:
            issued = user_admin.create_user(session=s, viewer=viewer, email=str(email or ""), full_name=name, role=str(role),
                                            schools=schools or [], classes=classes or [], address=client_address())
    except InvalidInput as exc:
        return dbc.Alert(str(exc), color="warning"), int(version or 0)
    return _link(issued, f"Added {issued.user.email}."), int(version or 0) + 1


def _save(s: Any, viewer: Viewer, user_id: int, role: Any, schools: Any, classes: Any) -> str:
    info = user_admin.change_user(session=s, viewer=viewer, user_id=user_id, role=str(role), schools=schools or [],
                                  classes=classes or [], address=client_address())
    return f"Saved {info.email}: {ROLE_LABELS.get(info.role, info.role)}."


def _active(active: bool) -> Callable[..., str]:
    def act(s: Any, viewer: Viewer, user_id: int, *_: Any) -> str:
        info = user_admin.set_active(session=s, viewer=viewer, user_id=user_id, active=active, address=client_address())
        return f"{info.email} is {'active again' if active else 'deactivated: their sessions ended'}."
    return act


def _unlock(s: Any, viewer: Viewer, user_id: int, *_: Any) -> str:
    cleared = user_admin.unlock(session=s, viewer=viewer, user_id=user_id, address=client_address())
    return f"Unlocked: {cleared} failed login{'s' if cleared != 1 else ''} cleared."


ACTIONS: dict[str, Callable[..., str]] = {ids.ADMIN_EDIT_SAVE: _save, ids.ADMIN_EDIT_DEACTIVATE: _active(False),
                                          ids.ADMIN_EDIT_REACTIVATE: _active(True), ids.ADMIN_EDIT_UNLOCK: _unlock}


@callback(Output(ids.ADMIN_EDIT_RESULT, "children"), Output(ids.ADMIN_USERS_CHANGED, "data"),
          Input(ids.ADMIN_EDIT_SAVE, "n_clicks"), Input(ids.ADMIN_EDIT_DEACTIVATE, "n_clicks"),
          Input(ids.ADMIN_EDIT_REACTIVATE, "n_clicks"), Input(ids.ADMIN_EDIT_UNLOCK, "n_clicks"),
          Input(ids.ADMIN_EDIT_RESET, "n_clicks"),
          State(ids.ADMIN_EDIT_USER, "value"), State(ids.ADMIN_EDIT_ROLE, "value"), State(ids.ADMIN_EDIT_SCHOOLS, "value"),
          State(ids.ADMIN_EDIT_CLASSES, "value"), State(ids.ADMIN_USERS_CHANGED, "data"), prevent_initial_call=True)
def change_user(*args: Any) -> tuple[Any, int]:
    """Run the clicked action on the picked user; one sentence of what happened (or why not)."""
    user_id, role, schools, classes, version = args[5:]
    viewer = current_viewer()
    user_admin.require_admin(viewer)
    if ctx.triggered_id is None or not any(args[:5]):
        raise PreventUpdate
    if user_id is None:
        return dbc.Alert("Pick a user first.", color="warning"), int(version or 0)
    try:
        with read_session() as s:
            if ctx.triggered_id == ids.ADMIN_EDIT_RESET:
                issued = user_admin.reset_link(session=s, viewer=viewer, user_id=int(user_id), address=client_address())
            else:
                message = ACTIONS[str(ctx.triggered_id)](s, viewer, int(user_id), role, schools, classes)
        if ctx.triggered_id == ids.ADMIN_EDIT_RESET:  # committed: only now may the link leave
            return _link(issued, "New password link made (earlier links no longer work)."), int(version or 0)
    except InvalidInput as exc:
        return dbc.Alert(str(exc), color="warning"), int(version or 0)
    return dbc.Alert(message, color="success"), int(version or 0) + 1
