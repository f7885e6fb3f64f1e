"""The data version: one cheap value that changes whenever a load or a scoring run (or a model switch) commits.

Caches of shared answers key on it, so an answer computed before a load is never served after it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import IngestionRun, ModelVersion, ScoringRun


def data_version(session: Session) -> str:
    """``<last ingestion run>.<last scoring run>.<active model>`` (each 0 when there is none), in one query.

    Parameters
    ----------
    session : an open session; nothing is written. A load inserts its run row in the load's own transaction, so
        the version changes exactly when the loaded rows become visible.
    """
    query = select(
        select(func.coalesce(func.max(IngestionRun.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(ScoringRun.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(ModelVersion.id), 0)).where(ModelVersion.is_active).scalar_subquery(),
    )
    ingest, scoring, model = session.execute(query).one()
    return f"{ingest}.{scoring}.{model}"
