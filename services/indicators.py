"""Early-warning indicators beside the model: chronic absence, course performance, low study time, and segments.

The flags are computed in SQL with every load (``db.indicators``) from thresholds kept in ``derivation_rules``;
this module reads them back with their values in plain words, filters a list by them (:func:`indicator_condition`,
used by the at-risk list) and counts the students of each combination of indicators (:func:`segments`, the
overview's segments view), each segment with its pass rate and mean score.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, select, text
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.indicators import RULES_SQL
from db.models import Prediction, StudentIndicator, StudentSummary
from ml.score import HIGH
from services.queries import summary_filters
from services.scope import Filters, Viewer
from services.small_groups import MIN_COMPARE, aggregate_shown
from services.students import StudentInScope

SI = StudentIndicator
ABSENCE, GRADES, STUDY = "absence", "grades", "study"
KEYS = (ABSENCE, GRADES, STUDY)
"""The indicators, in the order every surface lists them (their short names in URLs)."""
LABELS = {ABSENCE: "Chronic absence", GRADES: "Course performance", STUDY: "Low study time"}
SHORT_LABELS = {ABSENCE: "Absence", GRADES: "Grades", STUDY: "Low study"}  # in a narrow table column
ICONS = {ABSENCE: "⊘", GRADES: "↓", STUDY: "◔"}  # a shape beside the words, never alone
COLUMNS = {ABSENCE: SI.chronic_absence, GRADES: SI.course_performance, STUDY: SI.low_study}
ANY, NONE, HIGH_NONE = "any", "none", "high-none"
SEGMENT = "is-"  # a segment filter: exactly these indicators, e.g. ``is-absence.study`` (``is-none``: none at all)
FILTER_LABELS = {ANY: "Any indicator", HIGH_NONE: f"Model {HIGH} without an indicator", NONE: "No indicator",
                 **{k: LABELS[k] for k in KEYS}}
"""The list's indicator filter choices (segments come from the overview and show their own words)."""


@dataclass(frozen=True)
class Thresholds:
    """The indicator thresholds from ``derivation_rules``."""

    chronic_below: float  # attendance rate, 0-1
    pass_mark: float  # running grade
    drop_points: float
    drop_weeks: int
    study_below: float  # hours a week


def thresholds(session: Session) -> Thresholds:
    """The thresholds as the derivation rules set them now."""
    row = session.execute(text(RULES_SQL)).one()
    return Thresholds(float(row.chronic), float(row.pass_mark), float(row.drop_points), int(row.drop_weeks),
                      float(row.low_study))


@dataclass(frozen=True)
class Indicator:
    """One indicator of one student: whether it is on, and the value and rule behind it in words."""

    key: str
    on: bool
    value: str  # e.g. "attendance 86 % (below 90 %)"

    @property
    def label(self) -> str:
        """The indicator's name, e.g. ``Chronic absence``."""
        return LABELS[self.key]

    @property
    def icon(self) -> str:
        """The indicator's shape."""
        return ICONS[self.key]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {"key": self.key, "label": self.label, "on": self.on, "value": self.value}


def _pct(rate: float) -> str:
    points = round(rate * 100)
    return "under 1 %" if points < 1 and rate > 0 else "over 99 %" if points > 99 and rate < 1 else f"{points} %"


def _absence(row: Any, t: Thresholds) -> Indicator:
    if row.attendance is None:
        return Indicator(ABSENCE, False, "no attendance recorded yet")
    relation = "below" if row.chronic_absence else "at or above"
    return Indicator(ABSENCE, bool(row.chronic_absence), f"attendance {_pct(row.attendance)} to date "
                     f"({relation} {_pct(t.chronic_below)})")


