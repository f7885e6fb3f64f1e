"""``GET /api/v1/students`` (paged, scoped) and ``GET /api/v1/students/<id>`` (404 outside scope)."""

from __future__ import annotations

from flask import Response, jsonify

from dashboard.api import api_bp, int_arg
from dashboard.auth import current_viewer
from dashboard.deps import read_session
from dashboard.security import client_address
from services import audit, students


@api_bp.get("/students")
def list_students() -> Response:
    """A page of the students the viewer may see (``page``, ``per_page``, ``class_id``)."""
    viewer = current_viewer()
    page, per_page = int_arg("page", 1), int_arg("per_page", 50)
    with read_session() as s:
        result = students.list_students(session=s, viewer=viewer, page=page, per_page=per_page, class_id=int_arg("class_id", None))
    return jsonify(
        {
            "items": [row.to_dict() for row in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
        }
    )


@api_bp.get("/students/<int:student_id>")
def get_student(student_id: int) -> Response:
    """One student's summary; the view is recorded in the audit log."""
    viewer = current_viewer()
    with read_session() as s:
        row = students.get_student(session=s, viewer=viewer, student_id=student_id)
        audit.record(s, action=audit.STUDENT_VIEW, user_id=viewer.user_id, actor=viewer.email, target=str(student_id), address=client_address())
    return jsonify(row.to_dict())
