"""Interventions: help planned or given to a student (type, owner, dates, status, outcome), scoped and audited.

Every function checks the student with :func:`services.students.require_in_scope`; an intervention of a student
outside the viewer's scope is as unknown as one that does not exist. The owner must be an active user who may
see the student. Each change is one audit entry (``intervention.add``, ``intervention.edit``) holding the values
before and after. "Open" interventions are the planned and active ones: they count as support in the at-risk
list's "High without an active intervention" filter, and an open one whose review date has passed is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from db.models import INTERVENTION_STATUSES, Intervention, InterventionType, User, UserClass
from services import audit
from services.scope import TEACHER, Viewer
from services.students import StudentInScope, require_in_scope
from services.users import load_viewer
from services.workflow_input import check_keys, choice_field, date_field, id_field, text_field

ADD, EDIT = "intervention.add", "intervention.edit"
OPEN = ("planned", "active")
FIELDS = ("type", "owner_id", "start_date", "next_review", "status", "outcome")
NO_SUCH_INTERVENTION = "No such intervention among the students you may see."


@dataclass(frozen=True)
class InterventionRow:
    """One intervention as plain data, with its owner's name."""

    id: int
    student_id: int
    type: str
    owner_id: int
    owner: str
    start_date: dt.date
    next_review: dt.date | None
    status: str
    outcome: str | None
    updated_at: dt.datetime

    def overdue(self, today: dt.date) -> bool:
        """An open intervention whose review date has passed."""
        return self.status in OPEN and self.next_review is not None and self.next_review < today

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (dates as ISO strings)."""
        return {
            "id": self.id, "student_id": self.student_id, "type": self.type, "owner_id": self.owner_id,
            "owner": self.owner, "start_date": self.start_date.isoformat(),
            "next_review": self.next_review.isoformat() if self.next_review else None, "status": self.status,
            "outcome": self.outcome, "overdue": self.overdue(dt.date.today()),
        }


def intervention_types(session: Session) -> list[str]:
    """The configured kinds of intervention, in display order."""
    return list(session.scalars(select(InterventionType.name).order_by(InterventionType.ordinal, InterventionType.name)))


def _row(item: Intervention, owner: str) -> InterventionRow:
    return InterventionRow(item.id, item.student_id, item.type, item.owner_id, owner, item.start_date, item.next_review,
                           item.status, item.outcome, item.updated_at)


def _owner_name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return (user.full_name or user.email) if user is not None else "someone"


def list_interventions(*, session: Session, viewer: Viewer, student_id: int) -> list[InterventionRow]:
    """A student's interventions, newest start first (``NotFound`` outside the viewer's scope).

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : who asks.
    student_id : the student's database id (untrusted).
    """
    student = require_in_scope(session, viewer, student_id)
    stmt = (
        select(Intervention, func.coalesce(User.full_name, User.email))
        .join(User, User.id == Intervention.owner_id)
        .where(Intervention.student_id == student.student_id)
        .order_by(Intervention.start_date.desc(), Intervention.id.desc())
    )
    return [_row(item, owner) for item, owner in session.execute(stmt).tuples()]


def open_interventions(session: Session, student: StudentInScope) -> list[InterventionRow]:
    """A student's open (planned or active) interventions, soonest review first, for a student already checked."""
    stmt = (
        select(Intervention, func.coalesce(User.full_name, User.email))
        .join(User, User.id == Intervention.owner_id)
        .where(Intervention.student_id == student.student_id, Intervention.status.in_(OPEN))
        .order_by(Intervention.next_review.asc().nulls_last(), Intervention.start_date)
    )
    return [_row(item, owner) for item, owner in session.execute(stmt).tuples()]


def _check_owner(session: Session, owner_id: int, student_id: int) -> None:
    """InvalidInput unless ``owner_id`` is an active user who may see the student."""
    owner = load_viewer(session, owner_id)
    if owner is None:
        raise InvalidInput("The owner must be an active user of this product.")
    try:
        require_in_scope(session, owner, student_id)
    except NotFound:
        raise InvalidInput(f"{owner.email} cannot see this student: choose someone who teaches their class, "
                           "or a member of staff.") from None


