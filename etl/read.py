"""Read stage: sniff a file's kind, encoding and delimiter, map its headers, yield raw text chunks.

A file is a CSV (comma, semicolon or tab; UTF-8 with or without BOM, UTF-16, else Latin-1), a gzip of one
(``.csv.gz``) or an Excel workbook (``.xlsx``, its first sheet); the kind is told from the bytes, not the name.
Any other binary file is refused with one sentence ("this is not a CSV file (it looks like a PNG image)").

Every value is kept as text (ids keep their leading zeros); blank cells are empty strings. Each
chunk carries ``_line``, the 1-based line of the row in the file (the header is line 1; a quoted
field spanning several lines would shift later numbers). Headers are normalised to lower snake case
and known aliases are mapped to the names of docs/EXPORT_FORMAT.md; other columns are ignored.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import hashlib
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
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
MAX_LISTED = 12
"""At most this many found columns are named in a message (each cut to ``MAX_NAME`` characters)."""
MAX_NAME = 40
HEAD_BYTES = 1 << 16
MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"\xd0\xcf\x11\xe0", "an old Excel .xls or other Office file; save it as .xlsx or CSV"),
    (b"\x7fELF", "a program"), (b"MZ", "a Windows program"), (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ", "an xz archive"), (b"SQLite format 3", "an SQLite database"),
)
UTF16 = {codecs.BOM_UTF16_LE: "utf-16", codecs.BOM_UTF16_BE: "utf-16"}


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
    kind: str = "csv"  # csv | csv.gz | xlsx

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description (stored on the ingestion run)."""
        return {"kind": self.kind, "encoding": self.encoding, "delimiter": self.delimiter, "columns": self.columns,
                "ignored": list(self.ignored), "size": self.size}


def normalise_header(name: str) -> str:
    """Lower snake case: ``Hours Studied`` and ``Hours_Studied`` become ``hours_studied``."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip().lstrip("\ufeff"))
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def map_columns(headers: list[str], overrides: dict[str, str] | None = None) -> tuple[dict[str, str], tuple[str, ...]]:
    """Map file headers to our columns; return the mapping and the ignored headers.

    ``overrides`` (file header -> our column, headers compared in lower snake case) win; the other headers are
    matched by name and ``ALIASES`` to the columns still free.
    """
    wanted = {normalise_header(k): v for k, v in (overrides or {}).items()}
    mapping = {raw: wanted[normalise_header(raw)] for raw in headers if normalise_header(raw) in wanted}
    ignored = []
    for raw in headers:
        if raw in mapping:
            continue
        norm = normalise_header(raw)
        target = norm if norm in KNOWN else ALIASES.get(norm)
        if target is None or target in mapping.values():
            ignored.append(raw)
        else:
            mapping[raw] = target
    return mapping, tuple(ignored)


def listed(names: Iterable[str], limit: int = MAX_LISTED) -> str:
    """A bounded, comma-separated list: at most ``limit`` names, each cut to ``MAX_NAME`` characters."""
    names = list(names)
    cut = [n if len(n) <= MAX_NAME else n[:MAX_NAME - 1] + "…" for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(cut) + more


def _what_binary(head: bytes) -> str | None:
    """What a binary head looks like ("a PNG image"), None for text (UTF-16 text is text)."""
    for magic, what in MAGIC:
        if head.startswith(magic) and (magic != b"MZ" or b"\x00" in head):
            return what
    if _utf16(head) or b"\x00" not in head:
        return None
    return "binary data"


def _utf16(head: bytes) -> str | None:
    """The UTF-16 codec of a head with a BOM, or with every other byte zero (ASCII text without a BOM)."""
    for bom, codec in UTF16.items():
        if head.startswith(bom):
            return codec
    sample = head[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > 0.9 * len(sample[1::2]):
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > 0.9 * len(sample[0::2]):
        return "utf-16-be"
    return None


def _zip_kind(path: Path) -> str:
    """``xlsx`` for an Excel workbook; refuse any other ZIP archive."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path.name}: this is not a CSV file (it looks like a damaged ZIP archive).") from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    what = ("a Word document" if any(n.startswith("word/") for n in names) else
            "an OpenDocument file; save it as .xlsx or CSV" if "content.xml" in names else "a ZIP archive")
    raise InvalidInput(f"{path.name}: this is not a CSV file (it looks like {what}).")


