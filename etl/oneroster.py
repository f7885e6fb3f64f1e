"""OneRoster 1.1 and 1.2 CSV bundles: a zip, or a folder, holding ``manifest.csv`` and the roster files.

What maps to what (and everything else is reported as skipped, with why):

* ``orgs`` of type ``school`` -> schools (by name); districts and other org types are skipped;
* ``academicSessions`` -> school years: a class's terms lead (through their parents) to a session whose start date
  gives the year (``2025-2026``: a year starts on 1 August, as for flat files), else its ``schoolYear`` (the year it
  ends);
* ``users`` with the role ``student`` (the ``role`` column in 1.1, ``roles.csv`` in 1.2) -> students, their id the
  ``identifier`` (the SIS number a flat export carries) or else the ``sourcedId``; teachers, parents and the
  others are skipped;
* ``classes`` and ``enrollments`` with the role ``student`` -> classes and enrollments. A student is in one class
  per school year here: a homeroom class, else their first class (primary first, then by class title), is kept;
  their other enrollments are reported as skipped. A class takes the first whole grade of its ``grades``;
* ``demographics`` -> gender (``sex``) and age (``birthDate``, as of 1 September of the school year);
* ``lineItems`` and ``results``, when present -> assessments (kind ``test``, named ``<class>: <title>``) and scores,
  rescaled from ``resultValueMin``-``resultValueMax`` (default 0-100) to 0-100.

Rows whose ``status`` is ``tobedeleted``, ids that point nowhere, text cells longer than the flat files' limits and
values that cannot be read are skipped with their reason. The whole bundle is one transaction, recorded as one
ingestion run of kind ``oneroster``; re-importing it updates the same rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InvalidInput
from etl.clean import GENDERS, UNKNOWN
from etl.validate import MAX_LENGTH, RANGES

MANIFEST = "manifest.csv"
FILES = ("orgs", "academicSessions", "classes", "users", "roles", "enrollments", "demographics", "lineItems", "results")
MAX_FILE_BYTES = 512 << 20
"""A roster file larger than this (uncompressed) is refused rather than read into memory."""


class Bundle:
    """The CSV files of a OneRoster bundle, in a folder or a zip (at its root or in one folder inside)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None
        self._prefix = _prefix(self._zip) if self._zip else ""
        self.manifest = {r.get("propertyName", "").strip(): r.get("value", "").strip() for r in self.rows("manifest")}
        self.version = self.manifest.get("oneroster.version", "1.1")

    def has(self, name: str) -> bool:
        """Whether the bundle holds ``name``.csv (and the manifest does not call it absent)."""
        if self.manifest.get(f"file.{name}", "") == "absent":
            return False
        if self._zip is not None:
            return f"{self._prefix}{name}.csv" in self._zip.namelist()
        return (self.path / f"{name}.csv").is_file()

    def _open(self, name: str) -> io.TextIOBase:
        """A text stream of ``name``.csv (UTF-8, with or without BOM)."""
        if self._zip is not None:
            info = self._zip.getinfo(f"{self._prefix}{name}.csv")
            _check_size(name, info.file_size)
            return io.TextIOWrapper(self._zip.open(info), encoding="utf-8-sig", newline="")
        file = self.path / f"{name}.csv"
        _check_size(name, file.stat().st_size)
        return file.open(encoding="utf-8-sig", newline="")

    def rows(self, name: str) -> Iterator[dict[str, str]]:
        """The rows of ``name``.csv as dicts (none when the file is absent), minus rows marked ``tobedeleted``."""
        if name != "manifest" and not self.has(name):
            return
        try:
            with self._open(name) as stream:
                for row in csv.DictReader(stream):
                    if (row.get("status") or "").strip().lower() != "tobedeleted":
                        yield {k.strip(): (v or "").strip() for k, v in row.items() if k}
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{self.path.name}: {name}.csv is not UTF-8 text.") from exc
        except csv.Error as exc:
            raise InvalidInput(f"{self.path.name}: {name}.csv is not a readable CSV file ({exc}).") from exc

    def close(self) -> None:
        """Close the zip, if any."""
        if self._zip is not None:
            self._zip.close()


def _check_size(name: str, size: int) -> None:
    """Refuse a roster file too large to read."""
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{name}.csv is larger than {MAX_FILE_BYTES >> 20} MB; split the bundle.")


