"""The filter bar names whose data a page shows and hides pickers with nothing to pick, per role."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import class_sizes, load_school, wipe  # noqa: E402
from test_pages_analytics import find, render  # noqa: E402

from dashboard import ids  # noqa: E402

PAGES = ("/", "/effects/study-hours", "/effects/sports")


@pytest.fixture(scope="module")
def school(database, tmp_path_factory) -> Iterator[dict[int, int]]:
    """A generated one-school district ingested through the ETL; class id -> students."""
    load_school(database, tmp_path_factory.mktemp("scope"))
    yield class_sizes(database)
    wipe(database)


def _hidden(tree: dict, column_child: str) -> bool:
    """True when the column holding ``column_child`` is hidden (the control stays in the layout for the callbacks)."""
    def walk(node: object, parent_class: str | None) -> bool | None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if props.get("id") == column_child:
                return parent_class is not None and "d-none" in parent_class
            here = props.get("className") if node.get("type") == "Col" else parent_class
            for value in props.values():
                hit = walk(value, here)
                if hit is not None:
                    return hit
        elif isinstance(node, list):
            for item in node:
                hit = walk(item, parent_class)
                if hit is not None:
                    return hit
        return None

    result = walk(tree, None)
    assert result is not None, column_child
    return result


def _class_name(database, class_id: int) -> str:
    with database.begin() as s:
        return s.execute(text("SELECT name FROM classes WHERE id = :i"), {"i": class_id}).scalar_one()


@pytest.mark.parametrize("path", PAGES)
def test_a_teacher_is_told_whose_data_it_is(school, users, client_for, dash_post, database, path) -> None:
    tree = render(client_for("teacher"), dash_post, path)
    name = _class_name(database, users["teacher"].class_ids[0])
    assert find(tree, ids.FILTER_SCOPE)["props"]["children"] == f"Your classes: {name}"
    for control in (ids.FILTER_SCHOOL, ids.FILTER_GRADE, ids.FILTER_CLASS):
        assert _hidden(tree, control), control  # one school, one grade, one class: nothing to pick
    assert "All schools" not in json.dumps(tree) and "All classes" not in json.dumps(tree)


def test_admin_of_one_school_gets_no_school_picker(school, users, client_for, dash_post) -> None:
    tree = render(client_for("admin"), dash_post, "/")
    assert find(tree, ids.FILTER_SCOPE)["props"]["children"] == "The district: Analytics School"
    assert _hidden(tree, ids.FILTER_SCHOOL)
    assert not _hidden(tree, ids.FILTER_GRADE) and not _hidden(tree, ids.FILTER_CLASS)
    assert not _hidden(tree, ids.FILTER_DATES)
    staff = render(client_for("staff"), dash_post, "/effects/sports")
    assert find(staff, ids.FILTER_SCOPE)["props"]["children"] == "Your school: Analytics School"


def test_the_at_risk_page_hides_the_week_range_it_ignores(school, users, client_for, dash_post) -> None:
    tree = render(client_for("admin"), dash_post, "/at-risk")
    assert find(tree, ids.FILTER_DATES) is not None and _hidden(tree, ids.FILTER_DATES)
