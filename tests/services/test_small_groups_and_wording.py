"""Small groups are never compared (MIN_COMPARE) nor shown to a viewer who cannot see them (MIN_AGGREGATE);
the scope is named in words for each role."""

from __future__ import annotations

import math

import pytest
from analytics_seed import teacher_of

from services.effects import band_words, sports_effect, study_hours_effect
from services.overview import score_distribution
from services.queries import load_rules
from services.scope import Filters, Viewer
from services.small_groups import MIN_AGGREGATE, MIN_COMPARE, aggregate_shown, comparable
from services.wording import no_match_hint, no_such_student, scope_label, scope_phrase, students

STAFF = Viewer(user_id=3, email="staff@example.org", role="staff")


def test_thresholds_are_the_agreed_ones() -> None:
    assert (MIN_COMPARE, MIN_AGGREGATE) == (10, 5)
    assert comparable(10, 10) and not comparable(10, 9) and not comparable(40)


def test_an_aggregate_outside_the_scope_needs_five_students(admin) -> None:
    teacher = teacher_of(1)
    assert not aggregate_shown(MIN_AGGREGATE - 1, viewer=teacher, in_scope=False)
    assert aggregate_shown(MIN_AGGREGATE, viewer=teacher, in_scope=False)
    assert aggregate_shown(1, viewer=teacher, in_scope=True)  # their own students: they can open each one anyway
    assert aggregate_shown(1, viewer=admin, in_scope=False)
    assert not aggregate_shown(1, viewer=STAFF, in_scope=False)  # staff see their school only, not the district


def test_study_bands_under_ten_students_are_not_compared(ws, world) -> None:
    """A teacher's class cut by a study band and an attendance floor: too few students to compare, and it says so."""
    teacher = teacher_of(world.classes[("North School", "10A")])
    e = study_hours_effect(session=ws, viewer=teacher, filters=Filters(min_attendance=0.9))
    sizes = dict(zip(e.bands["band"], e.bands["n"], strict=True))
    big = [b for b, n in sizes.items() if n >= MIN_COMPARE]
    assert len(big) < 2 and 0 < sum(sizes.values()), sizes  # the precondition of this test
    for text in (e.caption, e.headline):
        assert "Too few students to compare study bands" in text
        assert "score a median of" not in text and "points more" not in text
    rules = load_rules(ws)
    small = [b for b in rules.study_bands if 0 < sizes[b.label] < MIN_COMPARE]
    assert small and all(f"{band_words(b)}: {sizes[b.label]}" in e.headline for b in small)


def test_a_comparison_uses_only_bands_of_ten_or_more(ws, admin) -> None:
    e = study_hours_effect(session=ws, viewer=admin, filters=Filters())
    big = e.bands[e.bands["n"] >= MIN_COMPARE]
    assert len(big) >= 2
    assert f"n = {int(big.iloc[-1].n):,} and {int(big.iloc[0].n):,}" in e.caption
    assert "Students who study more tend to score higher" in e.headline and "link" in e.headline


def test_sports_groups_under_ten_get_no_test_and_no_conclusion(ws, world) -> None:
    teacher = teacher_of(world.classes[("North School", "10A")])
    e = sports_effect(session=ws, viewer=teacher, filters=Filters(study_band="3-6"))
    s = e.tests["score"]
    assert not comparable(s.n_participants, s.n_none), (s.n_participants, s.n_none)  # precondition
    assert math.isnan(s.welch_p) and math.isnan(s.cohens_d)
    for text in (e.caption, e.headline):
        assert text.startswith("Too few students to compare") and "higher" not in text and "lower" not in text
    levels = e.boxes[(e.boxes.metric == "score") & (e.boxes.n >= MIN_COMPARE)]
    if len(levels) < 2:
        assert math.isnan(s.anova_p) and math.isnan(s.kruskal_p)


def test_sports_headline_puts_the_effect_size_in_words(ws, admin) -> None:
    e = sports_effect(session=ws, viewer=admin, filters=Filters())
    assert e.headline.startswith("Students who play sports ")
    assert any(size in e.headline for size in ("negligible difference", "small difference", "medium difference", "large difference"))
    assert "Welch" not in e.headline and "Cohen" not in e.headline  # the statistics stay in the caption


def test_a_tiny_distribution_gets_no_shape_note(ws, world) -> None:
    teacher = teacher_of(world.classes[("North School", "10A")])
    d = score_distribution(session=ws, viewer=teacher, filters=Filters(study_band="6+", min_attendance=0.9))
    assert 0 < d.n < MIN_COMPARE
    assert d.note.startswith(f"Too few scores ({d.n})") and "skew" not in d.note


def test_each_role_gets_its_own_words(ws, world, admin) -> None:
    teacher = teacher_of(world.classes[("North School", "9A")], world.classes[("North School", "9B")])
    assert [scope_phrase(v) for v in (teacher, STAFF, admin)] == ["your classes", "your school", "the district"]
    assert no_such_student(teacher) == "No such student in your classes."
    assert no_such_student(STAFF) == "No such student in your school."
    assert "your classes" in no_match_hint(teacher)
    assert scope_label(session=ws, viewer=teacher) == "Your classes: 9A, 9B"
    assert scope_label(session=ws, viewer=admin) == "The district: 2 schools"
    assert scope_label(session=ws, viewer=teacher_of()) == "Your classes: none assigned yet"
    both = teacher_of(world.classes[("North School", "9A")], world.classes[("South School", "9A")])
    assert scope_label(session=ws, viewer=both) == "Your classes: 9A (North School), 9A (South School)"
    assert (students(1), students(2000)) == ("1 student", "2,000 students")


@pytest.mark.parametrize("role", ["staff", "school_admin", "admin"])
def test_school_wide_roles_name_their_school_or_district(ws, world, role) -> None:
    label = scope_label(session=ws, viewer=Viewer(user_id=9, email="x@example.org", role=role))
    assert label == ("Your school: none assigned yet" if role != "admin" else "The district: 2 schools")
    north = Viewer(user_id=9, email="x@example.org", role=role, school_ids=frozenset({world.schools["North School"]}))
    assert scope_label(session=ws, viewer=north) == ("Your school: North School" if role != "admin" else "The district: 2 schools")