def _prefix(zf: zipfile.ZipFile) -> str:
    """The folder of ``manifest.csv`` inside the zip ("" at its root)."""
    hits = sorted((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == MANIFEST), key=len)
    if not hits:
        raise InvalidInput(f"{Path(zf.filename or '').name}: this zip holds no {MANIFEST}.")
    return hits[0][: -len(MANIFEST)]


def is_bundle(path: Path) -> bool:
    """True for a folder holding ``manifest.csv``, or a zip with one (an Excel workbook is not a bundle)."""
    if path.is_dir():
        return (path / MANIFEST).is_file()
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.rsplit("/", 1)[-1] == MANIFEST for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


@dataclass
class Roster:
    """What a bundle maps to: plain rows ready for the load, and what was mapped and skipped."""

    version: str = "1.1"
    schools: dict[str, str] = field(default_factory=dict)  # org sourcedId -> school name
    classes: dict[str, dict] = field(default_factory=dict)  # class sourcedId -> name, grade, school, year
    students: dict[str, dict] = field(default_factory=dict)  # user sourcedId -> source_id, name, school, ...
    enrollments: dict[tuple[str, str], str] = field(default_factory=dict)  # (user, school year) -> class
    assessments: dict[str, dict] = field(default_factory=dict)  # lineItem sourcedId -> school, name, date, min, max
    scores: list[dict] = field(default_factory=list)  # student, lineItem, date, score (0-100)
    read: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, what: str, why: str) -> None:
        """Count one skipped row of ``what`` (a file name) for ``why``."""
        self.skipped[f"{what}: {why}"] += 1

    def mapped(self) -> dict[str, int]:
        """How many of each of our nouns the bundle gives."""
        return {"schools": len(set(self.schools.values())), "school years": len({c["year"] for c in self.classes.values()}),
                "classes": len({e for e in self.enrollments.values()}), "students": len(self.students),
                "enrollments": len(self.enrollments), "assessments": len(self.assessments), "scores": len(self.scores)}


def _too_long(value: str, column: str) -> bool:
    """Whether a text cell is longer than the flat files allow for ``column``."""
    return len(value) > MAX_LENGTH[column]


def _date(value: str) -> dt.date | None:
    """An ISO date (or the date of an ISO timestamp), None if blank or unreadable."""
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _year_of(day: dt.date) -> str:
    """The school year of a date (``2025-2026``: a year starts on 1 August)."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


def _session_years(bundle: Bundle, roster: Roster) -> dict[str, str]:
    """Each academic session's school year (its own start date, else its parents', else its ``schoolYear``)."""
    sessions = {r["sourcedId"]: r for r in bundle.rows("academicSessions") if r.get("sourcedId")}
    roster.read["academicSessions"] = len(sessions)
    years: dict[str, str] = {}
    for sid in sessions:
        seen, cur = set(), sessions.get(sid)
        while cur is not None and cur["sourcedId"] not in seen:
            seen.add(cur["sourcedId"])
            start = _date(cur.get("startDate", ""))
            if start is not None:
                years[sid] = _year_of(start)
                break
            if re.fullmatch(r"\d{4}", cur.get("schoolYear", "")):
                end = int(cur["schoolYear"])
                years[sid] = f"{end - 1}-{end}"
                break
            cur = sessions.get(cur.get("parentSourcedId", ""))
        if sid not in years:
            roster.skip("academicSessions", "no start date or school year")
    return years


def _schools(bundle: Bundle, roster: Roster) -> None:
    """Orgs of type school -> schools."""
    for row in bundle.rows("orgs"):
        roster.read["orgs"] += 1
        kind = row.get("type", "").lower()
        if kind != "school":
            roster.skip("orgs", f"type {kind or 'blank'} (only schools are loaded)")
        elif not row.get("name") or _too_long(row["name"], "school"):
            roster.skip("orgs", "name blank or too long")
        else:
            roster.schools[row["sourcedId"]] = row["name"]


def _grade(grades: str) -> int | None:
    """The first whole grade 1-13 of a OneRoster ``grades`` list ("09,10" -> 9), None if none."""
    lo, hi = RANGES["grade_level"]
    for code in re.split(r"[,\s]+", grades):
        if code.isdigit() and lo <= int(code) <= hi:
            return int(code)
    return None


def _classes(bundle: Bundle, roster: Roster, years: dict[str, str]) -> None:
    """Classes of a known school and school year (names made unique within a school year)."""
    codes: dict[str, str] = {}
    for row in bundle.rows("classes"):
        roster.read["classes"] += 1
        school = roster.schools.get(row.get("schoolSourcedId", ""))
        terms = [t for t in re.split(r"[,\s]+", row.get("termSourcedIds", "")) if t in years]
        title = row.get("title") or row.get("classCode") or ""
        if school is None:
            roster.skip("classes", "school not among the orgs loaded")
        elif not terms:
            roster.skip("classes", "no known term (academic session)")
        elif not title or _too_long(title, "class_name"):
            roster.skip("classes", "title blank or too long")
        else:
            roster.classes[row["sourcedId"]] = {
                "name": title, "grade": _grade(row.get("grades", "")), "school": school, "year": years[terms[0]],
                "homeroom": row.get("classType", "").lower() == "homeroom"}
            codes[row["sourcedId"]] = row.get("classCode", "")
    _unique_names(roster.classes, ("school", "year"), codes)


def _unique_names(items: dict[str, dict], scope: tuple[str, ...], code: dict[str, str] | None = None) -> None:
    """Where several items share a name within ``scope`` (e.g. two sections titled "Math 9" in one school year),
    add each one's code (else its sourcedId) in brackets, so that every name is unique there."""
    counts = Counter((*(item[k] for k in scope), item["name"]) for item in items.values())
    for sid, item in items.items():
        if counts[(*(item[k] for k in scope), item["name"])] > 1:
            item["name"] = f"{item['name']} ({(code or {}).get(sid) or sid})"


