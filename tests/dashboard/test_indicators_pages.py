"""Indicators on the at-risk list over HTTP: the column's words, the filters ("any indicator", "model High without an
indicator", one indicator, a segment), the name link that keeps the list's address, and the profile's indicators."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import quote

import pytest
from sqlalchemy import text

pytest.importorskip("dash")

from dashboard import ids  # noqa: E402
from dashboard.components.risk import DEFAULT_SORT, PAGE_SIZE  # noqa: E402
from services.indicators import SHORT_LABELS  # noqa: E402
from tests.dashboard import test_risk_pages as pages  # noqa: E402

risk_school = pages.risk_school  # 200 generated students ingested through the ETL (indicators computed), scored
NONE_SHOWN = "–"


def rows_for(client, dash_post, ind: str, search: str = "", tier: str = "all") -> list[dict]:  # noqa: ANN001
    """Every row of the list with this indicator filter (all pages)."""
    out: list[dict] = []
    for page in range(0, 20):
        inputs = [(ids.FILTER_QUERY, "data", search), (ids.RISK_TIER, "value", tier),
                  (ids.RISK_TABLE, "page_current", page), (ids.RISK_TABLE, "sort_by", DEFAULT_SORT),
                  (ids.RISK_ROSE, "value", []), (ids.RISK_WORKFLOW, "value", "all"), (ids.RISK_INDICATOR, "value", ind)]
        r = dash_post(client, pages.TABLE_OUTPUTS, inputs, triggered=[f"{ids.RISK_TABLE}.page_current"])
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        data = r.get_json()["response"][ids.RISK_TABLE]["data"]
        if r.get_json()["response"][ids.RISK_TABLE]["page_current"] != page:
            break
        out += data
        if len(data) < PAGE_SIZE:
            break
    return out


def flags(database) -> dict[int, tuple[bool, bool, bool]]:  # noqa: ANN001
    """Each student's stored flags (absence, grades, study)."""
    with database.begin() as s:
        rows = s.execute(text("SELECT student_id, chronic_absence, course_performance, low_study FROM student_indicators"))
        return {int(r[0]): (r[1], r[2], r[3]) for r in rows}


def test_the_load_computed_indicators_for_every_student(risk_school, database) -> None:
    stored = flags(database)
    with database.begin() as s:
        assert len(stored) == s.execute(text("SELECT count(*) FROM student_summary")).scalar_one()
    assert any(any(f) for f in stored.values()) and any(not any(f) for f in stored.values())


def test_the_list_shows_indicator_words_and_filters_by_them(risk_school, database, users, client_for, dash_post) -> None:
    client = client_for("admin")
    every = rows_for(client, dash_post, "all")
    assert len(every) >= pages.N_STUDENTS
    stored = {i: f for i, f in flags(database).items() if i in {r["id"] for r in every}}  # the scored students
    for row in every:
        shown = [SHORT_LABELS[k] in row["indicators"] for k in ("absence", "grades", "study")]
        assert tuple(shown) == stored[row["id"]], row
        assert (row["indicators"] == NONE_SHOWN) == (not any(stored[row["id"]]))
    anyone = rows_for(client, dash_post, "any")
    assert {r["id"] for r in anyone} == {i for i, f in stored.items() if any(f)}
    absence = rows_for(client, dash_post, "absence")
    assert {r["id"] for r in absence} == {i for i, f in stored.items() if f[0]}
    high_none = rows_for(client, dash_post, "high-none")
    assert all("High" in r["tier"] and r["indicators"] == NONE_SHOWN for r in high_none)
    high_all = rows_for(client, dash_post, "all", tier="High")
    assert {r["id"] for r in high_none} == {r["id"] for r in high_all if not any(stored[r["id"]])}
    segment = rows_for(client, dash_post, "is-absence.grades")
    assert {r["id"] for r in segment} == {i for i, f in stored.items() if f == (True, True, False)}
    odd = rows_for(client, dash_post, "is-<script>")  # anything odd from the browser: no indicator filter
    assert len(odd) == len(every)


def test_a_teacher_filtering_by_indicator_stays_in_their_classes(risk_school, users, client_for, dash_post) -> None:
    mine = users["teacher"].class_ids[0]
    rows = rows_for(client_for("teacher"), dash_post, "any")
    assert rows and {r["class"] for r in rows} == {risk_school.names[mine]}


