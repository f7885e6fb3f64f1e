"""The workflow's Dash callbacks over HTTP, per role: the profile panel and its forms, the search box, the bell,
My students, Alerts and the at-risk list's intervention filter; scope (the same answer as a missing id), the owner
refusal, one audit entry per change, hostile values refused with 400."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import text

from dashboard import ids
from dashboard.components.risk import DEFAULT_SORT

sys.path.insert(0, str(Path(__file__).parent))
import test_workflow_api as api_tests  # noqa: E402

SINCE, audit_count = api_tests.SINCE, api_tests.audit_count
world = api_tests.world  # the API tests' fixture: the seeded school, wiped before and after

PANEL = [f"{ids.WF_AREA}.hidden", f"{ids.WF_TIMELINE}.children", f"{ids.WF_INTERVENTIONS}.children",
         f"{ids.WF_NOTES}.children", f"{ids.WF_FEEDBACK}.children", f"{ids.WF_FB_FORM}.hidden", f"{ids.WF_STAR}.children",
         f"{ids.WF_INT_TYPE}.options", f"{ids.WF_INT_OWNER}.options", f"{ids.WF_INT_OWNER}.value",
         f"{ids.WF_EDIT_WHICH}.options", f"{ids.WF_NOTE_WHICH}.options"]
ADD = [f"{ids.WF_INT_MESSAGE}.children", f"{ids.WF_REFRESH}.data@"]


def words(value) -> str:
    """A callback's output as JSON text, accents and symbols kept."""
    return json.dumps(value, ensure_ascii=False)


def _key(dash_app, prefix: str) -> str:
    return next(k for k in dash_app.callback_map if k.startswith(prefix))


def panel(client, dash_post, student) -> dict:
    r = dash_post(client, PANEL, [(ids.STUDENT_ID, "data", str(student)), (ids.WF_REFRESH, "data", 0)])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return r.get_json()["response"]


def post_key(client, dash_post, key: str, inputs, state=()):
    outputs = [o.strip() for o in key.strip(".").split("...")]
    r = dash_post(client, outputs, inputs, state=state)
    assert r.status_code in (200, 204), r.get_data(as_text=True)[:300]
    return r.get_json()["response"] if r.status_code == 200 else {}


def add_intervention(client, dash_post, dash_app, student, owner, **extra) -> dict:
    values = {"type": "tutoring", "owner": str(owner), "start": "2026-03-01", "review": "2026-03-20", "status": "active",
              "outcome": ""} | extra
    state = [(ids.STUDENT_ID, "data", str(student)), (ids.WF_INT_TYPE, "value", values["type"]),
             (ids.WF_INT_OWNER, "value", values["owner"]), (ids.WF_INT_START, "value", values["start"]),
             (ids.WF_INT_REVIEW, "value", values["review"]), (ids.WF_INT_STATUS, "value", values["status"]),
             (ids.WF_INT_OUTCOME, "value", values["outcome"]), (ids.WF_REFRESH, "data", 3)]
    key = _key(dash_app, f"..{ids.WF_INT_MESSAGE}.children...")
    return post_key(client, dash_post, key, [(ids.WF_INT_ADD, "n_clicks", 1)], state)


def test_the_panel_shows_only_for_students_in_scope(world, users, client_for, dash_post) -> None:
    ada = world.students["ada"]
    mine = panel(client_for("teacher"), dash_post, ada)
    assert mine[ids.WF_AREA]["hidden"] is False and mine[ids.WF_FB_FORM]["hidden"] is False  # Ada is flagged High
    owners = {o["value"] for o in mine[ids.WF_INT_OWNER]["options"]}
    assert str(users["teacher"].user_id) in owners and str(users["teacher2"].user_id) not in owners
    assert mine[ids.WF_INT_OWNER]["value"] == str(users["teacher"].user_id)  # the viewer first
    assert "Scored" in words(mine[ids.WF_TIMELINE]["children"])  # the risk history is on the timeline
    other, missing = panel(client_for("teacher2"), dash_post, ada), panel(client_for("teacher2"), dash_post, 99999999)
    assert other == missing and other[ids.WF_AREA]["hidden"] is True


