"""People who log in: accounts, argon2 passwords, teachers' classes, login throttling.

Throttling: an account is locked after ``ACCOUNT_FAILURE_LIMIT`` failures in ``THROTTLE_WINDOW`` from any
addresses (strict: this is what stops password guessing). An address is locked after
``ADDRESS_FAILURE_LIMIT`` failures on any accounts in the window, which is high because a whole school can sit
behind one NAT address; and even then an account that logged in successfully from that same address within
``KNOWN_ADDRESS_WINDOW`` is not locked out by it (one machine spraying logins does not lock every teacher out),
while its own per-account limit still holds.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from core.errors import DomainError, InvalidInput, NotFound
from db.models import ROLES, LoginAttempt, School, SchoolClass, User, UserClass, UserSchool
from services import audit
from services.scope import ADMIN, SCHOOL_ROLES, TEACHER, Viewer

MIN_PASSWORD_LENGTH = 10
ACCOUNT_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 100
THROTTLE_WINDOW = dt.timedelta(minutes=15)
KNOWN_ADDRESS_WINDOW = dt.timedelta(days=30)
BAD_CREDENTIALS = "The email or password is not correct."
THROTTLED = "Too many failed logins: wait 15 minutes and try again."

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# Argon2id at OWASP's first listed minimum (Password Storage Cheat Sheet, "Argon2id": m=19 MiB, t=2, p=1;
# https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id). argon2-cffi's
# defaults (RFC 9106's second recommendation: 64 MiB, t=3, 4 lanes) cost about 7x the CPU per login, which
# saturated 2 cores when a school logged in at once. Hashes made with other parameters still verify and are
# rehashed with these on the next successful login (``_check_credentials``).
PASSWORD_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
_hasher = PasswordHasher(**PASSWORD_PARAMETERS)


class TooManyAttempts(DomainError):
    """Too many failed logins for this account or address in the throttle window."""


@dataclass(frozen=True)
class UserInfo:
    """A user as plain data (never the password hash)."""

    id: int
    email: str
    role: str
    full_name: str | None
    is_active: bool
    classes: tuple[str, ...] = ()
    last_login_at: dt.datetime | None = None
    schools: tuple[str, ...] = ()
    school_ids: tuple[int, ...] = ()
    class_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt came to; the caller commits so failures are kept."""

    status: str  # ok | failed | throttled
    viewer: Viewer | None = None
    message: str = ""
    epoch: int = 0

    @property
    def ok(self) -> bool:
        """True when the person is now logged in."""
        return self.status == "ok"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    """The email trimmed and lower-cased, or InvalidInput when it is not an email address."""
    cleaned = (email or "").strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 254:
        raise InvalidInput(f"{email!r} is not an email address.")
    return cleaned


