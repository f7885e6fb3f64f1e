"""The data version: one cheap value that changes whenever a load or a scoring run (or a model switch) commits.

Caches of shared answers key on it, so an answer computed before a load is never served after it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import IngestionRun, ModelVersion, ScoringRun


def data_version(session: Session) -> str:
    """The last ingestion run, the last scoring run and the active model, with their times, as one text, in one query.

    Parameters
    ----------
    session : an open session; nothing is written. A load inserts its run row in the load's own transaction, so
        the version changes exactly when the loaded rows become visible. The times keep a version from coming
        back after the tables are emptied and their ids restart (a restored backup, a test database).
    """
    def one(column: Any, *where: Any) -> Any:
        return select(func.coalesce(column, 0)).where(*where).scalar_subquery()

    query = select(
        one(func.max(IngestionRun.id)),
        one(func.extract("epoch", func.max(IngestionRun.started_at))),
        one(func.max(ScoringRun.id)),
        one(func.extract("epoch", func.max(ScoringRun.created_at))),
        one(func.max(ModelVersion.id), ModelVersion.is_active),
    )
    return ".".join(str(value) for value in session.execute(query).one())
