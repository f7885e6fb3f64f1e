"""At-risk list and student profile: callbacks over HTTP per role, the CSV export, the risk API, the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import wipe  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.components.risk import DEFAULT_SORT, NO_MATCH_RISK, PAGE_SIZE, md_escape, tier_label  # noqa: E402
from db.database import Database  # noqa: E402
from etl.generate import write_school  # noqa: E402
from etl.pipeline import ingest_file  # noqa: E402
from ml.score import TIERS, score_all  # noqa: E402
from ml.train import train_and_register  # noqa: E402
from services import audit  # noqa: E402
from services.at_risk import NO_ACTIVE_MODEL, NOT_SCORED_YET  # noqa: E402
from services.csv_safety import neutralise  # noqa: E402
from services.profile import student_profile  # noqa: E402
from services.scope import Viewer  # noqa: E402
from studentperf.cli import app as cli  # noqa: E402

N_STUDENTS = 200
TABLE_OUTPUTS = [f"{ids.RISK_TABLE}.data", f"{ids.RISK_TABLE}.page_count", f"{ids.RISK_TABLE}.page_current",
                 f"{ids.RISK_STATUS}.children", f"{ids.RISK_EMPTY}.children", f"{ids.RISK_TABLE_AREA}.hidden",
                 f"{ids.RISK_DOWNLOAD_BUTTON}.disabled"]


@dataclass(frozen=True)
class RiskSchool:
    """The scored school: students per class id, class names, and the High tier's size."""

    sizes: dict[int, int]
    names: dict[int, str]
    high: int


@pytest.fixture(scope="module")
def risk_school(database: Database, settings, tmp_path_factory) -> Iterator[RiskSchool]:
    """200 generated students ingested through the ETL, a model trained and every student scored."""
    folder = tmp_path_factory.mktemp("risk-pages")
    wipe(database)
    report = ingest_file(database, write_school(folder / "school.csv", N_STUDENTS, seed=5, years=2), school="Risk School", force=True)
    assert report.status == "succeeded", report.message
    ml_settings = settings.with_(home=folder)
    train_and_register(database, ml_settings, seed=0)
    scored = score_all(database, ml_settings)
    with database.begin() as s:
        sizes = dict(s.execute(text("SELECT class_id, count(*) FROM student_summary GROUP BY class_id")).tuples().all())
        names = dict(s.execute(text("SELECT id, name FROM classes")).tuples().all())
    yield RiskSchool(sizes, names, scored.tiers["High"])
    wipe(database)


def student_in(database: Database, class_id: int) -> int:
    """The lowest student id of a class."""
    with database.begin() as s:
        return s.execute(text("SELECT min(student_id) FROM student_summary WHERE class_id = :c"), {"c": class_id}).scalar_one()


def table(client, dash_post, search: str = "", tier: str = "all", page: int = 0, sort=None, triggered=None,
          rose=None) -> dict:
    """The at-risk table callback's outputs, by component id."""
    inputs = [(ids.FILTER_QUERY, "data", search), (ids.RISK_TIER, "value", tier), (ids.RISK_TABLE, "page_current", page),
              (ids.RISK_TABLE, "sort_by", sort or DEFAULT_SORT), (ids.RISK_ROSE, "value", rose or []),
              (ids.RISK_WORKFLOW, "value", "all"),
     (ids.RISK_INDICATOR, "value", "all")]
    r = dash_post(client, TABLE_OUTPUTS, inputs, triggered=triggered)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["response"]


def profile(client, dash_post, raw: str) -> str:
    """The profile body for the raw id of the address, as JSON text."""
    r = dash_post(client, f"{ids.STUDENT_BODY}.children", [(ids.STUDENT_ID, "data", raw)])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return json.dumps(r.get_json()["response"][ids.STUDENT_BODY]["children"])