def _student_roles(bundle: Bundle) -> dict[str, list[str]]:
    """1.2: each user's orgs where they have the role student (``roles.csv``)."""
    orgs: dict[str, list[str]] = {}
    for row in bundle.rows("roles"):
        if row.get("role", "").lower() == "student":
            orgs.setdefault(row.get("userSourcedId", ""), []).append(row.get("orgSourcedId", ""))
    return orgs


def _user_orgs(row: dict[str, str], roles: dict[str, list[str]] | None) -> list[str] | None:
    """The user's orgs if they are a student (None otherwise), from 1.1 columns or 1.2 roles."""
    if roles is None:  # 1.1: a role column and orgSourcedIds
        if row.get("role", "").lower() != "student":
            return None
        return re.split(r"[,\s]+", row.get("orgSourcedIds", ""))
    if row["sourcedId"] not in roles:
        return None
    return [row.get("primaryOrgSourcedId", ""), *roles[row["sourcedId"]]]


def _students(bundle: Bundle, roster: Roster) -> None:
    """Users with the role student, in a school loaded."""
    roles = _student_roles(bundle) if bundle.has("roles") else None
    seen: set[tuple[str, str]] = set()
    for row in bundle.rows("users"):
        roster.read["users"] += 1
        orgs = _user_orgs(row, roles)
        school = next((roster.schools[o] for o in orgs or () if o in roster.schools), None)
        name = " ".join(p for p in (row.get("givenName", ""), row.get("familyName", "")) if p)
        source = row.get("identifier") or row["sourcedId"]
        if orgs is None:
            roster.skip("users", "not a student")
        elif school is None:
            roster.skip("users", "student of no school loaded")
        elif _too_long(name, "student_name") or _too_long(source, "student_id"):
            roster.skip("users", "name or identifier too long")
        elif (school, source) in seen:
            roster.skip("users", "identifier of another student of the same school")
        else:
            seen.add((school, source))
            roster.students[row["sourcedId"]] = {"source_id": source, "name": name or None, "school": school,
                                                 "grade": _grade(row.get("grades", "")), "gender": UNKNOWN, "birth": None}


def _enrollments(bundle: Bundle, roster: Roster) -> None:
    """One class per student and school year: a homeroom, else the primary or first class by title."""
    chosen: dict[tuple[str, str], tuple[tuple, str]] = {}
    for row in bundle.rows("enrollments"):
        roster.read["enrollments"] += 1
        cls = roster.classes.get(row.get("classSourcedId", ""))
        user = row.get("userSourcedId", "")
        if row.get("role", "").lower() != "student":
            roster.skip("enrollments", "not a student's")
        elif cls is None or user not in roster.students:
            roster.skip("enrollments", "class or student not loaded")
        else:
            rank = (not cls["homeroom"], row.get("primary", "").lower() != "true", cls["name"], row["classSourcedId"])
            key = (user, cls["year"])
            if key in chosen:
                roster.skip("enrollments", "another class kept (one class per student and school year)")
            if key not in chosen or rank < chosen[key][0]:
                chosen[key] = (rank, row["classSourcedId"])
    roster.enrollments = {key: cls for key, (_, cls) in chosen.items()}


