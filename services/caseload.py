"""My students: the caseload (students whose interventions I own, plus the ones I starred), stars, and the
navigation's search for a student by name or id within the viewer's scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, or_, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput, Unavailable
from db.models import Intervention, Prediction, SchoolClass, Student, StudentStar, StudentSummary
from ml.registry import scored_run
from services import audit
from services.indicators import indicators_of
from services.interventions import OPEN
from services.notes import last_notes
from services.queries import scoped_summary
from services.scope import Filters, Viewer
from services.students import require_in_scope

STAR, UNSTAR = "student.star", "student.unstar"
SEARCH_LIMIT = 10
MIN_SEARCH = 2
MAX_SEARCH = 60


@dataclass(frozen=True)
class CaseloadRow:
    """One student of my caseload: why they are in it, their tier, next review and last note."""

    student_id: int
    source_id: str
    name: str | None
    class_name: str | None
    tier: str | None
    next_review: dt.date | None
    last_note: str | None
    last_note_on: dt.date | None
    owned: bool
    starred: bool
    indicators: tuple[str, ...] = ()  # the keys of the indicators that are on (services.indicators.KEYS)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {"student_id": self.student_id, "source_id": self.source_id, "name": self.name,
                "class_name": self.class_name, "tier": self.tier,
                "next_review": self.next_review.isoformat() if self.next_review else None,
                "last_note": self.last_note, "last_note_on": self.last_note_on.isoformat() if self.last_note_on else None,
                "owned": self.owned, "starred": self.starred, "indicators": list(self.indicators)}


def is_starred(session: Session, viewer: Viewer, student_id: int) -> bool:
    """Whether the viewer starred this student."""
    return session.get(StudentStar, (viewer.user_id, student_id)) is not None


def set_star(*, session: Session, viewer: Viewer, student_id: int, starred: bool, address: str | None = None) -> bool:
    """Star or unstar a student in scope (one audit entry when it changes); returns the new state.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : who stars.
    student_id : the student's database id (untrusted).
    starred : the wanted state.
    address : the client's address, for the audit log.
    """
    student = require_in_scope(session, viewer, student_id)
    if is_starred(session, viewer, student.student_id) == bool(starred):
        return bool(starred)
    if starred:
        session.add(StudentStar(user_id=viewer.user_id, student_id=student.student_id))
    else:
        session.execute(delete(StudentStar).where(StudentStar.user_id == viewer.user_id,
                                                  StudentStar.student_id == student.student_id))
    audit.record(session, action=STAR if starred else UNSTAR, user_id=viewer.user_id, actor=viewer.email,
                 target=str(student.student_id), address=address)
    return bool(starred)


def _tiers(session: Session, student_ids: list[int]) -> dict[int, str]:
    try:
        run = scored_run(session)
    except Unavailable:
        return {}
    stmt = select(Prediction.student_id, Prediction.tier).where(Prediction.scoring_run_id == run.id,
                                                                 Prediction.student_id.in_(student_ids))
    return {int(s): t for s, t in session.execute(stmt).tuples()}


def _reviews(session: Session, viewer: Viewer, student_ids: list[int]) -> dict[int, tuple[dt.date | None, bool]]:
    """Per student: the earliest next review of their open interventions, and whether the viewer owns one."""
    stmt = (select(Intervention.student_id, Intervention.next_review, Intervention.owner_id)
            .where(Intervention.student_id.in_(student_ids), Intervention.status.in_(OPEN)))
    found: dict[int, tuple[dt.date | None, bool]] = {}
    for student_id, review, owner in session.execute(stmt).tuples():
        earliest, owned = found.get(int(student_id), (None, False))
        if review is not None and (earliest is None or review < earliest):
            earliest = review
        found[int(student_id)] = (earliest, owned or owner == viewer.user_id)
    return found


def caseload(*, session: Session, viewer: Viewer) -> list[CaseloadRow]:
    """My students: those with an open intervention I own and those I starred, still in my scope, by name.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : whose caseload.
    """
    owned = select(Intervention.student_id).where(Intervention.owner_id == viewer.user_id, Intervention.status.in_(OPEN))
    starred = select(StudentStar.student_id).where(StudentStar.user_id == viewer.user_id)
    stmt = (select(Student.id, Student.source_id, Student.name, SchoolClass.name)
            .join(StudentSummary, StudentSummary.student_id == Student.id)
            .outerjoin(SchoolClass, SchoolClass.id == StudentSummary.class_id)
            .where(or_(Student.id.in_(owned), Student.id.in_(starred)), *scoped_summary(viewer, Filters()))
            .order_by(Student.name, Student.id))
    people = session.execute(stmt).tuples().all()
    ids = [int(p[0]) for p in people]
    tiers, reviews, notes = _tiers(session, ids), _reviews(session, viewer, ids), last_notes(session, ids)
    stars = set(session.scalars(starred))
    flags = indicators_of(session, ids)
    rows = []
    for student_id, source_id, name, class_name in people:
        review, mine = reviews.get(student_id, (None, False))
        note = notes.get(student_id)
        rows.append(CaseloadRow(student_id, source_id, name, class_name, tiers.get(student_id), review,
                                note.body if note else None, note.occurred_on if note else None, mine,
                                student_id in stars, flags.get(student_id, ())))
    return rows


@dataclass(frozen=True)
class Match:
    """A student found by the search box."""

    student_id: int
    label: str


def search_students(*, session: Session, viewer: Viewer, text: Any, limit: int = SEARCH_LIMIT) -> list[Match]:
    """Students in the viewer's scope whose name contains ``text``, or whose id or school id starts with it.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : who searches; only their scope is searched.
    text : what was typed (untrusted); fewer than two characters finds nobody.
    limit : at most this many matches, by name.
    """
    if not isinstance(text, str) or "\x00" in text:
        raise InvalidInput("Search for a student by name or id.")
    words = text.strip()[:MAX_SEARCH]
    if len(words) < MIN_SEARCH and not words.isdigit():
        return []
    pattern = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    wanted = [Student.name.ilike(f"%{pattern}%"), Student.source_id.ilike(f"{pattern}%")]
    if words.isdigit():
        wanted.append(cast(Student.id, String) == words)
    stmt = (select(Student.id, Student.name, Student.source_id, SchoolClass.name)
            .join(StudentSummary, StudentSummary.student_id == Student.id)
            .outerjoin(SchoolClass, SchoolClass.id == StudentSummary.class_id)
            .where(or_(*wanted), *scoped_summary(viewer, Filters()))
            .order_by(Student.name, Student.id).limit(limit))
    return [Match(int(i), f"{name or 'Unnamed'} ({source}, {klass or 'no class'})")
            for i, name, source, klass in session.execute(stmt).tuples()]
