"""The filter bar shared by the analytics pages; its state lives in the URL query string.

``filter_bar(query, path)`` builds the bar from the request's query string (options come from the
viewer's scope). It names whose data the page shows ("Your classes: 9A") and hides a picker with
nothing to pick (one school, one class); hidden pickers stay in the layout for the callbacks. Changing a control runs :func:`apply_filters`, which validates the values on the
server and writes the canonical query string both to the URL (a link another user can open) and to
the ``FILTER_QUERY`` store the charts listen to. :func:`cascade_options` narrows grades and classes
to the school and grade chosen. Both are registered once per app by :func:`register_callbacks`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from core.errors import Forbidden
from dashboard import ids
from dashboard.auth import current_viewer
from dashboard.cache import shared_answer
from dashboard.components.empty import empty_state
from dashboard.deps import read_session
from services.filters import (
    FilterOptions,
    Option,
    ParsedFilters,
    filter_options,
    parse_filters,
    parse_search,
    to_search,
)
from services.scope import TEACHER, Filters
from services.wording import no_match_hint, scope_label

ATTENDANCE_STEPS = (50, 60, 70, 75, 80, 85, 90, 95)
CONTROLS = (ids.FILTER_SCHOOL, ids.FILTER_GRADE, ids.FILTER_CLASS)


T = TypeVar("T")


def read_filters(query: str | None) -> Filters:
    """The filters of a canonical query string from the store, validated again (nothing from the browser is trusted)."""
    with read_session() as session:
        return parse_search(query, session=session).filters


def _parse(query: Mapping[str, Any] | None) -> ParsedFilters:
    """The filters of a query mapping, with a note for each value ignored (study bands as the rules define them)."""
    with read_session() as session:
        return parse_filters(query, session=session)


def ask(service: Callable[..., T], query: str | None, **extra: Any) -> T:
    """Answer one filtered, shared question for the logged-in viewer (cached per scope, filters and data version)."""
    filters, viewer = read_filters(query), current_viewer()
    with read_session() as session:
        return shared_answer(service, session=session, viewer=viewer, filters=filters, **extra)


def no_match(container_id: str) -> html.Div:
    """The empty state, its hint worded for the logged-in viewer's role ("Nobody in your classes matches them")."""
    return empty_state(container_id, hint=no_match_hint(current_viewer()))


def scoped_options(filters: Filters) -> FilterOptions | None:
    """What the logged-in viewer may pick; None when nobody is logged in (e.g. Dash's layout validation)."""
    try:
        viewer = current_viewer()
    except Forbidden:
        return None
    with read_session() as session:
        return filter_options(session=session, viewer=viewer, filters=filters)


@dataclass(frozen=True)
class BarScope:
    """What the bar shows this viewer: options narrowed by the filters, the whole scope, and whose data it is."""

    options: FilterOptions
    whole: FilterOptions  # decides which pickers are worth showing (more than one choice)
    label: str  # "Your classes: 9A", "The district: Demo School"
    teacher: bool


def bar_scope(filters: Filters) -> BarScope | None:
    """The logged-in viewer's :class:`BarScope`; None when nobody is logged in."""
    try:
        viewer = current_viewer()
    except Forbidden:
        return None
    with read_session() as session:
        options = filter_options(session=session, viewer=viewer, filters=filters)
        whole = filter_options(session=session, viewer=viewer, filters=Filters())
        return BarScope(options, whole, scope_label(session=session, viewer=viewer), viewer.role == TEACHER)


def _choices(options: tuple[Option, ...]) -> list[dict[str, Any]]:
    return [{"label": o.label, "value": o.value} for o in options]


def _attendance_choices(current: float | None) -> list[dict[str, Any]]:
    steps = set(ATTENDANCE_STEPS) | ({round(current * 100, 2)} if current is not None else set())
    return [{"label": f"≥ {s:g} %", "value": s} for s in sorted(steps)]


def _dropdown(control_id: str, label: str, options: list[dict[str, Any]], value: Any, placeholder: str,
              shown: bool = True) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=control_id, className="filter-label"),
            dcc.Dropdown(id=control_id, options=options, value=value, placeholder=placeholder, clearable=True),
        ],
        xs=12, sm=6, lg=2, className=None if shown else "d-none",
    )


def _dates(filters: Filters, options: FilterOptions | None, shown: bool = True) -> dbc.Col:
    first = options.first_week if options else None
    last = (options.last_week + dt.timedelta(days=6)) if options and options.last_week else None
    return dbc.Col(
        [
            dbc.Label("Weeks", html_for=ids.FILTER_DATES, className="filter-label"),
            dcc.DatePickerRange(
                id=ids.FILTER_DATES, start_date=filters.date_from, end_date=filters.date_to,
                min_date_allowed=first, max_date_allowed=last, initial_visible_month=filters.date_from or first,
                display_format="YYYY-MM-DD", first_day_of_week=1, clearable=True,
                start_date_placeholder_text="from", end_date_placeholder_text="to",
            ),
        ],
        xs=12, md=6, lg=3, className=None if shown else "d-none",
    )


