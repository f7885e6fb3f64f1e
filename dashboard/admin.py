"""The admin pages' one rule: only administrators see them or run their callbacks.

Every component of an admin page has an id of ``dashboard.ids`` named ``ADMIN_...`` (its value starts with
``admin-``). A callback request whose outputs include such an id is refused with 403 for anyone else, before Dash runs anything (that covers the polls of background jobs too);
the pages' layouts show a non-administrator the same "Page not found" as any unknown address; and the services check
again (``services.uploads.require_admin``).
"""

from __future__ import annotations

import json
from typing import Any

from dash import html
from flask import Flask, Response, g, request
from flask_login import current_user

from dashboard import ids
from dashboard.security import CALLBACK_PATH, error_json

ADMIN_IDS = frozenset(v for k, v in vars(ids).items() if k.startswith("ADMIN_") and isinstance(v, str))
"""The admin pages' component ids (and id prefixes, such as the mapping form's ``admin-map-source-<column>``)."""
REFUSED = "Only administrators may do this."


def _output_ids(output: str) -> list[str]:
    """The component ids of a callback's output string (``a.children...b.data...``, or pattern-matching JSON)."""
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        head = part.rsplit(".", 1)[0]
        if head.startswith("{"):
            try:
                found.append(str(json.loads(head).get("type", "")))
            except (ValueError, AttributeError):
                found.append(head)
        else:
            found.append(head)
    return found


def is_admin_callback(body: Any) -> bool:
    """True when a callback request writes to an admin component."""
    output = body.get("output") if isinstance(body, dict) else None
    return isinstance(output, str) and any(_is_admin_id(i) for i in _output_ids(output))


def _is_admin_id(component_id: str) -> bool:
    return component_id in ADMIN_IDS or any(component_id.startswith(p) for p in ADMIN_IDS if p.endswith("-"))


def viewer_is_admin() -> bool:
    """True when the request's viewer (set by the guard) is an administrator."""
    viewer = g.get("viewer")
    if viewer is None and getattr(current_user, "is_authenticated", False):
        viewer = current_user.viewer
    return bool(viewer is not None and viewer.is_admin)


def refuse_admin_callbacks() -> Response | None:
    """Before-request hook: 403 for an admin callback asked by anyone but an administrator."""
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    if is_admin_callback(request.get_json(silent=True)) and not viewer_is_admin():
        return error_json(REFUSED, 403)
    return None


def install_admin_guard(server: Flask) -> None:
    """Run :func:`refuse_admin_callbacks` after the request guard."""
    server.before_request(refuse_admin_callbacks)


def refused_layout() -> html.Div:
    """What a non-administrator sees at an admin address: the same page as for an address with no page."""
    return html.Div(
        [html.H2("Page not found"), html.P("There is no page at this address."), html.A("Back to the overview", href="/")],
        className="not-found",
    )
