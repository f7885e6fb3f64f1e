"""/admin/audit over HTTP: refused for teachers and staff, searched and paged for admins, exported and audited."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from test_pages_analytics import find, render  # noqa: E402

from dashboard import ids  # noqa: E402

PATH = "/admin/audit"
SEARCH_OUT = [f"{ids.AUDIT_TABLE}.data", f"{ids.AUDIT_TABLE}.page_count", f"{ids.AUDIT_STATUS}.children"]


def search(client, dash_post, user=None, action=None, student=None, start=None, end=None, page=0):
    inputs = [(ids.AUDIT_USER, "value", user), (ids.AUDIT_ACTION, "value", action), (ids.AUDIT_STUDENT, "value", student),
              (ids.AUDIT_DATES, "start_date", start), (ids.AUDIT_DATES, "end_date", end), (ids.AUDIT_TABLE, "page_current", page)]
    return dash_post(client, SEARCH_OUT, inputs)


def export(client, dash_post, user=None, action=None):
    state = [(ids.AUDIT_USER, "value", user), (ids.AUDIT_ACTION, "value", action), (ids.AUDIT_STUDENT, "value", None),
             (ids.AUDIT_DATES, "start_date", None), (ids.AUDIT_DATES, "end_date", None)]
    return dash_post(client, f"{ids.AUDIT_DOWNLOAD}.data", [(ids.AUDIT_EXPORT_BUTTON, "n_clicks", 1)], state=state)


@pytest.mark.parametrize("role", ["teacher", "staff"])
def test_teachers_and_staff_are_refused(users, client_for, dash_post, role) -> None:
    client = client_for(role)
    tree = render(client, dash_post, PATH)
    assert find(tree, ids.ADMIN_AUDIT_PAGE) is None and "Page not found" in json.dumps(tree)
    assert search(client, dash_post).status_code == 403
    assert search(client, dash_post, start="not a date").status_code == 403  # refused before anything is read
    assert export(client, dash_post).status_code == 403


def test_an_admin_searches_pages_and_exports(users, client_for, dash_post, database) -> None:
    admin = client_for("admin")
    client_for("teacher")  # one more login.success entry
    assert find(render(admin, dash_post, PATH), ids.ADMIN_AUDIT_PAGE) is not None
    r = search(admin, dash_post, user=users["teacher"].email, action="login.success")
    out = r.get_json()["response"]
    rows = out[ids.AUDIT_TABLE]["data"]
    teacher = users["teacher"].email  # "part of the email": cli.teacher@... matches as well
    assert r.status_code == 200 and teacher in {row["actor"] for row in rows} and all(teacher in row["actor"] for row in rows)
    assert "entries" in json.dumps(out[ids.AUDIT_STATUS]["children"])
    bad = search(admin, dash_post, start="2026-13-45").get_json()["response"]
    assert "is not a date" in json.dumps(bad[ids.AUDIT_STATUS]["children"])
    hostile = search(admin, dash_post, student="1 OR 1=1").get_json()["response"]
    assert "is not a student id" in json.dumps(hostile[ids.AUDIT_STATUS]["children"])
    with database.begin() as s:
        before = s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'export' AND target = 'audit log'")).scalar_one()
    data = export(admin, dash_post, action="login.success").get_json()["response"][ids.AUDIT_DOWNLOAD]["data"]
    lines = list(csv.DictReader(io.StringIO(data["content"].lstrip("\ufeff"))))
    assert lines and {line["action"] for line in lines} == {"login.success"} and data["filename"].endswith(".csv")
    with database.begin() as s:
        after = s.execute(text("SELECT count(*) FROM audit_log WHERE action = 'export' AND target = 'audit log'")).scalar_one()
    assert after == before + 1


def test_a_school_admin_reads_only_its_schools_entries(users, client_for, dash_post, database, app) -> None:
    from webtools import ensure_classes, login, make_client, make_user, school_of

    first, _ = ensure_classes(database, 2)
    head = make_user(database, "audit-head@test.example", "school_admin", school_ids=[school_of(database, first)])
    client_for("staff")  # staff of the same school: their login is about the head's school
    client_for("admin")  # the district administrator: not about any school
    client = make_client(app)
    assert login(client, head.email, head.password).status_code == 302
    assert find(render(client, dash_post, PATH), ids.ADMIN_AUDIT_PAGE) is not None
    rows = search(client, dash_post, action="login.success").get_json()["response"][ids.AUDIT_TABLE]["data"]
    actors = {row["actor"] for row in rows}
    assert users["staff"].email in actors and users["admin"].email not in actors


def test_the_banner_warns_exactly_when_the_data_or_scores_are_old(users, client_for, database) -> None:
    from dashboard.shell import FRESHNESS
    from services.freshness import data_freshness

    with database.begin() as s:
        expected = data_freshness(session=s, stale_after_days=14)
    banner = find(client_for("teacher").get("/_dash-layout").get_json(), FRESHNESS)
    assert banner is not None and banner["props"]["role"] == "status" and banner["props"]["children"] == expected.message
    assert ("alert-warning" in banner["props"]["className"]) == expected.stale
