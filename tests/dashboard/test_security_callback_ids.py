"""Every callback's inputs, states and outputs name a component and property that exist in some layout
(the shell or any registered page), since the app runs without ``suppress_callback_exceptions``."""

from __future__ import annotations

from typing import Any

import dash
from flask import g, session

from services.scope import Viewer

WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")


def _components(layout: Any) -> list[Any]:
    found = [layout]
    if hasattr(layout, "_traverse"):
        found.extend(layout._traverse())
    return [c for c in found if hasattr(c, "_prop_names")]


def _id_matches(wanted: Any, actual: Any) -> bool:
    if isinstance(wanted, dict) and isinstance(actual, dict):
        return wanted.keys() == actual.keys() and all(
            isinstance(v, list) and v and v[0] in WILDCARDS or actual[k] == v or str(v) in WILDCARDS for k, v in wanted.items()
        )
    return wanted == actual


def _all_layouts(app, users) -> list[Any]:
    admin = users["admin"]
    with app.test_request_context("/"):
        g.viewer = Viewer(user_id=admin.user_id, email=admin.email, role="admin")
        session["user"] = {"email": admin.email, "groups": ["admin"]}
        session["_user_id"] = f"{admin.user_id}:0"
        dash_app = app.extensions["studentperf.dash"]
        layouts = [dash_app.layout() if callable(dash_app.layout) else dash_app.layout]
        for page in dash.page_registry.values():
            layout = page["layout"]
            layouts.append(layout() if callable(layout) else layout)
    return layouts


def _spec_id(spec: dict[str, Any]) -> Any:
    return spec["id"]


def _dependencies(dash_app) -> list[tuple[str, Any, str]]:
    deps = []
    for key, callback in dash_app.callback_map.items():
        outputs = [o for o in key.strip(".").split("...")] if key.startswith("..") else [key]
        for output in outputs:
            component_id, prop = output.rsplit(".", 1)
            if component_id.startswith("{"):
                import json

                component_id = json.loads(component_id)
            deps.append((key, component_id, prop.split("@")[0]))
        for spec in [*callback.get("inputs", []), *callback.get("state", [])]:
            deps.append((key, _spec_id(spec), spec["property"]))
    return deps


def test_every_callback_id_and_property_exists_in_a_layout(app, dash_app, users):
    components = [c for layout in _all_layouts(app, users) for c in _components(layout)]
    missing = []
    for key, component_id, prop in _dependencies(dash_app):
        owners = [c for c in components if _id_matches(component_id, getattr(c, "id", None))]
        if not owners:
            missing.append(f"{key}: no component with id {component_id!r}")
        elif not any(prop in c._prop_names or prop.startswith(("data-", "aria-")) for c in owners):
            missing.append(f"{key}: {component_id!r} has no property {prop!r}")
    assert not missing, "\n".join(missing)


def test_the_check_catches_a_typo(app, users):
    components = [c for layout in _all_layouts(app, users) for c in _components(layout)]
    assert any(getattr(c, "id", None) == "shell-db-banner" for c in components)
    assert not any(getattr(c, "id", None) == "shell-db-baner" for c in components)
