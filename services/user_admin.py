"""The users page's questions: who an administrator may manage, and every change they make, audited.

A district administrator manages everyone. A school administrator manages only users of its own schools
(every school of the user is one of theirs; district administrators never), gives only its schools and
their classes, and never makes a district administrator. A user out of reach answers like a user that
does not exist. Nobody sets another user's password: a new user and a forgotten password both get a
one-time link (:mod:`services.password_reset`), shown once to the administrator.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import Forbidden, InvalidInput, NotFound
from db.models import LoginAttempt, School, SchoolClass, User
from services import audit, password_reset, users
from services.scope import ADMIN, Viewer

NOT_AN_ADMIN = "Only administrators may manage users."
NO_SUCH_USER = "There is no such user."
MAX_NAME = 200
USER_REACTIVATE = "user.reactivate"
USER_UNLOCK = "user.unlock"
USER_RESET_LINK = "user.reset_link"


@dataclass(frozen=True)
class Choice:
    """One option of a picker: its value and label."""

    value: int
    label: str


@dataclass(frozen=True)
class IssuedLink:
    """A one-time password link just made: ``token`` is shown once and never stored."""

    user: users.UserInfo
    token: str
    expires_at: dt.datetime


def require_admin(viewer: Viewer) -> None:
    """Forbidden unless the viewer is a district or school administrator."""
    if not viewer.administers:
        raise Forbidden(NOT_AN_ADMIN)


def _reaches(viewer: Viewer, role: str, schools: frozenset[int]) -> bool:
    """The one rule: a district admin reaches everyone; a school admin users (not district admins) of its schools only."""
    if viewer.is_admin:
        return True
    return role != ADMIN and bool(schools) and schools <= viewer.school_ids


def _in_reach(session: Session, viewer: Viewer, user: User) -> bool:
    return _reaches(viewer, user.role, users.user_school_ids(session, user.id))


def _reachable(session: Session, viewer: Viewer, user_id: int) -> User:
    require_admin(viewer)
    user = session.get(User, int(user_id)) if 0 < int(user_id) < 2**31 else None
    if user is None or not _in_reach(session, viewer, user):
        raise NotFound(NO_SUCH_USER)
    return user


def managed_users(*, session: Session, viewer: Viewer) -> list[users.UserInfo]:
    """The users this administrator may manage, by email (never a password hash).

    Parameters
    ----------
    session : an open session; nothing is written.
    viewer : a district administrator (everyone) or a school administrator (users of its schools).
    """
    require_admin(viewer)
    everyone = list(session.scalars(select(User).order_by(func.lower(User.email))))
    return [info for info, schools in users.users_info(session, everyone) if _reaches(viewer, info.role, schools)]


def school_choices(*, session: Session, viewer: Viewer) -> list[Choice]:
    """The schools this administrator may give to users."""
    require_admin(viewer)
    rows = session.execute(select(School.id, School.name).where(viewer.school_clause(School.id)).order_by(School.name))
    return [Choice(r.id, r.name) for r in rows]


def class_choices(*, session: Session, viewer: Viewer) -> list[Choice]:
    """The classes this administrator may give to teachers, labelled with school and year."""
    require_admin(viewer)
    rows = session.execute(
        select(SchoolClass.id, SchoolClass.name, SchoolClass.school_year, School.name.label("school"))
        .join(School, School.id == SchoolClass.school_id)
        .where(viewer.school_clause(SchoolClass.school_id))
        .order_by(SchoolClass.school_year.desc(), School.name, SchoolClass.name)
    )
    return [Choice(r.id, f"{r.name} ({r.school}, {r.school_year})") for r in rows]


def _check_grant(session: Session, viewer: Viewer, role: str, school_ids: list[int], class_ids: list[int]) -> None:
    """Forbidden when a school administrator gives what is not theirs to give."""
    if viewer.is_admin:
        return
    if role == ADMIN:
        raise Forbidden("Only a district administrator may make a district administrator.")
    class_schools = set(session.scalars(select(SchoolClass.school_id).where(SchoolClass.id.in_(class_ids)))) if class_ids else set()
    given = set(school_ids) | class_schools
    if not given:
        raise InvalidInput("Choose at least one of your schools for this user.")
    if not given <= viewer.school_ids:
        raise Forbidden("You may only give your own schools and their classes.")


def _ids(values: Iterable[object]) -> list[int]:
    try:
        return sorted({int(str(v)) for v in values or ()})
    except ValueError:
        raise InvalidInput("Schools and classes are chosen from the lists.") from None


def create_user(
    *, session: Session, viewer: Viewer, email: str, full_name: str | None, role: str, schools: Iterable[object] = (),
    classes: Iterable[object] = (), address: str | None = None,
) -> IssuedLink:
    """Create a user with no usable password and a one-time link for them to set one; audited.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    viewer : the administrator; a school administrator only within its schools.
    email, full_name, role : the new user's login, name and role.
    schools, classes : ids of their schools and (teachers) classes.
    address : the client's address, for the audit log.
    """
    require_admin(viewer)
    users.check_role(role)
    school_ids, class_ids = _ids(schools), _ids(classes)
    _check_grant(session, viewer, role, school_ids, class_ids)
    name = (full_name or "").strip()[:MAX_NAME] or None
    info = users.add_user(session, email=email, password=secrets.token_urlsafe(32), role=role, classes=map(str, class_ids),
                          schools=map(str, school_ids), full_name=name, actor=viewer.email, address=address)
    return _issue(session, viewer, info.id, address, purpose="new user")


def change_user(
    *, session: Session, viewer: Viewer, user_id: int, role: str, schools: Iterable[object] = (),
    classes: Iterable[object] = (), address: str | None = None,
) -> users.UserInfo:
    """Set a user's role, schools and classes; audited with the before and after."""
    user = _reachable(session, viewer, user_id)
    school_ids, class_ids = _ids(schools), _ids(classes)
    _check_grant(session, viewer, role, school_ids, class_ids)
    if user.id == viewer.user_id and role != viewer.role:
        raise InvalidInput("You cannot change your own role: ask another administrator.")
    return users.set_assignment(session, user_id=user.id, role=role, schools=map(str, school_ids),
                                classes=map(str, class_ids), actor=viewer.email, address=address)


