"""The filter bar's URL query string <-> :class:`services.scope.Filters`, and the options it offers.

Keys: ``school``, ``grade``, ``class`` (ids), ``from``/``to`` (ISO dates), ``study`` (a study band
such as ``3-6``: a label of the ``study_bin`` derivation rules in the database) and ``att`` (minimum mean
attendance in percent, 0-100). Unknown keys are ignored; bad values are ignored with a one-sentence note
(or raise :class:`InvalidInput` when strict).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.models import ClassWeekSummary, School, SchoolClass
from services.queries import Band, current_classes, study_bands
from services.scope import Filters, Viewer

KEYS = {
    "school_id": "school",
    "grade_level": "grade",
    "class_id": "class",
    "date_from": "from",
    "date_to": "to",
    "study_band": "study",
    "min_attendance": "att",
}
"""Filters field -> URL query key."""

MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class ParsedFilters:
    """Filters read from a query string, and a note for each value that was ignored."""

    filters: Filters
    notes: tuple[str, ...] = ()


def _first(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(raw: str, low: int, high: int, what: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"The {what} must be a whole number, not {raw[:40]!r}.") from None
    if not low <= value <= high:
        raise InvalidInput(f"The {what} must be between {low} and {high}, not {value}.")
    return value


def _date(raw: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"The {what} must be a date like 2025-09-01, not {raw[:40]!r}.") from None


def _band(raw: str, session: Session) -> str:
    labels = [band.label for band in study_bands(session)]
    if raw not in labels:
        raise InvalidInput(f"The study band must be one of {', '.join(labels)}, not {raw[:40]!r}.")
    return raw


def _attendance(raw: str) -> float:
    try:
        pct = float(raw.rstrip("%"))
    except ValueError:
        raise InvalidInput(f"The attendance threshold must be a percentage, not {raw[:40]!r}.") from None
    if not 0 <= pct <= 100:
        raise InvalidInput(f"The attendance threshold must be between 0 and 100 %, not {raw[:40]}.")
    return round(pct, 2) / 100


PARSERS: dict[str, Callable[[str, Session], Any]] = {
    "school_id": lambda raw, _: _int(raw, 1, MAX_ID, "school"),
    "grade_level": lambda raw, _: _int(raw, 1, 13, "grade"),
    "class_id": lambda raw, _: _int(raw, 1, MAX_ID, "class"),
    "date_from": lambda raw, _: _date(raw, "start date"),
    "date_to": lambda raw, _: _date(raw, "end date"),
    "study_band": _band,  # the only one reading the database (the rules), and only when a band is given
    "min_attendance": lambda raw, _: _attendance(raw),
}


def parse_filters(query: Mapping[str, Any] | None, *, session: Session, strict: bool = False) -> ParsedFilters:
    """Read the filters from a query mapping (values may be lists, as from ``parse_qs``).

    Parameters
    ----------
    query:
        The query parameters; unknown keys are ignored.
    session:
        An open session: a study band is checked against the ``study_bin`` derivation rules; nothing is written.
    strict:
        Raise :class:`InvalidInput` on the first bad value instead of ignoring it with a note.
    """
    values: dict[str, Any] = {}
    notes: list[str] = []
    for name, key in KEYS.items():
        raw = _first((query or {}).get(key))
        if raw is None:
            continue
        try:
            values[name] = PARSERS[name](raw, session)
        except InvalidInput as exc:
            if strict:
                raise
            notes.append(f"{exc} That filter was ignored.")
    filters = Filters(**values)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        if strict:
            raise InvalidInput("The start date must not be after the end date.")
        filters = replace(filters, date_from=filters.date_to, date_to=filters.date_from)
        notes.append("The start date was after the end date, so the two were swapped.")
    return ParsedFilters(filters=filters, notes=tuple(notes))


def parse_search(search: str | None, *, session: Session, strict: bool = False) -> ParsedFilters:
    """Read the filters from a URL ``search`` string such as ``?grade=9&study=3-6`` (see ``parse_filters``)."""
    text = (search or "").lstrip("?")
    return parse_filters(parse_qs(text, keep_blank_values=False), session=session, strict=strict)


def to_query(filters: Filters) -> dict[str, str]:
    """The query parameters of ``filters`` (only the fields that are set), in a stable order."""
    out: dict[str, str] = {}
    for f in fields(Filters):
        value = getattr(filters, f.name)
        if value is None:
            continue
        if f.name == "min_attendance":
            out[KEYS[f.name]] = f"{value * 100:g}"
        elif isinstance(value, dt.date):
            out[KEYS[f.name]] = value.isoformat()
        else:
            out[KEYS[f.name]] = str(value)
    return out


def to_search(filters: Filters) -> str:
    """The URL ``search`` string of ``filters``: ``?grade=9&study=3-6``, or ``""`` when none is set."""
    query = to_query(filters)
    return "?" + urlencode(query) if query else ""


# --------------------------------------------------------------------------- options offered by the bar


@dataclass(frozen=True)
class Option:
    """One choice of a dropdown."""

    value: int | str
    label: str


@dataclass(frozen=True)
class FilterOptions:
    """What the filter bar offers this viewer: only schools, grades and classes in their scope."""

    schools: tuple[Option, ...]
    grades: tuple[Option, ...]
    classes: tuple[Option, ...]
    first_week: dt.date | None
    last_week: dt.date | None
    study_bands: tuple[Option, ...] = ()  # value: the band's label in the rules; label: its hours in words


def _hours(band: Band) -> str:
    """A study band in words: ``under 1 h``, ``1-3 h``, ``6 h or more``."""
    if band.lower is None and band.upper is not None:
        return f"under {band.upper:g} h"
    if band.upper is None and band.lower is not None:
        return f"{band.lower:g} h or more"
    if band.lower is not None and band.upper is not None:
        return f"{band.lower:g}-{band.upper:g} h"
    return band.label


def study_band_options(session: Session) -> tuple[Option, ...]:
    """The study bands of the derivation rules, in order, as choices (value: the band's label)."""
    return tuple(Option(band.label, _hours(band)) for band in study_bands(session))


def filter_options(*, session: Session, viewer: Viewer, filters: Filters) -> FilterOptions:
    """The schools, grades and classes (of the current school year) this viewer may pick, narrowed by the school and
    grade chosen.

    Parameters
    ----------
    session:
        An open session; nothing is written.
    viewer:
        Who is asking: a teacher is offered only their own classes (and their schools and grades).
    filters:
        The current filters; ``school_id`` narrows grades and classes, ``grade_level`` narrows classes.
    """
    # this year's classes: a past class holds no student on roll (its students are counted in this year's class)
    scoped = select(SchoolClass).where(viewer.class_clause(SchoolClass.id), current_classes()).subquery()
    schools = session.execute(
        select(School.id, School.name).where(School.id.in_(select(scoped.c.school_id))).order_by(School.name)
    ).all()
    in_school = [scoped.c.school_id == filters.school_id] if filters.school_id else []
    grades = session.execute(
        select(scoped.c.grade_level).where(*in_school).distinct().order_by(scoped.c.grade_level)
    ).scalars()
    in_grade = [scoped.c.grade_level == filters.grade_level] if filters.grade_level else []
    classes = session.execute(
        select(scoped.c.id, scoped.c.name, scoped.c.school_year)
        .where(*in_school, *in_grade)
        .order_by(scoped.c.school_year.desc(), scoped.c.name)
    ).all()
    weeks = session.execute(
        select(func.min(ClassWeekSummary.week), func.max(ClassWeekSummary.week)).where(
            viewer.class_clause(ClassWeekSummary.class_id)
        )
    ).one()
    years = {c.school_year for c in classes}
    return FilterOptions(
        schools=tuple(Option(s.id, s.name) for s in schools),
        grades=tuple(Option(g, f"Grade {g}") for g in grades),
        classes=tuple(Option(c.id, c.name if len(years) <= 1 else f"{c.name} ({c.school_year})") for c in classes),
        first_week=weeks[0],
        last_week=weeks[1],
        study_bands=study_band_options(session),
    )
