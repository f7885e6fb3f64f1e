"""The shell around every page: navbar (pages, who is logged in, logout), page container, database and freshness banners."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, ctx, dcc, html
from flask import current_app, has_request_context, session
from flask_login import current_user

from core.errors import DomainError
from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.deps import SETTINGS_KEY, read_session
from dashboard.security import DB_ERRORS, csrf_token
from services.alerts import unread_count
from services.caseload import search_students
from services.freshness import data_freshness
from services.scope import ADMIN, ADMIN_ROLES

BANNER = "shell-db-banner"
HEALTH_INTERVAL = "shell-health-interval"
NAVBAR = "shell-navbar"
USER_BADGE = "shell-user"
HEALTH_POLL_MS = 10_000
BANNER_TEXT = "The database is unreachable: numbers may be out of date; retrying..."

FRESHNESS = "shell-freshness"
ADMIN_MENU = "shell-admin-menu"
NAV_PAGES = (("Overview", "/"), ("Study hours", "/effects/study-hours"), ("Sports", "/effects/sports"), ("At risk", "/at-risk"),
             ("My students", "/caseload"))
ADMIN_NAV_PAGES = (("Users", "/admin/users"), ("Audit log", "/admin/audit"))
"""Links shown to district and school administrators only (the pages refuse everyone else anyway)."""
DISTRICT_NAV_PAGES = (("Uploads", "/admin/uploads"), ("Model", "/admin/model"))
"""Links shown to the district administrator only (loads and the model concern every school)."""
PAGES_LOCATION = "_pages_location"  # dash.page_container's dcc.Location: every navigation

HEALTH_CHECK_JS = """
async function(n) {
    try {
        const response = await fetch('/healthz', {cache: 'no-store', credentials: 'same-origin'});
        return !response.ok;
    } catch (error) {
        return true;
    }
}
"""


def _identity() -> tuple[str, str]:
    """Email and role of the logged-in user, as last confirmed by the database (for display only)."""
    if not has_request_context():
        return "", ""
    user = session.get("user") or {}
    groups = user.get("groups") or [""]
    return str(user.get("email") or ""), str(groups[0])


def _nav_links(role: str = "") -> list[Any]:
    """The pages every user sees, then the administrators' pages gathered in one "Admin" menu (a compact navbar)."""
    registered = {page["path"] for page in dash.page_registry.values()}
    links: list[Any] = [dbc.NavItem(dbc.NavLink(label, href=path, active="exact"))
                        for label, path in NAV_PAGES if path in registered]
    admin = (ADMIN_NAV_PAGES if role in ADMIN_ROLES else ()) + (DISTRICT_NAV_PAGES if role == ADMIN else ())
    items = [dbc.DropdownMenuItem(label, href=path) for label, path in admin if path in registered]
    if items:
        links.append(dbc.DropdownMenu(items, label="Admin", nav=True, in_navbar=True, align_end=True,
                                      id=ADMIN_MENU, className="shell-admin-menu"))
    return links


def _logout_form() -> html.Form:
    token = csrf_token() if has_request_context() else ""
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=token),
            html.Button("Log out", type="submit", className="btn btn-outline-light btn-sm"),
        ],
        method="POST",
        action="/logout",
        className="shell-logout",
    )


def navbar() -> dbc.Navbar:
    """Brand, links to the pages, the user's email and role, and a logout button."""
    email, role = _identity()
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("Student performance", href="/"),
                dbc.NavbarToggler(id=f"{NAVBAR}-toggler", n_clicks=0),
                dbc.Collapse(
                    [
                        dbc.Nav(_nav_links(role), navbar=True, className="me-auto"),
                        search_box(),
                        dbc.Nav([bell()], navbar=True),
                        html.Span([html.Span(email, className="shell-user-email", title=email), " ",
                                   dbc.Badge(role, color="light", text_color="dark")], id=USER_BADGE, className="shell-user"),
                        _logout_form(),
                    ],
                    id=f"{NAVBAR}-collapse",
                    navbar=True,
                    is_open=False,
                ),
            ],
            fluid=True,
        ),
        id=NAVBAR,
        color="dark",
        dark=True,
        expand="xl",
        className="mb-3 shell-navbar",
    )