def test_the_name_link_keeps_the_filtered_list_to_come_back_to(risk_school, users, client_for, dash_post) -> None:
    rows = rows_for(client_for("admin"), dash_post, "any", search="?att=50", tier="High")
    back = quote("/at-risk?att=50&tier=High&ind=any", safe="")
    first = rows[:PAGE_SIZE]  # the first page (a later page's links add its page number)
    assert first and all(r["student"].endswith(f"(/students/{r['id']}?back={back})") for r in first)
    state = [(ids.FILTER_QUERY, "data", "?att=50"), (ids.RISK_TIER, "value", "High"),
             (ids.RISK_TABLE, "sort_by", DEFAULT_SORT), (ids.RISK_TABLE, "page_current", 0), (ids.RISK_ROSE, "value", []),
             (ids.RISK_WORKFLOW, "value", "all"), (ids.RISK_INDICATOR, "value", "any")]
    r = dash_post(client_for("admin"), f"{ids.RISK_NAV}.data",
                  [(ids.RISK_TABLE, "active_cell", {"row": 0, "column": 0, "row_id": rows[0]["id"]})], state=state)
    assert r.get_json()["response"][ids.RISK_NAV]["data"] == f"/students/{rows[0]['id']}?back={back}"


def test_the_list_page_reads_the_indicator_from_the_address(risk_school, users, client_for) -> None:
    body = client_for("admin").get("/at-risk?ind=is-absence.study").get_data(as_text=True)
    assert "Exactly: Chronic absence + Low study time" in body or "is-absence.study" in body


def test_the_profile_lists_the_indicators_with_their_values(risk_school, database, users, client_for, dash_post) -> None:
    stored = flags(database)
    student = next(i for i, f in stored.items() if f[0])
    body = pages.profile(client_for("admin"), dash_post, str(student))
    assert ids.STUDENT_INDICATORS in body and "Chronic absence" in body and "to date (below 90 %)" in body
    assert f"/students/{student}/profile.pdf" in body


def test_a_hostile_indicator_value_is_refused_with_a_sentence(users, client_for, dash_post) -> None:
    inputs = [(ids.FILTER_QUERY, "data", ""), (ids.RISK_TIER, "value", "all"), (ids.RISK_TABLE, "page_current", 0),
              (ids.RISK_TABLE, "sort_by", DEFAULT_SORT), (ids.RISK_ROSE, "value", []), (ids.RISK_WORKFLOW, "value", "all"), (ids.RISK_INDICATOR, "value", 5)]
    r = dash_post(client_for("admin"), pages.TABLE_OUTPUTS, inputs)
    assert r.status_code == 400 and "must be text" in json.dumps(r.get_json() or r.get_data(as_text=True))


def test_the_overview_segments_link_each_combination_to_its_list(risk_school, database, users, client_for,
                                                                 dash_post) -> None:
    key = [f"{ids.OVERVIEW_SEGMENTS}.children", f"{ids.OVERVIEW_REPORT}.href"]
    r = dash_post(client_for("admin"), key, [(ids.FILTER_QUERY, "data", "?grade=10&from=2025-09-01")])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    response = r.get_json()["response"]
    body = json.dumps(response[ids.OVERVIEW_SEGMENTS]["children"])
    assert response[ids.OVERVIEW_REPORT]["href"] == "/reports/school.pdf?grade=10&from=2025-09-01"
    assert "Students by indicators" in body and "Pass rate" in body and "100.0 %" not in body
    hrefs = set(re_hrefs(body))
    assert hrefs and all(h.startswith("/at-risk?grade=10&ind=is-") for h in hrefs)  # the week range is left out
    assert "/at-risk?grade=10&ind=is-none" in hrefs
    with database.begin() as s:
        n = s.execute(text("SELECT count(*) FROM student_summary WHERE grade_level = 10")).scalar_one()
    counts = [int(c.replace(",", "")) for c in re_counts(body)]
    assert sum(counts) == n


def re_hrefs(body: str) -> list[str]:
    """The link targets in a JSON-dumped layout."""
    return re.findall(r'"href": "([^"]+)"', body)


def re_counts(body: str) -> list[str]:
    """The student counts of the segment rows (the second cell of each row)."""
    return re.findall(r'"children": "([0-9,]+)(?: \(small group\))?", "className": "text-end"', body)


def test_the_export_follows_the_indicator_filter(risk_school, users, client_for, dash_post) -> None:
    r = dash_post(client_for("admin"), f"{ids.RISK_DOWNLOAD}.data", [(ids.RISK_DOWNLOAD_BUTTON, "n_clicks", 1)],
                  state=[(ids.FILTER_QUERY, "data", ""), (ids.RISK_TIER, "value", "all"),
                         (ids.RISK_TABLE, "sort_by", DEFAULT_SORT), (ids.RISK_WORKFLOW, "value", "all"), (ids.RISK_INDICATOR, "value", "absence")])
    data = r.get_json()["response"][ids.RISK_DOWNLOAD]["data"]
    assert re.fullmatch(r"at-risk_absence_\d{4}-\d\d-\d\d\.csv", data["filename"]), data["filename"]
    rows = list(csv.DictReader(io.StringIO(data["content"][1:])))
    assert rows and all("Chronic absence" in row["indicators"] for row in rows)
