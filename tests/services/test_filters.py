"""Filter parsing: round trips, junk rejected (strict) or ignored with a note, never a traceback; study bands are
those of the derivation rules in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.models import DerivationRule
from services.filters import (
    Option,
    filter_options,
    parse_filters,
    parse_search,
    study_band_options,
    to_query,
    to_search,
)
from services.scope import Filters, Viewer

CASES = [
    Filters(),
    Filters(school_id=1),
    Filters(school_id=3, grade_level=9, class_id=12),
    Filters(date_from=dt.date(2025, 9, 1), date_to=dt.date(2025, 12, 22)),
    Filters(date_to=dt.date(2026, 1, 5)),
    Filters(study_band="6+", min_attendance=0.9),
    Filters(study_band="0-1", min_attendance=0.875),
    Filters(1, 10, 4, dt.date(2025, 10, 6), dt.date(2025, 10, 6), "3-6", 0.0),
]


@pytest.mark.parametrize("filters", CASES)
def test_round_trip(session: Session, filters: Filters) -> None:
    parsed = parse_search(to_search(filters), session=session)
    assert parsed.filters == filters
    assert parsed.notes == ()


def test_search_string_shape() -> None:
    assert to_search(Filters()) == ""
    assert to_search(Filters(grade_level=9, study_band="6+", min_attendance=0.9)) == "?grade=9&study=6%2B&att=90"
    assert to_query(Filters(date_from=dt.date(2025, 9, 1))) == {"from": "2025-09-01"}


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ({"grade": "nine"}, "grade"),
        ({"grade": "42"}, "grade"),
        ({"school": "-1"}, "school"),
        ({"class": "1; DROP TABLE students"}, "class"),
        ({"from": "2025-13-45"}, "start date"),
        ({"to": "yesterday"}, "end date"),
        ({"study": "lots"}, "study band"),
        ({"att": "120"}, "attendance"),
        ({"att": "ninety"}, "attendance"),
    ],
)
def test_junk_is_ignored_with_a_note_or_rejected_when_strict(session: Session, query: dict, word: str) -> None:
    parsed = parse_filters(query, session=session)
    assert parsed.filters == Filters()
    assert len(parsed.notes) == 1 and word in parsed.notes[0] and "ignored" in parsed.notes[0]
    with pytest.raises(InvalidInput, match=word):
        parse_filters(query, session=session, strict=True)


def test_good_values_survive_next_to_bad_ones(session: Session) -> None:
    parsed = parse_search("?grade=9&class=abc&att=85%25&unknown=1&study=1-3", session=session)
    assert parsed.filters == Filters(grade_level=9, study_band="1-3", min_attendance=0.85)
    assert len(parsed.notes) == 1


def test_reversed_dates_are_swapped_with_a_note(session: Session) -> None:
    parsed = parse_search("?from=2025-12-01&to=2025-09-01", session=session)
    assert parsed.filters.date_from == dt.date(2025, 9, 1) and parsed.filters.date_to == dt.date(2025, 12, 1)
    assert "swapped" in parsed.notes[0]
    with pytest.raises(InvalidInput):
        parse_search("?from=2025-12-01&to=2025-09-01", session=session, strict=True)


def test_lists_blanks_and_none(session: Session) -> None:
    assert parse_filters({"grade": ["10", "11"], "school": [""], "class": None}, session=session).filters == Filters(grade_level=10)
    assert parse_filters(None, session=session).filters == Filters()
    assert parse_search(None, session=session).filters == Filters()
    assert parse_search("?", session=session).filters == Filters()


def test_the_seeded_study_bands_are_offered_in_words(session: Session) -> None:
    admin = Viewer(user_id=1, email="admin@example.org", role="admin")
    want = (Option("0-1", "under 1 h"), Option("1-3", "1-3 h"), Option("3-6", "3-6 h"), Option("6+", "6 h or more"))
    assert study_band_options(session) == want
    assert filter_options(session=session, viewer=admin, filters=Filters()).study_bands == want


def test_study_bands_are_read_from_the_derivation_rules(session: Session) -> None:
    """Editing the rules changes what the filter accepts and offers: no copy of the bands is kept anywhere else."""
    rules = DerivationRule.__table__
    session.execute(update(rules).where(rules.c.kind == "study_bin", rules.c.label == "6+").values(label="6-10", upper=10.0))
    session.execute(insert(rules).values(kind="study_bin", label="10+", lower=10.0, upper=None, ordinal=4))
    session.execute(delete(rules).where(rules.c.kind == "study_bin", rules.c.label == "0-1"))
    assert [o.value for o in study_band_options(session)] == ["1-3", "3-6", "6-10", "10+"]
    assert study_band_options(session)[2:] == (Option("6-10", "6-10 h"), Option("10+", "10 h or more"))
    assert parse_search("?study=10%2B", session=session).filters == Filters(study_band="10+")
    for gone in ("6+", "0-1"):
        parsed = parse_filters({"study": gone}, session=session)
        assert parsed.filters == Filters() and "1-3, 3-6, 6-10, 10+" in parsed.notes[0]
        with pytest.raises(InvalidInput, match="study band"):
            parse_filters({"study": gone}, session=session, strict=True)