def check_password_strength(password: str) -> None:
    """Raise InvalidInput when ``password`` is too short to be used."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")


def _find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.email) == email.lower())).first()


def resolve_classes(session: Session, specs: Iterable[str]) -> list[int]:
    """Class ids for names (``9A``) or numeric ids; an unknown or ambiguous name is InvalidInput."""
    ids: list[int] = []
    for spec in (s.strip() for s in specs if s and s.strip()):
        if spec.isdigit():
            found = session.scalars(select(SchoolClass.id).where(SchoolClass.id == int(spec))).all()
        else:
            found = session.scalars(select(SchoolClass.id).where(SchoolClass.name == spec).order_by(SchoolClass.id)).all()
        if not found:
            raise InvalidInput(f"There is no class {spec!r}.")
        if len(found) > 1:
            raise InvalidInput(f"The class name {spec!r} matches {len(found)} classes (ids {', '.join(map(str, found))}): give the id instead.")
        ids.append(found[0])
    return sorted(set(ids))


def resolve_schools(session: Session, specs: Iterable[str]) -> list[int]:
    """School ids for names (``North School``) or numeric ids; an unknown school is InvalidInput."""
    ids: list[int] = []
    for spec in (str(s).strip() for s in specs if s is not None and str(s).strip()):
        column = School.id if spec.isdigit() else School.name
        found = session.scalar(select(School.id).where(column == (int(spec) if spec.isdigit() else spec)))
        if found is None:
            raise InvalidInput(f"There is no school {spec[:80]!r}.")
        ids.append(found)
    return sorted(set(ids))


def _classes_of(session: Session, user_id: int) -> list[tuple[int, str]]:
    query = (
        select(SchoolClass.id, SchoolClass.name)
        .join(UserClass, UserClass.class_id == SchoolClass.id)
        .where(UserClass.user_id == user_id)
        .order_by(SchoolClass.name, SchoolClass.id)
    )
    return [(r.id, r.name) for r in session.execute(query)]


def _schools_of(session: Session, user_id: int) -> list[tuple[int, str]]:
    query = (
        select(School.id, School.name)
        .join(UserSchool, UserSchool.school_id == School.id)
        .where(UserSchool.user_id == user_id)
        .order_by(School.name)
    )
    return [(r.id, r.name) for r in session.execute(query)]


def user_school_ids(session: Session, user_id: int) -> frozenset[int]:
    """The schools a user belongs to: their ``user_schools`` and the schools of their classes."""
    direct = session.scalars(select(UserSchool.school_id).where(UserSchool.user_id == user_id))
    via_classes = session.scalars(
        select(SchoolClass.school_id).join(UserClass, UserClass.class_id == SchoolClass.id).where(UserClass.user_id == user_id)
    )
    return frozenset(direct) | frozenset(via_classes)


def user_info(session: Session, user: User) -> UserInfo:
    """A user as plain data: role, status, schools and classes (never the password hash)."""
    classes, schools = _classes_of(session, user.id), _schools_of(session, user.id)
    return UserInfo(
        user.id, user.email, user.role, user.full_name, user.is_active, tuple(c[1] for c in classes), user.last_login_at,
        tuple(s[1] for s in schools), tuple(s[0] for s in schools), tuple(c[0] for c in classes),
    )


def users_info(session: Session, people: list[User]) -> list[tuple[UserInfo, frozenset[int]]]:
    """Many users as plain data in three queries, each with every school they belong to (direct or via classes)."""
    ids = [u.id for u in people]
    classes: dict[int, list[tuple[int, str, int]]] = {i: [] for i in ids}
    schools: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    for r in session.execute(select(UserClass.user_id, SchoolClass.id, SchoolClass.name, SchoolClass.school_id)
                             .join(SchoolClass, SchoolClass.id == UserClass.class_id)
                             .where(UserClass.user_id.in_(ids)).order_by(SchoolClass.name, SchoolClass.id)):
        classes[r[0]].append((r[1], r[2], r[3]))
    for r in session.execute(select(UserSchool.user_id, School.id, School.name).join(School, School.id == UserSchool.school_id)
                             .where(UserSchool.user_id.in_(ids)).order_by(School.name)):
        schools[r[0]].append((r[1], r[2]))
    out = []
    for u in people:
        c, sc = classes[u.id], schools[u.id]
        info = UserInfo(u.id, u.email, u.role, u.full_name, u.is_active, tuple(x[1] for x in c), u.last_login_at,
                        tuple(x[1] for x in sc), tuple(x[0] for x in sc), tuple(x[0] for x in c))
        out.append((info, frozenset(x[0] for x in sc) | frozenset(x[2] for x in c)))
    return out


def _check_assignment(session: Session, role: str, class_ids: list[int], school_ids: list[int]) -> list[int]:
    """The schools to store for a user of ``role``; InvalidInput when classes or schools do not fit the role."""
    if class_ids and role != TEACHER:
        raise InvalidInput("Only teachers are assigned classes; other roles see whole schools.")
    if role == ADMIN:
        if school_ids:
            raise InvalidInput("A district administrator sees every school: give no school (or choose school administrator).")
        return []
    if role != TEACHER:
        return school_ids
    class_schools = set(session.scalars(select(SchoolClass.school_id).where(SchoolClass.id.in_(class_ids)))) if class_ids else set()
    if school_ids and not class_schools <= set(school_ids):
        raise InvalidInput("A teacher's classes must belong to the teacher's schools.")
    return sorted(set(school_ids) | class_schools)


def _store_assignment(session: Session, user_id: int, class_ids: list[int], school_ids: list[int]) -> None:
    session.execute(delete(UserClass).where(UserClass.user_id == user_id))
    session.execute(delete(UserSchool).where(UserSchool.user_id == user_id))
    session.add_all(UserClass(user_id=user_id, class_id=c) for c in class_ids)
    session.add_all(UserSchool(user_id=user_id, school_id=s) for s in school_ids)
    session.flush()


def add_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    classes: Iterable[str] = (),
    full_name: str | None = None,
    actor: str | None = None,
    address: str | None = None,
    schools: Iterable[str] = (),
) -> UserInfo:
    """Create a user with an argon2 hash; teachers get their classes; audited as ``user.add``.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    email : the login, unique regardless of case.
    password : at least ``MIN_PASSWORD_LENGTH`` characters; only its hash is stored.
    role : admin (district), school_admin, staff or teacher.
    classes : class names or ids (teachers only).
    full_name : optional display name.
    actor, address : who made the change, for the audit log.
    schools : school names or ids (school administrators and staff see only these; a teacher's default to their
        classes' schools; none for a district administrator).
    """
    email = normalise_email(email)
    check_role(role)
    check_password_strength(password)
    class_ids = resolve_classes(session, classes)
    school_ids = _check_assignment(session, role, class_ids, resolve_schools(session, schools))
    if _find_user(session, email) is not None:
        raise InvalidInput(f"A user {email} already exists.")
    user = User(email=email, password_hash=hash_password(password), role=role, full_name=full_name, is_active=True)
    session.add(user)
    session.flush()
    _store_assignment(session, user.id, class_ids, school_ids)
    details = {"role": role, "class_ids": class_ids, "school_ids": school_ids}
    audit.record(session, action=audit.USER_ADD, actor=actor, target=email, details=details, address=address)
    return user_info(session, user)


def check_role(role: str) -> None:
    """InvalidInput unless ``role`` is one of :data:`db.models.ROLES`."""
    if role not in ROLES:
        raise InvalidInput(f"The role must be one of {', '.join(ROLES)}, not {str(role)[:40]!r}.")


def set_classes(session: Session, *, email: str, classes: Iterable[str], actor: str | None = None) -> UserInfo:
    """Replace a teacher's class assignments; audited as ``user.classes``."""
    user = _find_user(session, normalise_email(email))
    if user is None:
        raise NotFound(f"There is no user {email}.")
    class_ids = resolve_classes(session, classes)
    kept = [s for s, _ in _schools_of(session, user.id)] if user.role != TEACHER else []
    school_ids = _check_assignment(session, user.role, class_ids, kept)
    _store_assignment(session, user.id, class_ids, school_ids)
    audit.record(session, action="user.classes", actor=actor, target=user.email, details={"class_ids": class_ids})
    return user_info(session, user)


def set_assignment(
    session: Session, *, user_id: int, role: str, schools: Iterable[str] = (), classes: Iterable[str] = (),
    actor: str | None = None, address: str | None = None,
) -> UserInfo:
    """Set a user's role, schools and classes at once; audited as ``user.change`` with the before and after.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    user_id : the user to change.
    role, schools, classes : as for :func:`add_user`.
    actor, address : who made the change, for the audit log.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    check_role(role)
    class_ids = resolve_classes(session, classes)
    school_ids = _check_assignment(session, role, class_ids, resolve_schools(session, schools))
    before = user_info(session, user)
    user.role = role
    _store_assignment(session, user.id, class_ids, school_ids)
    if before.role != role:
        end_sessions(session, user_id=user.id)
    details = {"before": {"role": before.role, "school_ids": list(before.school_ids), "class_ids": list(before.class_ids)},
               "after": {"role": role, "school_ids": school_ids, "class_ids": class_ids}}
    audit.record(session, action="user.change", actor=actor, target=user.email, details=details, address=address)
    return user_info(session, user)


def find_user(session: Session, email: str) -> User:
    """The user with this email (any case), or NotFound."""
    user = _find_user(session, normalise_email(email))
    if user is None:
        raise NotFound(f"There is no user {email}.")
    return user


def list_users(session: Session) -> list[UserInfo]:
    """Every user, by email."""
    return [user_info(session, u) for u in session.scalars(select(User).order_by(func.lower(User.email)))]


def deactivate_user(session: Session, *, email: str, actor: str | None = None, address: str | None = None) -> UserInfo:
    """Deactivate a user (they lose access on their next request); audited as ``user.deactivate``."""
    user = _find_user(session, normalise_email(email))
    if user is None:
        raise NotFound(f"There is no user {email}.")
    user.is_active = False
    session.flush()
    end_sessions(session, user_id=user.id)
    audit.record(session, action=audit.USER_DEACTIVATE, user_id=None, actor=actor, target=user.email, address=address)
    return user_info(session, user)


def end_sessions(session: Session, *, user_id: int) -> None:
    """Invalidate every login session of a user (their cookies stop working on the next request)."""
    session.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))


def logout(session: Session, *, user_id: int, actor: str | None, address: str | None) -> None:
    """Log a user out everywhere and record it in the audit log."""
    end_sessions(session, user_id=user_id)
    audit.record(session, action=audit.LOGOUT, user_id=user_id, actor=actor, address=address)


def load_viewer(session: Session, user_id: int, *, epoch: int | None = None) -> Viewer | None:
    """The viewer for an active user id, with a teacher's class ids.

    None when the user is missing or inactive, or when ``epoch`` is given and the user's sessions
    were ended since (logout, deactivation).
    """
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if epoch is not None and user.session_epoch != epoch:
        return None
    class_ids: frozenset[int] = frozenset()
    school_ids: frozenset[int] = frozenset()
    if user.role == TEACHER:
        class_ids = frozenset(session.scalars(select(UserClass.class_id).where(UserClass.user_id == user.id)))
    if user.role in SCHOOL_ROLES:
        school_ids = frozenset(session.scalars(select(UserSchool.school_id).where(UserSchool.user_id == user.id)))
    return Viewer(user_id=user.id, email=user.email, role=user.role, class_ids=class_ids, school_ids=school_ids)


def _failures_since_last_success(session: Session, email: str) -> int:
    since = func.now() - THROTTLE_WINDOW
    last_ok = (
        select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email, LoginAttempt.success).scalar_subquery()
    )
    query = select(func.count()).where(
        LoginAttempt.email == email,
        LoginAttempt.success.is_(False),
        LoginAttempt.at > func.greatest(since, func.coalesce(last_ok, since)),
    )
    return int(session.scalar(query) or 0)


def _failures_from(session: Session, address: str) -> int:
    query = select(func.count()).where(
        LoginAttempt.address == address,
        LoginAttempt.success.is_(False),
        LoginAttempt.at > func.now() - THROTTLE_WINDOW,
    )
    return int(session.scalar(query) or 0)


def _known_address(session: Session, email: str, address: str) -> bool:
    query = select(LoginAttempt.id).where(
        LoginAttempt.email == email,
        LoginAttempt.address == address,
        LoginAttempt.success,
        LoginAttempt.at > func.now() - KNOWN_ADDRESS_WINDOW,
    )
    return session.scalar(query.limit(1)) is not None


def is_throttled(session: Session, *, email: str, address: str) -> bool:
    """True when the account has too many recent failed logins, or the address has and the account is new to it."""
    if _failures_since_last_success(session, email) >= ACCOUNT_FAILURE_LIMIT:
        return True
    return _failures_from(session, address) >= ADDRESS_FAILURE_LIMIT and not _known_address(session, email, address)


def _check_credentials(session: Session, email: str, password: str) -> User | None:
    user = _find_user(session, email)
    if user is None:
        verify_password(_dummy_hash(), password)  # same cost whether or not the account exists
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def authenticate(session: Session, *, email: str, password: str, address: str) -> LoginOutcome:
    """Check a login, throttled per account and per address; records the attempt and an audit entry.

    Parameters
    ----------
    session : the caller's session; the caller must commit whatever the outcome (failures count).
    email, password : as typed in the form.
    address : the client's address.
    """
    key = (email or "").strip().lower()[:254]
    session.execute(text("SELECT pg_advisory_xact_lock(7261002, hashtext(:k))"), {"k": key})
    if is_throttled(session, email=key, address=address):
        audit.record(session, action=audit.LOGIN_THROTTLED, actor=key, address=address)
        return LoginOutcome("throttled", message=THROTTLED)
    user = _check_credentials(session, key, password or "")
    session.add(LoginAttempt(email=key, address=address, success=user is not None))
    if user is None:
        audit.record(session, action=audit.LOGIN_FAILURE, actor=key, address=address)
        return LoginOutcome("failed", message=BAD_CREDENTIALS)
    user.last_login_at = func.now()
    session.flush()
    audit.record(session, action=audit.LOGIN_SUCCESS, user_id=user.id, actor=user.email, address=address)
    return LoginOutcome("ok", viewer=load_viewer(session, user.id), epoch=user.session_epoch)