def test_adding_an_intervention_refuses_a_blind_owner_and_audits_once(world, users, client_for, dash_post, dash_app,
                                                                       database) -> None:
    teacher = client_for("teacher")
    ada = world.students["ada"]
    refused = add_intervention(teacher, dash_post, dash_app, ada, users["teacher2"].user_id)
    assert "cannot see this student" in words(refused[ids.WF_INT_MESSAGE])
    assert ids.WF_REFRESH not in refused and audit_count(database, "intervention.add") == 0
    done = add_intervention(teacher, dash_post, dash_app, ada, users["teacher"].user_id)
    assert "Added: tutoring" in words(done[ids.WF_INT_MESSAGE]) and done[ids.WF_REFRESH]["data"] == 4
    assert audit_count(database, "intervention.add") == 1
    shown = panel(teacher, dash_post, ada)
    assert "Tutoring · active" in words(shown[ids.WF_INTERVENTIONS]["children"])
    assert "Tutoring started" in words(shown[ids.WF_TIMELINE]["children"])
    hidden = add_intervention(client_for("teacher2"), dash_post, dash_app, ada, users["teacher2"].user_id)
    assert "No such student in your classes." in words(hidden[ids.WF_INT_MESSAGE])
    assert audit_count(database, "intervention.add") == 1


def test_note_feedback_star_and_edit_from_the_profile(world, users, client_for, dash_post, dash_app, database) -> None:
    teacher = client_for("teacher")
    ada = str(world.students["ada"])
    note_key = _key(dash_app, f"..{ids.WF_NOTE_MESSAGE}.children...")
    r = post_key(teacher, dash_post, note_key, [(ids.WF_NOTE_ADD, "n_clicks", 1)],
                 [(ids.STUDENT_ID, "data", ada), (ids.WF_NOTE_KIND, "value", "parent call"),
                  (ids.WF_NOTE_DATE, "value", "2026-03-02"), (ids.WF_NOTE_BODY, "value", "Spoke with him."),
                  (ids.WF_NOTE_OUTCOME, "value", "Will check homework"), (ids.WF_REFRESH, "data", 0)])
    assert "Added the parent call." in words(r) and audit_count(database, "note.add") == 1
    note_id = panel(teacher, dash_post, ada)[ids.WF_NOTE_WHICH]["options"][0]["value"]
    save_key = _key(dash_app, f"..{ids.WF_NOTE_EDIT_MESSAGE}.children...")
    r = post_key(teacher, dash_post, save_key, [(ids.WF_NOTE_SAVE, "n_clicks", 1)],
                 [(ids.WF_NOTE_WHICH, "value", note_id), (ids.WF_NOTE_NEW, "value", "Spoke with her father."),
                  (ids.WF_REFRESH, "data", 0)])
    assert "previous text is kept" in words(r) and audit_count(database, "note.edit") == 1
    assert panel(client_for("admin"), dash_post, ada)[ids.WF_NOTE_WHICH]["options"]  # an administrator may correct it
    other = client_for("teacher2")
    r = post_key(other, dash_post, save_key, [(ids.WF_NOTE_SAVE, "n_clicks", 1)],
                 [(ids.WF_NOTE_WHICH, "value", note_id), (ids.WF_NOTE_NEW, "value", "mine now"),
                  (ids.WF_REFRESH, "data", 0)])
    assert "No such note" in words(r) and audit_count(database, "note.edit") == 1
    fb_key = _key(dash_app, f"..{ids.WF_FB_MESSAGE}.children...")
    r = post_key(teacher, dash_post, fb_key, [(ids.WF_FB_SEND, "n_clicks", 1)],
                 [(ids.STUDENT_ID, "data", ada), (ids.WF_FB_VERDICT, "value", "already supported"),
                  (ids.WF_FB_COMMENT, "value", "Tutoring since March."), (ids.WF_REFRESH, "data", 1)])
    assert "already supported" in words(r) and audit_count(database, "feedback.add") == 1
    star_key = _key(dash_app, f"..{ids.WF_INT_MESSAGE}.children@")
    post_key(teacher, dash_post, star_key, [(ids.WF_STAR, "n_clicks", 1)],
             [(ids.STUDENT_ID, "data", ada), (ids.WF_REFRESH, "data", 2)])
    assert audit_count(database, "student.star") == 1
    shown = panel(teacher, dash_post, ada)
    assert shown[ids.WF_STAR]["children"].startswith("★")
    assert "Spoke with her father." in words(shown[ids.WF_NOTES]["children"])
    assert "Already supported" in words(shown[ids.WF_FEEDBACK]["children"])
    add_intervention(teacher, dash_post, dash_app, int(ada), users["teacher"].user_id)
    which = panel(teacher, dash_post, ada)[ids.WF_EDIT_WHICH]["options"][0]["value"]
    edit_key = _key(dash_app, f"..{ids.WF_EDIT_MESSAGE}.children...")
    r = post_key(teacher, dash_post, edit_key, [(ids.WF_EDIT_SAVE, "n_clicks", 1)],
                 [(ids.WF_EDIT_WHICH, "value", which), (ids.WF_EDIT_STATUS, "value", "completed"),
                  (ids.WF_EDIT_REVIEW, "value", ""), (ids.WF_EDIT_OUTCOME, "value", "Back on track."),
                  (ids.WF_REFRESH, "data", 5)])
    assert "is completed" in words(r) and audit_count(database, "intervention.edit") == 1
    stolen = post_key(client_for("teacher2"), dash_post, edit_key, [(ids.WF_EDIT_SAVE, "n_clicks", 1)],
                      [(ids.WF_EDIT_WHICH, "value", which), (ids.WF_EDIT_STATUS, "value", "stopped"),
                       (ids.WF_EDIT_REVIEW, "value", ""), (ids.WF_EDIT_OUTCOME, "value", ""),
                       (ids.WF_REFRESH, "data", 0)])
    assert "No such intervention" in words(stolen) and audit_count(database, "intervention.edit") == 1


