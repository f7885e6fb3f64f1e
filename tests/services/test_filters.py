"""Filter parsing: round trips, junk rejected (strict) or ignored with a note, never a traceback."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import InvalidInput
from services.filters import parse_filters, parse_search, to_query, to_search
from services.scope import Filters

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
def test_round_trip(filters: Filters) -> None:
    parsed = parse_search(to_search(filters))
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
def test_junk_is_ignored_with_a_note_or_rejected_when_strict(query: dict, word: str) -> None:
    parsed = parse_filters(query)
    assert parsed.filters == Filters()
    assert len(parsed.notes) == 1 and word in parsed.notes[0] and "ignored" in parsed.notes[0]
    with pytest.raises(InvalidInput, match=word):
        parse_filters(query, strict=True)


def test_good_values_survive_next_to_bad_ones() -> None:
    parsed = parse_search("?grade=9&class=abc&att=85%25&unknown=1&study=1-3")
    assert parsed.filters == Filters(grade_level=9, study_band="1-3", min_attendance=0.85)
    assert len(parsed.notes) == 1


def test_reversed_dates_are_swapped_with_a_note() -> None:
    parsed = parse_search("?from=2025-12-01&to=2025-09-01")
    assert parsed.filters.date_from == dt.date(2025, 9, 1) and parsed.filters.date_to == dt.date(2025, 12, 1)
    assert "swapped" in parsed.notes[0]
    with pytest.raises(InvalidInput):
        parse_search("?from=2025-12-01&to=2025-09-01", strict=True)


def test_lists_blanks_and_none() -> None:
    assert parse_filters({"grade": ["10", "11"], "school": [""], "class": None}).filters == Filters(grade_level=10)
    assert parse_filters(None).filters == Filters()
    assert parse_search(None).filters == Filters()
    assert parse_search("?").filters == Filters()
