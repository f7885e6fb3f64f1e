"""Who is asking (Viewer) and what they filter on (Filters); the scope is applied in SQL here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, select, true

from db.models import SchoolClass

ADMIN, SCHOOL_ADMIN, STAFF, TEACHER = "admin", "school_admin", "staff", "teacher"
SCHOOL_ROLES = (SCHOOL_ADMIN, STAFF)
"""Roles that see whole schools, but only their own (``user_schools``); ``admin`` is the district administrator."""
ADMIN_ROLES = (ADMIN, SCHOOL_ADMIN)
"""Roles that may open the admin pages (a school administrator only for its schools)."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in person, built on the server from the database, never from the browser."""

    user_id: int
    email: str
    role: str
    class_ids: frozenset[int] = field(default_factory=frozenset)
    school_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        """True for the district administrator (every school)."""
        return self.role == ADMIN

    @property
    def administers(self) -> bool:
        """True for district and school administrators (the admin pages; a school admin only for its schools)."""
        return self.role in ADMIN_ROLES

    @property
    def sees_everything(self) -> bool:
        """Only the district administrator sees every school; school roles see theirs, teachers their classes."""
        return self.role == ADMIN

    def scope_key(self) -> str:
        """What the viewer may see, as text for cache keys: the role, its sorted school ids (school roles) and
        class ids (teachers), so two viewers share a cached answer only when :meth:`class_clause` is the same."""
        if self.sees_everything:
            return self.role
        schools = ",".join(str(s) for s in sorted(self.school_ids)) if self.role in SCHOOL_ROLES else ""
        classes = ",".join(str(c) for c in sorted(self.class_ids)) if self.role == TEACHER else ""
        return f"{self.role}:s{schools}:c{classes}"

    def class_clause(self, class_id_column: ColumnElement) -> ColumnElement[bool]:
        """SQL condition restricting ``class_id_column`` to this viewer's classes (a school role: its schools' classes).

        A school role without a school, or a teacher without a class, gets ``false``: nothing, never everything.
        """
        if self.sees_everything:
            return true()
        if self.role in SCHOOL_ROLES:
            if not self.school_ids:
                return false()
            in_schools = select(SchoolClass.id).where(SchoolClass.school_id.in_(sorted(self.school_ids))).correlate(None)
            return class_id_column.in_(in_schools)
        if self.role != TEACHER or not self.class_ids:
            return false()
        return class_id_column.in_(sorted(self.class_ids))

    def school_clause(self, school_id_column: ColumnElement) -> ColumnElement[bool]:
        """SQL condition restricting ``school_id_column`` to the schools this viewer may administer or see whole."""
        if self.sees_everything:
            return true()
        if self.role in SCHOOL_ROLES and self.school_ids:
            return school_id_column.in_(sorted(self.school_ids))
        return false()


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
