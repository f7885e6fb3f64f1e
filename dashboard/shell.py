"""The shell around every page: navbar (pages, who is logged in, logout), page container, database and freshness banners."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html
from flask import current_app, has_request_context, session
from flask_login import current_user

from dashboard.deps import SETTINGS_KEY, read_session
from dashboard.security import DB_ERRORS, csrf_token
from services.freshness import data_freshness
from services.scope import ADMIN_ROLES

BANNER = "shell-db-banner"
HEALTH_INTERVAL = "shell-health-interval"
NAVBAR = "shell-navbar"
USER_BADGE = "shell-user"
HEALTH_POLL_MS = 10_000
BANNER_TEXT = "The database is unreachable: numbers may be out of date; retrying..."

FRESHNESS = "shell-freshness"
NAV_PAGES = (("Overview", "/"), ("Study hours", "/effects/study-hours"), ("Sports", "/effects/sports"), ("At risk", "/at-risk"))
ADMIN_NAV_PAGES = (("Users", "/admin/users"), ("Audit log", "/admin/audit"))
"""Links shown to district and school administrators only (the pages refuse everyone else anyway)."""

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


def _nav_links(role: str = "") -> list[dbc.NavItem]:
    registered = {page["path"] for page in dash.page_registry.values()}
    pages = NAV_PAGES + (ADMIN_NAV_PAGES if role in ADMIN_ROLES else ())
    return [
        dbc.NavItem(dbc.NavLink(label, href=path, active="exact"))
        for label, path in pages
        if path in registered
    ]


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
                        html.Span([email, " ", dbc.Badge(role, color="light", text_color="dark")], id=USER_BADGE, className="shell-user"),
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
        expand="lg",
        className="mb-3",
    )


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
