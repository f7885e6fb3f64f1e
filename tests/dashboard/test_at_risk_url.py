"""The at-risk list's URL (filters, tier, order and page; one writer), the profile's way back, and the export
as spreadsheets open it (byte-order mark, whole-percent attendance, ids kept as text, a telling file name)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sys
from types import ModuleType

import pytest

pytest.importorskip("dash")

from dashboard import ids  # noqa: E402
from dashboard.components.list_url import back_href  # noqa: E402
from dashboard.components.risk import DEFAULT_SORT  # noqa: E402
from services.scope import Filters  # noqa: E402
from tests.dashboard import test_risk_pages as pages  # noqa: E402

risk_school = pages.risk_school  # the module's fixture: 200 students scored


@pytest.fixture()
def page(dash_app) -> ModuleType:  # noqa: ANN001
    """The at-risk page module as the app loaded it (a page registers itself once, after the app exists)."""
    return next(m for m in list(sys.modules.values())
                if (getattr(m, "__file__", None) or "").endswith("dashboard/pages/at_risk.py"))


def test_list_search_puts_tier_order_and_page_after_the_filters(page) -> None:  # noqa: ANN001
    list_search = page.list_search
    by_attendance = [{"column_id": "attendance", "direction": "asc"}]
    assert list_search(Filters(grade_level=10), "High", by_attendance, 2) == "?grade=10&tier=High&sort=attendance&dir=asc&page=3"
    assert list_search(Filters(), None, DEFAULT_SORT, 0) == ""  # the defaults are left out
    assert list_search(Filters(), None, [{"column_id": "; DROP", "direction": "up"}], "7") == ""  # nothing odd gets in
    assert list_search(Filters(min_attendance=0.5), None, DEFAULT_SORT, -4) == "?att=50"


def test_the_url_is_read_back_with_defaults_for_anything_odd(page) -> None:  # noqa: ANN001
    read_url_sort, read_url_page = page.read_url_sort, page.read_url_page
    assert read_url_sort("attendance", "asc") == [{"column_id": "attendance", "direction": "asc"}]
    assert read_url_sort("tier", "sideways") == [{"column_id": "tier", "direction": "desc"}]
    assert read_url_sort("<script>", "asc") == DEFAULT_SORT
    assert [read_url_page(v) for v in ("3", "1", "0", "-2", "x", None, "99999999999")] == [2, 0, 0, 0, 0, 0, 10**6 - 1]


@pytest.mark.parametrize(("raw", "expected"), [
    ("/at-risk?grade=10&tier=High&page=3", "/at-risk?grade=10&tier=High&page=3"),
    ("/at-risk", "/at-risk"),
    (None, "/at-risk"),
    ("https://evil.example/at-risk?tier=High", "/at-risk"),
    ("//evil.example/at-risk", "/at-risk"),
    ("/admin?tier=High", "/at-risk"),
    ("javascript:alert(1)", "/at-risk"),
    ("/at-risk?tier=High&next=/x&grade=<b>", "/at-risk?tier=High"),  # unknown keys and odd values are dropped
    ("/at-risk?ind=is-absence.study&page=2", "/at-risk?ind=is-absence.study&page=2"),
])
def test_back_goes_only_to_the_at_risk_list(raw, expected) -> None:  # noqa: ANN001
    assert back_href(raw) == expected


def test_export_name_names_the_filters_the_tier_and_the_scoring_date(page) -> None:  # noqa: ANN001
    name = page.export_name(Filters(school_id=3, grade_level=10), "High", dt.date(2026, 3, 2))
    assert name == "at-risk_school-3_grade-10_High_2026-03-02.csv"
    assert page.export_name(Filters(study_band="3-6"), None, dt.date(2026, 3, 2)) == "at-risk_study-3-6_2026-03-02.csv"


def _sync_key(dash_app) -> str:  # noqa: ANN001
    return next(k for k in dash_app.callback_map if k.startswith(f"{ids.FILTER_URL}.search@"))


def test_the_list_writes_its_state_to_the_one_url_component(users, client_for, dash_post, dash_app) -> None:
    client, key = client_for("teacher"), _sync_key(dash_app)

    def sync(query: str, tier, sort, page, current: str = "", rose=None, ind="all") -> object:  # noqa: ANN001
        inputs = [(ids.FILTER_QUERY, "data", query), (ids.RISK_TIER, "value", tier), (ids.RISK_TABLE, "sort_by", sort),
                  (ids.RISK_TABLE, "page_current", page), (ids.RISK_ROSE, "value", rose or []),
                  (ids.RISK_WORKFLOW, "value", "all"),
     (ids.RISK_INDICATOR, "value", ind)]
        return dash_post(client, key, inputs, state=[(ids.FILTER_URL, "search", current)])

    r = sync("?att=80", "High", DEFAULT_SORT, 1)
    assert r.status_code == 200 and r.get_json()["response"][ids.FILTER_URL]["search"] == "?att=80&tier=High&page=2"
    odd = sync("?att=80&grade=<x>", "Severe", [{"column_id": "; DROP"}], 0)
    assert odd.status_code == 200, odd.status_code
    assert odd.get_json()["response"][ids.FILTER_URL]["search"] == "?att=80"  # validated again on the server
    assert sync("?att=80", None, DEFAULT_SORT, 0, rose=["rose"]).get_json()["response"][ids.FILTER_URL]["search"] == "?att=80&rose=1"
    with_ind = sync("?att=80", "High", DEFAULT_SORT, 0, ind="is-absence.study").get_json()["response"]
    assert with_ind[ids.FILTER_URL]["search"] == "?att=80&tier=High&ind=is-absence.study"
    assert sync("?att=80", None, DEFAULT_SORT, 0, ind="is-<x>").get_json()["response"][ids.FILTER_URL]["search"] == "?att=80"
    same = sync("?att=80", None, DEFAULT_SORT, 0, current="?att=80")  # already there: no write (no extra history entry)
    assert same.status_code == 204 or ids.FILTER_URL not in same.get_json().get("response", {}), same.get_data(as_text=True)


def test_the_export_opens_right_in_a_spreadsheet(risk_school, users, client_for, dash_post) -> None:
    r = dash_post(client_for("admin"), f"{ids.RISK_DOWNLOAD}.data", [(ids.RISK_DOWNLOAD_BUTTON, "n_clicks", 1)],
                  state=[(ids.FILTER_QUERY, "data", "?att=50"), (ids.RISK_TIER, "value", "High"),
                         (ids.RISK_TABLE, "sort_by", DEFAULT_SORT), (ids.RISK_WORKFLOW, "value", "all"), (ids.RISK_INDICATOR, "value", "all")])
    data = r.get_json()["response"][ids.RISK_DOWNLOAD]["data"]
    assert re.fullmatch(r"at-risk_att-50_High_\d{4}-\d\d-\d\d\.csv", data["filename"]), data["filename"]
    assert data["content"].startswith("\ufeff") and "charset=utf-8" in data["type"]
    rows = list(csv.DictReader(io.StringIO(data["content"][1:])))
    assert rows and {r["tier"] for r in rows} == {"High"}
    assert all(re.fullmatch(r"\d{1,3}", r["attendance_percent"]) and 50 <= int(r["attendance_percent"]) <= 100 for r in rows)
    assert data["filename"].endswith(f"_{rows[0]['scored_as_of']}.csv")
    ids_ = [r["source_id"] for r in rows]
    assert any(i.startswith("'0") for i in ids_)  # the generated ids have leading zeros: kept as text
    assert not any(i[:1] in "=+-@" for i in ids_)  # and never as a formula
