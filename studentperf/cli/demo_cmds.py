"""`studentperf demo`: embedded database, a generated school, a trained model, the dashboard."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.settings import Settings
from studentperf.cli.common import domain_errors, load_settings, open_database

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
DEMO_SCHOOL = "Demo School"


@dataclass(frozen=True)
class DemoLogin:
    """One demo account: its email, role, classes (or school) and password."""

    email: str
    role: str
    classes: tuple[str, ...]
    password: str


def _logins_file(settings: Settings) -> Path:
    return settings.home / "demo-logins.json"


def _teacher_classes(session: Session) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Two classes of the current school year in two different grades (names to show, ids to assign)."""
    from db.models import SchoolClass

    current = select(func.max(SchoolClass.school_year)).scalar_subquery()
    rows = session.execute(select(SchoolClass.id, SchoolClass.name, SchoolClass.grade_level)
                           .where(SchoolClass.school_year == current)
                           .order_by(SchoolClass.grade_level, SchoolClass.name)).all()
    if not rows:
        return [((), ()), ((), ())]
    first = rows[0]
    other = next((r for r in rows if r.grade_level != first.grade_level), rows[-1])
    return [((r.name,), (str(r.id),)) for r in (first, other)]


def _keep_schools(session: Session, user_id: int, schools: tuple[str, ...]) -> None:
    """Tie an existing demo account to the demo school (accounts made before schools were per user had none)."""
    from db.models import School, UserSchool

    for name in schools:
        school_id = session.scalar(select(School.id).where(School.name == name))
        known = session.get(UserSchool, (user_id, school_id))
        if school_id is not None and known is None:
            session.add(UserSchool(user_id=user_id, school_id=school_id))


def ensure_demo_users(session: Session, settings: Settings) -> list[DemoLogin]:
    """Create the demo accounts once (random passwords kept in the data folder, mode 0600)."""
    from db.models import School, User
    from services.users import add_user, hash_password, normalise_email

    path = _logins_file(settings)
    saved = {d["email"]: d["password"] for d in json.loads(path.read_text())} if path.exists() else {}
    classes = _teacher_classes(session)
    school = (DEMO_SCHOOL,) if session.scalar(select(School.id).where(School.name == DEMO_SCHOOL)) else ()
    wanted = [
        ("admin@demo.school", "admin", ((), ()), ()),
        ("head@demo.school", "school_admin", ((), ()), school),
        ("staff@demo.school", "staff", ((), ()), school),
        ("teacher1@demo.school", "teacher", classes[0], ()),
        ("teacher2@demo.school", "teacher", classes[1], ()),
    ]
    logins = []
    for email, role, (cls, class_ids), schools in wanted:
        password = saved.get(email) or secrets.token_urlsafe(9)
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            add_user(session, email=email, password=password, role=role, classes=class_ids, schools=schools,
                     actor="studentperf demo")
        else:
            _keep_schools(session, user.id, schools)
            if email not in saved:
                user.password_hash = hash_password(password)
        logins.append(DemoLogin(email, role, cls or schools, password))
    settings.home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([d.__dict__ for d in logins], indent=2))
    path.chmod(0o600)
    return logins


def _needs_training(database, changed: bool) -> bool:  # noqa: ANN001
    """Train when the data changed, no model is active, or the active one no longer fits the code."""
    from ml.errors import MLError
    from ml.registry import load_model

    if changed:
        return True
    with database.begin() as session:
        try:
            load_model(session)
        except MLError as exc:
            typer.echo(f"    {exc}")
            return True
    return False


def _load_school(database, settings: Settings, students: int, seed: int, years: int) -> bool:  # noqa: ANN001
    """Generate (once) and ingest the demo school, part-way through its current year; True when the database changed."""
    from etl.generate import part_way_date, write_school
    from etl.pipeline import ingest_file

    as_of = part_way_date(dt.date.today())
    path = settings.home / "demo" / f"school-{students}-seed{seed}-{years}y-{as_of}.csv"
    if not path.exists():
        typer.echo(f"==> generating a school of {students} students a year over {years} school years, "
                   f"today being {as_of} (seed {seed}) -> {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_school(path, students, seed=seed, years=years, as_of=as_of)
    typer.echo("==> loading it into PostgreSQL")
    report = ingest_file(database, path, school=DEMO_SCHOOL)
    typer.echo(f"    {report.message}")
    return report.status == "succeeded" and (report.rows_inserted + report.rows_updated) > 0


def _train_and_score(database, settings: Settings, changed: bool) -> None:  # noqa: ANN001
    from ml.score import score_all
    from ml.train import train_and_register

    if _needs_training(database, changed):
        typer.echo("==> training the risk model (XGBoost) on the past school years and comparing it with the baselines")
        result = train_and_register(database, settings)
        typer.echo(result.summary())
    typer.echo("==> scoring every student with the active model")
    typer.echo(score_all(database, settings).summary())


def _print_logins(logins: list[DemoLogin], url: str) -> None:
    typer.echo("")
    typer.secho(f"Dashboard: {url}", bold=True)
    typer.echo("Demo logins (kept in the data folder, demo-logins.json):")
    for d in logins:
        what = "school" if d.role in ("school_admin", "staff") else "classes"
        scope = f" ({what} {', '.join(d.classes)})" if d.classes else ""
        typer.echo(f"  {d.role:<12} {d.email:<24} password: {d.password}{scope}")
    typer.echo("")


def _serve(database_url: str, port: int, workers: int) -> None:
    """Run Gunicorn in the foreground until Ctrl-C; this process keeps the embedded server alive."""
    env = dict(os.environ, DATABASE_URL=database_url, STUDENTPERF_DEMO="1",
               STUDENTPERF_BIND=f"127.0.0.1:{port}", STUDENTPERF_WORKERS=str(workers))
    args = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "dashboard.wsgi:app"]
    proc = subprocess.Popen(args, env=env)
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=30)
        typer.echo("stopped")


def demo(
    students: int = typer.Option(2000, "--students", min=50, help="How many students the generated school has."),
    seed: int = typer.Option(42, "--seed", help="Seed of the generated school (same seed, same school)."),
    years: int = typer.Option(3, "--years", min=2, help="School years generated: past years to learn from, then this one."),
    port: int = typer.Option(8050, "--port", help="Port of the dashboard on 127.0.0.1."),
    workers: int = typer.Option(2, "--workers", min=1, help="Gunicorn workers."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the dashboard at the end (default) or stop."),
) -> None:
    """Set up the demo: embedded PostgreSQL (unless DATABASE_URL), a school, a model, then serve the dashboard."""
    os.environ["STUDENTPERF_DEMO"] = "1"
    settings = load_settings().with_(demo_mode=True)
    typer.echo(f"==> database: {'DATABASE_URL' if settings.database_url else f'embedded PostgreSQL in {settings.pgdata_dir}'}")
    database = open_database(settings)
    with domain_errors():
        changed = _load_school(database, settings, students, seed, years)
        _train_and_score(database, settings, changed)
        with database.begin() as session:
            logins = ensure_demo_users(session, settings)
    url = f"http://127.0.0.1:{port}"
    _print_logins(logins, url)
    if serve:
        settings.require_secret_key()
        _serve(database.engine.url.render_as_string(hide_password=False), port, workers)


def register(app: typer.Typer) -> None:
    """Attach `demo`."""
    app.command("demo")(demo)