def _grades(row: Any, t: Thresholds) -> Indicator:
    if row.running_grade is None:
        return Indicator(GRADES, False, "no grade recorded yet")
    words = [f"running grade {row.running_grade:.1f} (pass mark {t.pass_mark:g})"]
    if row.grade_drop is not None and row.grade_drop > 0:
        words.append(f"down {row.grade_drop:.1f} points over the last {t.drop_weeks} weeks")
    elif row.grade_drop is not None:
        words.append(f"no drop over the last {t.drop_weeks} weeks")
    return Indicator(GRADES, bool(row.course_performance), ", ".join(words))


def _study(row: Any, t: Thresholds) -> Indicator:
    if row.study_hours is None:
        return Indicator(STUDY, False, "no study time recorded yet")
    relation = "below" if row.low_study else "at or above"
    return Indicator(STUDY, bool(row.low_study), f"{row.study_hours:.1f} hours of study a week "
                     f"({relation} {t.study_below:g})")


def student_indicators(session: Session, student: StudentInScope) -> list[Indicator]:
    """A checked student's three indicators with their values (all off, "not computed", before the first load).

    Parameters
    ----------
    session : an open session; nothing is written.
    student : a student the viewer may see (from :func:`services.students.require_in_scope`).
    """
    row = session.execute(select(SI).where(SI.student_id == student.student_id)).scalar_one_or_none()
    if row is None:
        return [Indicator(k, False, "not computed yet (after the next data load)") for k in KEYS]
    t = thresholds(session)
    return [_absence(row, t), _grades(row, t), _study(row, t)]


def flags_of(row_flags: tuple[Any, ...]) -> tuple[str, ...]:
    """The keys of the indicators that are on, from a row's three flags in ``KEYS`` order (NULL: off)."""
    return tuple(k for k, on in zip(KEYS, row_flags, strict=True) if on)


