"""Expected errors of the ml package; services and the CLI translate them to domain errors."""

from __future__ import annotations


class MLError(Exception):
    """Base of the ml package's expected errors; the message is one sentence for a user."""


class NoActiveModel(MLError):
    """No model is active (train one with `studentperf train`)."""


class ModelMismatch(MLError):
    """A saved model expects different features than the current code and data provide."""


class NotEnoughData(MLError):
    """Too few students (or too few of one outcome) to train or score."""


class UnknownModel(MLError):
    """A model type or version that does not exist was asked for."""
