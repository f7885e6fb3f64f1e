"""With SMTP configured, a password link is e-mailed (after the commit) instead of shown; a failed send shows it."""

from __future__ import annotations

import json
import re
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_admin_users import EDIT_INPUTS, LINK  # noqa: E402
from webtools import login, make_client, make_user  # noqa: E402

from core.settings import Settings, SettingsError  # noqa: E402
from dashboard import ids  # noqa: E402
from dashboard.app import create_app  # noqa: E402


class _Sink(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message; the DATA is kept on the server."""

    def handle(self) -> None:
        self.wfile.write(b"220 sink\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                self.server.messages.append(body.decode())  # type: ignore[attr-defined]
            if verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            self.wfile.write(b"250 ok\r\n")


@pytest.fixture()
def sink() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Sink)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _reset(app, database, dash_post) -> tuple[str, str]:
    admin = make_user(database, "mail-admin@test.example", "admin")
    target = make_user(database, "mail-target@test.example", "staff")
    client = make_client(app)
    assert login(client, admin.email, admin.password).status_code == 302
    inputs = [(b, "n_clicks", 1 if b == ids.ADMIN_EDIT_RESET else 0) for b in EDIT_INPUTS]
    state = [(ids.ADMIN_EDIT_USER, "value", target.user_id), (ids.ADMIN_EDIT_ROLE, "value", "staff"),
             (ids.ADMIN_EDIT_SCHOOLS, "value", []), (ids.ADMIN_EDIT_CLASSES, "value", []), (ids.ADMIN_USERS_CHANGED, "data", 0)]
    r = dash_post(client, [f"{ids.ADMIN_EDIT_RESULT}.children", f"{ids.ADMIN_USERS_CHANGED}.data"], inputs, state=state,
                  triggered=[f"{ids.ADMIN_EDIT_RESET}.n_clicks"])
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return json.dumps(r.get_json()), target.email


def test_the_link_is_mailed_not_shown(sink, test_settings, database, dash_post) -> None:
    port = sink.server_address[1]
    app = create_app(test_settings.with_(smtp_url=f"smtp://127.0.0.1:{port}", mail_from="noreply@test.example"))
    shown, email = _reset(app, database, dash_post)
    assert f"e-mailed to {email}" in shown and not LINK.search(shown)
    assert len(sink.messages) == 1
    mailed = re.sub(r"=\r?\n", "", sink.messages[0])
    assert f"To: {email}" in mailed and "From: noreply@test.example" in mailed
    token = LINK.search(mailed).group(1)
    assert make_client(app).get(f"/reset/{token}").status_code == 200


def test_a_failed_send_shows_the_link_with_the_reason(test_settings, database, dash_post) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    app = create_app(test_settings.with_(smtp_url=f"smtp://127.0.0.1:{closed}", mail_from="noreply@test.example"))
    shown, _ = _reset(app, database, dash_post)
    assert "could not be sent" in shown and LINK.search(shown)


@pytest.mark.parametrize(("env", "message"), [({"SMTP_URL": "http://x"}, "SMTP_URL must look like smtp://"),
                                              ({"STALE_AFTER_DAYS": "0"}, "STALE_AFTER_DAYS must be")])
def test_smtp_settings_are_checked(env, message) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)
