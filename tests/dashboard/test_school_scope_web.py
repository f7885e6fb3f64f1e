"""Staff and school administrators of one school get nothing of another on any surface (issue 11, item 1).

Two generated schools are ingested through the ETL, a model trained and every student scored. A staff
member and a school administrator of North then ask every surface: the overview's numbers, the at-risk
list (also through hostile filters), its export, the profile and every API endpoint. Lists just leave
South out; a South student answers exactly as a student that does not exist.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import wipe  # noqa: E402
from test_risk_pages import download, profile, table  # noqa: E402
from webtools import login, make_client, make_user  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.components.empty import NO_MATCH  # noqa: E402
from db.database import Database  # noqa: E402
from etl.generate import write_school  # noqa: E402
from etl.pipeline import ingest_file  # noqa: E402
from ml.score import score_all  # noqa: E402
from ml.train import train_and_register  # noqa: E402

N_PER_SCHOOL = 120
PASSWORD = "a-long-enough-password"


@dataclass(frozen=True)
class TwoSchools:
    """School ids, students per school, scored students per school, and one scored student id of each school."""

    north: int
    south: int
    sizes: dict[int, int]
    scored: dict[int, int]
    one_of: dict[int, int]


@pytest.fixture(scope="module")
def two_schools(database: Database, settings, tmp_path_factory) -> Iterator[TwoSchools]:
    """North and South, 120 students each, scored by a model trained on both."""
    folder = tmp_path_factory.mktemp("two-schools")
    wipe(database)
    for seed, name in ((11, "North School"), (12, "South School")):
        report = ingest_file(database, write_school(folder / f"{seed}.csv", N_PER_SCHOOL, seed=seed, years=2), school=name, force=True)
        assert report.status == "succeeded", report.message
    ml_settings = settings.with_(home=folder)
    train_and_register(database, ml_settings, seed=0)
    score_all(database, ml_settings)
    with database.begin() as s:
        schools = dict(s.execute(text("SELECT name, id FROM schools")).tuples().all())
        sizes = dict(s.execute(text(  # the students on roll: last year's graduates are history, not today's figures
            "SELECT school_id, count(*) FROM student_summary WHERE school_year = (SELECT max(school_year) FROM classes) "
            "GROUP BY 1")).tuples().all())
        latest = "SELECT st.school_id, {} FROM predictions p JOIN students st ON st.id = p.student_id " \
                 "WHERE p.scoring_run_id = (SELECT max(id) FROM scoring_runs) GROUP BY 1"
        scored = dict(s.execute(text(latest.format("count(*)"))).tuples().all())
        one_of = dict(s.execute(text(latest.format("min(p.student_id)"))).tuples().all())
    yield TwoSchools(schools["North School"], schools["South School"], sizes, scored, one_of)
    wipe(database)


def _client(app, database: Database, role: str, school_ids: list[int]):
    user = make_user(database, f"scope-{role}-{'-'.join(map(str, school_ids)) or 'none'}@test.example", role, password=PASSWORD,
                     school_ids=school_ids)
    client = make_client(app)
    assert login(client, user.email, PASSWORD).status_code == 302
    return client


ROLES = ["staff", "school_admin"]


@pytest.mark.parametrize("role", ROLES)
def test_overview_numbers_cover_only_their_school(two_schools, app, database, dash_post, role) -> None:
    client = _client(app, database, role, [two_schools.north])
    out = dash_post(client, f"{ids.OVERVIEW_KPIS}.children", [(ids.FILTER_QUERY, "data", "")]).get_data(as_text=True)
    assert f'"children":"{two_schools.sizes[two_schools.north]:,}"' in out.replace(" ", "")
    hostile = dash_post(client, f"{ids.OVERVIEW_KPIS}.children", [(ids.FILTER_QUERY, "data", f"?school={two_schools.south}")])
    assert NO_MATCH in hostile.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_at_risk_list_and_export_leave_the_other_school_out(two_schools, app, database, dash_post, role) -> None:
    client = _client(app, database, role, [two_schools.north])
    north = two_schools.scored[two_schools.north]
    out = table(client, dash_post)
    assert f"of {north:,} students" in json.dumps(out[ids.RISK_STATUS]["children"])
    assert two_schools.one_of[two_schools.south] not in {row["id"] for row in out[ids.RISK_TABLE]["data"]}
    assert table(client, dash_post, search=f"?school={two_schools.south}")[ids.RISK_TABLE]["data"] == []
    rows = list(csv.DictReader(io.StringIO(download(client, dash_post)["content"])))
    assert len(rows) == north


@pytest.mark.parametrize("role", ROLES)
def test_a_student_of_the_other_school_is_a_missing_student(two_schools, app, database, dash_post, role) -> None:
    client = _client(app, database, role, [two_schools.north])
    hidden = profile(client, dash_post, str(two_schools.one_of[two_schools.south]))
    missing = profile(client, dash_post, "987654321")
    assert "No such student in your school." in hidden and hidden == missing
    assert "Why this score" in profile(client, dash_post, str(two_schools.one_of[two_schools.north]))
    for path in ("/api/v1/students/{}", "/api/v1/students/{}/explanation"):
        theirs = client.get(path.format(two_schools.one_of[two_schools.south]))
        nobody = client.get(path.format(987654321))
        assert theirs.status_code == nobody.status_code == 404 and theirs.get_json() == nobody.get_json()
        assert client.get(path.format(two_schools.one_of[two_schools.north])).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_every_api_list_excludes_the_other_school(two_schools, app, database, role) -> None:
    client = _client(app, database, role, [two_schools.north])
    north = two_schools.sizes[two_schools.north]
    risk = client.get("/api/v1/risk?limit=500").get_json()
    assert risk["total"] == two_schools.scored[two_schools.north] and {i["student_id"] for i in risk["items"]}.isdisjoint({two_schools.one_of[two_schools.south]})
    assert client.get(f"/api/v1/risk?school={two_schools.south}").get_json()["total"] == 0  # the reported hole
    students = client.get("/api/v1/students?per_page=200").get_json()
    assert students["total"] == north and {i["school_id"] for i in students["items"]} == {two_schools.north}


def test_staff_without_a_school_see_nothing_and_the_district_admin_sees_both(two_schools, app, database, dash_post) -> None:
    nobody = _client(app, database, "staff", [])
    assert nobody.get("/api/v1/risk").get_json()["total"] == 0
    assert nobody.get("/api/v1/students").get_json()["total"] == 0
    assert table(nobody, dash_post)[ids.RISK_TABLE]["data"] == []
    admin = _client(app, database, "admin", [])
    assert admin.get("/api/v1/risk").get_json()["total"] == sum(two_schools.scored.values())
    both = _client(app, database, "staff", [two_schools.north, two_schools.south])
    assert both.get("/api/v1/risk").get_json()["total"] == sum(two_schools.scored.values())
