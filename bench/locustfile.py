"""Locust users for ``bench/load.py``: people who log in through the form, open pages, change filters, open
profiles and call the API, plus one probe on ``/healthz`` (the floor, on the same server in the same run).

Run by ``bench/load.py`` (not by hand): it passes ``LOAD_USERS`` (a JSON file of logins) and ``LOAD_EVENTS`` (a
JSONL file: one line per request, for the fault timeline), and picks the mix by naming the user classes:
``Teacher Staff Admin HealthProbe`` (weights 35/10/5: a district) or ``Admin HealthProbe`` (50 district-wide
viewers, the worst case).

Callback requests are built from the app's own ``/_dash-dependencies``, so they follow the pages' ids.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from typing import Any

from locust import HttpUser, between, constant_pacing, events, task

USERS = json.loads(open(os.environ["LOAD_USERS"], encoding="utf-8").read()) if os.environ.get("LOAD_USERS") else {}
SEARCHES = ("", "?grade=10", "?grade=11&study=high", "?att=90", "?grade=9&att=85", "?study=low", "?grade=12")
PAGES = ("/", "/at-risk", "/effects/study-hours", "/effects/sports")
CALLBACKS = {  # request name -> an id that the callback's outputs contain
    "cb overview.kpis": "overview-kpis",
    "cb overview.distribution": "overview-distribution",
    "cb overview.trends": "overview-trends",
    "cb study.effect": "study-bands",
    "cb sports.effect": "sports-boxes",
    "cb at-risk.table": "risk-table.data",
    "cb student.profile": "student-body",
}
_lock = threading.Lock()
_events_file = open(os.environ["LOAD_EVENTS"], "a", encoding="utf-8") if os.environ.get("LOAD_EVENTS") else None  # noqa: SIM115
_deps: dict[str, Any] = {}


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, exception: Exception | None, **_: Any) -> None:
    """One JSON line per request: time, name, milliseconds, ok (the fault bench reads it per window)."""
    if _events_file is None:
        return
    line = json.dumps({"t": time.time(), "name": name, "ms": round(response_time, 1), "ok": exception is None})
    with _lock:
        _events_file.write(line + "\n")
        _events_file.flush()


def _callback_specs(user: HttpUser) -> dict[str, dict[str, Any]]:
    """Request name -> the callback's spec from ``/_dash-dependencies`` (fetched once per process)."""
    if not _deps:
        r = user.client.get("/_dash-dependencies", name="dash dependencies")
        for spec in r.json():
            for name, needle in CALLBACKS.items():
                if needle in spec["output"] and name not in _deps:
                    _deps[name] = spec
    return _deps


def _body(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The body the Dash renderer posts for ``spec`` with ``values`` ({"id.prop": value}) and nulls elsewhere."""
    key = spec["output"]
    outs = [o.strip() for o in key.strip(".").split("...")] if key.startswith("..") else [key]
    specs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs]
    inputs = [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in spec.get("inputs", [])]
    state = [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in spec.get("state", [])]
    body = {"output": key, "outputs": specs if len(specs) > 1 else specs[0], "inputs": inputs,
            "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs[:1]]}
    if state:
        body["state"] = state
    return body


class Viewer(HttpUser):
    """A person at the dashboard: logs in, then mixes pages, filter changes, profiles and API calls."""

    abstract = True
    wait_time = between(0.5, 2.0)
    accounts: list[dict[str, str]] = []

    def on_start(self) -> None:
        """Log in through the form as the next account of this kind, then note a few students in scope."""
        account = random.choice(self.accounts)
        page = self.client.get("/login", name="login form")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.client.post("/login", name="login", allow_redirects=False,
                         data={"email": account["email"], "password": account["password"],
                               "csrf_token": token.group(1) if token else "", "next": "/"})
        r = self.client.get("/api/v1/risk?limit=50", name="api /risk (start)")
        self.students = [item["student_id"] for item in r.json().get("items", [])] if r.ok else []

    def _callback(self, name: str, values: dict[str, Any]) -> None:
        spec = _callback_specs(self).get(name)
        if spec is not None:
            with self.client.post("/_dash-update-component", json=_body(spec, values), name=name,
                                  catch_response=True) as r:
                if r.status_code not in (200, 204):
                    r.failure(f"{r.status_code}")

    @task(2)
    def open_page(self) -> None:
        """The page shell, then the router's layout for it (what a click in the navigation costs)."""
        path = random.choice(PAGES)
        self.client.get(path, name="page shell")
        self.client.post("/_dash-update-component", name="cb page layout", json={
            "output": ".._pages_content.children..._pages_store.data..",
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": ["_pages_location.pathname"]})

    @task(6)
    def change_filters(self) -> None:
        """A filter change on the overview or an effects page: its data callbacks with the new query."""
        query = random.choice(SEARCHES)
        names = random.choice((("cb overview.kpis", "cb overview.distribution", "cb overview.trends"),
                               ("cb study.effect",), ("cb sports.effect",)))
        for name in names:
            self._callback(name, {"filter-query.data": query})

    @task(3)
    def at_risk_page(self) -> None:
        """The at-risk table for a tier and page."""
        self._callback("cb at-risk.table", {"filter-query.data": random.choice(SEARCHES), "risk-tier.value": "all",
                                            "risk-table.page_current": random.choice((0, 0, 1)),
                                            "risk-table.sort_by": [], "risk-rose.value": []})

    @task(2)
    def open_profile(self) -> None:
        """A student's profile (the page's one data callback)."""
        if self.students:
            self._callback("cb student.profile", {"student-id.data": str(random.choice(self.students))})

    @task(3)
    def api(self) -> None:
        """The REST API: a page of the at-risk list, then one student."""
        self.client.get(f"/api/v1/risk?limit=25&offset={random.choice((0, 25))}", name="api /risk")
        if self.students:
            self.client.get(f"/api/v1/students/{random.choice(self.students)}", name="api /students/{id}")


class Teacher(Viewer):
    """A teacher of one class."""

    weight = 35
    accounts = USERS.get("teachers", [])


class Staff(Viewer):
    """A member of staff (the whole school)."""

    weight = 10
    accounts = USERS.get("staff", [])


class Admin(Viewer):
    """A district administrator (every school)."""

    weight = 5
    accounts = USERS.get("admins", [])


class HealthProbe(HttpUser):
    """The floor: ``/healthz`` on the same server, five times a second, in the same run."""

    fixed_count = 1
    wait_time = constant_pacing(0.2)

    @task
    def healthz(self) -> None:
        """Liveness (no login)."""
        self.client.get("/healthz", name="healthz (floor)")