def shown_points(words: str) -> float:
    """The whole percentage a risk cell starts with ("62 %, likely 48-75 %" -> 62; "over 99 %" -> 99.5)."""
    first = words.split(",")[0]
    if first.startswith(("over ", "under ")):
        return float(first.split()[1]) + (0.5 if first.startswith("over") else -0.5)
    return float(first.rstrip(" %"))


def audit_rows(database: Database, action: str, user_id: int) -> list[tuple[str, dict]]:
    """(target, details) of the audit entries of one action by one user, oldest first."""
    with database.begin() as s:
        rows = s.execute(text("SELECT target, details FROM audit_log WHERE action = :a AND user_id = :u ORDER BY id"),
                         {"a": action, "u": user_id}).all()
    return [(r[0], r[1]) for r in rows]


# --------------------------------------------------------------------------- the list


def test_admin_sees_every_scored_student_and_a_teacher_only_their_class(risk_school, users, client_for, dash_post) -> None:
    admin = table(client_for("admin"), dash_post)
    assert admin[ids.RISK_TABLE]["page_count"] == -(-N_STUDENTS // PAGE_SIZE)
    assert len(admin[ids.RISK_TABLE]["data"]) == PAGE_SIZE and admin[ids.RISK_TABLE_AREA]["hidden"] is False
    assert f"of {N_STUDENTS:,} students" in json.dumps(admin[ids.RISK_STATUS]["children"])
    risks = [shown_points(row["probability"]) for row in admin[ids.RISK_TABLE]["data"]]
    assert risks == sorted(risks, reverse=True)

    mine = users["teacher"].class_ids[0]
    teacher = table(client_for("teacher"), dash_post)
    rows = teacher[ids.RISK_TABLE]["data"]
    assert 0 < len(rows) <= risk_school.sizes[mine] < N_STUDENTS
    assert {row["class"] for row in rows} == {risk_school.names[mine]}
    assert f"of {risk_school.sizes[mine]:,} students" in json.dumps(teacher[ids.RISK_STATUS]["children"])
    assert all(row["student"].endswith(f"(/students/{row['id']}?back=%2Fat-risk)") for row in rows)  # keeps the list


def test_a_teacher_gets_nothing_of_another_class_through_the_filters(risk_school, users, client_for, dash_post) -> None:
    other = users["teacher2"].class_ids[0]
    out = table(client_for("teacher"), dash_post, search=f"?class={other}")
    assert out[ids.RISK_TABLE]["data"] == [] and out[ids.RISK_TABLE_AREA]["hidden"] is True
    assert NO_MATCH_RISK in json.dumps(out[ids.RISK_EMPTY]["children"])
    assert out[ids.RISK_DOWNLOAD_BUTTON]["disabled"] is True


def test_tier_filter_paging_and_sorting_happen_on_the_server(risk_school, users, client_for, dash_post) -> None:
    client = client_for("staff")
    high = table(client, dash_post, tier="High")
    assert {row["tier"] for row in high[ids.RISK_TABLE]["data"]} == {"▲ High"}
    assert f"of {risk_school.high:,} students" in json.dumps(high[ids.RISK_STATUS]["children"])
    first = table(client, dash_post)[ids.RISK_TABLE]["data"]
    second = table(client, dash_post, page=1, triggered=[f"{ids.RISK_TABLE}.page_current"])
    assert second[ids.RISK_TABLE]["page_current"] == 1
    assert not {r["id"] for r in first} & {r["id"] for r in second[ids.RISK_TABLE]["data"]}
    # A new tier starts again at the first page; a page past the end shows the last one.
    assert table(client, dash_post, tier="Low", page=3)[ids.RISK_TABLE]["page_current"] == 0
    last = table(client, dash_post, page=999, triggered=[f"{ids.RISK_TABLE}.page_current"])
    assert last[ids.RISK_TABLE]["page_current"] == -(-N_STUDENTS // PAGE_SIZE) - 1
    by_attendance = table(client, dash_post, sort=[{"column_id": "attendance", "direction": "asc"}],
                          triggered=[f"{ids.RISK_TABLE}.sort_by"])[ids.RISK_TABLE]["data"]
    values = [float(r["attendance"].rstrip(" %")) for r in by_attendance]
    assert values == sorted(values) and values[0] < values[-1]
    # Whatever the browser sends (an unknown tier, a bogus sort), the server answers with the defaults.
    odd = table(client, dash_post, tier="Severe", sort=[{"column_id": "; DROP", "direction": "sideways"}])
    assert len(odd[ids.RISK_TABLE]["data"]) == PAGE_SIZE


def test_clicking_a_row_opens_the_profile(risk_school, users, client_for, dash_post) -> None:
    client = client_for("admin")
    state = [(ids.FILTER_QUERY, "data", ""), (ids.RISK_TIER, "value", "all"), (ids.RISK_TABLE, "sort_by", DEFAULT_SORT),
             (ids.RISK_TABLE, "page_current", 0), (ids.RISK_ROSE, "value", []), (ids.RISK_WORKFLOW, "value", "all"),
     (ids.RISK_INDICATOR, "value", "all")]
    r = dash_post(client, f"{ids.RISK_NAV}.data", [(ids.RISK_TABLE, "active_cell", {"row": 0, "column": 4, "row_id": 17})],
                  state=state)
    assert r.get_json()["response"][ids.RISK_NAV]["data"] == "/students/17?back=%2Fat-risk"
    for bad in ({"row": 0, "column": 0, "row_id": "../admin"}, None, {"row": 1}):
        assert dash_post(client, f"{ids.RISK_NAV}.data", [(ids.RISK_TABLE, "active_cell", bad)], state=state).status_code == 204


def test_no_active_model_shows_the_empty_state(risk_school, database, users, client_for, dash_post) -> None:
    mine = users["teacher"].class_ids[0]
    with database.begin() as s:
        s.execute(text("UPDATE model_versions SET is_active = false"))
    try:
        out = table(client_for("admin"), dash_post)
        assert NO_ACTIVE_MODEL in json.dumps(out[ids.RISK_EMPTY]["children"]) and out[ids.RISK_TABLE_AREA]["hidden"] is True
        body = profile(client_for("teacher"), dash_post, str(student_in(database, mine)))
        assert NO_ACTIVE_MODEL in body and ids.STUDENT_HISTORY_GRAPH in body  # the weeks still show
        api = client_for("admin").get("/api/v1/risk")
        assert api.status_code == 503 and api.get_json()["error"] == NO_ACTIVE_MODEL
    finally:
        with database.begin() as s:
            s.execute(text("UPDATE model_versions SET is_active = true WHERE id = (SELECT max(id) FROM model_versions)"))


# --------------------------------------------------------------------------- the CSV export


def download(client, dash_post, search: str = "", tier: str = "all") -> dict:
    """The export callback's dcc.Download data."""
    r = dash_post(client, f"{ids.RISK_DOWNLOAD}.data", [(ids.RISK_DOWNLOAD_BUTTON, "n_clicks", 1)],
                  state=[(ids.FILTER_QUERY, "data", search), (ids.RISK_TIER, "value", tier), (ids.RISK_TABLE, "sort_by", DEFAULT_SORT),
                         (ids.RISK_WORKFLOW, "value", "all"), (ids.RISK_INDICATOR, "value", "all")])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    data = r.get_json()["response"][ids.RISK_DOWNLOAD]["data"]
    assert data["content"].startswith("\ufeff")  # UTF-8 with a byte-order mark, read here as a spreadsheet would
    return {**data, "content": data["content"][1:]}


def test_csv_export_has_every_matching_row_of_the_scope_and_is_audited(risk_school, database, users, client_for, dash_post) -> None:
    teacher = users["teacher"]
    mine = teacher.class_ids[0]
    before = len(audit_rows(database, audit.EXPORT, teacher.user_id))
    data = download(client_for("teacher"), dash_post)
    rows = list(csv.DictReader(io.StringIO(data["content"])))
    assert data["filename"].endswith(".csv") and len(rows) == risk_school.sizes[mine] > PAGE_SIZE / 2
    assert {r["class"] for r in rows} == {risk_school.names[mine]}
    entries = audit_rows(database, audit.EXPORT, teacher.user_id)
    assert len(entries) == before + 1
    target, details = entries[-1]
    assert target == "at-risk list" and details["rows"] == len(rows) and details["format"] == "csv"

    admin = users["admin"]
    high = list(csv.DictReader(io.StringIO(download(client_for("admin"), dash_post, tier="High")["content"])))
    assert len(high) == risk_school.high and {r["tier"] for r in high} == {"High"}
    assert audit_rows(database, audit.EXPORT, admin.user_id)[-1][1]["tier"] == "High"
    everyone = list(csv.DictReader(io.StringIO(download(client_for("staff"), dash_post)["content"])))
    assert len(everyone) == N_STUDENTS > PAGE_SIZE  # all rows, not just the page shown


def test_csv_cells_never_start_a_formula(risk_school, database, users, client_for, dash_post) -> None:
    mine = users["teacher"].class_ids[0]
    student = student_in(database, mine)
    with database.begin() as s:
        old = s.execute(text("SELECT name FROM students WHERE id = :i"), {"i": student}).scalar_one()
        s.execute(text("UPDATE students SET name = '=HYPERLINK(\"http://x\")' WHERE id = :i"), {"i": student})
    try:
        rows = list(csv.DictReader(io.StringIO(download(client_for("teacher"), dash_post)["content"])))
        names = {r["student_id"]: r["name"] for r in rows}
        assert names[str(student)] == "'=HYPERLINK(\"http://x\")"
    finally:
        with database.begin() as s:
            s.execute(text("UPDATE students SET name = :n WHERE id = :i"), {"n": old, "i": student})
    assert neutralise("-1") == "'-1" and neutralise(-1) == -1 and neutralise("Ada") == "Ada"


def test_student_names_cannot_inject_markdown() -> None:
    label = md_escape("Eve](javascript:alert(1)) [x")
    assert "](" not in label.replace("\\]\\(", "") and label.startswith("Eve\\]\\(")


# --------------------------------------------------------------------------- the profile


def test_profile_shows_risk_reasons_and_weeks_and_is_audited(risk_school, database, users, client_for, dash_post) -> None:
    admin = users["admin"]
    other = users["teacher2"].class_ids[0]
    student = student_in(database, other)
    before = len(audit_rows(database, audit.STUDENT_VIEW, admin.user_id))
    body = profile(client_for("admin"), dash_post, str(student))
    for piece in ("Current risk", "Why this score", "class median", ids.STUDENT_EXPLANATION_GRAPH, ids.STUDENT_HISTORY_GRAPH):
        assert piece in body, piece
    assert "raises risk" in body or "lowers risk" in body
    entries = audit_rows(database, audit.STUDENT_VIEW, admin.user_id)
    assert len(entries) == before + 1 and entries[-1] == (str(student), {"page": "profile", "found": True})


def test_a_teacher_sees_the_same_sentence_for_another_class_and_a_missing_student(risk_school, database, users, client_for, dash_post) -> None:
    teacher = users["teacher"]
    client = client_for("teacher")
    outsider = student_in(database, users["teacher2"].class_ids[0])
    hidden = profile(client, dash_post, str(outsider))
    missing = profile(client, dash_post, "987654321")
    assert "No such student in your classes." in hidden and hidden == missing
    assert "Why this score" not in hidden and ids.STUDENT_HISTORY_GRAPH not in hidden
    own = profile(client, dash_post, str(student_in(database, teacher.class_ids[0])))
    assert "Why this score" in own
    assert audit_rows(database, audit.STUDENT_VIEW, teacher.user_id)[-3][1]["found"] is False


def test_a_profile_is_computed_once_per_scope_and_data_version_and_every_view_audited(
        risk_school, app, database, users, client_for, dash_post, monkeypatch) -> None:
    import functools
    import inspect

    from dashboard.app import DASH_KEY
    from dashboard.cache import cache

    calls: list[int] = []

    @functools.wraps(student_profile)
    def counted(**kwargs):  # noqa: ANN003, ANN202
        calls.append(kwargs["student_id"])
        return student_profile(**kwargs)

    # The page module is loaded by Dash Pages under its own name, and again by each app a test session builds: patch
    # the globals of the callbacks this app really runs (unwrapped from Dash's decorators), not a module by name.
    dash = app.extensions[DASH_KEY]
    found = {}
    for spec in dash.callback_map.values():
        module_globals = getattr(inspect.unwrap(spec.get("callback", len)), "__globals__", {})  # clientside: none
        if module_globals.get("student_profile") is student_profile:
            found[id(module_globals)] = module_globals
    assert found
    for module_globals in found.values():
        monkeypatch.setitem(module_globals, "student_profile", counted)
    with app.app_context():
        cache.clear()
    admin, outsider = users["admin"], student_in(database, users["teacher2"].class_ids[0])
    before = len(audit_rows(database, audit.STUDENT_VIEW, admin.user_id))
    first = profile(client_for("admin"), dash_post, str(outsider))
    assert profile(client_for("admin"), dash_post, str(outsider)) == first and calls == [outsider]
    assert len(audit_rows(database, audit.STUDENT_VIEW, admin.user_id)) == before + 2
    hidden = profile(client_for("teacher"), dash_post, str(outsider))  # another scope: asked again, and refused
    assert "No such student in your classes." in hidden and calls == [outsider, outsider]
    with database.begin() as s:  # a load changes the data version: computed afresh
        s.execute(text("INSERT INTO ingestion_runs (file_name, sha256, status) VALUES ('v.csv', 'x', 'succeeded')"))
    assert "Why this score" in profile(client_for("admin"), dash_post, str(outsider)) and len(calls) == 3


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", "0", "12 OR 1=1", "99999999999999999999999", "٣", ""])
def test_bad_ids_give_a_clear_message(risk_school, users, client_for, dash_post, raw) -> None:
    body = profile(client_for("admin"), dash_post, raw)
    assert "is not a student id" in body and "Student not found" in body


def test_profile_addresses_render_for_any_id(risk_school, users, client_for) -> None:
    client = client_for("teacher")
    for path in ("/students/abc", "/students/1", "/students/%3Cscript%3E", "/at-risk?tier=High&grade=nine"):
        r = client.get(path)
        assert r.status_code == 200 and b"<script>alert" not in r.data


def test_weekly_history_matches_the_events(risk_school, database, users) -> None:
    admin = Viewer(users["admin"].user_id, users["admin"].email, "admin")
    student = student_in(database, users["teacher"].class_ids[0])
    with database.begin() as s:
        history = student_profile(session=s, viewer=admin, student_id=student, explain=False).history
        weeks = s.execute(text("SELECT count(DISTINCT date_trunc('week', date)) FROM attendance WHERE student_id = :i"),
                          {"i": student}).scalar_one()
        first = s.execute(text("SELECT avg(rate) FROM attendance WHERE student_id = :i GROUP BY date_trunc('week', date) "
                               "ORDER BY date_trunc('week', date) LIMIT 1"), {"i": student}).scalar_one()
    assert len(history) == weeks > 10
    assert history["attendance"].iloc[0] == pytest.approx(first)
    assert history["class_attendance"].notna().all() and history["class_score"].between(0, 100).all()


# --------------------------------------------------------------------------- the REST API


# --------------------------------------------------------------------------- risk in words, kept over time

RISK_CELL = re.compile(r"^(\d{1,2} %|over 99 %|under 1 %)(, likely (\d{1,2}-\d{1,2} %|under \d{1,2} %|over \d{1,2} %|"
                       r"anywhere from under 1 % to over 99 %))?$")


def test_no_hundred_or_zero_percent_anywhere_in_the_at_risk_list(risk_school, users, client_for, dash_post) -> None:
    client = client_for("admin")
    cells, texts = [], []
    for page in range(-(-N_STUDENTS // PAGE_SIZE)):
        out = table(client, dash_post, page=page, triggered=[f"{ids.RISK_TABLE}.page_current"])
        cells += [row["probability"] for row in out[ids.RISK_TABLE]["data"]]
        texts.append(json.dumps(out))
    assert len(cells) == N_STUDENTS
    assert all(RISK_CELL.match(c) for c in cells), [c for c in cells if not RISK_CELL.match(c)][:5]
    assert sum(", likely " in c for c in cells) > N_STUDENTS / 2  # the interval is shown in words
    for text_ in texts:
        for bad in ("100.0 %", " 0.0 %", "\"0.0 %"):  # (attendance may be 100 %: RISK_CELL checks the risk cells)
            assert bad not in text_, bad
    api = client.get("/api/v1/risk?limit=500").get_json()
    assert api["method"] == "interval" and 0 < api["threshold"] < 1
    for item in api["items"]:
        assert item["low"] <= item["probability"] <= item["high"] and RISK_CELL.match(item["risk"])


def test_a_second_run_shows_the_change_and_who_rose(risk_school, database, settings, users, client_for, dash_post) -> None:
    with database.begin() as s:
        as_of = s.execute(text("SELECT max(as_of) FROM predictions")).scalar_one()
    score_all(database, settings, as_of - dt.timedelta(days=35))
    score_all(database, settings)  # the latest date again: later tests see the usual scores
    with database.begin() as s:
        latest, previous = s.execute(text("SELECT id FROM scoring_runs ORDER BY id DESC LIMIT 2")).scalars().all()
        rose = set(s.execute(text(
            "SELECT p.student_id FROM predictions p JOIN predictions q ON q.student_id = p.student_id "
            "AND q.scoring_run_id = :prev WHERE p.scoring_run_id = :run AND p.probability - q.probability >= 0.005"),
            {"run": latest, "prev": previous}).scalars().all())
    assert 0 < len(rose) < N_STUDENTS
    client = client_for("admin")
    rows = table(client, dash_post)[ids.RISK_TABLE]["data"]
    assert all(re.match(r"^(new|no change|▲ \d+ pts|▼ \d+ pts)$", r["change"]) for r in rows)
    assert any(r["change"] != "no change" for r in rows)
    out = table(client, dash_post, rose=["rose"])
    assert f"of {len(rose):,} students" in json.dumps(out[ids.RISK_STATUS]["children"])
    assert all(r["change"].startswith(("▲", "new")) for r in out[ids.RISK_TABLE]["data"])
    api = client.get("/api/v1/risk?rose=1&limit=500").get_json()
    assert api["total"] == len(rose) and {i["student_id"] for i in api["items"]} == rose
    assert api["previous_run_id"] == previous

    student = next(iter(sorted(rose)))
    body = profile(client, dash_post, str(student))
    for piece in ("Risk over time", ids.STUDENT_RISK_HISTORY_GRAPH, "Likely range", "Latest: "):
        assert piece in body, piece
    assert "First flagged High on " in body or "Never flagged High in " in body
    assert re.search(r"\d+ %, likely ", body) or "likely under" in body or "likely over" in body


def test_risk_api_is_scoped_paged_and_validated(risk_school, users, client_for) -> None:
    admin = client_for("admin").get("/api/v1/risk?limit=10&offset=5")
    body = admin.get_json()
    assert admin.status_code == 200 and body["total"] == N_STUDENTS and len(body["items"]) == 10
    assert sum(body["tier_counts"].values()) == N_STUDENTS
    mine = users["teacher"].class_ids[0]
    teacher = client_for("teacher")
    own = teacher.get("/api/v1/risk?limit=500").get_json()
    assert own["total"] == risk_school.sizes[mine] and {i["class_id"] for i in own["items"]} == {mine}
    other = users["teacher2"].class_ids[0]
    assert teacher.get(f"/api/v1/risk?class={other}").get_json()["total"] == 0
    high = teacher.get("/api/v1/risk?tier=High&sort=attendance&order=asc").get_json()
    assert all(i["tier"] == "High" for i in high["items"])
    for query in ("tier=Severe", "limit=100000", "offset=-1", "sort=password", "order=up", "grade=nine", "limit=ten", "limit=0",
                  "rose=maybe"):
        r = teacher.get(f"/api/v1/risk?{query}")
        assert r.status_code == 400 and r.get_json()["error"], query


def test_explanation_api_is_404_outside_the_scope_and_audited(risk_school, database, users, client_for) -> None:
    teacher = users["teacher"]
    client = client_for("teacher")
    outsider = student_in(database, users["teacher2"].class_ids[0])
    hidden, missing = client.get(f"/api/v1/students/{outsider}/explanation"), client.get("/api/v1/students/987654321/explanation")
    assert hidden.status_code == missing.status_code == 404 and hidden.get_json() == missing.get_json()
    assert client.get("/api/v1/students/99999999999999999999999/explanation").status_code == 404
    own = student_in(database, teacher.class_ids[0])
    before = len(audit_rows(database, audit.STUDENT_VIEW, teacher.user_id))
    r = client.get(f"/api/v1/students/{own}/explanation")
    body = r.get_json()
    assert r.status_code == 200 and body["student_id"] == own and body["tier"] in ("High", "Moderate", "Low")
    assert abs(sum(body["contributions"].values()) + body["base_value"] - body["margin"]) < 1e-6
    assert all("class median" in x["text"] or x["class_median"] is None for x in body["reasons"])
    assert len(audit_rows(database, audit.STUDENT_VIEW, teacher.user_id)) == before + 1


def test_anonymous_requests_get_nothing(risk_school, anon_client, dash_post) -> None:
    assert anon_client.get("/api/v1/risk").status_code == 401
    assert anon_client.get("/api/v1/students/1/explanation").status_code == 401
    assert dash_post(anon_client, f"{ids.STUDENT_BODY}.children", [(ids.STUDENT_ID, "data", "1")]).status_code == 401


# --------------------------------------------------------------------------- one active model, one stored tier


def stored_tiers(database: Database) -> tuple[dict[int, tuple[float, str]], tuple[float, float]]:
    """(probability, tier) of every prediction of the active model's latest run, and that run's (high, low)."""
    with database.begin() as s:
        run = s.execute(text("SELECT r.id, r.high, r.low FROM scoring_runs r JOIN model_versions m ON m.id = "
                             "r.model_version_id AND m.is_active ORDER BY r.id DESC LIMIT 1")).one()
        rows = s.execute(text("SELECT student_id, probability, tier FROM predictions WHERE scoring_run_id = :r"),
                         {"r": run.id}).all()
    return {r.student_id: (r.probability, r.tier) for r in rows}, (run.high, run.low)


@pytest.fixture()
def custom_cutoffs(risk_school, database, settings) -> Iterator[float]:
    """The school rescored by `studentperf score --high 0.9 --low 0.1`; rescored with the defaults afterwards.

    Yields the model's threshold (the default High cut-off)."""
    env = {"DATABASE_URL": settings.database_url, "STUDENTPERF_HOME": str(settings.home), "LOG_LEVEL": "WARNING"}
    result = CliRunner().invoke(cli, ["score", "--high", "0.9", "--low", "0.1"], env=env)
    assert result.exit_code == 0, result.output
    with database.begin() as s:
        threshold = s.execute(text("SELECT threshold FROM model_versions WHERE is_active")).scalar_one()
    try:
        yield threshold
    finally:
        score_all(database, settings)


def test_every_surface_shows_the_stored_tier_of_custom_cutoffs(custom_cutoffs, database, users, client_for, dash_post) -> None:
    stored, cutoffs = stored_tiers(database)
    assert cutoffs == (0.9, 0.1) and len(stored) == N_STUDENTS
    assert all(tier == ("High" if p >= 0.9 else "Moderate" if p >= 0.1 else "Low") for p, tier in stored.values())
    # Students whose tier by the default cut-offs (High from the threshold, Low below half of it) differs.
    threshold = custom_cutoffs
    moved = [i for i, (p, _) in stored.items() if threshold <= p < 0.9 or 0.1 <= p < threshold / 2]
    assert moved, "no student whose tier the custom cut-offs change"
    client = client_for("admin")

    api = client.get("/api/v1/risk?limit=500").get_json()
    assert {i["student_id"]: i["tier"] for i in api["items"]} == {i: t for i, (_, t) in stored.items()}
    assert api["cutoffs"] == {"high": 0.9, "low": 0.1}
    assert api["tier_counts"] == {t: sum(1 for _, x in stored.values() if x == t) for t in TIERS}
    shown = {}
    for page in range(-(-N_STUDENTS // PAGE_SIZE)):
        out = table(client, dash_post, page=page, triggered=[f"{ids.RISK_TABLE}.page_current"])
        shown |= {row["id"]: row["tier"] for row in out[ids.RISK_TABLE]["data"]}
    assert shown == {i: tier_label(t) for i, (_, t) in stored.items()}
    assert "High at or above 90.0 %, Low below 10.0 %" in json.dumps(out[ids.RISK_STATUS]["children"])
    exported = list(csv.DictReader(io.StringIO(download(client, dash_post)["content"])))
    assert {int(r["student_id"]): r["tier"] for r in exported} == {i: t for i, (_, t) in stored.items()}

    for student in moved[:3]:
        probability, tier = stored[student]
        explanation = client.get(f"/api/v1/students/{student}/explanation").get_json()
        assert explanation["tier"] == tier and explanation["probability"] == probability
        body = profile(client, dash_post, str(student))
        badges = {t: json.dumps(tier_label(t))[1:-1] for t in TIERS}  # as the JSON text of the body spells them
        assert badges[tier] in body and all(badges[t] not in body for t in TIERS if t != tier)


def test_between_train_and_score_every_surface_says_the_same(risk_school, database, users, client_for, dash_post) -> None:
    """A newly activated model that has scored no one: no surface shows the old scores or a live one."""
    with database.begin() as s:
        old = s.execute(text("SELECT id FROM model_versions WHERE is_active")).scalar_one()
        s.execute(text("UPDATE model_versions SET is_active = false"))
        s.execute(text(
            "INSERT INTO model_versions (version, model_type, as_of, data_hash, code_version, params, metrics, features, "
            "threshold, artifact_path, is_active) SELECT version || '-unscored', model_type, as_of, data_hash, code_version, "
            "params, metrics, features, threshold, artifact_path, true FROM model_versions WHERE id = :old"), {"old": old})
    mine = users["teacher"].class_ids[0]
    student = student_in(database, mine)
    try:
        for role in ("admin", "teacher"):
            client = client_for(role)
            kpis = dash_post(client, f"{ids.OVERVIEW_KPIS}.children", [(ids.FILTER_QUERY, "data", "")])
            assert NOT_SCORED_YET in json.dumps(kpis.get_json()["response"]), role
            out = table(client, dash_post)
            assert NOT_SCORED_YET in json.dumps(out[ids.RISK_EMPTY]["children"]) and out[ids.RISK_TABLE]["data"] == []
            api = client.get("/api/v1/risk")
            assert api.status_code == 503 and api.get_json()["error"] == NOT_SCORED_YET
            body = profile(client, dash_post, str(student))
            assert NOT_SCORED_YET in body and ids.STUDENT_HISTORY_GRAPH in body and "Why this score" in body
            explanation = client.get(f"/api/v1/students/{student}/explanation")
            assert explanation.status_code == 503 and explanation.get_json()["error"] == NOT_SCORED_YET
    finally:
        with database.begin() as s:
            s.execute(text("DELETE FROM model_versions WHERE is_active"))
            s.execute(text("UPDATE model_versions SET is_active = true WHERE id = :old"), {"old": old})
