"""Alerts: a student in my scope became High or rose by 20 points or more since the model's previous scoring run,
or has an open intervention whose review is overdue.

Alerts are computed on read from the latest two runs of the active model and the interventions (so a new scoring
run brings its alerts with it, nothing to generate); what a user marked read is stored by each alert's stable
key (``risk:<run>:<student>``, ``review:<intervention>:<review date>``), so a new run or a new review date is a
new alert.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from core.errors import NotFound, Unavailable
from db.models import AlertRead, Intervention, Prediction, Student, StudentSummary
from ml.registry import scored_run
from ml.score import HIGH
from services import audit
from services.at_risk import percent_words
from services.interventions import OPEN
from services.queries import scoped_summary
from services.scope import Filters, Viewer

READ = "alert.read"
ROSE_BY = 0.20  # "rose by 20 points or more"
MAX_ALERTS = 200
KEY = re.compile(r"^(risk:\d{1,10}:\d{1,19}|review:\d{1,10}:\d{4}-\d{2}-\d{2})$")
NO_SUCH_ALERT = "No such alert for you."


@dataclass(frozen=True)
class Alert:
    """One alert about one student, with the sentence shown and whether this user marked it read."""

    key: str
    kind: str  # "high", "rose" or "review"
    student_id: int
    student: str
    text: str
    on: dt.date
    read: bool

    @property
    def href(self) -> str:
        """The student's profile."""
        return f"/students/{self.student_id}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {"key": self.key, "kind": self.kind, "student_id": self.student_id, "student": self.student,
                "text": self.text, "on": self.on.isoformat(), "read": self.read, "href": self.href}


Previous = aliased(Prediction, name="previous_prediction")


def _risk_alerts(session: Session, viewer: Viewer) -> list[Alert]:
    try:
        run = scored_run(session)
    except Unavailable:
        return []
    became_high = and_(Prediction.tier == HIGH, or_(Previous.tier.is_(None), Previous.tier != HIGH))
    rose = Prediction.probability - Previous.probability >= ROSE_BY
    stmt = (select(Prediction.student_id, Student.name, Student.source_id, Prediction.probability, Prediction.tier,
                   Previous.probability, Previous.tier, Prediction.as_of)
            .join(StudentSummary, StudentSummary.student_id == Prediction.student_id)
            .join(Student, Student.id == Prediction.student_id)
            .outerjoin(Previous, and_(Previous.student_id == Prediction.student_id,
                                      Previous.scoring_run_id == (run.previous_id or 0)))
            .where(Prediction.scoring_run_id == run.id, or_(became_high, rose), *scoped_summary(viewer, Filters()))
            .order_by(Prediction.probability.desc()).limit(MAX_ALERTS))
    alerts = []
    for student_id, name, source_id, probability, tier, before, tier_before, as_of in session.execute(stmt).tuples():
        who = name or source_id
        if tier == HIGH and tier_before != HIGH:
            kind, text = "high", f"{who} is now High risk ({percent_words(probability)})."
        else:
            kind, text = "rose", f"{who}'s risk rose from {percent_words(before)} to {percent_words(probability)}."
        alerts.append(Alert(f"risk:{run.id}:{student_id}", kind, int(student_id), who, text, as_of, False))
    return alerts


def _review_alerts(session: Session, viewer: Viewer, today: dt.date) -> list[Alert]:
    stmt = (select(Intervention.id, Intervention.student_id, Intervention.type, Intervention.next_review,
                   Student.name, Student.source_id)
            .join(StudentSummary, StudentSummary.student_id == Intervention.student_id)
            .join(Student, Student.id == Intervention.student_id)
            .where(Intervention.status.in_(OPEN), Intervention.next_review < today, *scoped_summary(viewer, Filters()))
            .order_by(Intervention.next_review).limit(MAX_ALERTS))
    return [Alert(f"review:{i}:{review.isoformat()}", "review", int(s), name or source,
                  f"The review of {name or source}'s {kind} was due on {review.day} {review:%b %Y}.", review, False)
            for i, s, kind, review, name, source in session.execute(stmt).tuples()]


def alerts_for(*, session: Session, viewer: Viewer, today: dt.date | None = None, unread_only: bool = False) -> list[Alert]:
    """The viewer's alerts (reviews overdue first, then risk by probability), each marked read or not.

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : whose alerts: students in their scope only.
    today : the date reviews are overdue against (default today).
    unread_only : leave out the ones marked read.
    """
    found = _review_alerts(session, viewer, today or dt.date.today()) + _risk_alerts(session, viewer)
    read = set(session.scalars(select(AlertRead.key).where(AlertRead.user_id == viewer.user_id,
                                                            AlertRead.key.in_([a.key for a in found]))))
    marked = [Alert(a.key, a.kind, a.student_id, a.student, a.text, a.on, a.key in read) for a in found]
    return [a for a in marked if not a.read] if unread_only else marked


def unread_count(*, session: Session, viewer: Viewer, today: dt.date | None = None) -> int:
    """How many of the viewer's alerts are not marked read (the bell's number)."""
    return len(alerts_for(session=session, viewer=viewer, today=today, unread_only=True))


def mark_read(*, session: Session, viewer: Viewer, keys: Any, today: dt.date | None = None,
              address: str | None = None) -> int:
    """Mark these alerts of the viewer read (``"all"``: every one); one audit entry; returns how many were new.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : whose alerts.
    keys : a list of alert keys (untrusted), or ``"all"``; a key that is not one of the viewer's alerts: NotFound.
    today : the date reviews are overdue against.
    address : the client's address, for the audit log.
    """
    current = {a.key: a for a in alerts_for(session=session, viewer=viewer, today=today)}
    if keys == "all":
        wanted = [k for k, a in current.items() if not a.read]
    elif isinstance(keys, list) and keys and all(isinstance(k, str) and KEY.match(k) for k in keys):
        if any(k not in current for k in keys):
            raise NotFound(NO_SUCH_ALERT)
        wanted = [k for k in dict.fromkeys(keys) if not current[k].read]
    else:
        raise NotFound(NO_SUCH_ALERT)
    if wanted:
        session.execute(insert(AlertRead).values([{"user_id": viewer.user_id, "key": k} for k in wanted])
                        .on_conflict_do_nothing())
        audit.record(session, action=READ, user_id=viewer.user_id, actor=viewer.email,
                     target=",".join(sorted({str(current[k].student_id) for k in wanted}))[:500],
                     details={"keys": wanted[:50], "count": len(wanted)}, address=address)
    return len(wanted)
