"""School roles see their own schools only: staff and school administrators of North get nothing of South."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import NotFound
from db.models import StudentSummary
from services.effects import study_hours_effect
from services.filters import filter_options
from services.overview import kpi_summary, weekly_trends
from services.profile import student_profile
from services.scope import Filters, Viewer
from services.students import get_student, list_students, require_in_scope
from services.wording import no_such_student

NORTH_SIZE = 40 + 35 + 30  # the seeded classes of North School (analytics_seed.CLASSES)
SOUTH_SIZE = 45


def _viewer(role: str, *school_ids: int) -> Viewer:
    return Viewer(user_id=5, email=f"{role}@example.org", role=role, school_ids=frozenset(school_ids))


def _a_student_of(ws, school_id: int) -> int:
    return ws.scalar(select(StudentSummary.student_id).where(StudentSummary.school_id == school_id).limit(1))


@pytest.mark.parametrize("role", ["staff", "school_admin"])
def test_a_school_role_counts_only_its_school(ws, world, admin, role) -> None:
    north = _viewer(role, world.schools["North School"])
    assert kpi_summary(session=ws, viewer=admin, filters=Filters()).n_students == NORTH_SIZE + SOUTH_SIZE
    assert kpi_summary(session=ws, viewer=north, filters=Filters()).n_students == NORTH_SIZE
    south_filter = Filters(school_id=world.schools["South School"])
    assert kpi_summary(session=ws, viewer=north, filters=south_filter).n_students == 0  # a hostile filter adds nothing
    south_class = Filters(class_id=world.classes[("South School", "9A")])
    assert kpi_summary(session=ws, viewer=north, filters=south_class).n_students == 0
    assert weekly_trends(session=ws, viewer=north, filters=south_filter).empty
    assert not weekly_trends(session=ws, viewer=north, filters=Filters()).empty
    assert sum(study_hours_effect(session=ws, viewer=north, filters=Filters()).bands["n"]) == NORTH_SIZE


@pytest.mark.parametrize("role", ["staff", "school_admin"])
def test_a_school_role_cannot_open_a_student_of_another_school(ws, world, role) -> None:
    north = _viewer(role, world.schools["North School"])
    mine, theirs = _a_student_of(ws, world.schools["North School"]), _a_student_of(ws, world.schools["South School"])
    assert require_in_scope(ws, north, mine).student_id == mine
    assert get_student(session=ws, viewer=north, student_id=mine).id == mine
    for student_id in (theirs, 10**12):  # another school's student and one that does not exist: the same sentence
        for ask in (lambda i: require_in_scope(ws, north, i), lambda i: get_student(session=ws, viewer=north, student_id=i),
                    lambda i: student_profile(session=ws, viewer=north, student_id=i, explain=False)):
            with pytest.raises(NotFound) as caught:
                ask(student_id)
            assert str(caught.value) == no_such_student(north)


def test_lists_and_pickers_exclude_other_schools(ws, world) -> None:
    north = _viewer("staff", world.schools["North School"])
    page = list_students(session=ws, viewer=north, per_page=200)
    assert page.total == NORTH_SIZE
    assert {row.school_id for row in page.items} == {world.schools["North School"]}
    options = filter_options(session=ws, viewer=north, filters=Filters())
    assert [o.value for o in options.schools] == [world.schools["North School"]]
    south_ids = {world.classes[("South School", "9A")]}
    assert not south_ids & {o.value for o in options.classes}


@pytest.mark.parametrize("role", ["staff", "school_admin", "teacher", "auditor"])
def test_a_viewer_without_a_school_sees_nothing_never_everything(ws, world, role) -> None:
    nobody = _viewer(role)
    assert kpi_summary(session=ws, viewer=nobody, filters=Filters()).n_students == 0
    assert list_students(session=ws, viewer=nobody).total == 0
    assert filter_options(session=ws, viewer=nobody, filters=Filters()).schools == ()
    with pytest.raises(NotFound):
        require_in_scope(ws, nobody, _a_student_of(ws, world.schools["North School"]))


def test_several_schools_add_up(ws, world) -> None:
    both = _viewer("staff", *world.schools.values())
    assert kpi_summary(session=ws, viewer=both, filters=Filters()).n_students == NORTH_SIZE + SOUTH_SIZE


def test_a_school_without_classes_yet_is_still_named(ws) -> None:
    from sqlalchemy import text

    from services.wording import scope_label

    nested = ws.begin_nested()
    try:
        east = ws.execute(text("INSERT INTO schools (name) VALUES ('East School') RETURNING id")).scalar_one()
        assert scope_label(session=ws, viewer=_viewer("staff", east)) == "Your school: East School"
        assert kpi_summary(session=ws, viewer=_viewer("staff", east), filters=Filters()).n_students == 0
    finally:
        nested.rollback()