def test_search_box_finds_students_only_in_scope(world, users, client_for, dash_post) -> None:
    def search(client, typed: str) -> str:
        r = dash_post(client, f"{ids.SEARCH_RESULTS}.children", [(ids.SEARCH_INPUT, "value", typed),
                                                                 ("_pages_location", "pathname", "/")])
        return words(r.get_json()["response"][ids.SEARCH_RESULTS]["children"])

    teacher = client_for("teacher")
    assert f"/students/{world.students['ada']}" in search(teacher, "ada lov")
    assert f"/students/{world.students['ben']}" in search(teacher, "00102")
    assert "No student found" in search(teacher, "Chlo")
    assert f"/students/{world.students['chloe']}" in search(client_for("teacher2"), "chlo")


def test_bell_caseload_and_alerts_pages(world, users, client_for, dash_post, dash_app, database) -> None:
    teacher = client_for("teacher")
    bell = dash_post(teacher, f"{ids.BELL_COUNT}.children", [("_pages_location", "pathname", "/")])
    assert bell.get_json()["response"][ids.BELL_COUNT]["children"] == "2"
    alerts_key = _key(dash_app, f"..{ids.ALERTS_LIST}.options...")
    shown = post_key(teacher, dash_post, alerts_key, [(ids.ALERTS_LOAD, "data", 0)])
    options = shown[ids.ALERTS_LIST]["options"]
    assert len(options) == 2 and "is now High risk" in words(options)
    mark_key = _key(dash_app, f"..{ids.ALERTS_LOAD}.data...")
    marked = post_key(teacher, dash_post, mark_key, [(ids.ALERTS_MARK, "n_clicks", 1), (ids.ALERTS_MARK_ALL, "n_clicks", 0)],
                      [(ids.ALERTS_LIST, "value", [options[0]["value"]]), (ids.ALERTS_LOAD, "data", 0)])
    assert "Marked 1 alert read." in words(marked) and audit_count(database, "alert.read") == 1
    bell = dash_post(teacher, f"{ids.BELL_COUNT}.children", [("_pages_location", "pathname", "/alerts")])
    assert bell.get_json()["response"][ids.BELL_COUNT]["children"] == "1"
    other = post_key(client_for("teacher2"), dash_post, mark_key,
                     [(ids.ALERTS_MARK, "n_clicks", 1), (ids.ALERTS_MARK_ALL, "n_clicks", 0)],
                     [(ids.ALERTS_LIST, "value", [options[1]["value"]]), (ids.ALERTS_LOAD, "data", 0)])
    assert "No such alert" in words(other) and audit_count(database, "alert.read") == 1
    assert shown[ids.ALERTS_DIGEST]["value"] is True
    digest_key = _key(dash_app, f"{ids.ALERTS_MESSAGE}.children@")
    off = dash_post(teacher, digest_key, [(ids.ALERTS_DIGEST, "value", False)])
    assert "No more weekly e-mails." in off.get_data(as_text=True)
    assert dash_post(teacher, digest_key, [(ids.ALERTS_DIGEST, "value", False)]).status_code == 204  # no change
    assert dash_post(teacher, digest_key, [(ids.ALERTS_DIGEST, "value", "no")]).status_code == 400
    assert audit_count(database, "digest.preference") == 1
    assert post_key(teacher, dash_post, alerts_key, [(ids.ALERTS_LOAD, "data", 1)])[ids.ALERTS_DIGEST]["value"] is False
    empty = dash_post(teacher, f"{ids.CASELOAD_BODY}.children", [(ids.CASELOAD_LOAD, "data", 0)])
    assert "No students here yet" in empty.get_data(as_text=True)
    add_intervention(teacher, dash_post, dash_app, world.students["ada"], users["teacher"].user_id)
    load = dash_post(teacher, f"{ids.CASELOAD_BODY}.children", [(ids.CASELOAD_LOAD, "data", 0)]).get_data(as_text=True)
    assert "Ada Lovelace" in load and "2026-03-20" in load and "Ben Okafor" not in load


