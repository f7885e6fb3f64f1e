"""Personal API tokens: made for a user, shown once, kept as a SHA-256 hash, acting with the user's role and scope.

A token is ``sp_`` followed by 43 URL-safe characters (256 random bits); only its SHA-256 and its first
characters (to tell tokens apart in a list) are stored. It works while it is neither revoked nor expired
and its user is active: deactivating the user or revoking the token ends it on the next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from db.models import ApiToken, User
from services import audit
from services.scope import Viewer
from services.users import load_viewer, normalise_email

TOKEN_PREFIX = "sp_"
SHOWN_PREFIX_LENGTH = 10
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 3650
MAX_NAME_LENGTH = 100
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # last_used_at is written at most once a minute per token
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"

_SHAPE = re.compile(r"^sp_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class TokenInfo:
    """A token as plain data (never its secret nor its hash)."""

    id: int
    email: str
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def status(self, now: dt.datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is shown once and never stored."""

    info: TokenInfo
    secret: str


def hash_token(secret: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(token: ApiToken, email: str) -> TokenInfo:
    return TokenInfo(token.id, email, token.name, token.prefix, token.created_at, token.expires_at, token.last_used_at,
                     token.revoked_at)


def _check_expiry(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days, not {days}.")
    return days


def create_token(
    session: Session,
    *,
    email: str,
    name: str = "api",
    expires_days: int | None = DEFAULT_EXPIRY_DAYS,
    actor: str | None = None,
    address: str | None = None,
) -> NewToken:
    """Make a token for the active user ``email``; audited as ``token.create``.

    Parameters
    ----------
    session : the caller's session; the caller commits.
    email : the user the token acts as (with their role and classes, read on every request).
    name : a label to recognise the token by (e.g. the script that uses it).
    expires_days : lifetime in days (1 to ``MAX_EXPIRY_DAYS``), or None for a token that never expires.
    actor, address : who made it, for the audit log.
    """
    label = (name or "").strip()
    if not label or len(label) > MAX_NAME_LENGTH or "\x00" in label:
        raise InvalidInput(f"The token name must be 1 to {MAX_NAME_LENGTH} characters.")
    days = _check_expiry(expires_days)
    user = session.scalars(select(User).where(func.lower(User.email) == normalise_email(email))).first()
    if user is None:
        raise NotFound(f"There is no user {email}.")
    if not user.is_active:
        raise InvalidInput(f"{user.email} is deactivated: a token for them would not work.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = None if days is None else func.now() + dt.timedelta(days=days)
    token = ApiToken(user_id=user.id, name=label, token_hash=hash_token(secret), prefix=secret[:SHOWN_PREFIX_LENGTH],
                     expires_at=expires_at)
    session.add(token)
    session.flush()
    session.refresh(token)
    audit.record(session, action=TOKEN_CREATE, actor=actor, target=user.email, address=address,
                 details={"token_id": token.id, "name": label, "expires_days": days})
    return NewToken(_info(token, user.email), secret)


def list_tokens(session: Session, *, email: str | None = None) -> list[TokenInfo]:
    """Every token (or those of ``email``), newest first."""
    query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if email is not None:
        query = query.where(func.lower(User.email) == normalise_email(email))
    return [_info(token, owner) for token, owner in session.execute(query)]


def revoke_token(session: Session, *, token_id: int, actor: str | None = None, address: str | None = None) -> TokenInfo:
    """Revoke a token (it stops working on the next request); audited as ``token.revoke``. Revoking twice is harmless."""
    row = session.execute(select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).where(ApiToken.id == token_id)).first()
    if row is None:
        raise NotFound(f"There is no token {token_id}.")
    token, owner = row
    if token.revoked_at is None:
        token.revoked_at = func.now()
        session.flush()
        session.refresh(token)
        audit.record(session, action=TOKEN_REVOKE, actor=actor, target=owner, address=address, details={"token_id": token.id})
    return _info(token, owner)


def viewer_for_token(session: Session, secret: str) -> Viewer | None:
    """The viewer a presented token acts as, or None when it is malformed, unknown, revoked, expired or its user inactive.

    Marks the token used (at most once a minute, so a busy script does not write on every request).
    """
    if not _SHAPE.match(secret or ""):
        return None
    query = select(ApiToken).where(
        ApiToken.token_hash == hash_token(secret),
        ApiToken.revoked_at.is_(None),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > func.now()),
    )
    token = session.scalars(query).first()
    if token is None:
        return None
    viewer = load_viewer(session, token.user_id)
    if viewer is not None:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token.id)
            .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < func.now() - LAST_USED_RESOLUTION))
            .values(last_used_at=func.now())
        )
    return viewer
