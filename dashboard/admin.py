"""The admin pages' one rule: only administrators see them or run their callbacks.

Every component of an admin page has an id of ``dashboard.ids`` named ``ADMIN_...`` (its value starts with
``admin-``). A callback request whose outputs include such an id is refused with 403 for anyone else, before Dash runs anything (that covers the polls of background jobs too);
the pages' layouts show a non-administrator the same "Page not found" as any unknown address; and the services check
again (``services.uploads.require_admin``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, g, request
from flask_login import current_user

from dashboard import ids
from dashboard.security import CALLBACK_PATH, error_json

ADMIN_IDS = frozenset(v for k, v in vars(ids).items() if k.startswith("ADMIN_") and isinstance(v, str))
"""The admin pages' component ids (and id prefixes, such as the mapping form's ``admin-map-source-<column>``)."""
SCHOOL_ADMIN_PREFIXES = ("ADMIN_USERS_", "ADMIN_NEW_", "ADMIN_EDIT_", "ADMIN_AUDIT_")
SCHOOL_ADMIN_IDS = frozenset(v for k, v in vars(ids).items()
                             if k.startswith(SCHOOL_ADMIN_PREFIXES) and isinstance(v, str))
"""The users and audit pages' ids: open to school administrators too (their services keep them to their schools);
every other admin id (uploads, the model) is the district administrator's only."""
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
    return bool(_admin_outputs(body))


def _admin_outputs(body: Any) -> list[str]:
    output = body.get("output") if isinstance(body, dict) else None
    return [i for i in _output_ids(output) if _is_admin_id(i)] if isinstance(output, str) else []


def _is_admin_id(component_id: str) -> bool:
    return component_id in ADMIN_IDS or any(component_id.startswith(p) for p in ADMIN_IDS if p.endswith("-"))


def viewer_or_none() -> Any:
    """The request's viewer (set by the guard), or None when nobody is logged in.

    An admin page's layout meets None only in Dash's layout validation at start-up (the guard refuses anonymous
    requests before any layout): the page is then built empty, so its callbacks' ids exist in the validation layout
    and the browser does not log "ID not found in layout" on every other page.
    """
    viewer = g.get("viewer")
    if viewer is None and getattr(current_user, "is_authenticated", False):
        viewer = current_user.viewer
    return viewer


def refuse_admin_callbacks() -> Response | None:
    """Before-request hook: 403 for an admin callback asked by anyone but an administrator (a school administrator
    only on the users and audit pages)."""
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    outputs = _admin_outputs(request.get_json(silent=True))
    if not outputs:
        return None
    viewer = viewer_or_none()
    school_page = all(i in SCHOOL_ADMIN_IDS for i in outputs)
    allowed = viewer is not None and (viewer.is_admin or (school_page and viewer.administers))
    return None if allowed else error_json(REFUSED, 403)


def install_admin_guard(server: Flask) -> None:
    """Run :func:`refuse_admin_callbacks` after the request guard."""
    server.before_request(refuse_admin_callbacks)
