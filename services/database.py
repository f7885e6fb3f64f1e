"""The database handle as the edges (dashboard, CLI) hold it: opened once, then one session per request or command.

The dashboard never imports ``db``; it opens the product's database through this module and hands the
handle's sessions to the services.
"""

from __future__ import annotations

from db.database import Database, open_database

__all__ = ["Database", "open_database"]
