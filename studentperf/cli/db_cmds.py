"""`studentperf db ...`: schema management."""

from __future__ import annotations

import typer

from studentperf.cli.common import load_settings, open_database

db_app = typer.Typer(help="Database schema: upgrade, show the current revision.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or upgrade the schema to the latest revision (embedded server when DATABASE_URL is unset)."""
    from db.migrate import current_revision

    settings = load_settings()
    database = open_database(settings, migrate=True)
    typer.echo(f"schema at revision {current_revision(database.engine)}")


@db_app.command("current")
def current() -> None:
    """Print the schema revision of the database."""
    from db.migrate import current_revision

    settings = load_settings()
    database = open_database(settings, migrate=False)
    typer.echo(current_revision(database.engine) or "empty (run `studentperf db upgrade`)")


def register(app: typer.Typer) -> None:
    """Attach the `db` group."""
    app.add_typer(db_app, name="db")
