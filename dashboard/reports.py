"""PDF downloads: a student's profile (``/students/<id>/profile.pdf``) and the school report (``/reports/school.pdf``).

Plain Flask routes behind the login guard. The id and the filters in the address are untrusted: the services check
the scope (a student outside it gets the same 404 sentence as one that does not exist) and the filters are parsed
and validated (a bad value: 400 with a sentence). Each download is recorded in the audit log like the CSV export.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from dashboard.auth import current_viewer
from dashboard.deps import SETTINGS_KEY, read_session
from dashboard.security import client_address
from services import audit
from services.filters import parse_filters, to_search
from services.reports import PDF_TYPE, PdfDocument, school_report_pdf, student_pdf
from services.students import parse_student_id

STUDENT_PDF_PATH = "/students/<student_id>/profile.pdf"
SCHOOL_PDF_PATH = "/reports/school.pdf"
STUDENT_TARGET, SCHOOL_TARGET = "student profile PDF", "school report PDF"


def _pdf(document: PdfDocument) -> Response:
    response = Response(document.content, mimetype=PDF_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def student_profile_pdf(student_id: str) -> Response:
    """The profile PDF of a student the viewer may see (404 otherwise), recorded in the audit log."""
    viewer, sid = current_viewer(), parse_student_id(student_id)
    with read_session() as session:
        document = student_pdf(session=session, viewer=viewer, student_id=sid)
        audit.record(session, action=audit.EXPORT, user_id=viewer.user_id, actor=viewer.email, target=STUDENT_TARGET,
                     details={"format": "pdf", "student_id": sid, "bytes": len(document.content)},
                     address=client_address())
    return _pdf(document)


def school_report() -> Response:
    """The school (or class) report PDF of the filters in the address, for the viewer's scope, audited."""
    viewer = current_viewer()
    settings = current_app.extensions.get(SETTINGS_KEY)
    pass_mark = float(getattr(settings, "pass_threshold", 60.0))
    with read_session() as session:
        filters = parse_filters(request.args.to_dict(), session=session, strict=True).filters
        document = school_report_pdf(session=session, viewer=viewer, filters=filters, pass_threshold=pass_mark)
        audit.record(session, action=audit.EXPORT, user_id=viewer.user_id, actor=viewer.email, target=SCHOOL_TARGET,
                     details={"format": "pdf", "filters": to_search(filters), "bytes": len(document.content)},
                     address=client_address())
    return _pdf(document)


def register_reports(server: Flask) -> None:
    """Add the two PDF routes to ``server`` (before the login guard is installed, so both need a login)."""
    server.add_url_rule(STUDENT_PDF_PATH, "student_profile_pdf", student_profile_pdf, methods=["GET"])
    server.add_url_rule(SCHOOL_PDF_PATH, "school_report_pdf", school_report, methods=["GET"])
