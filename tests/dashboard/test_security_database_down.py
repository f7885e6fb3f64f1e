"""The app starts and stays safe when the database is down, and recovers by itself when it returns."""

from __future__ import annotations

from webtools import PASSWORD, csrf_from, login, make_client, make_user

from dashboard.app import create_app
from dashboard.security import DB_DOWN
from dashboard.shell import BANNER


def test_app_starts_with_the_database_down(test_settings):
    down = create_app(test_settings.with_(database_url="postgresql://postgres@127.0.0.1:1/nowhere"))
    client = make_client(down)
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post("/login", data={"email": "a@b.example", "password": "x" * 12, "csrf_token": csrf_from(page)})
    assert response.status_code == 503 and DB_DOWN in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # anonymous still goes to the login page


def test_outage_shows_the_shell_refuses_data_and_recovers_without_restart(proxied, database):
    app, proxy = proxied
    user = make_user(database, "outage@test.example", "staff")
    client = make_client(app)
    assert login(client, user.email, PASSWORD).status_code == 302
    assert client.get("/healthz").status_code == 200

    proxy.stop()
    assert client.get("/healthz").status_code == 503
    assert client.get("/").status_code == 200  # the empty shell renders...
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and BANNER in layout.get_data(as_text=True)  # ...with the banner in it
    me = client.get("/api/v1/me")
    assert me.status_code == 503 and me.get_json()["error"] == DB_DOWN  # but no data without a live check
    update = client.post("/_dash-update-component", json={"output": "x.children", "inputs": []})
    assert update.status_code == 503
    anonymous = make_client(app)
    assert anonymous.get("/_dash-layout").status_code == 401  # anonymous is refused without the database

    proxy.start()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/me").get_json()["email"] == user.email
