"""Helpers of the dashboard tests: users, clients, logins through the form, Dash callback requests."""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import URL
from werkzeug.test import TestResponse

from db.database import Database
from services.users import hash_password

PASSWORD = "correct-horse-battery-staple"
ROLE_EMAILS = {
    "admin": "admin@test.example",
    "staff": "staff@test.example",
    "teacher": "teacher@test.example",
    "teacher2": "teacher2@test.example",
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_addresses = itertools.count(1)


@dataclass(frozen=True)
class TestUser:
    """A user the tests can log in as."""

    __test__ = False
    email: str
    password: str
    role: str
    user_id: int
    class_ids: tuple[int, ...] = ()


@lru_cache(maxsize=4)
def password_hash(password: str = PASSWORD) -> str:
    """The argon2 hash of a test password (computed once: argon2 is slow on purpose)."""
    return hash_password(password)


def next_address() -> str:
    """A fresh fake client address (10.x.y.z)."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def csrf_from(response: TestResponse) -> str:
    """The CSRF token in a server-rendered form."""
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str, next_: str = "/") -> TestResponse:
    """Log in through the real form: GET /login for the token, then POST it."""
    token = csrf_from(client.get("/login"))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": next_})


def make_client(app: Flask, address: str | None = None) -> FlaskClient:
    """An anonymous test client with its own client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or next_address()
    return client


def school_of(database: Database, class_id: int) -> int:
    """The school of a class."""
    with database.begin() as s:
        return s.execute(text("SELECT school_id FROM classes WHERE id = :c"), {"c": class_id}).scalar_one()


def ensure_classes(database: Database, n: int = 2) -> list[int]:
    """Ids of the first ``n`` classes of the latest school year, creating a test school and classes when there are too few."""
    with database.begin() as s:
        ids = list(s.execute(text("SELECT id FROM classes ORDER BY school_year DESC, id LIMIT :n"), {"n": n}).scalars())
        if len(ids) >= n:
            return ids
        school = s.execute(
            text("INSERT INTO schools (name) VALUES ('Test School') ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id")
        ).scalar_one()
        for i in range(1, n + 1):
            s.execute(
                text(
                    "INSERT INTO classes (school_id, name, grade_level, school_year) VALUES (:s, :name, 9, '2025-2026') "
                    "ON CONFLICT DO NOTHING"
                ),
                {"s": school, "name": f"T{i}"},
            )
        return list(s.execute(text("SELECT id FROM classes ORDER BY id LIMIT :n"), {"n": n}).scalars())


def make_user(database: Database, email: str, role: str, class_ids: Iterable[int] = (), password: str = PASSWORD,
              school_ids: Iterable[int] = ()) -> TestUser:
    """Create (or reset to active, with these classes and schools) a user committed to the database."""
    with database.begin() as s:
        user_id = s.execute(
            text(
                "INSERT INTO users (email, password_hash, role, is_active) VALUES (:e, :h, :r, true) "
                "ON CONFLICT (lower(email)) DO UPDATE SET password_hash = EXCLUDED.password_hash, "
                "role = EXCLUDED.role, is_active = true RETURNING id"
            ),
            {"e": email, "h": password_hash(password), "r": role},
        ).scalar_one()
        s.execute(text("DELETE FROM user_classes WHERE user_id = :u"), {"u": user_id})
        for class_id in class_ids:
            s.execute(text("INSERT INTO user_classes (user_id, class_id) VALUES (:u, :c)"), {"u": user_id, "c": class_id})
        s.execute(text("DELETE FROM user_schools WHERE user_id = :u"), {"u": user_id})
        for school_id in school_ids:
            s.execute(text("INSERT INTO user_schools (user_id, school_id) VALUES (:u, :s)"), {"u": user_id, "s": school_id})
    return TestUser(email, password, role, user_id, tuple(class_ids))


def _stringify(component_id: str | dict[str, Any]) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def _dependency(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return {"value": None, **item}
    component_id, prop, *value = item
    return {"id": component_id, "property": prop, "value": value[0] if value else None}


def dash_body(output: str | list[str], inputs: Iterable[Any], state: Iterable[Any] = (), triggered: list[str] | None = None) -> dict[str, Any]:
    """The JSON the Dash renderer posts to ``/_dash-update-component``.

    ``output`` is ``"id.prop"`` or a list of them (multi-output); ``inputs``/``state`` items are
    ``(id, prop, value)`` tuples or ``{"id", "property", "value"}`` dicts.
    """
    outputs = [output] if isinstance(output, str) else list(output)
    specs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outputs]
    inputs_list = [_dependency(i) for i in inputs]
    key = outputs[0] if isinstance(output, str) else "..." .join(outputs).join(["..", ".."])
    return {
        "output": key,
        "outputs": specs[0] if isinstance(output, str) else specs,
        "inputs": inputs_list,
        "state": [_dependency(s) for s in state],
        "changedPropIds": triggered if triggered is not None else [f"{_stringify(i['id'])}.{i['property']}" for i in inputs_list[:1]],
    }


def post_dash(client: FlaskClient, output: str | list[str], inputs: Iterable[Any], state: Iterable[Any] = (), triggered: list[str] | None = None) -> TestResponse:
    """Post one callback request to ``/_dash-update-component`` (see :func:`dash_body`)."""
    return client.post("/_dash-update-component", json=dash_body(output, inputs, state, triggered))


def callback_bodies(dash_app: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """For every server callback of ``dash_app``: its key and a request body with null values."""
    for key, spec in dash_app.callback_map.items():
        outputs = [o.strip() for o in key.strip(".").split("...")] if key.startswith("..") else key
        yield key, dash_body(outputs, spec.get("inputs", []), spec.get("state", []))


class DatabaseProxy:
    """A forwarder to the test PostgreSQL that can be cut and restored (a database outage on demand).

    It reaches the server the way the URL does and listens the same way: a loopback TCP port for a
    ``host:port`` URL, a Unix socket in a folder of its own for a socket URL (``?host=/folder``, as the
    embedded server's), so the app under test connects exactly as it would without the proxy.
    """

    def __init__(self, url: URL) -> None:
        import tempfile

        self.source = url
        port = url.port or 5432
        folder = url.query.get("host") or (url.host if (url.host or "").startswith("/") else None)
        self.unix = folder is not None
        if self.unix:
            self.target: Any = f"{folder}/.s.PGSQL.{port}"
            self.folder = tempfile.mkdtemp(prefix="pgproxy-")  # short: socket paths are limited to ~100 bytes
            self.address: Any = f"{self.folder}/.s.PGSQL.{port}"
        else:
            self.target = (url.host or "127.0.0.1", port)
            self.address = ("127.0.0.1", 0)
        self.listener: Any = None
        self.sockets: list[Any] = []

    @property
    def url(self) -> str:
        """The URL of the database through this proxy (call after :meth:`start`)."""
        if self.unix:
            proxied = self.source.set(host=None).update_query_dict({"host": self.folder})
        else:
            proxied = self.source.set(host=self.address[0], port=self.address[1])
        return proxied.render_as_string(hide_password=False)

    def _socket(self) -> Any:
        import socket

        return socket.socket(socket.AF_UNIX if self.unix else socket.AF_INET, socket.SOCK_STREAM)

    def start(self) -> DatabaseProxy:
        """Listen (at the same address as before, if restarted) and forward every connection."""
        import os
        import socket
        import threading

        self.listener = self._socket()
        if self.unix:
            if os.path.exists(self.address):
                os.unlink(self.address)
        else:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(self.address)
        self.address = self.listener.getsockname()
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener: Any) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = self._socket()
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: Any, dst: Any) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def stop(self) -> None:
        """Refuse new connections (a Unix socket disappears, as when PostgreSQL stops) and cut the open ones."""
        import os
        import socket

        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        if self.unix and os.path.exists(self.address):
            os.unlink(self.address)
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.sockets = []

    def close(self) -> None:
        """Stop for good and remove the proxy's socket folder."""
        import shutil

        self.stop()
        if self.unix:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def live_server(env: dict[str, str | None], log: Path, ready: str = "/healthz") -> Iterator[str]:
    """`studentperf serve` (2 Gunicorn workers) on a free loopback port with ``env`` added (None removes); yields its URL.

    Its output goes to ``log``; start-up waits up to 60 s for ``ready`` to answer 200, and SIGTERM stops it.
    """
    import signal
    import subprocess
    import sys
    import time

    import pytest
    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "studentperf", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with log.open("wb") as out:
        full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        proc = subprocess.Popen(args, env=full, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{url}{ready}", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                pytest.fail(f"the server exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"the server did not answer {ready} within 60 s")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