def search_box() -> html.Div:
    """Find a student by name or id (within the viewer's scope): matches appear below as links to the profile."""
    return html.Div(
        [html.Label("Find a student", htmlFor=ids.SEARCH_INPUT, className="visually-hidden"),
         dcc.Input(id=ids.SEARCH_INPUT, type="search", placeholder="Find a student", value="",
                   debounce=False, maxLength=60, className="form-control form-control-sm"),
         html.Div(id=ids.SEARCH_RESULTS, className="shell-search-results", role="listbox")],
        className="shell-search me-2",
    )


def bell() -> dbc.NavItem:
    """The alerts link with the number of unread alerts (filled on every navigation)."""
    return dbc.NavItem(dbc.NavLink([html.Span(className="shell-bell-icon", **{"aria-hidden": "true"}), html.Span(" Alerts ", className="shell-bell-word"),
                                    dbc.Badge("", id=ids.BELL_COUNT, color="danger", pill=True)],
                                   href="/alerts", id=ids.BELL, active="exact"))


def find_students(text: Any, _pathname: Any = None) -> Any:
    """The search box's matches as links (cleared on navigation); nothing for under two characters."""
    if ctx.triggered_id == PAGES_LOCATION or not isinstance(text, str) or not text.strip():
        return []
    try:
        with read_session() as s:
            matches = search_students(session=s, viewer=current_viewer(), text=text)
    except (DomainError, *DB_ERRORS):
        return []
    if not matches:
        return html.Div("No student found in your scope.", className="shell-search-none")
    return [dcc.Link(m.label, href=f"/students/{m.student_id}", className="shell-search-item d-block")
            for m in matches]


def bell_count(_pathname: Any) -> str:
    """The number of unread alerts ("" when none)."""
    try:
        with read_session() as s:
            n = unread_count(session=s, viewer=current_viewer())
    except (DomainError, *DB_ERRORS):
        return ""
    return str(n) if n else ""


def banner() -> dbc.Alert:
    """The database-down banner, hidden until the health poll fails."""
    return dbc.Alert(BANNER_TEXT, id=BANNER, color="warning", is_open=False, className="shell-banner")


def freshness_banner() -> html.Div:
    """The date of the latest data and scoring run (a warning when older than ``STALE_AFTER_DAYS``); empty when logged out."""
    if not has_request_context():
        return html.Div(id=FRESHNESS)
    try:
        if not current_user.is_authenticated:  # loads the user: it too needs the database
            return html.Div(id=FRESHNESS)
        with read_session() as s:
            fresh = data_freshness(session=s, stale_after_days=current_app.extensions[SETTINGS_KEY].stale_after_days)
    except DB_ERRORS:
        return html.Div(id=FRESHNESS)  # the database banner says it is unreachable
    return html.Div(
        fresh.message,
        id=FRESHNESS,
        role="status",
        className=f"shell-freshness alert {'alert-warning' if fresh.stale else 'alert-light'} py-1 px-2 small",
    )


def layout() -> html.Div:
    """The whole shell, built per request (the user's name and CSRF token are in it)."""
    return html.Div(
        [
            navbar(),
            dbc.Container(
                [
                    banner(),
                    freshness_banner(),
                    dcc.Interval(id=HEALTH_INTERVAL, interval=HEALTH_POLL_MS, n_intervals=0),
                    dcc.Loading(
                        dash.page_container,
                        target_components={"_pages_content": "children"},
                        delay_show=300,
                        overlay_style={"visibility": "visible", "opacity": 0.5},
                        type="circle",
                    ),
                ],
                fluid=True,
                className="shell-main",
            ),
        ],
        className="shell",
    )


def toggle_navbar(n_clicks: int | None, is_open: bool | None) -> bool:
    """Open or close the collapsed navbar on small screens."""
    return not is_open if n_clicks else bool(is_open)


def register_callbacks(app: Dash) -> None:
    """Attach the shell's callbacks to ``app`` (done per app, so every app built has them)."""
    app.clientside_callback(HEALTH_CHECK_JS, Output(BANNER, "is_open"), Input(HEALTH_INTERVAL, "n_intervals"))
    app.callback(
        Output(f"{NAVBAR}-collapse", "is_open"),
        Input(f"{NAVBAR}-toggler", "n_clicks"),
        dash.State(f"{NAVBAR}-collapse", "is_open"),
    )(toggle_navbar)
    app.callback(Output(ids.SEARCH_RESULTS, "children"), Input(ids.SEARCH_INPUT, "value"),
                 Input(PAGES_LOCATION, "pathname"))(find_students)
    app.callback(Output(ids.BELL_COUNT, "children"), Input(PAGES_LOCATION, "pathname"))(bell_count)
