"""Load stage: COPY cleaned chunks into TEMP staging tables, then upsert set-based.

Everything runs on the caller's session, inside the caller's transaction: the staging tables are
``ON COMMIT DROP`` and nothing here commits. Chunks are sent in COPY text format (each distinct
value of a column formatted once) by a background thread while pandas prepares the next chunk.
Upserts only touch rows whose values differ (an anti-join drops unchanged rows, then
``ON CONFLICT ... DO UPDATE ... WHERE (...) IS DISTINCT FROM (...)``), so re-loading the same data
changes nothing; ``RETURNING (xmax = 0)`` tells inserted rows from updated ones. A big load into
empty event tables (first load, ``--truncate``), or a load whose rows are all new to them (a weekly
upload of a new week), takes plain inserts, with the foreign keys' row locks taken set-based instead of
row by row (``_bulk_mode``). The students whose data changed are kept in ``etl_touched``,
with the date from which their events changed, so that only their summaries, and only from that date on,
are refreshed.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg2
from sqlalchemy import Column, text
from sqlalchemy.orm import Session

from db.models import ActivityParticipation, Attendance, Score, StudyHours
from db.summaries import NO_EVENTS_SQL, day_sums_of_rows, skip_key_checks
from etl.clean import STAGE_COLUMNS, latest_per_student_year

log = logging.getLogger(__name__)

STAGE_DDL = """
CREATE TEMP TABLE etl_stage (
    line integer, school text, source_id text, date date, hours double precision, rate double precision,
    sports boolean, score double precision
) ON COMMIT DROP;
CREATE TEMP TABLE etl_changed (student_id bigint, date date) ON COMMIT DROP;
CREATE TEMP TABLE etl_stage_students (
    line integer, school text, source_id text, name text, gender text, age smallint, grade smallint,
    class_name text, school_year text, date date, hours double precision, rate double precision,
    sports boolean, score double precision
) ON COMMIT DROP;
CREATE TEMP TABLE etl_new_students (id bigint PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE etl_new_assessments (id bigint PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE etl_touched (student_id bigint, since date) ON COMMIT DROP;  -- since: see touched_students
CREATE TEMP TABLE etl_left_classes (class_id integer) ON COMMIT DROP;
"""
EVENT_COLUMNS = ("line", "school", "source_id", "date", "hours", "rate", "sports", "score")
"""The columns of ``etl_stage`` (one row per file row); the student's own columns go to ``etl_stage_students``."""

REJECT_DDL = """
CREATE TEMP TABLE etl_rejects (line_number integer, raw jsonb, reasons text[]) ON COMMIT DROP;
"""

SETUP_SQL = [
    "SET LOCAL work_mem = '1GB'",
    # temp tables are never analysed by autovacuum. etl_stage (one row per file row) is not: it is
    # only ever the big side of hash joins against small analysed tables, the plan its size implies
    "ANALYZE etl_stage_students (school, source_id)",
    "INSERT INTO schools (name) SELECT DISTINCT school FROM etl_stage_students ON CONFLICT (name) DO NOTHING",
    """CREATE TEMP TABLE etl_student ON COMMIT DROP AS
       SELECT DISTINCT ON (s.school, s.source_id) sc.id AS school_id, s.source_id, s.name, s.gender, s.age,
              s.school_year, s.class_name, s.grade
       FROM etl_stage_students s JOIN schools sc ON sc.name = s.school
       ORDER BY s.school, s.source_id, s.date DESC, s.line DESC""",
    f"""WITH r AS (
         INSERT INTO students AS t (school_id, source_id, name, gender, age)
         SELECT school_id, source_id, name, gender, age FROM etl_student
         ON CONFLICT (school_id, source_id) DO UPDATE
         SET name = excluded.name, gender = excluded.gender, age = excluded.age, updated_at = now()
         WHERE (t.name, t.gender, t.age) IS DISTINCT FROM (excluded.name, excluded.gender, excluded.age)
         RETURNING t.id, (t.xmax = 0) AS ins),
       touched AS (INSERT INTO etl_touched SELECT id, CASE WHEN NOT ins THEN {NO_EVENTS_SQL} END FROM r)
       INSERT INTO etl_new_students SELECT id FROM r WHERE ins""",
    """CREATE TEMP TABLE etl_enrol ON COMMIT DROP AS
       SELECT DISTINCT ON (sc.id, s.source_id, s.school_year) sc.id AS school_id, s.source_id, s.school_year,
              s.class_name, s.grade
       FROM etl_stage_students s JOIN schools sc ON sc.name = s.school
       ORDER BY sc.id, s.source_id, s.school_year, s.date DESC, s.line DESC""",
    f"""WITH r AS (
         INSERT INTO classes AS t (school_id, name, grade_level, school_year)
         SELECT school_id, class_name, max(grade), school_year FROM etl_enrol GROUP BY 1, 2, 4
         ON CONFLICT (school_id, school_year, name) DO UPDATE SET grade_level = excluded.grade_level
         WHERE t.grade_level IS DISTINCT FROM excluded.grade_level
         RETURNING t.id, (t.xmax = 0) AS ins)
       INSERT INTO etl_touched SELECT en.student_id, {NO_EVENTS_SQL} FROM enrollments en JOIN r ON r.id = en.class_id
       WHERE NOT r.ins""",
    """CREATE TEMP TABLE etl_enrol_ids ON COMMIT DROP AS
       SELECT st.id AS student_id, c.id AS class_id, e.school_year
       FROM etl_enrol e
       JOIN students st ON st.school_id = e.school_id AND st.source_id = e.source_id
       JOIN classes c ON c.school_id = e.school_id AND c.school_year = e.school_year AND c.name = e.class_name""",
    """WITH gone AS (
         DELETE FROM enrollments en USING etl_enrol_ids e
         WHERE en.student_id = e.student_id AND en.school_year = e.school_year AND en.class_id <> e.class_id
         RETURNING en.class_id, en.student_id),
       touched AS (INSERT INTO etl_touched SELECT student_id, NULL::date FROM gone)  -- a class move: the whole year
       INSERT INTO etl_left_classes SELECT DISTINCT class_id FROM gone""",
    "ANALYZE students, etl_new_students, etl_enrol_ids",
    """WITH r AS (
         INSERT INTO enrollments (student_id, class_id, school_year)
         SELECT student_id, class_id, school_year FROM etl_enrol_ids ON CONFLICT DO NOTHING RETURNING student_id)
       INSERT INTO etl_touched SELECT student_id, NULL::date FROM r
       WHERE student_id NOT IN (SELECT id FROM etl_new_students)""",
    """CREATE TEMP TABLE etl_weeks ON COMMIT DROP AS
       SELECT s.school, sc.id AS school_id, s.date, 'Week of ' || s.date AS name
       FROM (SELECT DISTINCT school, date FROM etl_stage) s JOIN schools sc ON sc.name = s.school""",
    """WITH r AS (
         INSERT INTO assessments (school_id, name, kind, date) SELECT school_id, name, 'weekly', date FROM etl_weeks
         ON CONFLICT (school_id, name) DO NOTHING RETURNING id)
       INSERT INTO etl_new_assessments SELECT id FROM r""",
    # one small row per student and per week, so the big join below is two hash joins on the staged keys
    """CREATE TEMP TABLE etl_ids ON COMMIT DROP AS
       SELECT sc.name AS school, e.source_id, st.id, n.id IS NOT NULL AS new_student
       FROM etl_student e JOIN schools sc ON sc.id = e.school_id
       JOIN students st ON st.school_id = e.school_id AND st.source_id = e.source_id
       LEFT JOIN etl_new_students n ON n.id = st.id""",
    """CREATE TEMP TABLE etl_week_ids ON COMMIT DROP AS
       SELECT w.school, w.date, a.id FROM etl_weeks w JOIN assessments a ON a.school_id = w.school_id AND a.name = w.name""",
    "ANALYZE etl_ids, etl_week_ids",
    """CREATE TEMP TABLE etl_rows ON COMMIT DROP AS
       SELECT DISTINCT ON (i.id, s.date) i.id AS student_id, s.date, w.id AS assessment_id, s.line,
              s.hours, s.hours IS NULL AS hours_imp, s.rate, s.rate IS NULL AS rate_imp,
              s.score, s.score IS NULL AS score_imp, s.sports, i.new_student
       FROM etl_stage s
       JOIN etl_ids i ON i.school = s.school AND i.source_id = s.source_id
       JOIN etl_week_ids w ON w.school = s.school AND w.date = s.date
       ORDER BY i.id, s.date, s.line DESC""",
    "ANALYZE etl_rows (student_id)",
]

IMPUTE_SQL = """
WITH need AS (SELECT DISTINCT student_id FROM etl_rows WHERE {col} IS NULL),
     med AS (SELECT r.student_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY r.{col}) AS m
             FROM etl_rows r JOIN need USING (student_id) GROUP BY r.student_id),
     whole AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {col}) AS m FROM etl_rows)
UPDATE etl_rows r SET {col} = coalesce(med.m, whole.m)
FROM med, whole WHERE r.{col} IS NULL AND med.student_id = r.student_id
"""

UPSERT_SQL = """
WITH r AS (
    INSERT INTO {table} AS t ({key}, {cols}, imputed, run_id)
    SELECT {src_key}, {src_cols}, {imp}, :run_id FROM etl_rows r WHERE {where} AND NOT new_student
      AND NOT EXISTS (SELECT FROM {table} t WHERE {same_key} AND ({old}, t.imputed) IS NOT DISTINCT FROM ({r_cols}, {r_imp}))
    ON CONFLICT ({key}) DO UPDATE SET {sets}, imputed = excluded.imputed, run_id = excluded.run_id
    WHERE ({old}, t.imputed) IS DISTINCT FROM ({new}, excluded.imputed)
    RETURNING t.student_id, t.date, (t.xmax = 0) AS ins
), ch AS (
    INSERT INTO etl_changed SELECT student_id, date FROM r WHERE NOT ins
), touched AS (
    INSERT INTO etl_touched SELECT student_id, min(date) FROM r GROUP BY student_id
)
SELECT count(*) FILTER (WHERE ins) AS inserted, count(*) FILTER (WHERE NOT ins) AS updated FROM r
"""

INSERT_NEW_SQL = """
INSERT INTO {table} ({key}, {cols}, imputed, run_id)
SELECT {src_key}, {src_cols}, {imp}, :run_id FROM etl_rows WHERE {where} ORDER BY 1, 2
"""
"""In key order: the primary key's B-tree grows at its right edge instead of at random pages (the indexes stay
in place while a load runs, so that readers never wait)."""

SCORES = Score.__tablename__
TARGETS = {
    # table: (conflict key, target columns, source key, source columns, imputed flag, row filter)
    Attendance.__tablename__: ("student_id, date", ["rate"], "student_id, date", ["rate"], "rate_imp", "rate IS NOT NULL"),
    StudyHours.__tablename__: ("student_id, date", ["hours"], "student_id, date", ["hours"], "hours_imp", "hours IS NOT NULL"),
    ActivityParticipation.__tablename__: ("student_id, date, activity", ["participated"], "student_id, date, 'sports'",
                                         ["sports"], "false", "sports IS NOT NULL"),
    SCORES: ("student_id, assessment_id", ["date", "score"], "student_id, assessment_id",
               ["date", "score"], "score_imp", "score IS NOT NULL"),
}




def staged_column(event_column: Column) -> str:
    """The column of ``etl_rows`` an event table's column is loaded from (per ``TARGETS``: ``scores.score`` -> ``score``)."""
    key, cols, src_key, src_cols, *_ = TARGETS[event_column.table.name]
    sources = dict(zip([*key.split(", "), *cols], [*src_key.split(", "), *src_cols], strict=True))
    return sources[event_column.key]


STAGED_DAYS_SQL = day_sums_of_rows("etl_rows", staged_column)
"""The day sums of ``db.summaries.EVENTS_DAYS_SQL`` straight from ``etl_rows``: after a fresh load (every event table
was empty) they are exactly the events just written (each ``TARGETS`` row filter is a ``... IS NOT NULL`` count here)."""


@dataclass
class LoadCounts:
    """What the set-based load did, in file rows."""

    staged: int = 0
    unique: int = 0
    inserted: int = 0
    updated: int = 0
    fresh: bool = False  # every event table was empty: the events are exactly ``etl_rows`` (see STAGED_DAYS_SQL)
    appended: bool = False  # every staged row came after every stored event (``_appends``), none was empty

    @property
    def duplicates(self) -> int:
        """Rows dropped because another row of the file had the same student and date."""
        return self.staged - self.unique


def _timed(session: Session, sql: str, params: dict | None = None, step: str | None = None):  # noqa: ANN202
    """Execute one statement and log how long it took (debug level)."""
    started = time.perf_counter()
    result = session.execute(text(sql), params or {})
    log.debug("load step", extra={"step": step or " ".join(sql.split()[:4]), "ms": round(1000 * (time.perf_counter() - started))})
    return result


def create_staging(session: Session) -> None:
    """Create the TEMP staging tables (dropped at commit or rollback)."""
    session.execute(text(STAGE_DDL))
    session.execute(text(REJECT_DDL))


def _copy(session: Session, table: str, frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> None:
    """COPY a frame into ``table`` (text format), on the background writer when one is running."""
    conn = session.connection().connection.dbapi_connection
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    payload = copy_text(frame).encode(psycopg2.extensions.encodings[conn.encoding])
    writer = session.info.get(WRITER_KEY)
    if writer is not None:
        writer.put(sql, payload)
        return
    with conn.cursor() as cur:
        cur.copy_expert(sql, io.BytesIO(payload))


WRITER_KEY = "etl_copy_writer"


class CopyWriter:
    """Runs COPYs on a thread of its own, so PostgreSQL loads one chunk while pandas prepares the next.

    The connection is the session's; while the writer runs, nothing else may use it. At most
    ``depth`` payloads wait in the queue, so memory stays bounded.
    """

    def __init__(self, session: Session, depth: int = 2) -> None:
        self._conn = session.connection().connection.dbapi_connection
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="etl-copy", daemon=True)
        self._thread.start()

    def put(self, sql: str, payload: bytes) -> None:
        """Queue one COPY (raises the error of an earlier one, if any)."""
        self.check()
        self._queue.put((sql, payload))

    def _work(self) -> None:
        """Run queued COPYs until the end marker; after an error, only drain the queue."""
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    with self._conn.cursor() as cur:
                        cur.copy_expert(item[0], io.BytesIO(item[1]))
                except BaseException as exc:  # handed to the caller's thread by check()
                    self._error = exc

    def check(self) -> None:
        """Raise the error of a failed COPY in the caller's thread."""
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Wait until every queued COPY has run (the connection is free again)."""
        self._queue.put(None)
        self._thread.join()


@contextmanager
def background_copies(session: Session) -> Iterator[None]:
    """Within the block, staging COPYs of ``session`` run on a ``CopyWriter``; all have finished on exit."""
    writer = CopyWriter(session)
    session.info[WRITER_KEY] = writer
    try:
        yield
    finally:
        session.info.pop(WRITER_KEY, None)
        writer.stop()
    writer.check()  # only on success: an error inside the block wins


ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(value: object) -> str:
    """One non-null value in COPY text format (floats as their shortest exact repr)."""
    if isinstance(value, bool | np.bool_):
        return "t" if value else "f"
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value).translate(ESCAPES)


def copy_text(frame: pd.DataFrame) -> str:
    """The rows of ``frame`` in PostgreSQL's COPY text format (null as ``\\N``).

    Much faster than ``to_csv`` on long columns with few distinct values: each distinct value is
    formatted once (``pd.factorize``) and the cells are gathered by code.
    """
    if frame.empty:
        return ""
    cells = []
    for _, column in frame.items():
        if column.dtype == np.int64:  # e.g. line numbers: all distinct, never null
            cells.append(column.astype(str).to_numpy(dtype=object))
            continue
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        formatted = np.asarray([_cell(u) for u in uniques] + ["\\N"], dtype=object)
        cells.append(formatted[codes])
    return "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n"


def stage_chunk(session: Session, frame: pd.DataFrame) -> None:
    """Append one cleaned chunk to the staging tables (rows, and each student's latest row)."""
    if len(frame):
        _copy(session, "etl_stage", frame.loc[:, list(EVENT_COLUMNS)], EVENT_COLUMNS)
        _copy(session, "etl_stage_students", latest_per_student_year(frame), STAGE_COLUMNS)


def stage_rejects(session: Session, rejected: pd.DataFrame) -> None:
    """Append rejected rows (line, raw JSON, reasons) to the reject staging table."""
    if not len(rejected):
        return
    frame = rejected.assign(reasons=rejected["reasons"].map(_pg_array))
    _copy(session, "etl_rejects", frame, ["line_number", "raw", "reasons"])


def _pg_array(items: list[str]) -> str:
    """A PostgreSQL text[] literal."""
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)
    return "{" + ",".join(quoted) + "}"


def save_rejects(session: Session, run_id: int) -> int:
    """Move staged rejects into ``rejected_rows`` for ``run_id``; return how many."""
    result = session.execute(text(
        "INSERT INTO rejected_rows (run_id, line_number, raw, reasons) "
        "SELECT :run_id, line_number, raw, reasons FROM etl_rejects ORDER BY line_number"), {"run_id": run_id})
    return result.rowcount


def _in_rows(expr: str) -> str:
    """A column of ``etl_rows`` qualified with its alias ``r`` (literals stay as they are)."""
    return f"r.{expr}" if expr.isidentifier() and expr != "false" else expr


APPENDS_SQL = {
    # a table keyed by date: every staged date is after the last stored one
    **{t: f"SELECT coalesce((SELECT min(date) FROM etl_rows) > (SELECT max(date) FROM {t}), true)"
       for t in (Attendance.__tablename__, StudyHours.__tablename__, ActivityParticipation.__tablename__)},
    # scores, keyed by assessment: every assessment of the file was created by this load (no score has it yet)
    Score.__tablename__: "SELECT NOT EXISTS (SELECT FROM etl_week_ids w WHERE w.id NOT IN (SELECT id FROM etl_new_assessments))",
}
"""Per event table, SQL true when no staged row can conflict with a stored one (a weekly upload of a new week)."""


def _appends(session: Session) -> bool:
    """Whether every staged row is new to every event table: then each is a plain INSERT (no anti-join, no ON
    CONFLICT, no RETURNING), as on the fresh path. Each check reads one end of an index or a few rows."""
    return all(session.execute(text(sql)).scalar() for sql in APPENDS_SQL.values())


def _upsert(session: Session, table: str, run_id: int, plain: bool) -> tuple[int, int]:
    """Upsert one event table from ``etl_rows``; return (inserted, updated).

    Rows of students created by this load cannot conflict: they take a plain INSERT (no
    RETURNING); only rows of existing students go through ON CONFLICT and count their updates,
    and of those only the ones an anti-join finds new or different (one set-based pass over the
    table instead of one index probe per unchanged row).
    ``plain`` (``Mode.plain``: nothing can conflict): every row is a plain INSERT.
    """
    key, cols, src_key, src_cols, imp, where = TARGETS[table]
    fields = {"table": table, "key": key, "cols": ", ".join(cols), "src_key": src_key,
              "src_cols": ", ".join(src_cols), "imp": imp, "where": where if plain else f"{where} AND new_student"}
    fresh_rows = _timed(session, INSERT_NEW_SQL.format(**fields), {"run_id": run_id}, step=f"insert {table}").rowcount
    if plain:
        return fresh_rows, 0
    same_key = " AND ".join(f"t.{k} = {_in_rows(s)}" for k, s in zip(key.split(", "), src_key.split(", "), strict=True))
    sql = UPSERT_SQL.format(
        table=table, key=key, cols=", ".join(cols), src_key=src_key, src_cols=", ".join(src_cols), imp=imp,
        where=where, sets=", ".join(f"{c} = excluded.{c}" for c in cols),
        old=", ".join(f"t.{c}" for c in cols), new=", ".join(f"excluded.{c}" for c in cols),
        same_key=same_key, r_cols=", ".join(map(_in_rows, src_cols)), r_imp=_in_rows(imp))
    row = _timed(session, sql, {"run_id": run_id}, step=f"upsert {table}").one()
    return fresh_rows + int(row.inserted), int(row.updated)


EVENT_TABLES = tuple(TARGETS)
BULK_MIN_ROWS = 50_000  # tests lower it to exercise the bulk path
EMPTY_SQL = "SELECT " + " AND ".join(f"NOT EXISTS (SELECT FROM {t})" for t in EVENT_TABLES)
KEY_SHARE_SQL = (
    "SELECT count(*) FROM (SELECT FROM students WHERE id IN (SELECT id FROM etl_ids) FOR KEY SHARE) s",
    "SELECT count(*) FROM (SELECT FROM assessments WHERE id IN (SELECT id FROM etl_week_ids) FOR KEY SHARE) a",
)
"""Lock the referenced rows as the foreign-key checks would (nobody may delete them until we commit), in two
statements instead of one check per inserted row."""


def _wants_bulk(session: Session, rows: int) -> bool:
    """Bulk mode pays when the file is big and at least as large as the event tables already are."""
    if rows < BULK_MIN_ROWS:
        return False
    existing = session.execute(text(f"SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = '{SCORES}'::regclass")).scalar()
    return rows >= (existing or 0)




@dataclass(frozen=True)
class Mode:
    """How the staged rows go into the event tables."""

    plain: bool = False  # no staged row can conflict with a stored one: plain inserts of every row
    empty: bool = False  # and every event table was empty (first load, ``--truncate``)


@contextmanager
def _bulk_mode(session: Session, rows: int) -> Iterator[Mode]:
    """For a big load, or one whose rows are all new (``_appends``), skip the event tables' row-by-row foreign-key
    checks; yield how the rows go in.

    PostgreSQL checks a foreign key row by row on insert (about 80 % of the insert time here). Every event row is
    built from a join with ``students`` and ``assessments`` in this transaction, so its keys exist; the referenced
    rows are locked ``FOR KEY SHARE`` in one statement each (what the checks would do row by row), then the checks
    are turned off (``session_replication_role``) for the inserts only. Nothing is dropped or altered and no table
    lock stronger than the inserts' own is taken: the dashboard keeps reading the tables while the load runs (an
    ``ALTER TABLE`` or ``DROP INDEX`` would hold an ACCESS EXCLUSIVE lock, and every reader, until the commit).
    When every event table is empty (first load, ``--truncate``), or every staged row is new to them (a weekly
    upload of a new week), nothing can conflict: plain inserts. Loads are serialised by the pipeline's advisory
    lock, so neither can change while this one runs.
    """
    appends = _appends(session)
    if not appends and not _wants_bulk(session, rows):
        yield Mode()
        return
    empty = bool(session.execute(text(EMPTY_SQL)).scalar())
    for sql in KEY_SHARE_SQL:
        session.execute(text(sql))
    skipped = skip_key_checks(session)
    yield Mode(plain=appends or empty, empty=empty)
    if skipped:
        session.execute(text("SET LOCAL session_replication_role = origin"))


def load_staged(session: Session, run_id: int) -> LoadCounts:
    """Upsert everything staged into the product's tables; return the counts.

    Parameters
    ----------
    session : a session inside the file's transaction.
    run_id : the ``ingestion_runs`` row the event rows are tagged with.
    """
    counts = LoadCounts(staged=session.execute(text("SELECT count(*) FROM etl_stage")).scalar_one())
    for sql in SETUP_SQL:
        _timed(session, sql)
    counts.unique = session.execute(text("SELECT count(*) FROM etl_rows")).scalar_one()
    nulls = session.execute(text(
        "SELECT count(*) FILTER (WHERE hours IS NULL) AS hours, count(*) FILTER (WHERE rate IS NULL) AS rate, "
        "count(*) FILTER (WHERE score IS NULL) AS score FROM etl_rows")).one()._asdict()
    for col, n in nulls.items():
        if n:
            session.execute(text(IMPUTE_SQL.format(col=col)))
    with _bulk_mode(session, counts.unique) as mode:
        counts.fresh = mode.empty
        counts.appended = mode.plain and not mode.empty
        if mode.plain:  # plain inserts return nothing: every student of the file gets new rows from their first date
            since = "NULL::date" if mode.empty else "min(date)"
            session.execute(text(f"INSERT INTO etl_touched SELECT student_id, {since} FROM etl_rows WHERE NOT new_student "
                                 "GROUP BY student_id"))
        for table in EVENT_TABLES:
            if table != SCORES:
                _upsert(session, table, run_id, mode.plain)
        counts.inserted, _ = _upsert(session, SCORES, run_id, mode.plain)
    counts.updated = session.execute(text("SELECT count(*) FROM (SELECT DISTINCT student_id, date FROM etl_changed) c")).scalar_one()
    return counts


STAGED_SINCE_SQL = """SELECT NOT EXISTS (SELECT FROM etl_touched t WHERE t.since IS NULL
                                         AND t.student_id NOT IN (SELECT id FROM etl_new_students))"""


def staged_days_suffice(session: Session, counts: LoadCounts) -> bool:
    """Whether ``STAGED_DAYS_SQL`` gives each touched student's days from their since date on (``refresh_summaries``'
    ``days_since``): the load appended rows after every stored event, so a student's events from the first date
    of their rows on are those rows, and no student already stored is rebuilt whole (a class move)."""
    return counts.appended and bool(session.execute(text(STAGED_SINCE_SQL)).scalar())


def left_classes(session: Session) -> list[int]:
    """Classes some student of the file was moved out of (their weekly summaries need a rebuild)."""
    return list(session.execute(text("SELECT DISTINCT class_id FROM etl_left_classes")).scalars())


def touched_students(session: Session) -> dict[int, dt.date | None]:
    """The students whose summaries this load may change, each with the date from which their events changed.

    Those created, or whose name, gender, age, class (or its grade) or any event row was inserted, changed or
    moved; a student of the file whose data is all unchanged keeps the summaries they have. The date is the
    earliest of their inserted or changed event rows (their running sums before it stand), None for a new student
    or one who changed class (everything is recounted), and ``db.summaries.NO_EVENTS`` when only who they are
    (name, gender, age) or their class's grade changed.
    """
    rows = session.execute(text(
        "SELECT student_id, CASE WHEN bool_or(since IS NULL) THEN NULL ELSE min(since) END FROM etl_touched "
        "GROUP BY student_id")).all()
    return {int(student_id): since for student_id, since in rows}
