"""The weekly digest against a local SMTP server (aiosmtpd, started here; never a real one): each recipient gets
only their own students, opt-outs and recent recipients are skipped, and nothing is sent without SMTP_URL."""

from __future__ import annotations

import datetime as dt
import email
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.errors import Unavailable
from core.settings import Settings
from services import digest
from services.scope import Viewer

aiosmtpd = pytest.importorskip("aiosmtpd.controller")
sys.path.insert(0, str(Path(__file__).parent))
from test_workflow_services import _user  # noqa: E402
from workflow_seed import seed_workflow  # noqa: E402


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, str]]:
    inbox = Inbox()
    port = _free_port()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture()
def school(session: Session):
    session.execute(text("UPDATE users SET is_active = false"))  # only this test's users get digests
    session.info["audit_floor"] = session.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()
    world = seed_workflow(session)
    people = {
        "teacher": _user(session, "dg-teacher@example.org", "teacher", (world.classes[0],)),
        "teacher2": _user(session, "dg-teacher2@example.org", "teacher", (world.classes[1],)),
        "quiet": _user(session, "dg-quiet@example.org", "teacher", (world.classes[0],)),
    }
    return world, people


def _by_recipient(inbox: Inbox) -> dict[str, str]:
    return {m["To"]: m.get_payload(decode=True).decode() for m in inbox.messages}


def test_each_recipient_gets_only_their_students(session, school, smtp, settings) -> None:
    world, people = school
    inbox, url = smtp
    digest.set_digest(session=session, viewer=people["quiet"], enabled=False)
    run = digest.send_digests(session, settings.with_(smtp_url=url, public_url="https://sp.example"))
    mail = _by_recipient(inbox)
    assert set(mail) == {"dg-teacher@example.org"} and run.sent == ["dg-teacher@example.org"]
    body = mail["dg-teacher@example.org"]
    assert "Ada Lovelace is now High risk" in body and "Ben Okafor's risk rose from 30 % to 55 %" in body
    assert f"https://sp.example/students/{world.students['ada']}" in body
    assert "Chlo" not in body and "Dan Moreau" not in body  # another class's student; a student with no alert
    assert run.skipped["dg-quiet@example.org"] == "opted out"
    assert run.skipped["dg-teacher2@example.org"] == "no unread alerts"  # Chloé stayed High: nothing new
    sent = text("SELECT count(*) FROM audit_log WHERE action = 'digest.sent' AND id > :f")
    assert session.execute(sent, {"f": session.info["audit_floor"]}).scalar_one() == 1
    again = digest.send_digests(session, settings.with_(smtp_url=url))
    assert again.sent == [] and again.skipped["dg-teacher@example.org"] == "sent less than a week ago"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    assert digest.send_digests(session, settings.with_(smtp_url=url), now=later).sent == ["dg-teacher@example.org"]
    assert len(inbox.messages) == 2


def test_no_smtp_url_no_digest(session, school, settings) -> None:
    with pytest.raises(Unavailable, match="SMTP_URL"):
        digest.send_digests(session, settings.with_(smtp_url=None))
    assert Settings.from_env({"SMTP_URL": "smtp://mail:25"}).smtp_url == "smtp://mail:25"
    with pytest.raises(ValueError, match="SMTP_URL"):
        Settings.from_env({"SMTP_URL": "mail.example:25"})


def test_opt_out_is_audited_once(session, school) -> None:
    _, people = school
    viewer: Viewer = people["teacher"]
    assert digest.digest_enabled(session, viewer.user_id) is True
    assert digest.set_digest(session=session, viewer=viewer, enabled=False) is False
    assert digest.set_digest(session=session, viewer=viewer, enabled=False) is False
    assert digest.digest_enabled(session, viewer.user_id) is False
    changes = text("SELECT count(*) FROM audit_log WHERE action = 'digest.preference' AND id > :f")
    n = session.execute(changes, {"f": session.info["audit_floor"]}).scalar_one()
    assert n == 1


def test_the_cli_command_says_the_digest_is_off_without_smtp(settings, monkeypatch) -> None:
    from typer.testing import CliRunner

    from studentperf.cli import app as cli

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("STUDENTPERF_HOME", str(settings.home))
    monkeypatch.delenv("SMTP_URL", raising=False)
    result = CliRunner().invoke(cli, ["digest"])
    assert result.exit_code == 1 and "SMTP_URL" in result.output
