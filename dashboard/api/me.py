"""``GET /api/v1/me``: who the session or token belongs to."""

from __future__ import annotations

from flask import Response, jsonify

from dashboard.api import api_bp
from dashboard.api.schemas import Me
from dashboard.api.spec import documented
from dashboard.auth import current_viewer


@api_bp.get("/me")
@documented(resp={"HTTP_200": Me}, errors=("HTTP_401", "HTTP_429", "HTTP_503"), tags=["me"])
def me() -> Response:
    """The logged-in user's id, email, role, (for teachers) class ids and (for school roles) school ids."""
    viewer = current_viewer()
    return jsonify(
        {
            "id": viewer.user_id,
            "email": viewer.email,
            "role": viewer.role,
            "class_ids": sorted(viewer.class_ids),
            "school_ids": sorted(viewer.school_ids),
            "sees_everything": viewer.sees_everything,
        }
    )