def _demographics(bundle: Bundle, roster: Roster) -> None:
    """Gender and birth date of the students loaded."""
    for row in bundle.rows("demographics"):
        roster.read["demographics"] += 1
        student = roster.students.get(row.get("sourcedId", ""))
        if student is None:
            roster.skip("demographics", "not a student loaded")
            continue
        sex = row.get("sex", "").lower()
        student["gender"] = GENDERS.get(sex, UNKNOWN if sex in ("", "unspecified") else "Other")
        student["birth"] = _date(row.get("birthDate", ""))


def _number(value: str) -> float | None:
    """A float, None if blank or unreadable."""
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _line_items(bundle: Bundle, roster: Roster) -> None:
    """Line items of a loaded class -> assessments out of their own range."""
    for row in bundle.rows("lineItems"):
        roster.read["lineItems"] += 1
        cls = roster.classes.get(row.get("classSourcedId", ""))
        day = _date(row.get("dueDate", "")) or _date(row.get("assignDate", ""))
        lo, hi = _number(row.get("resultValueMin", "")), _number(row.get("resultValueMax", ""))
        lo, hi = (0.0 if lo is None else lo), (100.0 if hi is None else hi)
        name = f"{cls['name']}: {row.get('title', '')}" if cls else ""
        if cls is None:
            roster.skip("lineItems", "class not loaded")
        elif day is None:
            roster.skip("lineItems", "no due or assign date")
        elif hi <= lo or len(name) > MAX_LENGTH["class_name"] * 2:
            roster.skip("lineItems", "result range empty or title too long")
        else:
            roster.assessments[row["sourcedId"]] = {"school": cls["school"], "name": name, "date": day, "lo": lo, "hi": hi}
    _unique_names(roster.assessments, ("school",))


def _results(bundle: Bundle, roster: Roster) -> None:
    """Results of a loaded student on a loaded line item -> scores out of 100."""
    for row in bundle.rows("results"):
        roster.read["results"] += 1
        item = roster.assessments.get(row.get("lineItemSourcedId", ""))
        student = row.get("studentSourcedId", "")
        score = _number(row.get("score", ""))
        if item is None or student not in roster.students:
            roster.skip("results", "line item or student not loaded")
        elif score is None or not item["lo"] <= score <= item["hi"]:
            roster.skip("results", "score blank, not a number or outside the line item's range")
        else:
            pct = round(100 * (score - item["lo"]) / (item["hi"] - item["lo"]), 4)
            roster.scores.append({"student": student, "item": row["lineItemSourcedId"], "score": pct,
                                  "date": _date(row.get("scoreDate", "")) or item["date"]})


def read_roster(path: Path) -> Roster:
    """Read a OneRoster bundle into a :class:`Roster` (nothing is written).

    Parameters
    ----------
    path : a folder holding ``manifest.csv``, or a zip of one.
    """
    bundle = Bundle(path)
    try:
        roster = Roster(version=bundle.version)
        missing = [f for f in ("orgs", "users", "classes", "enrollments") if not bundle.has(f)]
        if missing:
            raise InvalidInput(f"{path.name}: this OneRoster bundle lacks {', '.join(f + '.csv' for f in missing)}.")
        years = _session_years(bundle, roster)
        for step in (_schools, _students):
            step(bundle, roster)
        _classes(bundle, roster, years)
        for step in (_enrollments, _demographics, _line_items, _results):
            step(bundle, roster)
        return roster
    finally:
        bundle.close()


def age_on(birth: dt.date | None, school_year: str) -> int | None:
    """Age on 1 September of the school year's first year, None when unknown or outside the product's range."""
    if birth is None:
        return None
    start = dt.date(int(school_year[:4]), 9, 1)
    age = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
    lo, hi = RANGES["age"]
    return age if lo <= age <= hi else None

