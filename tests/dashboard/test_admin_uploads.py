"""/admin/uploads and /admin/model over HTTP: refused for teachers and staff (pages and every admin callback), usable
by an admin."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from webtools import callback_bodies, post_dash

from dashboard import ids
from dashboard.admin import is_admin_callback
from tests.conftest import truncate_data

PAGE = "/admin/uploads"
PAGES = (PAGE, "/admin/model")
HEADER = "student_id,student_name,date,study_hours,attendance_rate,final_score\n"


def page_text(client: Any, path: str = PAGE) -> str:
    r = post_dash(client, ["_pages_content.children", "_pages_store.data"],
                  [("_pages_location", "pathname", path), ("_pages_location", "search", "")])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return json.dumps(r.get_json()["response"]["_pages_content"]["children"])


def admin_bodies(dash_app: Any) -> list[tuple[str, dict[str, Any]]]:
    found = [(key, body) for key, body in callback_bodies(dash_app) if is_admin_callback(body)]
    assert len(found) >= 9  # uploads: save, preview, save mapping, the load job, report, download; model: 4
    return found


@pytest.mark.parametrize("role", ["teacher", "staff"])
def test_the_page_and_every_admin_callback_are_refused(client_for: Any, dash_app: Any, role: str) -> None:
    client = client_for(role)
    for path in PAGES:
        shown = page_text(client, path)
        assert "Page not found" in shown and "admin-" not in shown, path
    for key, body in admin_bodies(dash_app):
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 403, key
        assert r.get_json()["error"] == "Only administrators may do this."


def test_anonymous_callbacks_are_refused(anon_client: Any, dash_app: Any) -> None:
    for key, body in admin_bodies(dash_app):
        assert anon_client.post("/_dash-update-component", json=body).status_code == 401, key


def test_the_admin_sees_the_pages(admin_client: Any) -> None:
    shown = page_text(admin_client)
    assert ids.ADMIN_UPLOAD in shown and ids.ADMIN_LOAD in shown and "Page not found" not in shown
    shown = page_text(admin_client, "/admin/model")
    assert ids.ADMIN_MODEL_RETRAIN in shown and ids.ADMIN_MODEL_ACTIVATE in shown


def test_the_model_page_body_and_a_bad_activation_over_http(admin_client: Any) -> None:
    r = post_dash(admin_client, [f"{ids.ADMIN_MODEL_BODY}.children", f"{ids.ADMIN_MODEL_VERSION}.options",
                                 f"{ids.ADMIN_MODEL_MESSAGE}.children"],
                  [(ids.ADMIN_MODEL_CHANGED, "data", None), (ids.ADMIN_MODEL_JOB, "data", None)])
    assert r.status_code == 200 and "Versions" in json.dumps(r.get_json()["response"])
    r = post_dash(admin_client, f"{ids.ADMIN_MODEL_CHANGED}.data", [(ids.ADMIN_MODEL_ACTIVATE, "n_clicks", 1)],
                  [(ids.ADMIN_MODEL_VERSION, "value", "no-such-version")])
    assert r.status_code == 200 and "No model version" in json.dumps(r.get_json())


def test_the_admin_uploads_and_previews_and_a_bad_kind_gets_one_sentence(admin_client: Any, database: Any) -> None:
    truncate_data(database)
    pdf = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4").decode()
    r = post_dash(admin_client, [f"{ids.ADMIN_TICKET}.data", f"{ids.ADMIN_UPLOAD_MESSAGE}.children"],
                  [(ids.ADMIN_UPLOAD, "contents", [pdf])], [(ids.ADMIN_UPLOAD, "filename", ["notes.pdf"])])
    body = r.get_json()["response"]
    assert body[ids.ADMIN_TICKET]["data"] is None
    assert "notes.pdf is not a file we can load" in json.dumps(body[ids.ADMIN_UPLOAD_MESSAGE])

    csv = (HEADER + "S1,Ann,2025-09-01,5,0.95,72\nS2,Bob,2025-09-01,3,0.8,55\n").encode()
    good = "data:text/csv;base64," + base64.b64encode(csv).decode()
    r = post_dash(admin_client, [f"{ids.ADMIN_TICKET}.data", f"{ids.ADMIN_UPLOAD_MESSAGE}.children"],
                  [(ids.ADMIN_UPLOAD, "contents", [good])], [(ids.ADMIN_UPLOAD, "filename", ["week.csv"])])
    token = r.get_json()["response"][ids.ADMIN_TICKET]["data"]
    assert isinstance(token, str) and len(token) == 32


def test_a_hostile_ticket_is_refused_with_a_sentence(admin_client: Any) -> None:
    r = post_dash(admin_client, f"{ids.ADMIN_REJECTS_DOWNLOAD}.data", [(ids.ADMIN_REJECTS_BUTTON, "n_clicks", 1)],
                  [(ids.ADMIN_REJECTS_RUN, "value", {"$ne": 1})])
    assert r.status_code == 400


def test_admin_callbacks_are_recognised_by_their_ids() -> None:
    def body(output: str) -> dict[str, Any]:
        return {"output": output}

    assert is_admin_callback(body(f"{ids.ADMIN_RESULT}.data"))
    assert is_admin_callback(body(f"..{ids.ADMIN_PREVIEW}.children...{ids.ADMIN_MAP_SOURCE}age.options.."))
    assert is_admin_callback(body(f"..risk-table.data...{ids.ADMIN_MODEL_BODY}.children.."))
    assert not is_admin_callback(body("risk-table.data")) and not is_admin_callback(body("admin-only-out.children"))
    assert not is_admin_callback(body('{"type":"x","index":1}.children')) and not is_admin_callback(None)
