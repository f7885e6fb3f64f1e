"""The audit log: who did what, when (logins, logouts, profile views, exports, uploads, user changes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditLog

LOGIN_SUCCESS = "login.success"
LOGIN_FAILURE = "login.failure"
LOGIN_THROTTLED = "login.throttled"
LOGOUT = "logout"
STUDENT_VIEW = "student.view"
STUDENT_LIST = "student.list"
STUDENT_DENIED = "student.denied"  # a look-up of a student outside the scope (or unknown): answered 404
EXPORT = "export"
UPLOAD = "upload"
USER_ADD = "user.add"
USER_DEACTIVATE = "user.deactivate"
MAPPING_SAVE = "mapping.save"
MODEL_ACTIVATE = "model.activate"
MODEL_RETRAIN = "model.retrain"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log, as plain data."""

    at: datetime
    action: str
    user_id: int | None
    actor: str | None
    target: str | None
    details: dict[str, Any]
    address: str | None


def record(
    session: Session,
    *,
    action: str,
    user_id: int | None = None,
    actor: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    address: str | None = None,
) -> None:
    """Add one audit entry to the caller's transaction (committed with it, never on its own).

    Parameters
    ----------
    session : the caller's session; the caller commits.
    action : what happened, e.g. ``login.success`` (constants in this module).
    user_id : the user who did it, when known.
    actor : the email as given (kept for failed logins of unknown accounts, and the CLI).
    target : what it was done to (a student id, a user's email, a file name).
    details : small JSON-serialisable extras.
    address : the client's address, for web requests.
    """
    session.add(
        AuditLog(
            action=action,
            user_id=user_id,
            actor=actor,
            target=target,
            details=dict(details or {}),
            address=address,
        )
    )


def recent(session: Session, *, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The latest audit entries, newest first, optionally of one action."""
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditLog.action == action)
    return [
        AuditEntry(r.at, r.action, r.user_id, r.actor, r.target, dict(r.details or {}), r.address)
        for r in session.scalars(query)
    ]
