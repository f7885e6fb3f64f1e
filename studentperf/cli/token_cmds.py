"""`studentperf tokens create|list|revoke`: personal API tokens (``Authorization: Bearer``) for the REST API."""

from __future__ import annotations

import datetime as dt
import json

import typer

from studentperf.cli.common import cli_actor, domain_errors, load_settings, open_database

tokens_app = typer.Typer(help="API tokens for the REST API: create (shown once), list, revoke.", no_args_is_help=True)


@tokens_app.command("create")
def create(
    email: str = typer.Argument(..., help="The user the token acts as (their role and classes)."),
    expires: int = typer.Option(90, "--expires", help="Days until it expires (1-3650); 0 for never."),
    name: str = typer.Option("api", "--name", help="A label to recognise it by, e.g. the script that uses it."),
) -> None:
    """Make a token for EMAIL and print it once: only its hash is kept, it cannot be shown again."""
    from services.tokens import create_token

    database = open_database(load_settings())
    with domain_errors(), database.begin() as s:
        made = create_token(s, email=email, name=name, expires_days=expires or None, actor=cli_actor())
    until = made.info.expires_at.isoformat(timespec="minutes") if made.info.expires_at else "never"
    typer.echo(f"token {made.info.id} for {made.info.email} ({made.info.name}), expires {until}:", err=True)
    typer.echo(made.secret)
    typer.echo("It is shown only this once; send it as `Authorization: Bearer <token>`.", err=True)


@tokens_app.command("list")
def list_(
    email: str = typer.Argument(None, help="Only this user's tokens."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of a table."),
) -> None:
    """List tokens (never their secrets): id, user, name, prefix, status, created, expires, last used."""
    from dataclasses import asdict

    from services.tokens import list_tokens

    database = open_database(load_settings())
    with domain_errors(), database.begin() as s:
        rows = list_tokens(s, email=email)
    now = dt.datetime.now(dt.UTC)
    if as_json:
        typer.echo(json.dumps([{**asdict(t), "status": t.status(now)} for t in rows], indent=2, default=str))
        return
    if not rows:
        typer.echo("no tokens: make one with `studentperf tokens create EMAIL`")
        return
    for t in rows:
        expires = t.expires_at.date().isoformat() if t.expires_at else "never"
        used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never used"
        typer.echo(f"{t.id:<5} {t.email:<32} {t.name:<20} {t.prefix}... {t.status(now):<8} expires {expires:<10} {used}")


@tokens_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="The token's id (see `studentperf tokens list`).")) -> None:
    """Revoke a token: it stops working on its next request."""
    from services.tokens import revoke_token

    database = open_database(load_settings())
    with domain_errors(), database.begin() as s:
        info = revoke_token(s, token_id=token_id, actor=cli_actor())
    typer.echo(f"revoked token {info.id} of {info.email} ({info.name})")


def register(app: typer.Typer) -> None:
    """Attach the `tokens` group."""
    app.add_typer(tokens_app, name="tokens")
