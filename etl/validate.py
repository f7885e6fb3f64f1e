"""Validate stage: parse a raw text chunk into typed columns and collect every reason a row fails.

Parsing (text -> number, date, yes/no) reports mistyped values; a pandera schema with ``lazy=True``
then checks ranges on the parsed values, so a row's reasons are all reported together. Blank
numbers are not errors here (the clean stage imputes them); a blank ``student_id`` or ``date`` is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from core.errors import InvalidInput

NA_TOKENS = ("", "na", "n/a", "null", "none", "nan", "-", "?")
RANGES: dict[str, tuple[float, float]] = {
    "age": (10, 25),  # secondary students repeating years: the UCI files have students of 21 and 22
    "grade_level": (1, 13),
    "study_hours": (0, 80),
    "attendance_rate": (0, 100),  # a fraction 0-1, or a percent 0-100 (converted by the clean stage)
    "final_score": (0, 100),
}
INTEGERS = ("age", "grade_level")
DATE_RANGE = (pd.Timestamp("2000-01-01"), pd.Timestamp("2100-01-01"))
YES = ("yes", "y", "true", "t", "1")
NO = ("no", "n", "false", "f", "0")
TEXT = ("student_id", "student_name", "gender", "class_name", "school")
MAX_LENGTH = {"student_id": 64, "student_name": 200, "gender": 50, "class_name": 100, "school": 200}
"""A longer text cell rejects its row (it is not stored as is); ``ingest_file(max_lengths=...)`` changes them."""
SHOWN = 60
"""A value quoted in a reason is cut to this many characters; a raw value kept for a rejected row to ``MAX_RAW``."""
MAX_RAW = 500


@dataclass(frozen=True)
class Validated:
    """The typed rows that passed and the rejected rows (line, raw JSON, reasons)."""

    rows: pd.DataFrame
    rejected: pd.DataFrame


def _schema(columns: list[str]) -> pa.DataFrameSchema:
    """Range checks for the parsed columns present in the chunk."""
    cols: dict[str, pa.Column] = {}
    for name, (lo, hi) in RANGES.items():
        if name in columns:
            checks = [pa.Check.in_range(lo, hi)]
            if name in INTEGERS:
                checks.append(pa.Check(lambda s: s.isna() | (s == s.round()), element_wise=False, name="whole"))
            cols[name] = pa.Column(float, checks, nullable=True)
    if "date" in columns:
        cols["date"] = pa.Column("datetime64[ns]", pa.Check.in_range(*DATE_RANGE), nullable=True)
    return pa.DataFrameSchema(cols, strict=False, coerce=False)


def by_unique(values: pd.Series, fn) -> np.ndarray:  # noqa: ANN001
    """Apply ``fn`` to each distinct value only (fast on long columns with few distinct values)."""
    codes, uniques = pd.factorize(values)
    mapped = np.asarray([fn(u) for u in uniques] + [fn("")], dtype=object)
    return mapped[codes]  # code -1 (missing) picks fn("")


def is_blank(values: pd.Series) -> pd.Series:
    """True where a cell is empty or a usual missing-value token (NA, n/a, null, ...)."""
    return pd.Series(by_unique(values, lambda v: v.strip().lower() in NA_TOKENS).astype(bool), index=values.index)


def _strip_or_none(values: pd.Series) -> pd.Series:
    """Stripped text, None where blank."""
    def one(v: str) -> str | None:
        v = v.strip()
        return None if v.lower() in NA_TOKENS else v
    return pd.Series(by_unique(values, one), index=values.index, dtype=object)


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers (surrounding spaces and a decimal comma accepted) and the mask of mistyped cells."""
    codes, uniques = pd.factorize(raw)  # few distinct values in a long column: parse each once
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").astype("float64").to_numpy()
    values = pd.Series(np.append(parsed, np.nan)[codes], index=raw.index)
    failed = values.isna()
    if not failed.any():
        return values, failed
    rest = raw[failed]
    blank = is_blank(rest)
    retry = pd.to_numeric(rest[~blank].str.strip().str.replace(",", ".", regex=False), errors="coerce")
    values.loc[retry.index] = retry.astype("float64")
    bad = pd.Series(False, index=raw.index)
    bad.loc[retry.index] = retry.isna()
    return values, bad


