"""Flag feedback: a teacher says a flag is wrong or already handled ("not at risk", "already supported", "data is
wrong") with a sentence; kept with the scoring run, model version and tier it judged, so disagreement can be
counted per tier and model version (:func:`feedback_counts`, for the admin model page).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.models import FEEDBACK_VERDICTS, FlagFeedback, ModelVersion, Prediction, User
from ml.registry import scored_run
from ml.score import LOW
from services import audit
from services.scope import Viewer
from services.students import StudentInScope, require_in_scope
from services.workflow_input import check_keys, choice_field, text_field

GIVE = "feedback.add"
FIELDS = ("verdict", "comment")
NOT_FLAGGED = "This student is not flagged in the latest scoring run: there is no flag to give feedback on."


@dataclass(frozen=True)
class FeedbackRow:
    """One piece of feedback on a flag, as plain data."""

    id: int
    student_id: int
    verdict: str
    comment: str
    tier: str
    model_version: str
    author: str
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict."""
        return {"id": self.id, "student_id": self.student_id, "verdict": self.verdict, "comment": self.comment,
                "tier": self.tier, "model_version": self.model_version, "author": self.author,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class FeedbackCount:
    """How many pieces of feedback of one verdict a model version's flags of one tier received."""

    model_version: str
    tier: str
    verdict: str
    count: int


def _rows(session: Session, *conditions: Any) -> list[FeedbackRow]:
    stmt = (select(FlagFeedback, ModelVersion.version, func.coalesce(User.full_name, User.email, "a former user"))
            .join(ModelVersion, ModelVersion.id == FlagFeedback.model_version_id)
            .outerjoin(User, User.id == FlagFeedback.user_id).where(*conditions)
            .order_by(FlagFeedback.created_at.desc(), FlagFeedback.id.desc()))
    return [FeedbackRow(f.id, f.student_id, f.verdict, f.comment, f.tier, version, who, f.created_at)
            for f, version, who in session.execute(stmt).tuples()]


def feedback_for(session: Session, student: StudentInScope) -> list[FeedbackRow]:
    """A checked student's feedback, newest first."""
    return _rows(session, FlagFeedback.student_id == student.student_id)


def give_feedback(*, session: Session, viewer: Viewer, student_id: int, data: Any,
                  address: str | None = None) -> FeedbackRow:
    """Record feedback on a flagged student's latest flag; one audit entry.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : who gives it.
    student_id : the student's database id (untrusted).
    data : ``verdict`` (one of ``FEEDBACK_VERDICTS``) and ``comment`` (a sentence).
    address : the client's address, for the audit log.
    """
    student = require_in_scope(session, viewer, student_id)
    body = check_keys(data, FIELDS)
    verdict = choice_field(body, "verdict", FEEDBACK_VERDICTS, label="feedback")
    comment = text_field(body, "comment", label="sentence explaining the feedback", limit=1000)
    run = scored_run(session)
    tier = session.scalar(select(Prediction.tier).where(Prediction.scoring_run_id == run.id,
                                                        Prediction.student_id == student.student_id))
    if tier is None or tier == LOW:
        raise InvalidInput(NOT_FLAGGED)
    item = FlagFeedback(student_id=student.student_id, user_id=viewer.user_id, scoring_run_id=run.id,
                        model_version_id=run.model_version_id, tier=tier, verdict=verdict, comment=comment)
    session.add(item)
    session.flush()
    audit.record(session, action=GIVE, user_id=viewer.user_id, actor=viewer.email, target=str(student.student_id),
                 details={"feedback_id": item.id, "verdict": verdict, "tier": tier, "run_id": run.id},
                 address=address)
    return _rows(session, FlagFeedback.id == item.id)[0]


def feedback_counts(session: Session) -> list[FeedbackCount]:
    """Feedback per model version, tier and verdict (newest model first): how often teachers disagree with flags.

    Parameters
    ----------
    session : an open session; nothing is written.
    """
    stmt = (select(ModelVersion.version, FlagFeedback.tier, FlagFeedback.verdict, func.count())
            .join(ModelVersion, ModelVersion.id == FlagFeedback.model_version_id)
            .group_by(ModelVersion.id, ModelVersion.version, FlagFeedback.tier, FlagFeedback.verdict)
            .order_by(ModelVersion.id.desc(), FlagFeedback.tier, FlagFeedback.verdict))
    return [FeedbackCount(v, t, verdict, int(n)) for v, t, verdict, n in session.execute(stmt).tuples()]