def file_kind(path: Path) -> str:
    """``csv``, ``csv.gz`` or ``xlsx``, from the bytes; raise InvalidInput with one sentence for anything else."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    kind = "csv"
    if head.startswith(b"\x1f\x8b"):
        kind, head = "csv.gz", _gzip_head(path)
    elif head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    what = _what_binary(head)
    if what is not None:
        inside = " inside the gzip file" if kind == "csv.gz" else ""
        raise InvalidInput(f"{path.name}: this is not a CSV file (it looks like {what}{inside}).")
    return kind


def _gzip_head(path: Path) -> bytes:
    """The first bytes of a gzip file's content."""
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise InvalidInput(f"{path.name} is a damaged gzip file: {exc}.") from exc


def _text_blocks(path: Path, kind: str) -> Iterator[tuple[bytes, bytes]]:
    """(raw block, its text content) pairs: the content of a gzip file is decompressed as it is read."""
    with path.open("rb") as fh:
        if kind != "csv.gz":
            while block := fh.read(1 << 20):
                yield block, block
            return
        inflate = gzip.zlib.decompressobj(16 + gzip.zlib.MAX_WBITS)
        while block := fh.read(1 << 20):
            try:
                yield block, inflate.decompress(block)
            except gzip.zlib.error as exc:
                raise InvalidInput(f"{path.name} is a damaged gzip file: {exc}.") from exc


def _hash_and_encoding(path: Path, kind: str = "csv") -> tuple[str, str, int]:
    """One pass over the file: its sha256 (of the bytes as stored), the text's encoding, its size."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, size, first, utf16 = True, 0, True, None
    for block, content in _text_blocks(path, kind):
        size += len(block)
        digest.update(block)
        if first and content:
            first, bom, utf16 = False, content.startswith(codecs.BOM_UTF8), _utf16(content)
        if utf8 and utf16 is None:
            try:
                decoder.decode(content)
            except UnicodeDecodeError:
                utf8 = False
    if utf8 and utf16 is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf16 is not None:
        return digest.hexdigest(), utf16, size
    encoding = ("utf-8-sig" if not first and bom else "utf-8") if utf8 else "latin-1"
    return digest.hexdigest(), encoding, size


def _open_text(path: Path, fmt_kind: str, encoding: str):  # noqa: ANN202
    """The file's text (decompressed for ``csv.gz``)."""
    if fmt_kind == "csv.gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open("r", encoding=encoding, newline="")


def _header_line(path: Path, encoding: str, kind: str = "csv") -> str:
    """The first non-empty line of the file."""
    with _open_text(path, kind, encoding) as fh:
        for line in fh:
            if line.strip():
                return line.rstrip("\r\n").lstrip("\ufeff")
    return ""


