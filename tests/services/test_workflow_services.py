"""Workflow services on real PostgreSQL: interventions (owner check, audit), notes (edit keeps the old text),
flag feedback and its counts, caseload and stars, search in scope, alerts and read-marks."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from services import alerts, caseload, feedback, interventions, notes
from services.at_risk import risk_table
from services.scope import Viewer

sys.path.insert(0, str(Path(__file__).parent))
from workflow_seed import WorkflowWorld, seed_workflow  # noqa: E402


def _user(session: Session, email: str, role: str, classes: tuple[int, ...] = ()) -> Viewer:
    uid = session.execute(text("INSERT INTO users (email, password_hash, role) VALUES (:e, 'x', :r) RETURNING id"),
                          {"e": email, "r": role}).scalar_one()
    for c in classes:
        session.execute(text("INSERT INTO user_classes (user_id, class_id) VALUES (:u, :c)"), {"u": uid, "c": c})
    return Viewer(uid, email, role, frozenset(classes) if role == "teacher" else frozenset())


@pytest.fixture()
def wf(session: Session) -> tuple[Session, WorkflowWorld, dict[str, Viewer]]:
    session.info["audit_floor"] = session.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    world = seed_workflow(session)
    people = {
        "teacher": _user(session, "wf-teacher@example.org", "teacher", (world.classes[0],)),
        "teacher2": _user(session, "wf-teacher2@example.org", "teacher", (world.classes[1],)),
        "admin": _user(session, "wf-admin@example.org", "admin"),
    }
    return session, world, people


def audits(session: Session, action: str) -> list[dict]:
    """This test's audit entries of ``action`` (other tests' committed entries are left out)."""
    floor = session.info.get("audit_floor", 0)
    return list(session.execute(text("SELECT details FROM audit_log WHERE action = :a AND id > :f ORDER BY id"),
                                {"a": action, "f": floor}).scalars())


def test_add_and_edit_an_intervention_each_writes_one_audit_entry(wf) -> None:
    s, world, who = wf
    t = who["teacher"]
    ada = world.students["ada"]
    added = interventions.add_intervention(session=s, viewer=t, student_id=ada, data={
        "type": "tutoring", "owner_id": t.user_id, "start_date": "2026-03-01", "next_review": "2026-03-15",
        "status": "active", "outcome": ""})
    assert (added.type, added.status, added.owner, added.next_review) == ("tutoring", "active", t.email,
                                                                          dt.date(2026, 3, 15))
    assert len(audits(s, interventions.ADD)) == 1
    changed = interventions.update_intervention(session=s, viewer=t, intervention_id=added.id,
                                                changes={"status": "completed", "outcome": "Caught up in maths."})
    assert changed.status == "completed" and changed.outcome == "Caught up in maths."
    edits = audits(s, interventions.EDIT)
    assert len(edits) == 1
    assert edits[0]["before"] == {"status": "active", "outcome": None}
    assert edits[0]["after"] == {"status": "completed", "outcome": "Caught up in maths."}
    listed = interventions.list_interventions(session=s, viewer=who["admin"], student_id=ada)
    assert [i.id for i in listed] == [added.id]


def test_an_owner_who_cannot_see_the_student_is_refused(wf) -> None:
    s, world, who = wf
    with pytest.raises(InvalidInput, match="cannot see this student"):
        interventions.add_intervention(session=s, viewer=who["teacher"], student_id=world.students["ada"],
                                       data={"type": "mentoring", "owner_id": who["teacher2"].user_id})
    assert audits(s, interventions.ADD) == []
    choices = dict(interventions.owner_choices(session=s, viewer=who["teacher"], student_id=world.students["ada"]))
    assert who["teacher"].user_id in choices and who["admin"].user_id in choices
    assert who["teacher2"].user_id not in choices


@pytest.mark.parametrize("data, words", [
    ({"type": "magic", "owner_id": 1}, "Unknown type of intervention"),
    ({"type": "tutoring", "owner_id": "x"}, "user id"),
    ({"type": "tutoring", "owner_id": 1, "start_date": "yesterday"}, "date such as"),
    ({"type": "tutoring", "owner_id": 1, "start_date": "2026-03-10", "next_review": "2026-03-01"}, "before the start"),
    ({"type": "tutoring", "owner_id": 1, "status": "done"}, "Unknown status"),
    ({"type": "tutoring", "owner_id": 1, "colour": "red"}, "Unknown field"),
])
def test_bad_intervention_input_gets_a_sentence(wf, data, words) -> None:
    s, world, who = wf
    with pytest.raises(InvalidInput, match=words):
        interventions.add_intervention(session=s, viewer=who["teacher"], student_id=world.students["ada"], data=data)


def test_out_of_scope_students_and_interventions_are_not_found(wf) -> None:
    s, world, who = wf
    t2 = who["teacher2"]
    with pytest.raises(NotFound) as missing:
        interventions.list_interventions(session=s, viewer=t2, student_id=10**12)
    with pytest.raises(NotFound) as hidden:
        interventions.list_interventions(session=s, viewer=t2, student_id=world.students["ada"])
    assert str(missing.value) == str(hidden.value)
    theirs = interventions.add_intervention(session=s, viewer=who["admin"], student_id=world.students["ada"],
                                            data={"type": "tutoring", "owner_id": who["admin"].user_id})
    for bad in (theirs.id, 10**9):
        with pytest.raises(NotFound, match="No such intervention"):
            interventions.update_intervention(session=s, viewer=t2, intervention_id=bad, changes={"status": "active"})
    for call in (lambda: notes.add_note(session=s, viewer=t2, student_id=world.students["ada"], data={"body": "x"}),
                 lambda: feedback.give_feedback(session=s, viewer=t2, student_id=world.students["ada"],
                                                data={"verdict": "not at risk", "comment": "x"}),
                 lambda: caseload.set_star(session=s, viewer=t2, student_id=world.students["ada"], starred=True)):
        with pytest.raises(NotFound, match="No such student in your classes"):
            call()


def test_editing_a_note_keeps_the_previous_text_in_the_audit_log(wf) -> None:
    s, world, who = wf
    t = who["teacher"]
    note = notes.add_note(session=s, viewer=t, student_id=world.students["ben"],
                          data={"kind": "parent call", "body": "Called mum.", "outcome": "No answer",
                                "occurred_on": "2026-03-02"})
    assert (note.kind, note.author, note.occurred_on) == ("parent call", t.email, dt.date(2026, 3, 2))
    edited = notes.edit_note(session=s, viewer=t, note_id=note.id, changes={"body": "Called mum twice."})
    assert edited.body == "Called mum twice."
    assert audits(s, notes.EDIT) == [{"note_id": note.id, "previous": {"body": "Called mum."}}]
    colleague = _user(s, "wf-t3@example.org", "teacher", (world.classes[0],))
    with pytest.raises(Forbidden):
        notes.edit_note(session=s, viewer=colleague, note_id=note.id, changes={"body": "not mine"})
    notes.archive_note(session=s, viewer=t, note_id=note.id)
    assert notes.list_notes(session=s, viewer=t, student_id=world.students["ben"]) == []
    assert s.execute(text("SELECT count(*) FROM case_notes WHERE id = :i"), {"i": note.id}).scalar_one() == 1


def test_feedback_is_stored_with_run_model_and_tier_and_counted(wf) -> None:
    s, world, who = wf
    row = feedback.give_feedback(session=s, viewer=who["teacher"], student_id=world.students["ada"],
                                 data={"verdict": "already supported", "comment": "She has a tutor since March."})
    assert (row.tier, row.model_version) == ("High", "wf-model")
    stored = s.execute(text("SELECT scoring_run_id, model_version_id FROM flag_feedback")).one()
    assert tuple(stored) == (world.runs[1], world.model_version_id)
    feedback.give_feedback(session=s, viewer=who["teacher"], student_id=world.students["ben"],
                           data={"verdict": "not at risk", "comment": "Fine in class."})
    counts = {(c.model_version, c.tier, c.verdict): c.count for c in feedback.feedback_counts(s)}
    assert counts == {("wf-model", "High", "already supported"): 1, ("wf-model", "Moderate", "not at risk"): 1}
    with pytest.raises(InvalidInput, match="not flagged"):
        feedback.give_feedback(session=s, viewer=who["teacher"], student_id=world.students["dan"],
                               data={"verdict": "not at risk", "comment": "Low anyway."})
    with pytest.raises(InvalidInput, match="Unknown feedback"):
        feedback.give_feedback(session=s, viewer=who["teacher"], student_id=world.students["ada"],
                               data={"verdict": "meh", "comment": "x"})


def test_caseload_holds_owned_and_starred_students_in_scope(wf) -> None:
    s, world, who = wf
    t = who["teacher"]
    interventions.add_intervention(session=s, viewer=t, student_id=world.students["ada"],
                                   data={"type": "tutoring", "owner_id": t.user_id, "next_review": "2030-01-01",
                                         "start_date": "2026-03-01", "status": "active"})
    assert caseload.set_star(session=s, viewer=t, student_id=world.students["dan"], starred=True) is True
    assert caseload.set_star(session=s, viewer=t, student_id=world.students["dan"], starred=True) is True
    assert len(audits(s, caseload.STAR)) == 1
    notes.add_note(session=s, viewer=t, student_id=world.students["ada"], data={"body": "Doing better."})
    s.execute(text("INSERT INTO student_indicators (student_id, attendance, chronic_absence, low_study, study_hours) "
                   "VALUES (:s, 0.8, true, true, 1.0)"), {"s": world.students["ada"]})
    rows = {r.student_id: r for r in caseload.caseload(session=s, viewer=t)}
    assert rows[world.students["ada"]].indicators == ("absence", "study")
    assert rows[world.students["dan"]].indicators == ()
    assert set(rows) == {world.students["ada"], world.students["dan"]}
    ada = rows[world.students["ada"]]
    assert (ada.tier, ada.next_review, ada.last_note, ada.owned, ada.starred) == (
        "High", dt.date(2030, 1, 1), "Doing better.", True, False)
    assert rows[world.students["dan"]].starred and rows[world.students["dan"]].tier == "Low"
    assert caseload.caseload(session=s, viewer=who["teacher2"]) == []


def test_search_finds_by_name_or_id_only_in_scope(wf) -> None:
    s, world, who = wf
    found = caseload.search_students(session=s, viewer=who["teacher"], text="lovel")
    assert [m.student_id for m in found] == [world.students["ada"]]
    assert [m.student_id for m in caseload.search_students(session=s, viewer=who["teacher"], text="00102")] == [
        world.students["ben"]]
    assert caseload.search_students(session=s, viewer=who["teacher"], text="Chlo") == []
    assert [m.student_id for m in caseload.search_students(session=s, viewer=who["admin"], text="chlo")] == [
        world.students["chloe"]]
    assert caseload.search_students(session=s, viewer=who["admin"], text="%") == []


def test_alerts_became_high_rose_and_overdue_review_and_mark_read(wf) -> None:
    s, world, who = wf
    t = who["teacher"]
    found = {a.student_id: a for a in alerts.alerts_for(session=s, viewer=t)}
    assert set(found) == {world.students["ada"], world.students["ben"]}
    assert found[world.students["ada"]].kind == "high" and "now High" in found[world.students["ada"]].text
    assert found[world.students["ben"]].kind == "rose" and "30 % to 55 %" in found[world.students["ben"]].text
    assert {a.student_id for a in alerts.alerts_for(session=s, viewer=who["teacher2"])} == set()
    interventions.add_intervention(session=s, viewer=t, student_id=world.students["dan"],
                                   data={"type": "mentoring", "owner_id": t.user_id, "start_date": "2026-01-05",
                                         "next_review": "2026-02-01", "status": "active"})
    today = dt.date(2026, 3, 3)
    assert alerts.unread_count(session=s, viewer=t, today=today) == 3
    review = next(a for a in alerts.alerts_for(session=s, viewer=t, today=today) if a.kind == "review")
    assert review.student_id == world.students["dan"] and "was due on 1 Feb 2026" in review.text
    assert alerts.mark_read(session=s, viewer=t, keys=[review.key], today=today) == 1
    assert alerts.unread_count(session=s, viewer=t, today=today) == 2
    with pytest.raises(NotFound):
        alerts.mark_read(session=s, viewer=who["teacher2"], keys=[f"risk:{world.runs[1]}:{world.students['ada']}"])
    assert alerts.mark_read(session=s, viewer=t, keys="all", today=today) == 2
    assert alerts.unread_count(session=s, viewer=t, today=today) == 0
    assert len(audits(s, alerts.READ)) == 2


def test_at_risk_list_filters_unsupported_high_and_overdue_reviews(wf) -> None:
    s, world, who = wf
    admin = who["admin"]
    high = risk_table(session=s, viewer=admin, tier="High")
    assert {r.student_id for r in high.items} == {world.students["ada"], world.students["chloe"]}
    interventions.add_intervention(session=s, viewer=admin, student_id=world.students["ada"],
                                   data={"type": "tutoring", "owner_id": admin.user_id, "start_date": "2026-01-05",
                                         "next_review": "2026-02-01", "status": "active"})
    unsupported = risk_table(session=s, viewer=admin, workflow="unsupported")
    assert {r.student_id for r in unsupported.items} == {world.students["chloe"]}
    overdue = risk_table(session=s, viewer=admin, workflow="overdue")
    assert [r.student_id for r in overdue.items] == [world.students["ada"]]
    assert "tutoring (active), review overdue" in overdue.items[0].intervention
