"""Case notes and the contact log (parent call, meeting, letter) of a student: dated, with their author, scoped.

Nothing is deleted outright: an edit keeps the previous text in its audit entry (``note.edit``), and a note
taken back is archived (hidden from lists, kept in the table). Only the author (or an administrator) edits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Forbidden, NotFound
from db.models import NOTE_KINDS, CaseNote, User
from services import audit
from services.scope import Viewer
from services.students import require_in_scope
from services.workflow_input import check_keys, choice_field, date_field, text_field

ADD, EDIT, ARCHIVE = "note.add", "note.edit", "note.archive"
FIELDS = ("kind", "body", "outcome", "occurred_on")
NO_SUCH_NOTE = "No such note among the students you may see."
NOT_YOURS = "Only the author of a note (or an administrator) may change it."


@dataclass(frozen=True)
class NoteRow:
    """One case note or contact as plain data, with its author's name."""

    id: int
    student_id: int
    kind: str
    body: str
    outcome: str | None
    occurred_on: dt.date
    author_id: int | None
    author: str
    updated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {"id": self.id, "student_id": self.student_id, "kind": self.kind, "body": self.body,
                "outcome": self.outcome, "occurred_on": self.occurred_on.isoformat(), "author_id": self.author_id,
                "author": self.author, "updated_at": self.updated_at.isoformat()}


_SELECT = (CaseNote, func.coalesce(User.full_name, User.email, "a former user"))


def _rows(session: Session, *conditions: Any) -> list[NoteRow]:
    stmt = (select(*_SELECT).outerjoin(User, User.id == CaseNote.author_id)
            .where(CaseNote.archived_at.is_(None), *conditions)
            .order_by(CaseNote.occurred_on.desc(), CaseNote.id.desc()))
    return [NoteRow(n.id, n.student_id, n.kind, n.body, n.outcome, n.occurred_on, n.author_id, who, n.updated_at)
            for n, who in session.execute(stmt).tuples()]


def list_notes(*, session: Session, viewer: Viewer, student_id: int) -> list[NoteRow]:
    """A student's notes and contacts, newest first (``NotFound`` outside the viewer's scope).

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : who asks.
    student_id : the student's database id (untrusted).
    """
    student = require_in_scope(session, viewer, student_id)
    return _rows(session, CaseNote.student_id == student.student_id)


def _values(data: Any, *, partial: bool) -> dict[str, Any]:
    body = check_keys(data, FIELDS)
    readers = {
        "kind": lambda: choice_field(body, "kind", NOTE_KINDS, label="kind of note"),
        "body": lambda: text_field(body, "body", label="note"),
        "outcome": lambda: text_field(body, "outcome", label="outcome", required=False),
        "occurred_on": lambda: date_field(body, "occurred_on", label="date"),
    }
    return {key: read() for key, read in readers.items() if not partial or key in body}


def add_note(*, session: Session, viewer: Viewer, student_id: int, data: Any, address: str | None = None) -> NoteRow:
    """Add a dated note or contact for a student in scope; one audit entry.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : the author.
    student_id : the student's database id (untrusted).
    data : ``body`` (required), ``kind`` (default note), ``occurred_on`` (default today), ``outcome``.
    address : the client's address, for the audit log.
    """
    student = require_in_scope(session, viewer, student_id)
    body = dict(check_keys(data, FIELDS))
    body.setdefault("kind", "note")
    body.setdefault("occurred_on", dt.date.today().isoformat())
    values = _values(body, partial=False)
    note = CaseNote(student_id=student.student_id, author_id=viewer.user_id, **values)
    session.add(note)
    session.flush()
    audit.record(session, action=ADD, user_id=viewer.user_id, actor=viewer.email, target=str(student.student_id),
                 details={"note_id": note.id, "kind": note.kind}, address=address)
    return _rows(session, CaseNote.id == note.id)[0]


def _mine(session: Session, viewer: Viewer, note_id: Any) -> CaseNote:
    try:
        key = int(note_id)
    except (TypeError, ValueError):
        raise NotFound(NO_SUCH_NOTE) from None
    note = session.get(CaseNote, key) if 1 <= key <= 2**31 - 1 else None
    if note is None or note.archived_at is not None:
        raise NotFound(NO_SUCH_NOTE)
    try:
        require_in_scope(session, viewer, note.student_id)
    except NotFound:
        raise NotFound(NO_SUCH_NOTE) from None
    if note.author_id != viewer.user_id and not viewer.is_admin:
        raise Forbidden(NOT_YOURS)
    return note


def edit_note(*, session: Session, viewer: Viewer, note_id: Any, changes: Any, address: str | None = None) -> NoteRow:
    """Change a note's text, kind, date or outcome; the audit entry keeps the previous values.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : its author (or an administrator).
    note_id : the note's id (untrusted).
    changes : any of ``kind``, ``body``, ``outcome``, ``occurred_on``.
    address : the client's address, for the audit log.
    """
    note = _mine(session, viewer, note_id)
    values = _values(changes, partial=True)
    before = {k: getattr(note, k) for k in values if getattr(note, k) != values[k]}
    for key in before:
        setattr(note, key, values[key])
    note.updated_at = func.now()
    session.flush()
    previous = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in before.items()}
    audit.record(session, action=EDIT, user_id=viewer.user_id, actor=viewer.email, target=str(note.student_id),
                 details={"note_id": note.id, "previous": previous}, address=address)
    return _rows(session, CaseNote.id == note.id)[0]


def archive_note(*, session: Session, viewer: Viewer, note_id: Any, address: str | None = None) -> None:
    """Take a note back: hidden from lists, kept in the table and in the audit log (never deleted)."""
    note = _mine(session, viewer, note_id)
    note.archived_at = func.now()
    audit.record(session, action=ARCHIVE, user_id=viewer.user_id, actor=viewer.email, target=str(note.student_id),
                 details={"note_id": note.id, "previous": {"body": note.body, "outcome": note.outcome}},
                 address=address)


def last_notes(session: Session, student_ids: list[int]) -> dict[int, NoteRow]:
    """The latest note or contact of each of these students (scope already checked by the caller)."""
    if not student_ids:
        return {}
    latest: dict[int, NoteRow] = {}
    for row in _rows(session, CaseNote.student_id.in_(student_ids)):
        latest.setdefault(row.student_id, row)
    return latest
