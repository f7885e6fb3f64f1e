"""PDF downloads over HTTP: the student profile for a parent meeting and the school report, opened with pypdf and
read back; scoped (a teacher's PDF of another class's student is the same 404 as a missing id) and audited."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import text

pytest.importorskip("pypdf")

from pypdf import PdfReader  # noqa: E402

from services import audit  # noqa: E402
from services.reports import NONE_RECORDED  # noqa: E402
from services.scope import Viewer  # noqa: E402
from services.wording import no_such_student  # noqa: E402
from tests.dashboard import test_risk_pages as pages  # noqa: E402

risk_school = pages.risk_school  # 200 generated students ingested through the ETL, scored


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    """All the text of a PDF (pages joined) and its reader."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def embedded_fonts(reader: PdfReader) -> set[str]:
    """Names of the fonts whose file is embedded in the PDF."""
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            font = descendants[0].get_object() if descendants else font
            descriptor = font.get("/FontDescriptor")
            if descriptor is not None and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2")):
                names.add(str(font["/BaseFont"]))
    return names


def student_of(database, class_id: int) -> tuple[int, str]:  # noqa: ANN001
    """A scored student of the class: their id and name."""
    with database.begin() as s:
        row = s.execute(text("SELECT st.id, st.name FROM students st JOIN student_summary ss ON ss.student_id = st.id "
                             "JOIN predictions p ON p.student_id = st.id WHERE ss.class_id = :c ORDER BY st.id LIMIT 1"),
                        {"c": class_id}).one()
    return int(row[0]), str(row[1])


def test_a_staff_member_downloads_the_student_pdf(risk_school, database, users, client_for) -> None:
    sid, name = student_of(database, users["teacher"].class_ids[0])
    before = len(pages.audit_rows(database, audit.EXPORT, users["staff"].user_id))
    r = client_for("staff").get(f"/students/{sid}/profile.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert re.fullmatch(rf'attachment; filename="student-{sid}-\d{{4}}-\d\d-\d\d\.pdf"', r.headers["Content-Disposition"])
    words, reader = pdf_text(r.data)
    assert 1 <= len(reader.pages) <= 2
    for expected in (name, "Risk", "Estimated risk of finishing below the pass mark", "likely", "Indicators",
                     "Chronic absence", "Course performance", "Low study time", "Open interventions", NONE_RECORDED,
                     "Attendance (%)", "Study hours a week", "Score", "Class mean"):
        assert expected in words, expected
    assert "100.0 %" not in words and "0.0 %" not in words and "log-odds" not in words
    assert embedded_fonts(reader) and all("BitstreamVeraSans" in f for f in embedded_fonts(reader))
    after = pages.audit_rows(database, audit.EXPORT, users["staff"].user_id)
    assert len(after) == before + 1
    target, details = after[-1]
    assert target == "student profile PDF" and details["student_id"] == sid and details["format"] == "pdf"


def test_the_student_pdf_lists_the_open_interventions(risk_school, database, users, client_for) -> None:
    from services.interventions import add_intervention

    sid, _ = student_of(database, users["teacher"].class_ids[0])
    teacher = users["teacher"]
    viewer = Viewer(teacher.user_id, teacher.email, teacher.role, frozenset(teacher.class_ids))
    with database.begin() as s:
        item = add_intervention(session=s, viewer=viewer, student_id=sid, data={
            "type": "tutoring", "owner_id": teacher.user_id, "start_date": "2026-01-05", "next_review": "2026-02-02",
            "status": "active"})
    try:
        words, _ = pdf_text(client_for("teacher").get(f"/students/{sid}/profile.pdf").data)
        flat = " ".join(words.split())
        assert "Tutoring (active)" in flat and "since 5 January 2026, next review 2 February 2026" in flat
        assert NONE_RECORDED not in flat
    finally:
        with database.begin() as s:
            s.execute(text("DELETE FROM interventions WHERE id = :i"), {"i": item.id})


def test_a_teacher_gets_the_same_404_for_another_class_and_a_missing_student(risk_school, database, users,
                                                                             client_for) -> None:
    teacher = users["teacher"]
    own, _ = student_of(database, teacher.class_ids[0])
    other, _ = student_of(database, users["teacher2"].class_ids[0])
    client = client_for("teacher")
    before = len(pages.audit_rows(database, audit.EXPORT, teacher.user_id))
    hidden, missing = client.get(f"/students/{other}/profile.pdf"), client.get("/students/987654321/profile.pdf")
    assert hidden.status_code == missing.status_code == 404
    sentence = no_such_student(Viewer(user_id=teacher.user_id, email=teacher.email, role="teacher"))
    assert sentence in hidden.get_data(as_text=True) and sentence in missing.get_data(as_text=True)
    assert b"%PDF" not in hidden.data
    assert client.get("/students/abc/profile.pdf").status_code in (400, 404)
    assert len(pages.audit_rows(database, audit.EXPORT, teacher.user_id)) == before  # nothing was handed out
    assert client.get(f"/students/{own}/profile.pdf").status_code == 200


def test_the_school_report_has_each_section_for_the_filters_and_is_audited(risk_school, database, users,
                                                                          client_for) -> None:
    r = client_for("admin").get("/reports/school.pdf?att=50")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    words, reader = pdf_text(r.data)
    for expected in ("School report", "attendance at least 50 %", "Key figures", "Pass rate", "Chronically absent",
                     "Distribution of the latest scores", "Figure 1.", "Study hours and scores", "Figure 2.",
                     "Sports participation and scores", "Figure 3.", "Students by early-warning indicators",
                     "Table 1.", "Recommendation:"):
        assert expected in words, expected
    assert words.count("Recommendation:") >= 5  # the KPIs, each chart and the segments
    assert "100.0 %" not in words and "0.0 %" not in words
    assert embedded_fonts(reader)
    target, details = pages.audit_rows(database, audit.EXPORT, users["admin"].user_id)[-1]
    assert target == "school report PDF" and details["filters"] == "?att=50"


def test_a_teachers_report_counts_only_their_classes(risk_school, users, client_for) -> None:
    mine = users["teacher"].class_ids[0]
    words, _ = pdf_text(client_for("teacher").get("/reports/school.pdf").data)
    assert "Students of your classes" in words
    named, _ = pdf_text(client_for("teacher").get(f"/reports/school.pdf?class={mine}").data)
    assert f"class {risk_school.names[mine]}" in named
    assert re.search(rf"Students\s+{risk_school.sizes[mine]}\b", words), words[:600]


def test_bad_report_filters_and_anonymous_requests_are_refused(risk_school, users, client_for, anon_client) -> None:
    bad = client_for("admin").get("/reports/school.pdf?grade=nine")
    assert bad.status_code == 400 and b"%PDF" not in bad.data
    for path in ("/reports/school.pdf", "/students/1/profile.pdf"):
        r = anon_client.get(path)
        assert r.status_code in (302, 401) and b"%PDF" not in r.data
