"""``GET /api/v1/students`` (paged, scoped) and ``GET /api/v1/students/<id>`` (404 outside scope); both audited."""

from __future__ import annotations

from flask import Response, jsonify

from dashboard.api import api_bp, paging
from dashboard.api.auditing import denied_audited, record_list, record_view
from dashboard.api.schemas import Student, StudentList, StudentsQuery, parse_query
from dashboard.api.spec import documented
from dashboard.auth import current_viewer
from dashboard.deps import read_session
from services import students

TAGS = ["students"]


@api_bp.get("/students")
@documented(query=StudentsQuery, resp={"HTTP_200": StudentList}, tags=TAGS)
def list_students() -> Response:
    """A page of the students you may see, ordered by class then name."""
    viewer = current_viewer()
    query = parse_query(StudentsQuery)
    with read_session() as s:
        result = students.list_students(session=s, viewer=viewer, page=query.page, per_page=query.per_page,
                                        class_id=query.class_id)
        record_list(s, viewer, what="students", rows=len(result.items),
                    filters=query.model_dump(exclude_defaults=True, mode="json"))
    offset = (result.page - 1) * result.per_page
    return jsonify({
        "items": [row.to_dict() for row in result.items], "per_page": result.per_page,
        **paging(result.total, result.per_page, offset, {"page": result.page + 1}),
    })


@api_bp.get("/students/<int:student_id>")
@documented(resp={"HTTP_200": Student}, tags=TAGS)
def get_student(student_id: int) -> Response:
    """One student's summary line (404, the same for an unknown id and one outside your scope)."""
    viewer = current_viewer()
    with read_session() as s:
        row = denied_audited(viewer, student_id, "student",
                             lambda: students.get_student(session=s, viewer=viewer, student_id=student_id))
        record_view(s, viewer, student_id, what="student")
    return jsonify(row.to_dict())
