"""Analytics pages through the real app: layouts from the query string, scoped options, stable ids."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import class_sizes, load_school, wipe  # noqa: E402

from dashboard import ids  # noqa: E402

PAGES = ("/", "/effects/study-hours", "/effects/sports")
CONTAINERS = {
    "/": (ids.OVERVIEW_KPIS, ids.OVERVIEW_DISTRIBUTION, ids.OVERVIEW_TRENDS),
    "/effects/study-hours": (ids.STUDY_SCATTER, ids.STUDY_BANDS, ids.STUDY_STATS),
    "/effects/sports": (ids.SPORTS_BOXES, ids.SPORTS_STATS),
}
FILTER_IDS = (ids.FILTER_BAR, ids.FILTER_URL, ids.FILTER_QUERY, ids.FILTER_SCHOOL, ids.FILTER_GRADE, ids.FILTER_CLASS,
              ids.FILTER_DATES, ids.FILTER_STUDY, ids.FILTER_ATTENDANCE, ids.FILTER_RESET, ids.FILTER_NOTES)


@pytest.fixture(scope="module")
def school(database, tmp_path_factory) -> Iterator[dict[int, int]]:
    """A generated school ingested through the ETL; class id -> students."""
    load_school(database, tmp_path_factory.mktemp("analytics"))
    yield class_sizes(database)
    wipe(database)


def render(client, dash_post, path: str, search: str = "") -> dict:
    """The page layout as the Dash Pages router renders it for ``path`` + ``search``."""
    r = dash_post(client, ["_pages_content.children", "_pages_store.data"],
                  [("_pages_location", "pathname", path), ("_pages_location", "search", search)])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["response"]["_pages_content"]["children"]


def find(tree: object, component_id: str) -> dict | None:
    """The component with ``component_id`` in a serialised layout."""
    if isinstance(tree, dict):
        props = tree.get("props", {})
        if props.get("id") == component_id:
            return tree
        for value in props.values():
            hit = find(value, component_id)
            if hit:
                return hit
    elif isinstance(tree, list):
        for item in tree:
            hit = find(item, component_id)
            if hit:
                return hit
    return None


@pytest.mark.parametrize("path", PAGES)
def test_each_page_has_the_filter_bar_and_its_containers(school, users, client_for, dash_post, path) -> None:
    client = client_for("admin")
    assert client.get(path).status_code == 200
    tree = render(client, dash_post, path)
    for component_id in (*FILTER_IDS, *CONTAINERS[path]):
        assert find(tree, component_id) is not None, component_id


def test_link_restores_filters_and_notes_junk(school, users, client_for, dash_post) -> None:
    tree = render(client_for("staff"), dash_post, "/effects/study-hours", "?grade=9&study=6%2B&att=90&class=abc")
    assert find(tree, ids.FILTER_QUERY)["props"]["data"] == "?grade=9&study=6%2B&att=90"
    assert find(tree, ids.FILTER_GRADE)["props"]["value"] == 9
    assert find(tree, ids.FILTER_STUDY)["props"]["value"] == "6+"
    assert find(tree, ids.FILTER_ATTENDANCE)["props"]["value"] == 90
    notes = find(tree, ids.FILTER_NOTES)["props"]
    assert notes["is_open"] is True and "class" in json.dumps(notes["children"])


def test_teacher_is_offered_only_their_class(school, users, client_for, dash_post) -> None:
    teacher = users["teacher"]
    tree = render(client_for("teacher"), dash_post, "/")
    classes = find(tree, ids.FILTER_CLASS)["props"]["options"]
    assert [o["value"] for o in classes] == list(teacher.class_ids)
    assert len(find(tree, ids.FILTER_SCHOOL)["props"]["options"]) == 1
    admin_classes = find(render(client_for("admin"), dash_post, "/"), ids.FILTER_CLASS)["props"]["options"]
    assert len(admin_classes) == len(school) > 1


def test_reset_link_points_at_the_bare_page(school, users, client_for, dash_post) -> None:
    tree = render(client_for("admin"), dash_post, "/effects/sports", "?grade=10")
    assert find(tree, ids.FILTER_RESET)["props"]["href"] == "/effects/sports"


def test_ids_are_unique_constants() -> None:
    values = [v for k, v in vars(ids).items() if k.isupper()]
    assert len(values) == len(set(values))
