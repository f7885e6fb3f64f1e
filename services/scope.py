"""Who is asking (Viewer) and what they filter on (Filters); the scope is applied in SQL here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, true

ADMIN, STAFF, TEACHER = "admin", "staff", "teacher"


@dataclass(frozen=True)
class Viewer:
    """The logged-in person, built on the server from the database, never from the browser."""

    user_id: int
    email: str
    role: str
    class_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == ADMIN

    @property
    def sees_everything(self) -> bool:
        """Admins and staff see the whole school; teachers only their classes."""
        return self.role in (ADMIN, STAFF)

    def scope_key(self) -> str:
        """What the viewer may see, as text for cache keys: the role, and a teacher's sorted class ids."""
        if self.sees_everything:
            return self.role
        return f"{self.role}:{','.join(str(c) for c in sorted(self.class_ids))}"

    def class_clause(self, class_id_column: ColumnElement) -> ColumnElement[bool]:
        """SQL condition restricting ``class_id_column`` to this viewer's classes."""
        if self.sees_everything:
            return true()
        if not self.class_ids:
            return false()
        return class_id_column.in_(sorted(self.class_ids))


@dataclass(frozen=True)
class Filters:
    """The filter bar: every field optional; parsed and validated from the URL query string."""

    school_id: int | None = None
    grade_level: int | None = None
    class_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    study_band: str | None = None
    min_attendance: float | None = None  # fraction 0-1: keep students whose mean attendance >= this
