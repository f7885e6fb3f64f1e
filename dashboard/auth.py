"""Login, logout and who is asking: Flask-Login bound to the users table, the role as dash-auth group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_auth
from dash.exceptions import PreventUpdate
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from core.errors import Forbidden, InvalidInput
from dashboard.deps import get_database, read_session
from dashboard.security import (
    DB_DOWN,
    DB_ERRORS,
    LOGIN_PATH,
    client_address,
    csrf_ok,
    csrf_token,
    mark_login,
    safe_next,
    sync_groups,
)
from services import password_reset, users
from services.scope import Viewer

login_manager = LoginManager()
login_manager.session_protection = "basic"
auth_bp = Blueprint("auth", __name__, template_folder="templates")

FORM_EXPIRED = "The form expired: reload the page and try again."


class AppUser(UserMixin):
    """The logged-in user as Flask-Login sees it; the id carries the session epoch (ends on logout)."""

    def __init__(self, viewer: Viewer, epoch: int) -> None:
        self.viewer = viewer
        self.epoch = epoch

    def get_id(self) -> str:
        """``user_id:epoch``: a cookie stops working once the user's sessions are ended."""
        return f"{self.viewer.user_id}:{self.epoch}"


@login_manager.user_loader
def load_user(token: str) -> AppUser | None:
    """Rebuild the user from the database on every request (role, activity, classes)."""
    try:
        user_id, epoch = (int(part) for part in token.split(":", 1))
    except ValueError:
        return None
    with read_session() as s:
        viewer = users.load_viewer(s, user_id, epoch=epoch)
    return None if viewer is None else AppUser(viewer, epoch)


def current_viewer() -> Viewer:
    """The logged-in viewer, built from the database for this request; Forbidden when anonymous."""
    viewer = g.get("viewer")
    if viewer is not None:
        return viewer
    user = current_user
    if user is None or not user.is_authenticated:
        raise Forbidden("Log in to see this.")
    g.viewer = user.viewer
    return user.viewer


def requires_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a Dash callback so it only runs for these roles (dash-auth groups = the role)."""

    def _refuse() -> Any:
        raise PreventUpdate

    return dash_auth.protected(unauthenticated_output=_refuse, missing_permissions_output=_refuse, groups=list(roles))


def role_callback(*args: Any, roles: list[str], **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``dash.callback`` that runs only for the given roles (dash-auth ``protected_callback``)."""
    return dash_auth.protected_callback(*args, groups=list(roles), **kwargs)


def _login_page(message: str = "", status: int = 200, email: str = "") -> Response:
    html = render_template(
        "login.html",
        csrf_token=csrf_token(),
        next=safe_next(request.values.get("next")),
        message=message,
        email=email,
    )
    return Response(html, status=status, mimetype="text/html")


@auth_bp.get(LOGIN_PATH)
def login_form() -> Response:
    """The login form (a CSRF token is put in the session)."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return _login_page()


@auth_bp.post(LOGIN_PATH)
def login_submit() -> Response:
    """Check the form: CSRF, throttling, password; then a fresh session for the user."""
    email = (request.form.get("email") or "").strip()
    if not csrf_ok(request.form.get("csrf_token")):
        return _login_page(FORM_EXPIRED, 400, email)
    try:
        with get_database().begin() as s:
            outcome = users.authenticate(s, email=email, password=request.form.get("password") or "", address=client_address())
    except DB_ERRORS:
        return _login_page(DB_DOWN, 503, email)
    if outcome.status == "throttled":
        return _login_page(outcome.message, 429, email)
    if not outcome.ok or outcome.viewer is None:
        return _login_page(outcome.message, 401, email)
    target = safe_next(request.form.get("next"))
    session.clear()
    login_user(AppUser(outcome.viewer, outcome.epoch))
    session.permanent = True
    mark_login()
    sync_groups(outcome.viewer.email, outcome.viewer.role)
    csrf_token()
    current_app.logger.info("login", extra={"user_id": outcome.viewer.user_id})
    return redirect(target)


@auth_bp.get("/logout")
def logout_form() -> Response:
    """A harmless page with a button that logs out (GET changes nothing)."""
    return Response(render_template("logout.html", csrf_token=csrf_token()), mimetype="text/html")


@auth_bp.post("/logout")
def logout_submit() -> Response:
    """Log out everywhere (CSRF-checked) and go back to the login page."""
    if not csrf_ok(request.form.get("csrf_token")):
        return Response(FORM_EXPIRED, status=400, mimetype="text/plain")
    viewer = current_viewer()
    with get_database().begin() as s:
        users.logout(s, user_id=viewer.user_id, actor=viewer.email, address=client_address())
    logout_user()
    session.clear()
    return redirect(LOGIN_PATH)


RESET_DONE = "Your password is set: log in with it."


def _reset_page(token: str, message: str = "", status: int = 200, valid: bool = True) -> Response:
    html = render_template("reset.html", token=token if valid else "", csrf_token=csrf_token(), message=message,
                           valid=valid, min_length=users.MIN_PASSWORD_LENGTH)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # the address holds the token: never cached
    return response


@auth_bp.get("/reset/<token>")
def reset_form(token: str) -> Response:
    """The one-time password link: a form while the link is valid, else one sentence (404)."""
    try:
        with read_session() as s:
            valid = password_reset.link_is_valid(s, token)
    except DB_ERRORS:
        return _reset_page(token, DB_DOWN, 503, valid=False)
    if not valid:
        return _reset_page(token, password_reset.NOT_VALID, 404, valid=False)
    return _reset_page(token)


@auth_bp.post("/reset/<token>")
def reset_submit(token: str) -> Response:
    """Set the password through the link (CSRF-checked), spend the link, then go to the login page."""
    if not csrf_ok(request.form.get("csrf_token")):
        return _reset_page(token, FORM_EXPIRED, 400)
    try:
        with get_database().begin() as s:
            password_reset.use_link(s, token=token, password=request.form.get("password") or "",
                                    confirm=request.form.get("confirm") or "", address=client_address())
    except InvalidInput as exc:
        spent = str(exc) == password_reset.NOT_VALID
        return _reset_page(token, str(exc), 404 if spent else 400, valid=not spent)
    except DB_ERRORS:
        return _reset_page(token, DB_DOWN, 503)
    return _login_page(RESET_DONE)