def _notes(parsed: ParsedFilters) -> dbc.Alert:
    return dbc.Alert([html.Div(n) for n in parsed.notes], id=ids.FILTER_NOTES, color="warning", is_open=bool(parsed.notes),
                     dismissable=True, className="filter-notes")


def _pickers(f: Filters, scope: BarScope | None) -> list[dbc.Col]:
    """School, grade and class: each hidden when the viewer's whole scope offers at most one choice."""
    empty = FilterOptions((), (), (), None, None)
    options, whole = (scope.options, scope.whole) if scope else (empty, empty)
    mine = "your " if scope and scope.teacher else ""
    return [
        _dropdown(ids.FILTER_SCHOOL, "School", _choices(options.schools), f.school_id, f"All {mine}schools",
                  shown=len(whole.schools) > 1),
        _dropdown(ids.FILTER_GRADE, "Grade", _choices(options.grades), f.grade_level, f"All {mine}grades",
                  shown=len(whole.grades) > 1),
        _dropdown(ids.FILTER_CLASS, "Class", _choices(options.classes), f.class_id, f"All {mine}classes",
                  shown=len(whole.classes) > 1),
    ]


def filter_bar(query: Mapping[str, Any] | None, path: str, *, dates: bool = True) -> html.Div:
    """The bar for this request: whose data it is, values from the query string, options from the viewer's scope.

    ``dates=False`` hides the week range on a page where it does not apply (it stays in the layout).
    """
    parsed = _parse(query)
    f = parsed.filters
    scope = bar_scope(f)
    controls = dbc.Row(
        [
            *_pickers(f, scope),
            _dates(f, scope.options if scope else None, shown=dates),
            _dropdown(ids.FILTER_STUDY, "Study hours / week", _choices(scope.options.study_bands if scope else ()),
                      f.study_band, "Any"),
            _dropdown(ids.FILTER_ATTENDANCE, "Attendance", _attendance_choices(f.min_attendance),
                      None if f.min_attendance is None else round(f.min_attendance * 100, 2), "Any"),
        ],
        className="g-2 align-items-end",
    )
    reset = dcc.Link("Reset filters", href=path, id=ids.FILTER_RESET, className="filter-reset")
    return html.Div(
        [
            dcc.Location(id=ids.FILTER_URL, refresh=False),
            dcc.Store(id=ids.FILTER_QUERY, data=to_search(f)),
            html.Div(scope.label if scope else "", id=ids.FILTER_SCOPE, className="filter-scope"),
            controls,
            html.Div(reset, className="filter-actions"),
            _notes(parsed),
        ],
        id=ids.FILTER_BAR,
        className="filter-bar",
    )


def apply_filters(school: Any, grade: Any, klass: Any, start: Any, end: Any, band: Any, att: Any) -> tuple[str, str, list, bool]:
    """Validate the controls' values; return the canonical query (store and URL) and any notes."""
    raw = {"school": school, "grade": grade, "class": klass, "from": start, "to": end, "study": band, "att": att}
    parsed = _parse({k: (None if v is None else str(v)[:40]) for k, v in raw.items()})
    search = to_search(parsed.filters)
    return search, search, [html.Div(n) for n in parsed.notes], bool(parsed.notes)


def cascade_options(school: Any, grade: Any, klass: Any) -> tuple[list, list, Any, Any]:
    """Grades and classes the viewer may pick within the chosen school (and grade); stale picks are cleared."""
    parsed = _parse({"school": None if school is None else str(school), "grade": None if grade is None else str(grade)})
    options = scoped_options(parsed.filters)
    if options is None:
        return [], [], None, None
    grades, classes = _choices(options.grades), _choices(options.classes)
    keep_grade = grade if any(g["value"] == grade for g in grades) else None
    if keep_grade != grade:
        options = scoped_options(Filters(school_id=parsed.filters.school_id))
        classes = _choices(options.classes) if options else []
    keep_class = klass if any(c["value"] == klass for c in classes) else None
    return grades, classes, keep_grade, keep_class


def register_callbacks() -> None:
    """Register the bar's two callbacks (called once per app, from the Overview page module)."""
    callback(
        Output(ids.FILTER_QUERY, "data"),
        Output(ids.FILTER_URL, "search"),
        Output(ids.FILTER_NOTES, "children"),
        Output(ids.FILTER_NOTES, "is_open"),
        Input(ids.FILTER_SCHOOL, "value"),
        Input(ids.FILTER_GRADE, "value"),
        Input(ids.FILTER_CLASS, "value"),
        Input(ids.FILTER_DATES, "start_date"),
        Input(ids.FILTER_DATES, "end_date"),
        Input(ids.FILTER_STUDY, "value"),
        Input(ids.FILTER_ATTENDANCE, "value"),
        prevent_initial_call=True,
    )(apply_filters)
    callback(
        Output(ids.FILTER_GRADE, "options"),
        Output(ids.FILTER_CLASS, "options"),
        Output(ids.FILTER_GRADE, "value"),
        Output(ids.FILTER_CLASS, "value"),
        Input(ids.FILTER_SCHOOL, "value"),
        Input(ids.FILTER_GRADE, "value"),
        State(ids.FILTER_CLASS, "value"),
        prevent_initial_call=True,
    )(cascade_options)
