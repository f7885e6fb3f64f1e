"""The weekly e-mail digest: each user's unread alerts (their own scope only), sent through ``SMTP_URL``.

Off until ``SMTP_URL`` is set; a user can opt out (:func:`set_digest`). A user gets at most one digest a week
(``user_preferences.last_digest_at``) and none when they have no unread alert. ``studentperf digest`` runs it;
the compose file's ``digest`` service calls that once a day.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import InvalidInput, Unavailable
from core.settings import Settings
from db.models import User, UserPreference
from services import audit, mail
from services.alerts import Alert, alerts_for
from services.scope import Viewer
from services.users import load_viewer

SENT = "digest.sent"
PREFERENCE = "digest.preference"
WEEK = dt.timedelta(days=6, hours=12)  # a little under a week, so a daily schedule sends on the same weekday
SMTP_OFF = "The weekly digest is off: set SMTP_URL (e.g. smtp://mail.school.example:25) to send it."


@dataclass(frozen=True)
class Digest:
    """One user's digest: the recipient, the subject, the text and the students it names."""

    to: str
    subject: str
    body: str
    student_ids: frozenset[int]


@dataclass
class DigestRun:
    """What one run did: who got a digest, who was skipped and why."""

    sent: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the CLI."""
        return f"sent {len(self.sent)} digest(s), skipped {len(self.skipped)}"


def compose(viewer: Viewer, alerts: list[Alert], public_url: str | None = None) -> Digest:
    """The digest of these alerts for this viewer (plain text; one line per alert, with its link)."""
    base = public_url or ""
    lines = [f"- {a.text} {base}{a.href}" for a in alerts]
    count = f"{len(alerts)} new alert{'s' if len(alerts) != 1 else ''}"
    body = "\n".join([
        "Hello,", "", f"This week's follow-up for the students you may see: {count}.", "", *lines, "",
        "Open the alerts page to mark them read. To stop this weekly e-mail, ask an administrator or use the",
        "API: PUT /api/v1/me/preferences with {\"digest\": false}.",
    ])
    return Digest(viewer.email, f"Student follow-up: {count}", body, frozenset(a.student_id for a in alerts))


def set_digest(*, session: Session, viewer: Viewer, enabled: bool, address: str | None = None) -> bool:
    """Turn the viewer's weekly digest on or off (one audit entry when it changes); returns the new state."""
    if not isinstance(enabled, bool):
        raise InvalidInput("digest must be true or false.")
    if digest_enabled(session, viewer.user_id) == enabled:
        return enabled
    stmt = insert(UserPreference).values(user_id=viewer.user_id, digest=enabled)
    session.execute(stmt.on_conflict_do_update(index_elements=[UserPreference.user_id], set_={"digest": enabled}))
    audit.record(session, action=PREFERENCE, user_id=viewer.user_id, actor=viewer.email, target=viewer.email,
                 details={"digest": enabled}, address=address)
    return enabled


def digest_enabled(session: Session, user_id: int) -> bool:
    """Whether the user gets the weekly digest (on unless they opted out)."""
    pref = session.get(UserPreference, user_id)
    return True if pref is None else bool(pref.digest)


def _due(session: Session, user_id: int, now: dt.datetime) -> bool:
    pref = session.get(UserPreference, user_id)
    return pref is None or pref.last_digest_at is None or now - pref.last_digest_at >= WEEK


def _mark_sent(session: Session, user_id: int, now: dt.datetime) -> None:
    stmt = insert(UserPreference).values(user_id=user_id, last_digest_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=[UserPreference.user_id], set_={"last_digest_at": now}))


def _message(digest: Digest, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, digest.to, digest.subject
    message.set_content(digest.body)
    return message


def send_digests(session: Session, settings: Settings, *, now: dt.datetime | None = None,
                 force: bool = False) -> DigestRun:
    """Send each active user their weekly digest of unread alerts (skipping opt-outs, the recently sent and the empty).

    Parameters
    ----------
    session : the caller's session; the caller commits (``last_digest_at`` and one audit entry per digest sent).
    settings : ``smtp_url`` (required: ``Unavailable`` without it), ``mail_from``, ``public_url``.
    now : the time of the run (default now).
    force : send even when the last digest is less than a week old.
    """
    if not settings.smtp_url:
        raise Unavailable(SMTP_OFF)
    now = now or dt.datetime.now(dt.UTC)
    run = DigestRun()
    users = session.execute(select(User.id, User.email).where(User.is_active).order_by(User.id)).tuples().all()
    try:
        client = mail.connect(settings.smtp_url)
    except (OSError, smtplib.SMTPException) as exc:
        raise Unavailable(f"The digest could not be sent: the mail server did not answer ({type(exc).__name__}).") from None
    with client:
        for user_id, email in users:
            reason = _skip_reason(session, user_id, now, force)
            viewer = load_viewer(session, user_id) if reason is None else None
            alerts = alerts_for(session=session, viewer=viewer, unread_only=True) if viewer is not None else []
            if reason is None and not alerts:
                reason = "no unread alerts"
            if reason is not None or viewer is None:
                run.skipped[email] = reason or "inactive"
                continue
            digest = compose(viewer, alerts, settings.public_url)
            client.send_message(_message(digest, settings.mail_from))
            _mark_sent(session, user_id, now)
            audit.record(session, action=SENT, user_id=user_id, actor="digest", target=email,
                         details={"alerts": len(alerts), "students": sorted(digest.student_ids)[:100]})
            run.sent.append(email)
    return run


def _skip_reason(session: Session, user_id: int, now: dt.datetime, force: bool) -> str | None:
    if not digest_enabled(session, user_id):
        return "opted out"
    if not force and not _due(session, user_id, now):
        return "sent less than a week ago"
    return None
