"""Read stage: sniff a file's encoding and delimiter, map its headers, yield raw text chunks.

Every value is kept as text (ids keep their leading zeros); blank cells are empty strings. Each
chunk carries ``_line``, the 1-based line of the row in the file (the header is line 1; a quoted
field spanning several lines would shift later numbers). Headers are normalised to lower snake case
and known aliases are mapped to the names of docs/EXPORT_FORMAT.md; other columns are ignored.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.errors import InvalidInput

log = logging.getLogger(__name__)

REQUIRED = ("study_hours", "attendance_rate", "final_score")
OPTIONAL = ("student_id", "student_name", "age", "gender", "grade_level", "class_name", "date",
            "sports_participation", "school")
KNOWN = REQUIRED + OPTIONAL
ALIASES = {
    "id": "student_id", "student_number": "student_id", "student_no": "student_id", "studentid": "student_id",
    "pupil_id": "student_id", "name": "student_name", "full_name": "student_name", "student": "student_name",
    "grade": "grade_level", "year_group": "grade_level", "class": "class_name", "form": "class_name",
    "section": "class_name", "week": "date", "week_start": "date", "hours_studied": "study_hours",
    "study_time": "study_hours", "attendance": "attendance_rate", "attendance_percent": "attendance_rate",
    "exam_score": "final_score", "score": "final_score", "grade_score": "final_score",
    "extracurricular_activities": "sports_participation", "sports": "sports_participation",
    "sport": "sports_participation", "school_name": "school", "sex": "gender",
}
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class FileFormat:
    """What was detected about a file."""

    encoding: str
    delimiter: str
    columns: dict[str, str] = field(default_factory=dict)  # file header -> our column
    ignored: tuple[str, ...] = ()
    sha256: str = ""
    size: int = 0
    estimated_rows: int = 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description (stored on the ingestion run)."""
        return {"encoding": self.encoding, "delimiter": self.delimiter, "columns": self.columns,
                "ignored": list(self.ignored), "size": self.size}


def normalise_header(name: str) -> str:
    """Lower snake case: ``Hours Studied`` and ``Hours_Studied`` become ``hours_studied``."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip().lstrip("\ufeff"))
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def map_columns(headers: list[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map file headers to our columns; return the mapping and the ignored headers."""
    mapping: dict[str, str] = {}
    ignored = []
    for raw in headers:
        norm = normalise_header(raw)
        target = norm if norm in KNOWN else ALIASES.get(norm)
        if target is None or target in mapping.values():
            ignored.append(raw)
        else:
            mapping[raw] = target
    return mapping, tuple(ignored)


def _hash_and_encoding(path: Path) -> tuple[str, str, int]:
    """One pass over the file: its sha256, whether it is valid UTF-8 (BOM or not), its size."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, size, bom = True, 0, False
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            if size == 0:
                bom = block.startswith(codecs.BOM_UTF8)
            size += len(block)
            digest.update(block)
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    encoding = ("utf-8-sig" if bom else "utf-8") if utf8 else "latin-1"
    return digest.hexdigest(), encoding, size


def _header_line(path: Path, encoding: str) -> str:
    """The first non-empty line of the file."""
    with path.open("r", encoding=encoding, newline="") as fh:
        for line in fh:
            if line.strip():
                return line.rstrip("\r\n")
    return ""


def sniff(path: str | Path) -> FileFormat:
    """Detect encoding, delimiter and columns; raise InvalidInput for an unusable file."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path.name}: no such file.")
    sha, encoding, size = _hash_and_encoding(path)
    header = _header_line(path, encoding)
    if not header:
        raise InvalidInput(f"{path.name} is empty.")
    delimiter = max(DELIMITERS, key=header.count)
    columns = list(pd.read_csv(path, sep=delimiter, encoding=encoding, nrows=0, dtype=str).columns.map(str))
    mapping, ignored = map_columns(columns)
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise InvalidInput(f"{path.name} lacks the required {noun} {', '.join(missing)} (found: {', '.join(columns)}).")
    if ignored:
        log.info("ignoring extra columns", extra={"file": path.name, "ignored": list(ignored)})
    return FileFormat(encoding, delimiter, mapping, ignored, sha, size, _estimate_rows(path, size))


def _estimate_rows(path: Path, size: int) -> int:
    """Rough number of data rows, from the line density of the first 256 kB."""
    with path.open("rb") as fh:
        head = fh.read(1 << 18)
    lines = head.count(b"\n") or 1
    return max(1, round(size * lines / max(1, len(head))) - 1)


def read_chunks(path: str | Path, fmt: FileFormat, batch_size: int = 100_000) -> Iterator[pd.DataFrame]:
    """Yield text chunks with our column names and ``_line``; wholly blank rows are dropped."""
    path = Path(path)
    reader = pd.read_csv(path, sep=fmt.delimiter, encoding=fmt.encoding, dtype=str, engine="c",
                         usecols=list(fmt.columns), keep_default_na=False, na_filter=False,
                         skip_blank_lines=False, chunksize=batch_size)
    offset = 2
    try:
        for chunk in reader:
            chunk = chunk.rename(columns=fmt.columns)
            chunk["_line"] = range(offset, offset + len(chunk))
            offset += len(chunk)
            blank = (chunk.drop(columns="_line") == "").all(axis=1)
            yield chunk[~blank] if blank.any() else chunk
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"{path.name} cannot be read near line {offset}: {str(exc).splitlines()[0]}") from exc
