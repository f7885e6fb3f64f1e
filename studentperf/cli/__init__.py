"""The `studentperf` console command (Typer); each group of commands lives in its own module."""

from __future__ import annotations

import typer

from studentperf.cli import db_cmds, demo_cmds, etl_cmds, ml_cmds, token_cmds, web_cmds, workflow_cmds

app = typer.Typer(
    name="studentperf",
    help="Student-performance analytics and early-warning: load school exports, score risk, serve the dashboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (db_cmds, etl_cmds, ml_cmds, web_cmds, token_cmds, demo_cmds, workflow_cmds):
    module.register(app)