def indicators_of(session: Session, student_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The indicators that are on for each of ``student_ids`` (already scope-checked by the caller)."""
    if not student_ids:
        return {}
    stmt = select(SI.student_id, *COLUMNS.values()).where(SI.student_id.in_(student_ids))
    return {int(row[0]): flags_of(tuple(row[1:])) for row in session.execute(stmt)}


def words_of(keys: tuple[str, ...]) -> str:
    """A combination of indicators in words: ``Chronic absence + Low study time``, or ``No indicator``."""
    return " + ".join(LABELS[k] for k in keys) if keys else "No indicator"


# --------------------------------------------------------------------------- filtering a list


def _on(key: str) -> ColumnElement[bool]:
    return func.coalesce(COLUMNS[key], False)


def _none() -> ColumnElement[bool]:
    return not_(_on(ABSENCE) | _on(GRADES) | _on(STUDY))


def segment_value(keys: tuple[str, ...]) -> str:
    """The filter value of the segment of exactly these indicators: ``is-absence.study``, ``is-none``."""
    return SEGMENT + (".".join(k for k in KEYS if k in keys) or NONE)


def parse_segment(value: str) -> tuple[str, ...]:
    """The indicators of a segment filter value (``InvalidInput`` when it is not one)."""
    body = value.removeprefix(SEGMENT)
    keys = () if body == NONE else tuple(body.split("."))
    if not value.startswith(SEGMENT) or any(k not in KEYS for k in keys) or len(set(keys)) != len(keys):
        raise InvalidInput(f"Unknown indicator filter {value[:40]!r}: choose one of {', '.join(FILTER_LABELS)}.")
    return keys


def check_filter(value: str | None) -> None:
    """``InvalidInput`` unless ``value`` is None, a choice of ``FILTER_LABELS`` or a segment value."""
    if value is not None and value not in FILTER_LABELS:
        parse_segment(value)


def filter_words(value: str) -> str:
    """A filter value in words, e.g. ``Any indicator`` or ``Chronic absence + Low study time``."""
    return FILTER_LABELS.get(value) or words_of(parse_segment(value))


def indicator_condition(value: str) -> ColumnElement[bool]:
    """The SQL condition of an indicator filter over ``student_indicators`` (outer-joined) and the prediction's tier.

    ``any``: at least one indicator; ``none``: none; ``high-none``: the model says High and no indicator is on;
    an indicator's key: that one is on; ``is-...``: exactly that combination (a segment of the overview).
    """
    check_filter(value)
    if value == ANY:
        return not_(_none())
    if value == NONE:
        return _none()
    if value == HIGH_NONE:
        return and_(_none(), Prediction.tier == HIGH)
    if value in COLUMNS:
        return _on(value)
    keys = parse_segment(value)
    return and_(*(_on(k) if k in keys else not_(_on(k)) for k in KEYS))


# --------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class Segment:
    """The students with exactly one combination of indicators, their pass rate and mean score (None: withheld)."""

    keys: tuple[str, ...]
    n: int
    pass_rate: float | None
    mean_score: float | None
    comparable: bool  # at least ``MIN_COMPARE`` students: big enough to compare with another segment

    @property
    def words(self) -> str:
        """The combination in words."""
        return words_of(self.keys)

    @property
    def filter_value(self) -> str:
        """The at-risk list's filter value that opens exactly these students."""
        return segment_value(self.keys)


@dataclass(frozen=True)
class Segments:
    """Every combination of indicators in the scope (largest first among the flagged), with the note to show."""

    items: list[Segment]
    n_students: int
    pass_mark: float
    note: str

    @property
    def empty(self) -> bool:
        """True when no student matches."""
        return self.n_students == 0


SEGMENTS_NOTE = ("Indicators are transparent rules computed with each data load ({rules}); they use all the data to "
                 "date, so the week range does not apply. Segments of fewer than {small} students are too small to "
                 "compare with one another.")


def _rules_words(t: Thresholds) -> str:
    return (f"chronic absence: attendance below {_pct(t.chronic_below)}; course performance: running grade below "
            f"{t.pass_mark:g} or down {t.drop_points:g} points or more over {t.drop_weeks} weeks; low study time: "
            f"under {t.study_below:g} hours a week")


def segments(*, session: Session, viewer: Viewer, filters: Filters | None = None,
             pass_threshold: float = 60.0) -> Segments:
    """How many students of the viewer's scope fall in each combination of indicators, with pass rate and mean score.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : whose scope to count (the same clause the profile checks).
    filters : the filter bar (school, grade, class, study band, attendance; dates do not apply).
    pass_threshold : a latest running grade at or above this passes (``Settings.pass_threshold``).
    """
    ss = StudentSummary
    flags = [_on(k).label(k) for k in KEYS]
    passed = case((ss.latest_score >= pass_threshold, 1.0), (ss.latest_score.is_not(None), 0.0))
    stmt = (select(*flags, func.count(), func.avg(passed), func.avg(ss.latest_score))
            .select_from(ss).outerjoin(SI, SI.student_id == ss.student_id)
            .where(*summary_filters(viewer, filters or Filters())).group_by(*flags))
    found = {flags_of(tuple(r[:3])): r for r in session.execute(stmt)}
    items = []
    for combo in product((False, True), repeat=len(KEYS)):
        keys = flags_of(combo)
        row = found.get(keys)
        if row is None:
            continue
        n = int(row[3])
        shown = aggregate_shown(n, viewer=viewer, in_scope=True)
        items.append(Segment(keys, n, _float(row[4]) if shown else None, _float(row[5]) if shown else None,
                             n >= MIN_COMPARE))
    items.sort(key=lambda s: (not s.keys, -len(s.keys), -s.n, s.keys))
    t = thresholds(session)
    note = SEGMENTS_NOTE.format(rules=_rules_words(t), small=MIN_COMPARE)
    return Segments(items, sum(s.n for s in items), pass_threshold, note)


def share_words(share: float | None) -> str:
    """A share in words for teachers: ``all``, ``none``, a whole percent, ``under 1 %``/``over 99 %`` (``–``: withheld)."""
    if share is None:
        return "–"
    if share >= 1:
        return "all"
    if share <= 0:
        return "none"
    points = round(share * 100)
    return "under 1 %" if points < 1 else "over 99 %" if points > 99 else f"{points} %"


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
