"""Analytics callbacks: through HTTP per role, and called directly inside a request context."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import dash
import pytest
from flask import g

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import class_sizes, load_school, wipe  # noqa: E402

from dashboard import ids  # noqa: E402
from dashboard.components.empty import NO_MATCH  # noqa: E402
from dashboard.components.filter_bar import apply_filters, cascade_options  # noqa: E402
from services.scope import Viewer  # noqa: E402

DATA_OUTPUTS = (
    f"{ids.OVERVIEW_KPIS}.children",
    f"{ids.OVERVIEW_DISTRIBUTION}.children",
    f"{ids.OVERVIEW_TRENDS}.children",
    f"{ids.STUDY_SCATTER}.children",
    [f"{ids.STUDY_BANDS}.children", f"{ids.STUDY_STATS}.children"],
    [f"{ids.SPORTS_BOXES}.children", f"{ids.SPORTS_STATS}.children"],
)


@pytest.fixture(scope="module")
def school(database, tmp_path_factory) -> Iterator[dict[int, int]]:
    """A generated school ingested through the ETL; class id -> students."""
    load_school(database, tmp_path_factory.mktemp("analytics-cb"))
    yield class_sizes(database)
    wipe(database)


def post(client, dash_post, output, search: str):
    """One data callback for the filter query ``search``; the response text."""
    r = dash_post(client, output, [(ids.FILTER_QUERY, "data", search)])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_data(as_text=True)


def _students_card(text: str) -> str:
    start = text.index(f"{ids.KPI_CARD}-students")
    return text[:start]


@pytest.mark.parametrize("output", DATA_OUTPUTS, ids=lambda o: o if isinstance(o, str) else o[0])
def test_every_data_callback_answers_and_shows_the_empty_state(school, users, client_for, dash_post, output) -> None:
    client = client_for("admin")
    full = post(client, dash_post, output, "")
    assert NO_MATCH not in full and len(full) < 1_000_000
    assert NO_MATCH in post(client, dash_post, output, "?from=2031-01-01")


def test_teacher_numbers_cover_only_their_class(school, users, client_for, dash_post) -> None:
    mine = users["teacher"].class_ids[0]
    other = users["teacher2"].class_ids[0]
    client = client_for("teacher")
    kpis = post(client, dash_post, f"{ids.OVERVIEW_KPIS}.children", "")
    assert f'"children":"{school[mine]:,}"' in kpis.replace(" ", "")
    for search in (f"?class={other}", "?school=999"):
        assert NO_MATCH in post(client, dash_post, f"{ids.OVERVIEW_KPIS}.children", search)
        assert NO_MATCH in post(client, dash_post, [f"{ids.SPORTS_BOXES}.children", f"{ids.SPORTS_STATS}.children"], search)
    admin = post(client_for("admin"), dash_post, f"{ids.OVERVIEW_KPIS}.children", "")
    assert f'"children":"{sum(school.values()):,}"' in admin.replace(" ", "")


def test_filter_callback_writes_a_canonical_url_over_http(school, users, client_for, dash_post) -> None:
    outputs = [f"{ids.FILTER_QUERY}.data", f"{ids.FILTER_URL}.search", f"{ids.FILTER_NOTES}.children", f"{ids.FILTER_NOTES}.is_open"]
    inputs = [(ids.FILTER_SCHOOL, "value", None), (ids.FILTER_GRADE, "value", 9), (ids.FILTER_CLASS, "value", None),
              (ids.FILTER_DATES, "start_date", "2025-12-01"), (ids.FILTER_DATES, "end_date", "2025-09-01"),
              (ids.FILTER_STUDY, "value", "3-6"), (ids.FILTER_ATTENDANCE, "value", 85)]
    r = dash_post(client_for("staff"), outputs, inputs)
    assert r.status_code == 200
    out = r.get_json()["response"]
    want = "?grade=9&from=2025-09-01&to=2025-12-01&study=3-6&att=85"
    assert out[ids.FILTER_QUERY]["data"] == want and out[ids.FILTER_URL]["search"] == want
    assert out[ids.FILTER_NOTES]["is_open"] is True


def test_filter_callbacks_called_directly(app, school, users) -> None:
    teacher = users["teacher"]
    viewer = Viewer(teacher.user_id, teacher.email, "teacher", frozenset(teacher.class_ids))
    with app.test_request_context("/"):  # the study band is checked against the rules in the database
        search, url, notes, is_open = apply_filters(None, "nine", None, None, None, "lots", 90)
        assert search == url == "?att=90" and is_open and len(notes) == 2
        assert apply_filters(None, None, None, None, None, "3-6", None)[0] == "?study=3-6"
        g.viewer = viewer
        grades, classes, grade, klass = cascade_options(None, None, teacher.class_ids[0])
        assert [c["value"] for c in classes] == list(teacher.class_ids) and klass == teacher.class_ids[0]
        _, classes, grade, klass = cascade_options(None, 13, users["teacher2"].class_ids[0])
        assert grade is None and klass is None and [c["value"] for c in classes] == list(teacher.class_ids)


def test_page_callbacks_called_directly(app, school, users) -> None:
    pages = {p["path"]: sys.modules[p["module"]] for p in dash.page_registry.values()}
    admin = users["admin"]
    with app.test_request_context("/"):
        g.viewer = Viewer(admin.user_id, admin.email, "admin")
        cards = pages["/"].update_kpis("?grade=9")
        assert cards.className.startswith("g-3") and len(cards.children) == 6
        bands, stats = pages["/effects/study-hours"].update_effect("")
        assert bands.id == ids.STUDY_BANDS_GRAPH and "Spearman" in str(stats)
        boxes, _ = pages["/effects/sports"].update_sports("?from=2031-01-01")
        assert boxes.className == ids.EMPTY_STATE_CLASS
