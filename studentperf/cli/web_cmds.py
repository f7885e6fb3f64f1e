"""`studentperf serve` (Gunicorn) and `studentperf users ...` (accounts, roles, teachers' classes)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from studentperf.cli.common import cli_actor, domain_errors, fail, load_settings, open_database

users_app = typer.Typer(help="Dashboard accounts: add, list, deactivate.", no_args_is_help=True)
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def read_password(prompt: bool) -> str:
    """The new password: typed twice at a terminal, else the first line of stdin (never an argument)."""
    if prompt:
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line:
        fail("no password on stdin: pipe it in (echo ... | studentperf users add ...) or run at a terminal")
    return line.rstrip("\r\n")


@users_app.command("add")
def add(
    email: str = typer.Argument(..., help="The login email."),
    role: str = typer.Option(..., "--role", help="admin (district: every school), school_admin, staff or teacher."),
    classes: str = typer.Option("", "--classes", help="Teachers: comma-separated class names or ids, e.g. 9A,9B."),
    name: str = typer.Option(None, "--name", help="Full name shown in the dashboard."),
    schools: list[str] = typer.Option(  # noqa: B008
        [], "--school", help="School administrators and staff: a school name or id they see (repeat for several); "
        "without one they see nothing."),
) -> None:
    """Add a user; the password is prompted (twice) or read from stdin when not a terminal."""
    from services.users import add_user

    settings = load_settings()
    password = read_password(sys.stdin.isatty())
    database = open_database(settings)
    with domain_errors(), database.begin() as s:
        info = add_user(
            s, email=email, password=password, role=role, classes=[c for c in classes.split(",") if c.strip()],
            full_name=name, actor=cli_actor(), schools=schools,
        )
    extra = f" (classes {', '.join(info.classes)})" if info.classes else ""
    extra += f" (schools {', '.join(info.schools)})" if info.schools else ""
    typer.echo(f"added {info.email} as {info.role}{extra}")
    if info.role in ("school_admin", "staff") and not info.schools:
        typer.echo("note: this user has no school yet and sees nothing until one is given (--school)")


@users_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="One JSON document instead of a table.")) -> None:
    """List every user with role, status and classes."""
    from services.users import list_users

    database = open_database(load_settings())
    with domain_errors(), database.begin() as s:
        rows = list_users(s)
    if as_json:
        typer.echo(json.dumps([_row(u) for u in rows], indent=2, default=str))
        return
    if not rows:
        typer.echo("no users yet: add one with `studentperf users add EMAIL --role admin`")
        return
    for u in rows:
        status = "active" if u.is_active else "deactivated"
        typer.echo(f"{u.email:<36} {u.role:<12} {status:<12} {', '.join(u.schools)} {', '.join(u.classes)}".rstrip())


def _row(user: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(user)  # type: ignore[call-overload]


@users_app.command("deactivate")
def deactivate(email: str = typer.Argument(..., help="The user's email.")) -> None:
    """Deactivate a user: they are logged out on their next request and cannot log in."""
    from services.users import deactivate_user

    database = open_database(load_settings())
    with domain_errors(), database.begin() as s:
        info = deactivate_user(s, email=email, actor=cli_actor())
    typer.echo(f"deactivated {info.email}")


@users_app.command("set")
def set_(
    email: str = typer.Argument(..., help="The user's email."),
    role: str = typer.Option(None, "--role", help="admin, school_admin, staff or teacher (default: unchanged)."),
    schools: list[str] = typer.Option([], "--school", help="A school name or id (repeat for several); replaces their schools."),  # noqa: B008
    classes: str = typer.Option("", "--classes", help="Teachers: comma-separated class names or ids; replaces their classes."),
) -> None:
    """Change a user's role, schools and classes at once (what is not given is emptied, the role kept)."""
    from services.users import find_user, set_assignment

    database = open_database(load_settings())
    with domain_errors(), database.begin() as s:
        user = find_user(s, email)
        info = set_assignment(s, user_id=user.id, role=role or user.role, schools=schools,
                              classes=[c for c in classes.split(",") if c.strip()], actor=cli_actor())
    typer.echo(f"{info.email}: {info.role}; schools {', '.join(info.schools) or 'none'}; classes {', '.join(info.classes) or 'none'}")


def bind_address(env: dict[str, str], host: str | None, port: int | None) -> str:
    """Gunicorn's ``host:port``: the options, else ``STUDENTPERF_BIND``, else 127.0.0.1 and ``PORT`` (8050)."""
    current = env.get("STUDENTPERF_BIND") or f"127.0.0.1:{env.get('PORT') or 8050}"
    old_host, _, old_port = current.rpartition(":")
    return f"{host or old_host or '127.0.0.1'}:{port or old_port or 8050}"


def serve(
    host: str = typer.Option(None, "--host", help="Address to listen on (default from STUDENTPERF_BIND, else 127.0.0.1: "
                             "this machine only; 0.0.0.0 for every interface)."),
    port: int = typer.Option(None, "--port", help="Port (default from PORT, else 8050)."),
    workers: int = typer.Option(None, "--workers", min=1, help="Gunicorn worker processes (default STUDENTPERF_WORKERS)."),
) -> None:
    """Serve the dashboard with Gunicorn (gunicorn.conf.py; one app and engine per worker)."""
    from core.settings import SettingsError

    settings = load_settings()
    try:
        settings.require_secret_key()
    except SettingsError as exc:
        fail(str(exc))
    env = dict(os.environ)
    env["STUDENTPERF_BIND"] = bind_address(env, host, port)
    if workers:
        env["STUDENTPERF_WORKERS"] = str(workers)
    args = [sys.executable, "-m", "gunicorn", "dashboard.wsgi:app"]
    if GUNICORN_CONF.exists():
        args[3:3] = ["-c", str(GUNICORN_CONF)]
    os.execvpe(sys.executable, args, env)


def register(app: typer.Typer) -> None:
    """Attach `serve` and the `users` group."""
    app.command("serve")(serve)
    users_app.command("create", help="Same as `users add`.")(add)
    app.add_typer(users_app, name="users")