def set_active(*, session: Session, viewer: Viewer, user_id: int, active: bool, address: str | None = None) -> users.UserInfo:
    """Deactivate (their sessions end at once) or reactivate a user; audited."""
    user = _reachable(session, viewer, user_id)
    if user.id == viewer.user_id and not active:
        raise InvalidInput("You cannot deactivate yourself: ask another administrator.")
    if not active:
        return users.deactivate_user(session, email=user.email, actor=viewer.email, address=address)
    user.is_active = True
    session.flush()
    audit.record(session, action=USER_REACTIVATE, user_id=viewer.user_id, actor=viewer.email, target=user.email,
                 address=address)
    return users.user_info(session, user)


def unlock(*, session: Session, viewer: Viewer, user_id: int, address: str | None = None) -> int:
    """Clear a user's failed logins so the throttle lets them try again; the number cleared, audited."""
    user = _reachable(session, viewer, user_id)
    cleared = session.execute(
        delete(LoginAttempt).where(func.lower(LoginAttempt.email) == user.email.lower(), LoginAttempt.success.is_(False))
    ).rowcount
    audit.record(session, action=USER_UNLOCK, user_id=viewer.user_id, actor=viewer.email, target=user.email,
                 details={"failures_cleared": int(cleared or 0)}, address=address)
    return int(cleared or 0)


def reset_link(*, session: Session, viewer: Viewer, user_id: int, address: str | None = None) -> IssuedLink:
    """A one-time link for the user to set a new password (earlier unused links stop working); audited."""
    user = _reachable(session, viewer, user_id)
    return _issue(session, viewer, user.id, address, purpose="reset")


def _issue(session: Session, viewer: Viewer, user_id: int, address: str | None, *, purpose: str) -> IssuedLink:
    user = session.get(User, user_id)
    assert user is not None
    token, expires_at = password_reset.issue(session, user_id=user_id, created_by=viewer.email)
    audit.record(session, action=USER_RESET_LINK, user_id=viewer.user_id, actor=viewer.email, target=user.email,
                 details={"purpose": purpose}, address=address)
    return IssuedLink(users.user_info(session, user), token, expires_at)
