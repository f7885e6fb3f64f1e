"""How fresh the data is: the latest event date loaded and the latest scoring run, with a warning when old.

Two index-only reads (``max`` of the calendar of event dates and of the scoring runs), cheap enough for
every page load. The dates are of the whole database, not of any student, so no scope applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import ScoringRun, SummaryCalendar


@dataclass(frozen=True)
class Freshness:
    """The latest data date and scoring run, and whether either is older than ``stale_after_days``."""

    latest_data: dt.date | None
    latest_scoring: dt.date | None
    stale_after_days: int
    today: dt.date

    def _stale(self, day: dt.date | None) -> bool:
        return day is None or (self.today - day).days > self.stale_after_days

    @property
    def data_stale(self) -> bool:
        """True when no data is loaded or the latest is older than the limit."""
        return self._stale(self.latest_data)

    @property
    def scoring_stale(self) -> bool:
        """True when nothing was scored or the latest run is older than the limit."""
        return self._stale(self.latest_scoring)

    @property
    def stale(self) -> bool:
        """True when either date is missing or too old (the banner warns)."""
        return self.data_stale or self.scoring_stale

    @property
    def message(self) -> str:
        """``Data up to 12 Nov 2026 · risk scored on 13 Nov 2026``, with what is old said plainly."""
        data = f"Data up to {_day(self.latest_data)}" if self.latest_data else "No data loaded yet"
        scoring = f"risk scored on {_day(self.latest_scoring)}" if self.latest_scoring else "risk not scored yet"
        text = f"{data} · {scoring}"
        old = [what for what, day in (("the data", self.latest_data), ("the risk scores", self.latest_scoring))
               if day is not None and self._stale(day)]
        if old:
            text += f" ({' and '.join(old)} {'is' if len(old) == 1 else 'are'} over {self.stale_after_days} days old)"
        return text + "."


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def data_freshness(*, session: Session, stale_after_days: int, today: dt.date | None = None) -> Freshness:
    """The latest event date loaded and the date of the latest scoring run.

    Parameters
    ----------
    session : an open session; nothing is written.
    stale_after_days : the setting ``STALE_AFTER_DAYS``: older than this is a warning.
    today : the date to compare with (default: today).
    """
    latest_data = session.scalar(select(func.max(SummaryCalendar.date)))
    latest_run = session.scalar(select(func.max(ScoringRun.created_at)))
    return Freshness(latest_data, latest_run.date() if latest_run else None, stale_after_days, today or dt.date.today())
