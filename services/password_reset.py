"""One-time password links: made by an administrator, kept as a SHA-256 hash, spent on use or after expiry.

The link ``/reset/<token>`` carries 256 random bits; only their SHA-256 is stored. Issuing a new link
spends the user's earlier unused ones. Setting the password through a link spends it, ends the user's
sessions and clears their failed logins; an unknown, spent or expired token gets one sentence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from db.models import LoginAttempt, PasswordReset, User
from services import audit, users

LINK_LIFETIME = dt.timedelta(days=3)
PASSWORD_RESET = "user.password_reset"
NOT_VALID = "This link is not valid any more: ask an administrator for a new one."
MISMATCH = "The two passwords differ: type the same password twice."

_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a link's token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue(session: Session, *, user_id: int, created_by: str | None) -> tuple[str, dt.datetime]:
    """A new link's token (shown once) and expiry; the user's earlier unused links are spent."""
    session.execute(
        update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None)).values(used_at=func.now())
    )
    token = secrets.token_urlsafe(32)
    row = PasswordReset(user_id=user_id, token_hash=hash_token(token), created_by=created_by,
                        expires_at=func.now() + LINK_LIFETIME)
    session.add(row)
    session.flush()
    session.refresh(row)
    return token, row.expires_at


def _valid(session: Session, token: str) -> PasswordReset | None:
    if not _SHAPE.match(token or ""):
        return None
    query = select(PasswordReset).where(
        PasswordReset.token_hash == hash_token(token), PasswordReset.used_at.is_(None), PasswordReset.expires_at > func.now()
    )
    return session.scalars(query.with_for_update()).first()


def link_is_valid(session: Session, token: str) -> bool:
    """True when the token is a link that is neither spent nor expired (the form is shown)."""
    return _valid(session, token) is not None


def use_link(session: Session, *, token: str, password: str, confirm: str, address: str | None = None) -> str:
    """Set the user's password through the link and spend it; the user's email. InvalidInput in one sentence otherwise.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    token : from the link's address (untrusted).
    password, confirm : the new password, typed twice.
    address : the client's address, for the audit log.
    """
    reset = _valid(session, token)
    if reset is None:
        raise InvalidInput(NOT_VALID)
    if password != confirm:
        raise InvalidInput(MISMATCH)
    users.check_password_strength(password)
    user = session.get(User, reset.user_id)
    if user is None or not user.is_active:
        raise InvalidInput(NOT_VALID)
    user.password_hash = users.hash_password(password)
    reset.used_at = func.now()
    users.end_sessions(session, user_id=user.id)
    session.execute(delete(LoginAttempt).where(func.lower(LoginAttempt.email) == user.email.lower(),
                                               LoginAttempt.success.is_(False)))
    session.flush()
    audit.record(session, action=PASSWORD_RESET, user_id=user.id, actor=user.email, target=user.email, address=address)
    return user.email
