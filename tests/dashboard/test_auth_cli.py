"""`studentperf users ...`: password from stdin (never an argument), roles, classes, audit of changes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner
from webtools import ensure_classes, login, make_client

from studentperf.cli import app as cli

PASSWORD = "a-long-enough-password"


@pytest.fixture()
def run(database_url, test_home):
    """Run the CLI against the test database."""
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-not-for-production", "STUDENTPERF_HOME": str(test_home)}

    def _run(*args: str, stdin: str | None = None):
        return runner.invoke(cli, list(args), input=stdin, env=env)

    return _run


def _audit(database, action: str, target: str) -> list[str]:
    with database.begin() as s:
        return list(s.execute(text("SELECT actor FROM audit_log WHERE action = :a AND target = :t"), {"a": action, "t": target}).scalars())


def test_add_list_deactivate(run, database, app):
    first, _ = ensure_classes(database, 2)
    result = run("users", "add", "CLI.Teacher@Test.example", "--role", "teacher", "--classes", str(first), stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "added cli.teacher@test.example as teacher" in result.output
    assert _audit(database, "user.add", "cli.teacher@test.example")[0].startswith("cli")

    listed = json.loads(run("users", "list", "--json").output)
    row = next(u for u in listed if u["email"] == "cli.teacher@test.example")
    assert row["role"] == "teacher" and row["is_active"] is True and "password_hash" not in row

    client = make_client(app)
    assert login(client, "cli.teacher@test.example", PASSWORD).status_code == 302
    assert client.get("/api/v1/me").get_json()["class_ids"] == [first]

    result = run("users", "deactivate", "cli.teacher@test.example")
    assert result.exit_code == 0 and "deactivated" in result.output
    assert client.get("/api/v1/me").status_code == 401
    assert _audit(database, "user.deactivate", "cli.teacher@test.example")


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("users", "add", "short@test.example", "--role", "staff"), "short\n", 2, "at least 10 characters"),
        (("users", "add", "role@test.example", "--role", "root"), PASSWORD + "\n", 2, "role must be one of"),
        (("users", "add", "not-an-email", "--role", "staff"), PASSWORD + "\n", 2, "is not an email address"),
        (("users", "add", "cls@test.example", "--role", "teacher", "--classes", "NoSuchClass"), PASSWORD + "\n", 2, "no class"),
        (("users", "add", "staffcls@test.example", "--role", "staff", "--classes", "1"), PASSWORD + "\n", 2, "Only teachers"),
        (("users", "add", "nopw@test.example", "--role", "staff"), "", 1, "no password on stdin"),
        (("users", "deactivate", "nobody@test.example"), None, 1, "no user"),
    ],
)
def test_bad_input_gets_one_sentence(run, database, args, stdin, code, message):
    ensure_classes(database, 2)
    result = run(*args, stdin=stdin)
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_duplicate_email_refused_regardless_of_case(run):
    assert run("users", "add", "dup@test.example", "--role", "staff", stdin=PASSWORD + "\n").exit_code == 0
    again = run("users", "add", "DUP@test.example", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.exit_code == 2 and "already exists" in again.output


def test_password_is_never_an_argument(run):
    result = run("users", "add", "arg@test.example", "--role", "staff", "--password", PASSWORD)
    assert result.exit_code != 0


def test_create_a_school_administrator_tied_to_a_school(run, database, app):
    first, _ = ensure_classes(database, 2)
    with database.begin() as s:
        school_id, school = s.execute(text("SELECT s.id, s.name FROM schools s JOIN classes c ON c.school_id = s.id "
                                           "WHERE c.id = :c"), {"c": first}).one()
    result = run("users", "create", "cli.head@test.example", "--role", "school_admin", "--school", school,
                 stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"as school_admin (schools {school})" in result.output
    client = make_client(app)
    assert login(client, "cli.head@test.example", PASSWORD).status_code == 302
    me = client.get("/api/v1/me").get_json()
    assert me["role"] == "school_admin" and me["school_ids"] == [school_id] and me["sees_everything"] is False
    listed = json.loads(run("users", "list", "--json").output)
    assert next(u for u in listed if u["email"] == "cli.head@test.example")["school_ids"] == [school_id]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "staff", "--school", "No Such School"), "There is no school"),
        (("--role", "admin", "--school", "1"), "district administrator sees every school"),
    ],
)
def test_bad_schools_are_refused_in_one_sentence(run, database, args, message):
    ensure_classes(database, 1)
    result = run("users", "add", "cli.bad-school@test.example", *args, stdin=PASSWORD + "\n")
    assert result.exit_code == 2 and message in result.output, result.output


def test_staff_without_a_school_are_told_they_see_nothing(run, database):
    result = run("users", "add", "cli.noschool@test.example", "--role", "staff", stdin=PASSWORD + "\n")
    assert result.exit_code == 0 and "sees nothing" in result.output


def test_demo_logins_include_a_school_administrator_and_staff_of_the_demo_school(session, settings, tmp_path):
    from services.users import list_users
    from studentperf.cli.demo_cmds import DEMO_SCHOOL, ensure_demo_users

    session.execute(text("INSERT INTO schools (name) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": DEMO_SCHOOL})
    logins = ensure_demo_users(session, settings.with_(home=tmp_path))
    roles = {d.role: d for d in logins}
    assert {"admin", "school_admin", "staff", "teacher"} <= set(roles)
    assert roles["school_admin"].classes == (DEMO_SCHOOL,) and roles["staff"].classes == (DEMO_SCHOOL,)
    by_email = {u.email: u for u in list_users(session)}
    assert by_email["staff@demo.school"].schools == (DEMO_SCHOOL,)
    assert by_email["head@demo.school"].schools == (DEMO_SCHOOL,) and by_email["admin@demo.school"].schools == ()


def test_set_gives_an_existing_staff_member_a_school(run, database, app):
    first, _ = ensure_classes(database, 2)
    with database.begin() as s:
        school_id = s.execute(text("SELECT school_id FROM classes WHERE id = :c"), {"c": first}).scalar_one()
    assert run("users", "add", "cli.later@test.example", "--role", "staff", stdin=PASSWORD + "\n").exit_code == 0
    result = run("users", "set", "cli.later@test.example", "--school", str(school_id))
    assert result.exit_code == 0 and "staff; schools" in result.output, result.output
    client = make_client(app)
    assert login(client, "cli.later@test.example", PASSWORD).status_code == 302
    assert client.get("/api/v1/me").get_json()["school_ids"] == [school_id]
    assert _audit(database, "user.change", "cli.later@test.example")
    assert run("users", "set", "nobody-here@test.example", "--school", "1").exit_code == 1
