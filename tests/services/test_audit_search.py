"""The audit log search: filters, pages, the CSV export (cells made safe), and a school administrator's share."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import text

from core.errors import Forbidden, InvalidInput
from services import audit, users
from services.audit_search import export_audit_csv, parse_query, search_audit
from services.scope import Viewer

PASSWORD = "a-long-enough-password"
ADMIN = Viewer(user_id=1, email="root@test.example", role="admin")


@pytest.fixture()
def logged(session) -> dict[str, object]:
    session.execute(text("DELETE FROM audit_log"))
    schools = {}
    for name in ("AS North", "AS South"):
        schools[name] = session.execute(text("INSERT INTO schools (name) VALUES (:n) RETURNING id"), {"n": name}).scalar_one()
    north_student = session.execute(text("INSERT INTO students (school_id, source_id) VALUES (:s, 'n1') RETURNING id"),
                                    {"s": schools["AS North"]}).scalar_one()
    south_student = session.execute(text("INSERT INTO students (school_id, source_id) VALUES (:s, 's1') RETURNING id"),
                                    {"s": schools["AS South"]}).scalar_one()
    north = users.add_user(session, email="as-north@test.example", password=PASSWORD, role="staff", schools=["AS North"])
    south = users.add_user(session, email="as-south@test.example", password=PASSWORD, role="staff", schools=["AS South"])
    session.execute(text("DELETE FROM audit_log"))
    for who, student in ((north, north_student), (south, south_student)):
        audit.record(session, action=audit.STUDENT_VIEW, user_id=who.id, actor=who.email, target=str(student))
        audit.record(session, action=audit.EXPORT, user_id=who.id, actor=who.email, target="=HYPERLINK(\"x\")")
    audit.record(session, action=audit.STUDENT_VIEW, user_id=None, actor="cli:root", target=str(south_student))
    session.flush()
    return {"north": north, "south": south, "north_student": north_student, "south_student": south_student,
            "schools": schools}


def test_filters_combine_and_pages_hold_the_total(session, logged) -> None:
    everything = search_audit(session=session, viewer=ADMIN, query=parse_query())
    assert everything.total == 5 and len(everything.items) == 5
    by_user = search_audit(session=session, viewer=ADMIN, query=parse_query(user="AS-NORTH"))
    assert by_user.total == 2 and {e.actor for e in by_user.items} == {"as-north@test.example"}
    views = search_audit(session=session, viewer=ADMIN, query=parse_query(action=audit.STUDENT_VIEW,
                                                                          student=str(logged["south_student"])))
    assert views.total == 2
    page = search_audit(session=session, viewer=ADMIN, query=parse_query(), page=2, per_page=2)
    assert (page.total, len(page.items), page.pages) == (5, 2, 3)
    today = dt.date.today()
    assert search_audit(session=session, viewer=ADMIN, query=parse_query(date_from=str(today), date_to=str(today))).total == 5
    assert search_audit(session=session, viewer=ADMIN, query=parse_query(date_to=str(today - dt.timedelta(days=1)))).total == 0
    assert search_audit(session=session, viewer=ADMIN, query=parse_query(user="100%_")).total == 0  # wildcards are literal


@pytest.mark.parametrize(("field", "value", "message"), [
    ("date_from", "01/09/2025", "is not a date"), ("student", "abc", "is not a student id"),
])
def test_bad_filters_get_one_sentence(field, value, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_query(**{field: value})
    with pytest.raises(InvalidInput, match="after the end"):
        parse_query(date_from="2026-02-01", date_to="2026-01-01")


def test_a_school_admin_sees_only_its_schools_entries_and_others_are_refused(session, logged) -> None:
    head = Viewer(user_id=99, email="head@test.example", role="school_admin",
                  school_ids=frozenset({logged["schools"]["AS North"]}))
    seen = search_audit(session=session, viewer=head, query=parse_query())
    assert seen.total == 2 and {e.actor for e in seen.items} == {"as-north@test.example"}
    assert search_audit(session=session, viewer=head, query=parse_query(student=str(logged["south_student"]))).total == 0
    for role in ("staff", "teacher"):
        with pytest.raises(Forbidden):
            search_audit(session=session, viewer=Viewer(user_id=5, email="x@test.example", role=role), query=parse_query())
    nobody = Viewer(user_id=98, email="h2@test.example", role="school_admin")
    assert search_audit(session=session, viewer=nobody, query=parse_query()).total == 0


def test_the_export_holds_every_match_and_no_formula(session, logged) -> None:
    text_, n = export_audit_csv(session=session, viewer=ADMIN, query=parse_query(action=audit.EXPORT))
    rows = list(csv.DictReader(io.StringIO(text_.lstrip("\ufeff"))))
    assert n == len(rows) == 2
    assert all(not r["target"].startswith("=") and r["target"].endswith('HYPERLINK("x")') for r in rows)
