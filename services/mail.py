"""Sending e-mail when SMTP is configured (``SMTP_URL``, ``MAIL_FROM``): the one SMTP client of the product, used
by one-time password links and the weekly digest.

``smtp://user:password@host:587`` sends with STARTTLS (``smtp://host:25`` without credentials talks plain
SMTP, e.g. to a local relay); ``smtps://`` opens TLS at once. A failure is ``Unavailable`` with one
sentence; the caller then shows the link to the administrator instead.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from core.errors import Unavailable

TIMEOUT_S = 10
SUBJECT = "Set your password for Student performance"


def reset_message(*, sender: str, to: str, link: str, expires: str) -> EmailMessage:
    """The e-mail that carries a password link."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, SUBJECT
    message.set_content(
        f"Hello,\n\nan administrator made a link for you to set your password:\n\n{link}\n\n"
        f"It works once, until {expires} UTC. If you did not expect it, ignore this e-mail.\n"
    )
    return message


def connect(url: str) -> smtplib.SMTP:
    """An SMTP client for ``url``, logged in when it names a user (after STARTTLS: credentials never travel in clear
    text); use it as a context manager. Raises OSError or SMTPException when the server cannot be used."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT_S,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, parts.port or 587, timeout=TIMEOUT_S)
        if parts.username:
            client.starttls(context=ssl.create_default_context())
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client


def send(smtp_url: str, message: EmailMessage) -> None:
    """Send one message through ``smtp_url``; Unavailable (one sentence) when the server cannot be used."""
    try:
        with connect(smtp_url) as client:
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise Unavailable(f"The e-mail could not be sent ({type(exc).__name__}): give the link by hand.") from None
