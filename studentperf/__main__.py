"""`python -m studentperf` runs the console command."""

from studentperf.cli import app

app()
