"""Column mappings: how a school's own file (its headers, its scales) becomes the columns of docs/EXPORT_FORMAT.md.

A :class:`Mapping` is a list of :class:`Rule` (file header -> our column, with an optional transform). It is applied
to each raw text chunk after the read stage and before validation (:func:`apply`), so the rest of the pipeline is
unchanged. Transforms keep a cell they cannot read as it is, so validation rejects it with its reason:

* ``rescale``: a score out of ``from_max`` (e.g. 20) to 0-100; with ``from_pass`` (e.g. 10 of 20) the scale is
  piecewise linear so that the file's pass mark lands on ours (``to_pass``, 60) and every student keeps the side of
  the pass mark the file gives them;
* ``absences``: a count of absences to an attendance rate, ``1 - absences / days`` (``days`` is stated);
* ``percent``: ``"90%"`` to ``0.9`` (with ``always``, every number is a percent: ``1`` is 1 %, not 100 %);
* ``dayfirst`` / ``monthfirst``: ``01/09/2025`` (``.`` and ``-`` too, a two-digit year is 20yy) to ``2025-09-01``;
* ``values``: a table of values (``{"1": "1", "2": "3.5"}``), for codes such as the UCI ``studytime`` bands.

:func:`scale_warnings` looks at the first rows as they would load and says, before anything is written, when a score
looks out of 20, attendance looks like counts of absences (``silent``: such values would load wrong without a sign),
numbers are percent strings or dates are day-first (those rows would be rejected, with their reasons).
Two profiles ship (``PROFILES``); others are saved by name in ``column_mappings``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from db.models import ColumnMapping
from etl.clean import CleanOptions, clean
from etl.read import KNOWN, FileFormat, MissingColumns, listed, normalise_header, read_chunks, sniff
from etl.validate import by_unique, validate

TRANSFORMS = ("rescale", "absences", "percent", "dayfirst", "monthfirst", "values")
PASS_MARK = 60.0
"""Our pass mark out of 100 (``Settings.pass_threshold``'s default): where a rescaled file's own pass mark lands."""
SAMPLE_ROWS = 2000
"""Rows read to look for scale problems (and to preview)."""
MIN_SAMPLE = 20
"""Fewer numbers than this say nothing about a column's scale."""
SHARE = 0.1
"""Percent strings or slashed dates in more than this share of a column's cells are worth a warning."""
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
SLASHED = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$")
SYNTAX = "SOURCE=TARGET[:rescale:MAX[:PASS] | :absences:DAYS | :percent[:all] | :dayfirst | :monthfirst | :values:A=B,C=D]"


# --------------------------------------------------------------------------- the mapping model


@dataclass(frozen=True)
class Rule:
    """One file header mapped to one of our columns, with an optional transform and its parameters."""

    source: str
    target: str
    transform: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse an unknown column or transform and bad parameters (InvalidInput, one sentence)."""
        if not self.source.strip():
            raise InvalidInput("a mapping rule needs a source column.")
        if self.target not in KNOWN:
            raise InvalidInput(f"{self.target[:40]!r} is not one of our columns ({', '.join(KNOWN)}).")
        if self.transform and self.transform not in TRANSFORMS:
            raise InvalidInput(f"{self.transform[:40]!r} is not a transform ({', '.join(TRANSFORMS)}).")
        _check_params(self.transform, self.params)

    def describe(self) -> str:
        """What the rule does, in words (for the preview and the run's notes)."""
        head = f"{self.source} -> {self.target}"
        p = self.params
        if self.transform == "rescale":
            text = f"{head}: 0-{p['from_max']:g} rescaled to 0-100"
            if p.get("from_pass") is not None:
                text += (f", piecewise so that {p['from_pass']:g} of {p['from_max']:g} (the file's pass mark) is "
                         f"{p.get('to_pass', PASS_MARK):g} (ours): pass and fail are the file's own")
            return text
        if self.transform == "absences":
            return f"{head}: attendance = 1 - absences / {p['days']:g} (a period of {p['days']:g} school days is assumed)"
        if self.transform == "percent":
            return f"{head}: {'every number is' if p.get('always') else '''cells such as '90%' are'''} a percent"
        if self.transform in ("dayfirst", "monthfirst"):
            return f"{head}: dates read {self.transform.replace('first', '-first')} (01/09/2025 is " + \
                ("1 September)" if self.transform == "dayfirst" else "9 January)")
        if self.transform == "values":
            return f"{head}: values " + ", ".join(f"{k} -> {v}" for k, v in list(p["map"].items())[:8])
        return head

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"source": self.source, "target": self.target, "transform": self.transform, "params": self.params}


def _number_param(params: dict[str, Any], key: str, low: float = 0.0) -> float:
    """A positive finite number parameter."""
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= low:
        raise InvalidInput(f"the transform needs {key} as a number above {low:g}.")
    return float(value)


def _check_params(transform: str, params: dict[str, Any]) -> None:
    """Each transform's parameters are present and sane."""
    if transform == "rescale":
        top = _number_param(params, "from_max")
        if params.get("from_pass") is not None and not 0 < _number_param(params, "from_pass") < top:
            raise InvalidInput(f"the pass mark must lie between 0 and {top:g}.")
        if "to_pass" in params and not 0 < _number_param(params, "to_pass") < 100:
            raise InvalidInput("our pass mark must lie between 0 and 100.")
    elif transform == "absences":
        _number_param(params, "days", 0.5)
    elif transform == "values":
        table = params.get("map")
        if not isinstance(table, dict) or not table or not all(isinstance(v, str) for v in table.values()):
            raise InvalidInput("the values transform needs a table of values (A=B,C=D).")


@dataclass(frozen=True)
class Mapping:
    """A named set of rules (later rules win for the same source or target) and the assumptions it states."""

    name: str = ""
    rules: tuple[Rule, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        """Refuse two rules filling the same column."""
        targets = [r.target for r in self.rules]
        twice = sorted({t for t in targets if targets.count(t) > 1})
        if twice:
            raise InvalidInput(f"the mapping fills {', '.join(twice)} from more than one column.")

    @property
    def columns(self) -> dict[str, str]:
        """File header -> our column."""
        return {r.source: r.target for r in self.rules}

    def with_rules(self, rules: Iterable[Rule], name: str | None = None) -> Mapping:
        """This mapping with ``rules`` added, replacing any rule of the same source or target."""
        rules = list(rules)
        taken = {normalise_header(r.source) for r in rules} | {r.target for r in rules}
        kept = [r for r in self.rules if normalise_header(r.source) not in taken and r.target not in taken]
        return Mapping(self.name if name is None else name, tuple(kept + rules), self.description)

    def with_pass_mark(self, pass_mark: float) -> Mapping:
        """This mapping with each pass-mark-keeping rescale landing on ``pass_mark`` (``Settings.pass_threshold``)."""
        rules = tuple(Rule(r.source, r.target, r.transform, {**r.params, "to_pass": pass_mark})
                      if r.transform == "rescale" and r.params.get("from_pass") is not None else r for r in self.rules)
        return Mapping(self.name, rules, self.description)

    def notes(self) -> list[str]:
        """Each rule that does more than rename, in words."""
        return [r.describe() for r in self.rules if r.transform]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (stored in ``column_mappings`` and on each run)."""
        return {"name": self.name, "description": self.description, "rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mapping:
        """The mapping of :meth:`to_dict`; InvalidInput if it is malformed."""
        try:
            rules = tuple(Rule(str(r["source"]), str(r["target"]), str(r.get("transform") or ""),
                               dict(r.get("params") or {})) for r in data["rules"])
            return cls(str(data.get("name") or ""), rules, str(data.get("description") or ""))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"the mapping is malformed ({exc!s:.80}).") from exc


UCI = Mapping("uci-student-performance", (
    Rule("school", "school", "values", {"map": {"GP": "Gabriel Pereira", "MS": "Mousinho da Silveira"}}),
    Rule("sex", "gender"),
    Rule("age", "age"),
    Rule("studytime", "study_hours", "values", {"map": {"1": "1", "2": "3.5", "3": "7.5", "4": "12"}}),
    Rule("absences", "attendance_rate", "absences", {"days": 180}),
    Rule("activities", "sports_participation"),
    Rule("G3", "final_score", "rescale", {"from_max": 20, "from_pass": 10, "to_pass": PASS_MARK}),
), "UCI Student Performance (Cortez and Silva 2008), student-mat.csv or student-por.csv: ';'-separated; "
   "G3 (final grade 0-20, pass at 10) is the final score, rescaled so that 10 of 20 is our pass mark 60 of 100 "
   "(0-10 -> 0-60, 10-20 -> 60-100: the share below the pass mark is the file's own); absences (a count over the "
   "school year) become attendance over a 180-day Portuguese school year; studytime bands 1-4 (<2, 2-5, 5-10, >10 "
   "hours a week) become 1, 3.5, 7.5 and 12 hours; activities (extra-curricular) is sports participation. The file "
   "has no student ids and no dates: see the notes on ids and dates.")
KAGGLE = Mapping("kaggle-performance-factors", (
    Rule("Hours_Studied", "study_hours"),
    Rule("Attendance", "attendance_rate", "percent", {"always": True}),
    Rule("Extracurricular_Activities", "sports_participation"),
    Rule("Gender", "gender"),
    Rule("Exam_Score", "final_score"),
), "Kaggle 'Student Performance Factors' (StudentPerformanceFactors.csv): Hours_Studied a week, Attendance in "
   "percent, Exam_Score out of 100; the other 15 columns are not used. The file has no student ids and no dates: "
   "see the notes on ids and dates.")
PROFILES = {m.name: m for m in (UCI, KAGGLE)}
"""The shipped profiles, by name."""


def parse_rule(spec: str, pass_mark: float = PASS_MARK) -> Rule:
    """A rule from the command line's ``SOURCE=TARGET[:TRANSFORM[:ARG...]]`` (see ``SYNTAX``)."""
    source, sep, rest = spec.partition("=")
    if not sep or not source.strip() or not rest:
        raise InvalidInput(f"--map {spec[:60]!r} is not {SYNTAX}.")
    target, _, tail = rest.partition(":")
    kind, _, args = tail.partition(":")
    params: dict[str, Any] = {}
    try:
        if kind == "rescale":
            top, _, passed = args.partition(":")
            params = {"from_max": float(top), "to_pass": pass_mark}
            if passed:
                params["from_pass"] = float(passed)
        elif kind == "absences":
            params = {"days": float(args)}
        elif kind == "percent" and args:
            if args != "all":
                raise ValueError(args)
            params = {"always": True}
        elif kind == "values":
            params = {"map": dict(_pair(p) for p in args.split(","))}
    except ValueError as exc:
        raise InvalidInput(f"--map {spec[:60]!r}: {kind} needs {_ARGS.get(kind, 'no arguments')}.") from exc
    return Rule(source.strip(), target.strip(), kind, params)


_ARGS = {"rescale": "MAX[:PASS] (e.g. rescale:20:10)", "absences": "DAYS (e.g. absences:180)",
         "percent": "nothing or :all", "values": "A=B,C=D"}


def _pair(text: str) -> tuple[str, str]:
    """``A=B`` as a pair."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(text)
    return key.strip(), value.strip()


# --------------------------------------------------------------------------- transforms


def _number(text: str) -> float | None:
    """A finite number (surrounding spaces and a decimal comma accepted), else None."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _fmt(value: float) -> str:
    """A number as text, without float noise (``72``, ``0.9``)."""
    return f"{round(value, 6):.10g}"


def _rescale(params: dict[str, Any]) -> Callable[[str], str]:
    """Scores out of ``from_max`` to 0-100 (piecewise around the pass marks when ``from_pass`` is given)."""
    top, passed, ours = params["from_max"], params.get("from_pass"), params.get("to_pass", PASS_MARK)

    def one(text: str) -> str:
        n = _number(text)
        if n is None or n < 0:
            return text
        if passed is None:
            return _fmt(n * 100 / top)
        return _fmt(n * ours / passed if n <= passed else ours + (n - passed) * (100 - ours) / (top - passed))
    return one


def _absences(params: dict[str, Any]) -> Callable[[str], str]:
    """A count of absences to ``1 - count / days`` (a count above ``days`` gives a negative rate: rejected)."""
    days = params["days"]

    def one(text: str) -> str:
        n = _number(text)
        return text if n is None or n < 0 else _fmt(1 - n / days)
    return one


def _percent(params: dict[str, Any]) -> Callable[[str], str]:
    """``90%`` to ``0.9``; with ``always`` a bare ``90`` too."""
    always = bool(params.get("always"))

    def one(text: str) -> str:
        stripped = text.strip()
        marked = stripped.endswith("%")
        n = _number(stripped[:-1] if marked else stripped)
        return _fmt(n / 100) if n is not None and (marked or always) else text
    return one


def _dates(day_first: bool) -> Callable[[str], str]:
    """``01/09/2025`` (``/``, ``.`` or ``-``) to ISO, day or month first; other text unchanged."""
    def one(text: str) -> str:
        match = SLASHED.match(text)
        if not match:
            return text
        a, b, year = (int(g) for g in match.groups())
        day, month = (a, b) if day_first else (b, a)
        try:
            return dt.date(year + 2000 if year < 100 else year, month, day).isoformat()
        except ValueError:
            return text
    return one


def _values(params: dict[str, Any]) -> Callable[[str], str]:
    """A table of values, matched without case or surrounding spaces."""
    table = {str(k).strip().lower(): v for k, v in params["map"].items()}
    return lambda text: table.get(text.strip().lower(), text)


def _function(rule: Rule) -> Callable[[str], str]:
    """The text -> text function of a rule's transform."""
    if rule.transform in ("dayfirst", "monthfirst"):
        return _dates(rule.transform == "dayfirst")
    return {"rescale": _rescale, "absences": _absences, "percent": _percent, "values": _values}[rule.transform](rule.params)


def apply(chunk: pd.DataFrame, mapping: Mapping | None) -> pd.DataFrame:
    """The raw chunk with the mapping's transforms applied (a new frame; ``chunk`` is not modified).

    Parameters
    ----------
    chunk : raw text rows from ``etl.read.read_chunks`` (our column names plus ``_line``).
    mapping : the mapping the file was sniffed with; None changes nothing.
    """
    rules = [r for r in (mapping.rules if mapping else ()) if r.transform and r.target in chunk]
    if not rules:
        return chunk
    out = chunk.copy()
    for rule in rules:
        fn = _function(rule)
        out[rule.target] = pd.Series(by_unique(chunk[rule.target].astype(str), fn), index=chunk.index, dtype=object)
    return out


# --------------------------------------------------------------------------- warnings, notes, preview


@dataclass(frozen=True)
class ScaleWarning:
    """A column whose values look like another scale than ours, and the mapping that would fix it."""

    column: str
    message: str
    fix: str = ""
    silent: bool = True  # the values would load wrong without a sign; else the rows would be rejected with reasons

    def __str__(self) -> str:
        return f"{self.message}: {self.fix}" if self.fix else self.message


def _numbers(values: pd.Series) -> pd.Series:
    """The cells that are numbers, as floats."""
    parsed = pd.Series(by_unique(values.astype(str), _number), index=values.index, dtype=object)
    return parsed.dropna().astype(float)


def _score_warning(src: str, values: pd.Series) -> ScaleWarning | None:
    """A score that never goes above 20 is out of 20, not out of 100."""
    numbers = _numbers(values)
    if len(numbers) < MIN_SAMPLE or numbers.max() > 20 or numbers.max() <= 1:
        return None
    return ScaleWarning("final_score", f"{src} looks like a score out of 20 (highest {numbers.max():g} in the first "
                        f"{len(values)} rows), which would be read out of 100 with almost every student failing",
                        f"--map '{src}=final_score:rescale:20' (or :rescale:20:PASS to keep the file's pass mark)")


def _attendance_warning(src: str, values: pd.Series) -> ScaleWarning | None:
    """Whole numbers with a small median, or a header saying so, are counts of absences, not rates."""
    fix = f"--map '{src}=attendance_rate:absences:DAYS' (DAYS: school days in the period, e.g. 180)"
    if "absen" in normalise_header(src):
        return ScaleWarning("attendance_rate", f"{src} counts absences; it is not an attendance rate", fix)
    numbers = _numbers(values)
    if len(numbers) < MIN_SAMPLE or numbers.max() <= 1 or (numbers != numbers.round()).any() or numbers.median() > 20:
        return None
    return ScaleWarning("attendance_rate", f"{src} looks like counts of absences (whole numbers, median "
                        f"{numbers.median():g}, highest {numbers.max():g}), which would be read as attendance rates "
                        "with almost every student chronically absent", fix)


def _distinct(values: pd.Series) -> pd.Series:
    """Each distinct non-blank cell (stripped) and how many times it occurs."""
    counts = values.astype(object).value_counts()
    counts.index = [str(v).strip() for v in counts.index]
    counts = counts.groupby(level=0).sum()
    return counts[counts.index != ""]


def _percent_warning(src: str, target: str, values: pd.Series) -> ScaleWarning | None:
    """Numbers written as ``90%``."""
    cells = _distinct(values)
    marked = cells[[v.endswith("%") for v in cells.index]]
    if not marked.sum() or marked.sum() <= SHARE * cells.sum():
        return None
    return ScaleWarning(target, f"{src} is written as percent strings (e.g. {marked.index[0]!r})",
                        f"--map '{src}={target}:percent'", silent=False)


def _date_warning(src: str, values: pd.Series) -> ScaleWarning | None:
    """Dates written 01/09/2025: day-first, month-first, or (when no day is above 12) either."""
    cells = _distinct(values)
    parts = {v: SLASHED.match(v) for v in cells.index}
    slashed = [v for v, m in parts.items() if m]
    if not slashed or cells[slashed].sum() <= SHARE * cells.sum():
        return None
    first = [int(parts[v].group(1)) for v in slashed]
    second = [int(parts[v].group(2)) for v in slashed]
    if max(first) > 12 or max(second) <= 12:
        order, other = "day-first", "" if max(first) > 12 else " (or :monthfirst if 01/09/2025 is 9 January)"
    else:
        order, other = "month-first", ""
    return ScaleWarning("date", f"{src} holds {order} dates (e.g. {slashed[0]!r}), not YYYY-MM-DD",
                        f"--map '{src}=date:{order.replace('-', '')}'{other}", silent=False)


def scale_warnings(sample: pd.DataFrame, fmt: FileFormat, mapping: Mapping | None = None) -> list[ScaleWarning]:
    """What looks wrong in the first rows as they would load (``sample``: raw chunk after :func:`apply`).

    Parameters
    ----------
    sample : the first raw rows, our column names, the mapping's transforms applied.
    fmt : the sniffed file (its header of each of our columns is named in the messages).
    mapping : the mapping applied (a column it transforms is not judged by its header).
    """
    src = {target: header for header, target in fmt.columns.items()}
    transformed = {r.target for r in (mapping.rules if mapping else ()) if r.transform}
    found: list[ScaleWarning | None] = []
    if "final_score" in sample:
        found.append(_score_warning(src["final_score"], sample["final_score"]))
    if "attendance_rate" in sample and "attendance_rate" not in transformed:
        found.append(_attendance_warning(src["attendance_rate"], sample["attendance_rate"]))
    for target in ("study_hours", "attendance_rate", "final_score", "age", "grade_level"):
        if target in sample:
            found.append(_percent_warning(src[target], target, sample[target]))
    if "date" in sample:
        found.append(_date_warning(src["date"], sample["date"]))
    return [w for w in found if w is not None]


def id_and_date_notes(targets: Iterable[str], id_prefix: str = "line", default_date: dt.date | None = None) -> list[str]:
    """How ids and dates are assigned to a file whose mapped columns (``targets``) lack them."""
    targets = set(targets)
    notes = []
    if "student_id" not in targets:
        notes.append(f"No student id column: each row is one student, with id {id_prefix}-<line number, 7 digits> "
                     f"({id_prefix}-0000002 is the first data row), so loading the file again updates the same students.")
    if "date" not in targets:
        when = (default_date or dt.date(2025, 9, 1)).isoformat()
        notes.append(f"No date column: every row is dated {when} (--date changes it).")
    return notes


def suggest(found: Iterable[str]) -> str | None:
    """The shipped profile whose columns a file's headers include, if any."""
    headers = {normalise_header(h) for h in found}
    for name, profile in PROFILES.items():
        if {normalise_header(r.source) for r in profile.rules} <= headers:
            return name
    return None


def prepare(path: str | Path, mapping: Mapping | None = None) -> FileFormat:
    """:func:`etl.read.sniff` with the mapping's headers; a file lacking columns is told which profile fits it."""
    try:
        return sniff(path, mapping.columns if mapping else None)
    except MissingColumns as exc:
        name = suggest(exc.found)
        if name is None:
            raise
        raise MissingColumns(f"{str(exc).rstrip('.')}; it looks like the {name} format: use --mapping {name}.",
                             exc.found) from exc


def sample(path: str | Path, fmt: FileFormat, mapping: Mapping | None, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The first ``rows`` raw rows of the file, the mapping's transforms applied."""
    chunks = read_chunks(path, fmt, rows)
    first = next(chunks, None)
    chunks.close()
    return apply(first if first is not None else pd.DataFrame(columns=[*fmt.columns.values(), "_line"]), mapping)


@dataclass(frozen=True)
class Preview:
    """What a load would do with the first rows of a file, before anything is written."""

    file_name: str
    kind: str
    found: list[str]
    columns: dict[str, str]
    rows: pd.DataFrame  # the first rows as they would load (the staging layout of ``etl.clean``)
    rejected: pd.DataFrame  # rejected rows among the sampled ones (line_number, raw, reasons)
    warnings: list[ScaleWarning]
    notes: list[str]


def preview(path: str | Path, mapping: Mapping | None = None, *, rows: int = 10,
            options: CleanOptions | None = None) -> Preview:
    """The first rows of a file as they would load, the scale warnings and the notes, writing nothing.

    Parameters
    ----------
    path : the file (any kind ``etl.read`` reads).
    mapping : the mapping to apply (a profile, a saved one, or rules from ``--map``).
    rows : how many loaded rows to show.
    options : school, id prefix and date for files without those columns.
    """
    options = options or CleanOptions()
    fmt = prepare(path, mapping)
    raw = sample(path, fmt, mapping)
    checked = validate(raw)
    notes = (mapping.notes() if mapping else []) + id_and_date_notes(fmt.columns.values(), options.id_prefix, options.default_date)
    shown = clean(checked.rows.head(rows), options) if len(checked.rows) else pd.DataFrame()
    return Preview(Path(path).name, fmt.kind, [*fmt.columns, *fmt.ignored], fmt.columns, shown,
                   checked.rejected, scale_warnings(raw, fmt, mapping), notes)


# --------------------------------------------------------------------------- saved mappings


def get_mapping(session: Session, name: str) -> Mapping:
    """A shipped profile or a saved mapping, by name; NotFound names the ones there are."""
    if name in PROFILES:
        return PROFILES[name]
    row = session.execute(select(ColumnMapping.mapping).where(ColumnMapping.name == name)).scalar_one_or_none()
    if row is None:
        saved = session.execute(select(ColumnMapping.name).order_by(ColumnMapping.name).limit(50)).scalars().all()
        raise NotFound(f"no mapping is named {name[:64]!r} (shipped: {', '.join(PROFILES)}; "
                       f"saved: {listed(saved) or 'none'}).")
    return Mapping.from_dict({**row, "name": name})


def save_mapping(session: Session, name: str, mapping: Mapping, created_by: str | None = None) -> Mapping:
    """Save ``mapping`` as ``name`` (replacing a saved one of that name); the caller commits."""
    if not NAME.match(name):
        raise InvalidInput(f"{name[:64]!r} is not a mapping name (lower-case letters, digits, '-', '_' or '.', "
                           "at most 64 characters).")
    if name in PROFILES:
        raise InvalidInput(f"{name} is a shipped profile; save the mapping under another name.")
    if not mapping.rules:
        raise InvalidInput("the mapping has no rules to save.")
    named = Mapping(name, mapping.rules, mapping.description)
    stmt = insert(ColumnMapping).values(name=name, mapping=named.to_dict(), created_by=created_by)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={
        "mapping": stmt.excluded.mapping, "created_by": stmt.excluded.created_by, "created_at": stmt.excluded.created_at}))
    return named


def saved_names(session: Session) -> list[str]:
    """The names of the saved mappings."""
    return list(session.execute(select(ColumnMapping.name).order_by(ColumnMapping.name)).scalars())