def _parse_yes_no(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans (yes/no, y/n, true/false, 1/0, any case) and the mask of unrecognised cells."""
    def one(v: str) -> object:
        low = v.strip().lower()
        return True if low in YES else False if low in NO else None if low in NA_TOKENS else "bad"
    mapped = by_unique(raw, one)
    bad = pd.Series(mapped == "bad", index=raw.index)
    values = pd.Series(np.where(bad, None, mapped), index=raw.index).astype("boolean")
    return values, bad


def text_limits(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """The longest text allowed per column: ``MAX_LENGTH`` with ``overrides``; refuses unknown columns or limits < 1."""
    limits = dict(MAX_LENGTH)
    for column, limit in (overrides or {}).items():
        if column not in MAX_LENGTH:
            raise InvalidInput(f"no length limit can be set for {column!r}; the text columns are {', '.join(TEXT)}.")
        if int(limit) < 1:
            raise InvalidInput(f"the length limit of {column} must be at least 1.")
        limits[column] = int(limit)
    return limits


def parse(chunk: pd.DataFrame, limits: dict[str, int] | None = None) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Typed columns for a raw chunk, and the parse errors per row index (text longer than ``limits`` included)."""
    limits = limits or MAX_LENGTH
    out = pd.DataFrame({"_line": chunk["_line"]}, index=chunk.index)
    errors: dict[int, list[str]] = {}

    def note(mask: pd.Series, column: str, message: str) -> None:
        for idx in mask.index[mask]:
            errors.setdefault(idx, []).append(message.format(value=shown(chunk.at[idx, column])))

    for name in TEXT:
        if name in chunk:
            out[name] = _strip_or_none(chunk[name])
            note(out[name].str.len().fillna(0) > limits[name], name, f"{name} is longer than {limits[name]} characters")
    if "student_id" in out:
        note(out["student_id"].isna(), "student_id", "student_id is blank")
    for name in RANGES:
        if name in chunk:
            out[name], bad = _parse_numbers(chunk[name])
            note(bad, name, name + " {value!r} is not a number")
    if "date" in chunk:
        out["date"] = pd.to_datetime(chunk["date"], format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
        failed = out["date"].isna()
        if failed.any():  # retry with surrounding spaces removed
            retry = pd.to_datetime(chunk.loc[failed, "date"].str.strip(), format="%Y-%m-%d", errors="coerce")
            out.loc[failed, "date"] = retry.astype("datetime64[ns]")
        note(out["date"].isna(), "date", "date {value!r} is not a date (YYYY-MM-DD)")
    if "sports_participation" in chunk:
        out["sports_participation"], bad = _parse_yes_no(chunk["sports_participation"])
        note(bad, "sports_participation", "sports_participation {value!r} is not yes or no")
    return out, errors


def shown(value: object, limit: int = SHOWN) -> str:
    """A value as quoted in a message: cut to ``limit`` characters."""
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _range_errors(parsed: pd.DataFrame, errors: dict[int, list[str]]) -> None:
    """Run the pandera schema lazily and add each failure's reason to ``errors``."""
    try:
        _schema(list(parsed.columns)).validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for column, check, value, idx in cases[["column", "check", "failure_case", "index"]].itertuples(index=False):
            if column == "date":
                reason = f"date {value} is outside {DATE_RANGE[0].year}-{DATE_RANGE[1].year}"
            elif check == "whole":
                reason = f"{column} {value:g} is not a whole number"
            else:
                lo, hi = RANGES[column]
                reason = f"{column} {float(value):g} is out of range {lo:g}-{hi:g}"
            errors.setdefault(int(idx), []).append(reason)


def validate(chunk: pd.DataFrame, limits: dict[str, int] | None = None) -> Validated:
    """Split a raw chunk into typed valid rows and rejected rows with every reason.

    Parameters
    ----------
    chunk : raw text rows from ``etl.read.read_chunks`` (our column names plus ``_line``).
    limits : the longest text allowed per column (``text_limits``; default ``MAX_LENGTH``).
    """
    parsed, errors = parse(chunk, limits)
    _range_errors(parsed, errors)
    bad = pd.Index(sorted(errors))
    raw_cols = [c for c in chunk.columns if c != "_line"]
    rejected = pd.DataFrame({
        "line_number": chunk.loc[bad, "_line"].astype(int).to_numpy(),
        "raw": [json.dumps(dict(zip(raw_cols, (shown(v, MAX_RAW) for v in row), strict=True)))
                for row in chunk.loc[bad, raw_cols].itertuples(index=False)],
        "reasons": [errors[i] for i in bad],
    })
    return Validated(parsed.drop(index=bad), rejected)


DAY_FIRST = re.compile(r"^'?\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*'?$")


def _hint(reason: str) -> tuple[str, str]:
    """(kind, clause): what a reason says in words a user acts on ("dates are day-first, e.g. 01/09/2025")."""
    column, _, rest = reason.partition(" ")
    value = rest.split("' is not", 1)[0].lstrip("'") if rest.startswith("'") else ""
    if column == "date" and DAY_FIRST.match(value):
        first, second = (int(g) for g in DAY_FIRST.match(value).groups()[:2])
        order = "month-first" if second > 12 >= first else "day-first"
        return f"date {order}", f"dates are {order}, e.g. {value} (map the date column with :{order.replace('-', '')})"
    if value.rstrip().endswith("%"):
        return f"{column} percent", f"{column} is written as percent strings, e.g. {value} (map it with :percent)"
    kind = re.sub(r"'.*'|-?\d[\d.e+-]*", "V", rest)  # the reason without its value: "V is out of range V-V"
    return f"{column} {kind}", reason


def explain(reasons: Iterable[list[str]], most: int = 2) -> str:
    """The (at most ``most``) most common problems among rejected rows' reasons, as clauses with an example."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    rows = 0
    for row in reasons:
        rows += 1
        hints = dict(_hint(r) for r in row)
        counts.update(hints.keys())
        for kind, clause in hints.items():
            example.setdefault(kind, clause)
    if not counts:
        return "no reason was recorded"
    top = counts.most_common(most)
    return "; ".join(example[kind] for i, (kind, n) in enumerate(top) if i == 0 or n >= 0.1 * rows)


def _warm_up() -> None:
    """Validate an empty frame once, at import: pandera registers its pandas backends on the first validation, which
    imports its data-synthesis strategies (hypothesis), about 2 s. The server and the CLI import this module when they
    start, so no upload pays it (``bench/etl_bench.py`` reports the import apart)."""
    _schema(["age", "date"]).validate(pd.DataFrame({"age": pd.Series([], dtype=float),
                                                    "date": pd.Series([], dtype="datetime64[ns]")}))


_warm_up()
