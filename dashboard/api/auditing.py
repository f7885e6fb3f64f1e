"""Audit of the API's student-level reads: lists (who, what, how many rows, which filters), details, denied look-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from core.errors import NotFound
from dashboard.deps import get_database
from dashboard.security import client_address
from services import audit
from services.scope import Viewer

T = TypeVar("T")


def _surface() -> dict[str, Any]:
    from flask import g

    return {"page": "api", "via": "token" if g.get("by_token") else "session"}


def record_list(session: Session, viewer: Viewer, *, what: str, rows: int, filters: dict[str, Any]) -> None:
    """A list read: its kind, the number of rows returned and the filters, in the caller's transaction."""
    audit.record(session, action=audit.STUDENT_LIST, user_id=viewer.user_id, actor=viewer.email, target=what,
                 details={**_surface(), "what": what, "rows": rows, "filters": filters}, address=client_address())


def record_view(session: Session, viewer: Viewer, student_id: int, *, what: str) -> None:
    """One student's record read, in the caller's transaction."""
    audit.record(session, action=audit.STUDENT_VIEW, user_id=viewer.user_id, actor=viewer.email,
                 target=str(student_id), details={**_surface(), "what": what}, address=client_address())


def record_denied(viewer: Viewer, student_id: int, *, what: str) -> None:
    """A look-up answered 404 (unknown or outside the scope), in its own transaction (the request's is rolled back)."""
    with get_database().begin() as session:
        audit.record(session, action=audit.STUDENT_DENIED, user_id=viewer.user_id, actor=viewer.email,
                     target=str(student_id), details={**_surface(), "what": what}, address=client_address())


def denied_audited(viewer: Viewer, student_id: int, what: str, read: Callable[[], T]) -> T:
    """``read()``, auditing a ``NotFound`` it raises as a denied look-up before passing it on."""
    try:
        return read()
    except NotFound:
        record_denied(viewer, student_id, what=what)
        raise
