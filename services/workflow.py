"""What the profile's "Support and follow-up" panel shows of one student: interventions, notes, flag feedback, the
star, the choices its forms offer, and one timeline of them beside the risk history (one call per refresh).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from db.models import FEEDBACK_VERDICTS, INTERVENTION_STATUSES, NOTE_KINDS
from ml.score import LOW
from services.at_risk import risk_history, student_risk
from services.caseload import is_starred
from services.feedback import FeedbackRow, feedback_for
from services.interventions import InterventionRow, intervention_types, list_interventions, owner_choices
from services.notes import NoteRow, list_notes
from services.scope import Viewer
from services.students import require_in_scope


@dataclass(frozen=True)
class TimelineEntry:
    """One dated event of a student's timeline: a scoring run, an intervention's start or review, a note, feedback."""

    on: dt.date
    kind: str  # "risk", "intervention", "review", "note", "feedback"
    text: str
    risk: float | None = None  # the probability, for "risk" entries


@dataclass(frozen=True)
class StudentWorkflow:
    """Everything the panel shows and offers for one student in scope."""

    student_id: int
    interventions: list[InterventionRow]
    notes: list[NoteRow]
    feedback: list[FeedbackRow]
    starred: bool
    flagged_tier: str | None  # the latest run's tier when High or Moderate (feedback is possible), else None
    owners: list[tuple[int, str]]
    types: list[str]
    timeline: list[TimelineEntry] = field(default_factory=list)
    statuses: tuple[str, ...] = INTERVENTION_STATUSES
    note_kinds: tuple[str, ...] = NOTE_KINDS
    verdicts: tuple[str, ...] = FEEDBACK_VERDICTS


def _timeline(session: Session, student_id: int, viewer: Viewer, parts: StudentWorkflow) -> list[TimelineEntry]:
    student = require_in_scope(session, viewer, student_id)
    entries = [TimelineEntry(p.as_of, "risk", f"Scored {p.words} ({p.tier}).", p.probability)
               for p in risk_history(session, student).points]
    for i in parts.interventions:
        entries.append(TimelineEntry(i.start_date, "intervention", f"{i.type.capitalize()} started ({i.status}), "
                                                                   f"owner {i.owner}."))
        if i.next_review is not None:
            entries.append(TimelineEntry(i.next_review, "review", f"Review of the {i.type} due."))
    entries += [TimelineEntry(n.occurred_on, "note", f"{n.kind.capitalize()} by {n.author}: {n.body}"
                              + (f" Outcome: {n.outcome}" if n.outcome else "")) for n in parts.notes]
    entries += [TimelineEntry(f.created_at.date(), "feedback", f"{f.author} marked the {f.tier} flag "
                                                               f"\"{f.verdict}\": {f.comment}") for f in parts.feedback]
    return sorted(entries, key=lambda e: (e.on, e.kind), reverse=True)


def student_workflow(*, session: Session, viewer: Viewer, student_id: int) -> StudentWorkflow:
    """The panel's data for one student (``NotFound`` outside the viewer's scope, as for a missing id).

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : who asks.
    student_id : the student's database id (untrusted).
    """
    student = require_in_scope(session, viewer, student_id)
    risk = student_risk(session, student, explain=False)
    tier = risk.row.tier if risk.row is not None and risk.row.tier != LOW else None
    parts = StudentWorkflow(
        student_id=student.student_id,
        interventions=list_interventions(session=session, viewer=viewer, student_id=student.student_id),
        notes=list_notes(session=session, viewer=viewer, student_id=student.student_id),
        feedback=feedback_for(session, student), starred=is_starred(session, viewer, student.student_id),
        flagged_tier=tier, owners=owner_choices(session=session, viewer=viewer, student_id=student.student_id),
        types=intervention_types(session),
    )
    return StudentWorkflow(**{**parts.__dict__, "timeline": _timeline(session, student.student_id, viewer, parts)})
