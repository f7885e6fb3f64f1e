"""The audit log page's questions: search entries by user, action, student and dates, a page at a time, and export.

A district administrator searches every entry. A school administrator sees the entries about its schools:
those made by, or about, users of its schools, and those about students of its schools; never the rest.
Teachers and staff are refused (Forbidden).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.models import AuditLog, SchoolClass, Student, User, UserClass, UserSchool
from services.audit import AuditEntry
from services.csv_safety import neutralise
from services.scope import Viewer
from services.students import parse_student_id
from services.user_admin import require_admin

PER_PAGE = 50
MAX_EXPORT = 100_000
MAX_FILTER = 200
CSV_COLUMNS = ("at", "action", "actor", "target", "details", "address")
BOM = "\ufeff"
_DIGITS = "^[0-9]{1,18}$"


@dataclass(frozen=True)
class AuditQuery:
    """The page's filters, all optional: part of an email, an exact action, a student id, a date range."""

    user: str | None = None
    action: str | None = None
    student_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, and how many match."""

    items: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def _date(raw: Any, what: str) -> dt.date | None:
    text = str(raw or "").strip()[:40]
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidInput(f"The {what} date {text!r} is not a date like 2026-09-01.") from None


def parse_query(*, user: Any = None, action: Any = None, student: Any = None, date_from: Any = None,
                date_to: Any = None) -> AuditQuery:
    """The filters from the page's fields (untrusted), or InvalidInput with one sentence."""
    start, end = _date(date_from, "start"), _date(date_to, "end")
    if start and end and start > end:
        raise InvalidInput("The start date is after the end date.")
    text_user = str(user or "").strip()[:MAX_FILTER] or None
    text_action = str(action or "").strip()[:MAX_FILTER] or None
    student_id = parse_student_id(student) if str(student or "").strip() else None
    return AuditQuery(text_user, text_action, student_id, start, end)


def _school_users(viewer: Viewer) -> Select:
    direct = select(UserSchool.user_id).where(UserSchool.school_id.in_(sorted(viewer.school_ids)))
    via_classes = (select(UserClass.user_id).join(SchoolClass, SchoolClass.id == UserClass.class_id)
                   .where(SchoolClass.school_id.in_(sorted(viewer.school_ids))))
    return direct.union(via_classes)


def _scope(viewer: Viewer) -> ColumnElement[bool]:
    """Entries a school administrator may read: by or about its schools' users, or about its schools' students."""
    if viewer.is_admin:
        return literal(True)
    if not viewer.school_ids:
        return literal(False)
    users = _school_users(viewer).subquery()
    emails = select(func.lower(User.email)).where(User.id.in_(select(users.c.user_id)))
    as_student = case((AuditLog.target.op("~")(_DIGITS), cast(AuditLog.target, BigInteger)), else_=None)
    students = select(Student.id).where(Student.school_id.in_(sorted(viewer.school_ids)))
    return or_(AuditLog.user_id.in_(select(users.c.user_id)), func.lower(AuditLog.target).in_(emails),
               as_student.in_(students))


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filtered(viewer: Viewer, query: AuditQuery) -> Select:
    conds: list[ColumnElement[bool]] = [_scope(viewer)]
    if query.user:
        conds.append(AuditLog.actor.ilike(_like(query.user), escape="\\"))
    if query.action:
        conds.append(AuditLog.action == query.action)
    if query.student_id is not None:
        conds.append(AuditLog.target == cast(literal(str(query.student_id)), String))
    if query.date_from:
        conds.append(AuditLog.at >= query.date_from)
    if query.date_to:
        conds.append(AuditLog.at < query.date_to + dt.timedelta(days=1))
    return select(AuditLog).where(*conds)


def _entry(row: AuditLog) -> AuditEntry:
    return AuditEntry(row.at, row.action, row.user_id, row.actor, row.target, dict(row.details or {}), row.address)


def search_audit(*, session: Session, viewer: Viewer, query: AuditQuery, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    """One page of the matching entries, newest first.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : a district administrator (every entry) or a school administrator (its schools' entries).
    query : the filters (:func:`parse_query`).
    page, per_page : 1-based page, and entries per page (1 to 500).
    """
    require_admin(viewer)
    if page < 1 or not 1 <= per_page <= 500:
        raise InvalidInput("The page must be 1 or more, with 1 to 500 entries per page.")
    stmt = _filtered(viewer, query)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return AuditPage([_entry(r) for r in rows], total, page, per_page)


def action_names(*, session: Session, viewer: Viewer) -> list[str]:
    """Every action recorded so far (for the action picker)."""
    require_admin(viewer)
    return list(session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def export_audit_csv(*, session: Session, viewer: Viewer, query: AuditQuery) -> tuple[str, int]:
    """The matching entries (up to ``MAX_EXPORT``, newest first) as CSV text, every cell made safe; and how many."""
    require_admin(viewer)
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    stmt = _filtered(viewer, query).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(MAX_EXPORT)
    for row in session.scalars(stmt.execution_options(yield_per=2000)):
        cells = (row.at.isoformat(timespec="seconds"), row.action, row.actor or "", row.target or "",
                 json.dumps(row.details or {}, sort_keys=True), row.address or "")
        writer.writerow([neutralise(c) for c in cells])
        n += 1
    return buffer.getvalue(), n
