"""Expected errors of the ml package: domain errors, so every edge translates them as it does the others."""

from __future__ import annotations

from core.errors import DomainError, NotFound, Unavailable


class MLError(DomainError):
    """Base of the ml package's expected errors; the message is one sentence for a user."""


class NoActiveModel(MLError, Unavailable):
    """No model is active (train one with `studentperf train`)."""


class NotScoredYet(MLError, Unavailable):
    """The active model has no scoring run yet (run `studentperf score`)."""


class ModelMismatch(MLError, Unavailable):
    """A saved model expects different features than the current code and data provide."""


class NotEnoughData(MLError, NotFound):
    """Too few students (or too few of one outcome) to train or score."""


class UnknownModel(MLError, NotFound):
    """A model type or version that does not exist was asked for."""