def _values(session: Session, data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The validated values of the ``keys`` present in ``data`` (all of them required when adding)."""
    readers = {
        "type": lambda: choice_field(data, "type", intervention_types(session), label="type of intervention"),
        "owner_id": lambda: id_field(data, "owner_id", label="owner"),
        "start_date": lambda: date_field(data, "start_date", label="start date"),
        "next_review": lambda: date_field(data, "next_review", label="next review date", required=False),
        "status": lambda: choice_field(data, "status", INTERVENTION_STATUSES, label="status"),
        "outcome": lambda: text_field(data, "outcome", label="outcome note", required=False),
    }
    return {key: readers[key]() for key in keys}


def _check_dates(start: dt.date, review: dt.date | None) -> None:
    if review is not None and review < start:
        raise InvalidInput("The next review date cannot be before the start date.")


def _snapshot(item: Intervention) -> dict[str, Any]:
    return {key: (v.isoformat() if isinstance(v, dt.date) else v) for key in FIELDS
            for v in [getattr(item, key)]}


def add_intervention(*, session: Session, viewer: Viewer, student_id: int, data: Any,
                     address: str | None = None) -> InterventionRow:
    """Add an intervention for a student in scope; one audit entry.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : who adds it.
    student_id : the student's database id (untrusted).
    data : ``type``, ``owner_id``, ``start_date`` (default today), ``next_review``, ``status`` (default planned),
        ``outcome``; untrusted.
    address : the client's address, for the audit log.
    """
    student = require_in_scope(session, viewer, student_id)
    body = dict(check_keys(data, FIELDS))
    body.setdefault("start_date", dt.date.today().isoformat())
    body.setdefault("status", "planned")
    values = _values(session, body, FIELDS)
    _check_dates(values["start_date"], values["next_review"])
    _check_owner(session, values["owner_id"], student.student_id)
    item = Intervention(student_id=student.student_id, created_by=viewer.user_id, **values)
    session.add(item)
    session.flush()
    audit.record(session, action=ADD, user_id=viewer.user_id, actor=viewer.email, target=str(student.student_id),
                 details={"intervention_id": item.id, "after": _snapshot(item)}, address=address)
    return _row(item, _owner_name(session, item.owner_id))


def _in_scope(session: Session, viewer: Viewer, intervention_id: Any) -> Intervention:
    """The intervention when its student is in scope; the same ``NotFound`` sentence when missing or not."""
    try:
        key = int(intervention_id)
    except (TypeError, ValueError):
        raise NotFound(NO_SUCH_INTERVENTION) from None
    item = session.get(Intervention, key) if 1 <= key <= 2**31 - 1 else None
    if item is None:
        raise NotFound(NO_SUCH_INTERVENTION)
    try:
        require_in_scope(session, viewer, item.student_id)
    except NotFound:
        raise NotFound(NO_SUCH_INTERVENTION) from None
    return item


def update_intervention(*, session: Session, viewer: Viewer, intervention_id: Any, changes: Any,
                        address: str | None = None) -> InterventionRow:
    """Change some fields of an intervention in scope; one audit entry with the values before and after.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : who changes it.
    intervention_id : the intervention's id (untrusted).
    changes : any of ``type``, ``owner_id``, ``start_date``, ``next_review``, ``status``, ``outcome``.
    address : the client's address, for the audit log.
    """
    item = _in_scope(session, viewer, intervention_id)
    body = check_keys(changes, FIELDS)
    if not body:
        raise InvalidInput(f"Nothing to change: give any of {', '.join(FIELDS)}.")
    values = _values(session, body, tuple(k for k in FIELDS if k in body))
    _check_dates(values.get("start_date", item.start_date), values.get("next_review", item.next_review))
    if "owner_id" in values and values["owner_id"] != item.owner_id:
        _check_owner(session, values["owner_id"], item.student_id)
    before = _snapshot(item)
    for key, value in values.items():
        setattr(item, key, value)
    item.updated_at = func.now()
    session.flush()
    session.refresh(item)
    after = _snapshot(item)
    changed = {k: before[k] for k in FIELDS if before[k] != after[k]}
    audit.record(session, action=EDIT, user_id=viewer.user_id, actor=viewer.email, target=str(item.student_id),
                 details={"intervention_id": item.id, "before": changed, "after": {k: after[k] for k in changed}},
                 address=address)
    return _row(item, _owner_name(session, item.owner_id))


def owner_choices(*, session: Session, viewer: Viewer, student_id: int) -> list[tuple[int, str]]:
    """The active users who may see the student (id, name or email), the viewer first: who may own an intervention.

    Teachers of other classes are left out in SQL; every remaining candidate is checked with the scope check itself.
    """
    student = require_in_scope(session, viewer, student_id)
    teaches = exists().where(UserClass.user_id == User.id, UserClass.class_id == student.class_id)
    candidates = or_(User.role != TEACHER, teaches)  # a teacher of another class cannot see the student
    users = session.execute(select(User.id, func.coalesce(User.full_name, User.email))
                            .where(User.is_active, candidates)
                            .order_by(User.id != viewer.user_id, User.email)).tuples().all()
    choices = []
    for user_id, label in users:
        other = load_viewer(session, user_id)
        try:
            if other is not None and require_in_scope(session, other, student.student_id):
                choices.append((int(user_id), str(label)))
        except NotFound:
            continue
    return choices


# --------------------------------------------------------------------------- the at-risk list's column and filters


def open_clause(student_id: ColumnElement) -> ColumnElement[bool]:
    """SQL: the student has an open (planned or active) intervention."""
    return exists().where(Intervention.student_id == student_id, Intervention.status.in_(OPEN))


def overdue_clause(student_id: ColumnElement, today: dt.date | None = None) -> ColumnElement[bool]:
    """SQL: the student has an open intervention whose review date is before ``today``."""
    return exists().where(and_(Intervention.student_id == student_id, Intervention.status.in_(OPEN),
                               Intervention.next_review < (today or dt.date.today())))


def summary_words(session: Session, student_ids: list[int], today: dt.date | None = None) -> dict[int, str]:
    """The at-risk list's intervention cell per student: ``tutoring (active), review overdue`` or nothing."""
    if not student_ids:
        return {}
    today = today or dt.date.today()
    stmt = (select(Intervention.student_id, Intervention.type, Intervention.status, Intervention.next_review)
            .where(Intervention.student_id.in_(student_ids), Intervention.status.in_(OPEN))
            .order_by(Intervention.student_id, Intervention.next_review.asc().nulls_last()))
    words: dict[int, list[str]] = {}
    for student_id, kind, status, review in session.execute(stmt).tuples():
        late = ", review overdue" if review is not None and review < today else ""
        words.setdefault(int(student_id), []).append(f"{kind} ({status}){late}")
    return {k: "; ".join(v) for k, v in words.items()}
