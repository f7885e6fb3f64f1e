"""`studentperf digest`: send each user their weekly e-mail of unread alerts (off until SMTP_URL is set)."""

from __future__ import annotations

import typer

from studentperf.cli.common import domain_errors, load_settings, open_database


def digest(force: bool = typer.Option(False, "--force", help="Send even to users who had one less than a week ago.")) -> None:
    """Send the weekly digest of unread alerts to every active user who has not opted out."""
    import smtplib

    from services.digest import send_digests

    settings = load_settings()
    database = open_database(settings)
    try:
        with domain_errors(), database.begin() as s:
            run = send_digests(s, settings, force=force)
    except (OSError, smtplib.SMTPException) as exc:
        typer.secho(f"error: the mail server did not accept the digest: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    typer.echo(run.summary())
    for email, reason in run.skipped.items():
        typer.echo(f"  skipped {email}: {reason}", err=True)


def register(app: typer.Typer) -> None:
    """Attach the `digest` command."""
    app.command("digest")(digest)
