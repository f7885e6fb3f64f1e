"""`studentperf tokens create|list|revoke`: the secret printed once on stdout, then usable as a Bearer token."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner
from webtools import make_client, make_user

from studentperf.cli import app as cli


@pytest.fixture()
def run(database_url, test_home):
    """Run the CLI against the test database."""
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-not-for-production", "STUDENTPERF_HOME": str(test_home)}

    def _run(*args: str):
        return runner.invoke(cli, list(args), env=env)

    return _run


def test_create_list_use_and_revoke(run, database, app):
    user = make_user(database, "tok-cli@test.example", "staff")
    made = run("tokens", "create", "TOK-CLI@test.example", "--expires", "7", "--name", "report script")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("sp_") and "\n" not in secret  # stdout is the token alone (pipe it into a secret store)
    assert "shown only this once" in made.output

    listed = json.loads(run("tokens", "list", user.email, "--json").stdout)
    assert len(listed) == 1 and listed[0]["name"] == "report script" and listed[0]["status"] == "active"
    assert secret not in json.dumps(listed) and listed[0]["prefix"] == secret[:10]
    table = run("tokens", "list")
    assert table.exit_code == 0 and "tok-cli@test.example" in table.stdout and secret not in table.stdout

    client = make_client(app)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["email"] == user.email

    revoked = run("tokens", "revoke", str(listed[0]["id"]))
    assert revoked.exit_code == 0 and f"revoked token {listed[0]['id']}" in revoked.stdout
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert json.loads(run("tokens", "list", user.email, "--json").stdout)[0]["status"] == "revoked"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("tokens", "create", "nobody@test.example"), 1, "There is no user nobody@test.example."),
        (("tokens", "create", "tok-cli2@test.example", "--expires", "5000"), 2, "1 to 3650 days"),
        (("tokens", "revoke", "999999999"), 1, "There is no token 999999999."),
        (("tokens", "create", "not-an-email"), 2, "is not an email address"),
    ],
)
def test_bad_input_is_one_sentence(run, database, args, code, message):
    make_user(database, "tok-cli2@test.example", "staff")
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