def sniff(path: str | Path, columns: dict[str, str] | None = None) -> FileFormat:
    """Detect kind, encoding, delimiter and columns; raise InvalidInput for an unusable file.

    ``columns`` maps file headers to our columns ahead of the usual names and aliases (see ``map_columns``).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path.name}: no such file.")
    kind = file_kind(path)
    if kind == "xlsx":
        return _sniff_xlsx(path, columns)
    sha, encoding, size = _hash_and_encoding(path, kind)
    header = _header_line(path, encoding, kind)
    if not header:
        raise InvalidInput(f"{path.name} is empty.")
    delimiter = max(DELIMITERS, key=header.count)
    compression = "gzip" if kind == "csv.gz" else None
    found = list(pd.read_csv(path, sep=delimiter, encoding=encoding, nrows=0, dtype=str,
                             compression=compression).columns.map(str))
    mapping, ignored = _checked_columns(path, found, columns)
    estimate = _estimate_rows(path, size) if kind == "csv" else 0
    return FileFormat(encoding, delimiter, mapping, ignored, sha, size, estimate, kind)


def _checked_columns(path: Path, found: list[str], columns: dict[str, str] | None) -> tuple[dict[str, str], tuple[str, ...]]:
    """The header mapping; InvalidInput (the found columns listed, bounded) if a named or required column is missing."""
    norm = {normalise_header(f) for f in found}
    absent = [k for k in (columns or {}) if normalise_header(k) not in norm]
    if absent:
        raise InvalidInput(f"{path.name} has no column {listed(absent)} named by the mapping (found: {listed(found)}).")
    mapping, ignored = map_columns(found, columns)
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise MissingColumns(f"{path.name} lacks the required {noun} {', '.join(missing)} (found: {listed(found)}); "
                             "map them with --map SOURCE=TARGET or --mapping NAME.", found)
    if ignored:
        log.info("ignoring extra columns", extra={"file": path.name, "ignored": list(ignored)[:100]})
    return mapping, ignored


class MissingColumns(InvalidInput):
    """A file lacks required columns; ``found`` holds its headers (for a mapping suggestion)."""

    def __init__(self, message: str, found: list[str]) -> None:
        super().__init__(message)
        self.found = found


def _estimate_rows(path: Path, size: int) -> int:
    """Rough number of data rows, from the line density of the first 256 kB."""
    with path.open("rb") as fh:
        head = fh.read(1 << 18)
    lines = head.count(b"\n") or 1
    return max(1, round(size * lines / max(1, len(head))) - 1)


def read_chunks(path: str | Path, fmt: FileFormat, batch_size: int = 100_000) -> Iterator[pd.DataFrame]:
    """Yield text chunks with our column names and ``_line``; wholly blank rows are dropped."""
    path = Path(path)
    if fmt.kind == "xlsx":
        yield from _xlsx_chunks(path, fmt, batch_size)
        return
    reader = pd.read_csv(path, sep=fmt.delimiter, encoding=fmt.encoding, dtype=str, engine="c",
                         usecols=list(fmt.columns), keep_default_na=False, na_filter=False,
                         skip_blank_lines=False, chunksize=batch_size,
                         compression="gzip" if fmt.kind == "csv.gz" else None)
    offset = 2
    try:
        for chunk in reader:
            yield _finish_chunk(chunk, fmt, offset)
            offset += len(chunk)
    except (UnicodeError, pd.errors.ParserError, OSError, EOFError) as exc:
        raise InvalidInput(f"{path.name} cannot be read near line {offset}: {str(exc).splitlines()[0][:200]}") from exc


def _finish_chunk(chunk: pd.DataFrame, fmt: FileFormat, offset: int) -> pd.DataFrame:
    """Our column names, ``_line`` from ``offset``, wholly blank rows dropped."""
    chunk = chunk.rename(columns=fmt.columns)
    chunk["_line"] = range(offset, offset + len(chunk))
    blank = (chunk.drop(columns="_line") == "").all(axis=1)
    return chunk[~blank] if blank.any() else chunk


# --------------------------------------------------------------------------- Excel workbooks


def _cell_text(value: object) -> str:
    """A cell as the text a CSV export would hold: dates as YYYY-MM-DD, whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(sheet row number, cells as text) of the first sheet's non-empty rows."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as fh:  # a handle, not the name: a workbook saved as "x.csv" is still read
        try:
            book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise InvalidInput(f"{path.name} cannot be read as an Excel workbook: {str(exc)[:200]}") from exc
        try:
            for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in row]
                if any(c.strip() for c in cells):
                    yield number, cells
        finally:
            book.close()


def _unique_headers(cells: list[str]) -> list[str]:
    """Headers as pandas names them: blanks ``Unnamed: i``, repeats ``name.1``."""
    seen: dict[str, int] = {}
    out = []
    for i, cell in enumerate(cells):
        name = cell.strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _sniff_xlsx(path: Path, columns: dict[str, str] | None) -> FileFormat:
    """The FileFormat of a workbook's first sheet (its first non-empty row is the header)."""
    sha, _, size = _hash_and_encoding(path, "xlsx")
    rows = _xlsx_rows(path)
    first = next(rows, None)
    if first is None:
        raise InvalidInput(f"{path.name} is empty.")
    count = sum(1 for _ in rows)
    rows.close()
    mapping, ignored = _checked_columns(path, _unique_headers(first[1]), columns)
    return FileFormat("", "", mapping, ignored, sha, size, count, "xlsx")


def _xlsx_chunks(path: Path, fmt: FileFormat, batch_size: int) -> Iterator[pd.DataFrame]:
    """Chunks of the first sheet, ``_line`` being the sheet's row number."""
    rows = _xlsx_rows(path)
    _, cells = next(rows)
    headers = _unique_headers(cells)
    keep = [i for i, h in enumerate(headers) if h in fmt.columns]
    names = [headers[i] for i in keep]
    batch: list[list[str]] = []
    lines: list[int] = []
    for number, cells in rows:
        batch.append([cells[i] if i < len(cells) else "" for i in keep])
        lines.append(number)
        if len(batch) == batch_size:
            yield _xlsx_frame(batch, names, lines, fmt)
            batch, lines = [], []
    if batch:
        yield _xlsx_frame(batch, names, lines, fmt)


def _xlsx_frame(batch: list[list[str]], names: list[str], lines: list[int], fmt: FileFormat) -> pd.DataFrame:
    """One chunk of sheet rows as text, our column names and ``_line``."""
    frame = pd.DataFrame(batch, columns=names, dtype=object).rename(columns=fmt.columns)
    frame["_line"] = lines
    return frame