def test_at_risk_list_intervention_filter_and_column(world, users, client_for, dash_post, dash_app) -> None:
    admin = client_for("admin")
    outputs = [f"{ids.RISK_TABLE}.data", f"{ids.RISK_TABLE}.page_count", f"{ids.RISK_TABLE}.page_current",
               f"{ids.RISK_STATUS}.children", f"{ids.RISK_EMPTY}.children", f"{ids.RISK_TABLE_AREA}.hidden",
               f"{ids.RISK_DOWNLOAD_BUTTON}.disabled"]

    def rows(support: str) -> list[dict]:
        inputs = [(ids.FILTER_QUERY, "data", ""), (ids.RISK_TIER, "value", "all"), (ids.RISK_TABLE, "page_current", 0),
                  (ids.RISK_TABLE, "sort_by", DEFAULT_SORT), (ids.RISK_ROSE, "value", []),
                  (ids.RISK_WORKFLOW, "value", support), (ids.RISK_INDICATOR, "value", "all")]
        r = dash_post(admin, outputs, inputs)
        return r.get_json()["response"][ids.RISK_TABLE]["data"]

    assert {r["id"] for r in rows("unsupported")} == {world.students["ada"], world.students["chloe"]}
    made = add_intervention(admin, dash_post, dash_app, world.students["ada"], users["admin"].user_id,
                            start="2026-01-05", review="2026-02-01")
    assert "Added" in words(made[ids.WF_INT_MESSAGE])
    assert {r["id"] for r in rows("unsupported")} == {world.students["chloe"]}
    overdue = rows("overdue")
    assert [r["id"] for r in overdue] == [world.students["ada"]]
    assert overdue[0]["intervention"] == "tutoring (active), review overdue"
    assert {r["intervention"] for r in rows("all") if r["id"] != world.students["ada"]} == {"none"}
    key = _key(dash_app, f"{ids.FILTER_URL}.search@")
    r = dash_post(admin, key, [(ids.FILTER_QUERY, "data", ""), (ids.RISK_TIER, "value", "High"),
                               (ids.RISK_TABLE, "sort_by", DEFAULT_SORT), (ids.RISK_TABLE, "page_current", 0),
                               (ids.RISK_ROSE, "value", []), (ids.RISK_WORKFLOW, "value", "unsupported"), (ids.RISK_INDICATOR, "value", "all")],
                  state=[(ids.FILTER_URL, "search", "")])
    assert r.get_json()["response"][ids.FILTER_URL]["search"] == "?tier=High&support=unsupported"


def test_hostile_values_in_the_forms_are_refused(world, users, client_for, dash_post, dash_app, database) -> None:
    teacher = client_for("teacher")
    key = _key(dash_app, f"..{ids.WF_NOTE_MESSAGE}.children...")
    outputs = [o.strip() for o in key.strip(".").split("...")]
    for kind, body, refresh in (({"x": 1}, "hi", 0), ("note", 12, 0), ("note", "hi", "lots"), ("note", "a\x00b", 0)):
        r = dash_post(teacher, outputs, [(ids.WF_NOTE_ADD, "n_clicks", 1)],
                      state=[(ids.STUDENT_ID, "data", str(world.students["ada"])), (ids.WF_NOTE_KIND, "value", kind),
                             (ids.WF_NOTE_DATE, "value", "2026-03-02"), (ids.WF_NOTE_BODY, "value", body),
                             (ids.WF_NOTE_OUTCOME, "value", None), (ids.WF_REFRESH, "data", refresh)])
        assert r.status_code == 400, (kind, body, refresh)
    with database.begin() as s:
        assert s.execute(text("SELECT count(*) FROM case_notes")).scalar_one() == 0
    assert SINCE["id"] >= 0
