"""Shared plumbing of the CLI commands: settings, database, one-line errors and exit codes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer

from core.logging import configure_logging
from core.settings import Settings, SettingsError

T = TypeVar("T")
log = logging.getLogger("studentperf.cli")


def load_settings() -> Settings:
    """Settings from the environment, logging configured; exits with a sentence if invalid."""
    try:
        settings = Settings.from_env()
    except (SettingsError, ValueError) as exc:
        fail(str(exc))
    configure_logging(settings)
    return settings


def open_database(settings: Settings, *, migrate: bool = True):  # noqa: ANN201
    """:func:`db.database.open_database` for a batch command (slow statements logged at debug level), its
    one-sentence failure printed and exit code 1."""
    from db.database import open_database as open_db

    with domain_errors():
        return open_db(settings, migrate=migrate, batch=True)


def cli_actor() -> str:
    """Who ran the command, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear sentence on stderr and exit non-zero."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the product's expected errors (core.errors, ml's among them) into one line and exit code 1 (2 for bad input)."""
    from core.errors import DomainError, InvalidInput

    try:
        yield
    except InvalidInput as exc:
        fail(str(exc), code=2)
    except DomainError as exc:
        fail(str(exc))
    except Terminated:
        fail("stopped (SIGTERM); nothing was committed by the step in progress", code=143)
    except KeyboardInterrupt:
        fail("interrupted; nothing was committed by the step in progress", code=130)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: the step in progress is rolled back."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (once; a second one is ignored while cleaning up)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum: int, frame: object) -> None:  # noqa: ARG001
        if not fired:
            fired.append(signum)
            raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def is_terminal() -> bool:
    """True when stdout is a terminal (progress bars and colours)."""
    return sys.stdout.isatty()


def call(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Call ``fn`` with domain errors translated."""
    with domain_errors():
        return fn(*args, **kwargs)
