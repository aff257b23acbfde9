"""Project exceptions: contract errors that stage scripts turn into one line and exit 1."""

from __future__ import annotations


class TravelTideError(Exception):
    """Base class: a user-facing problem with a precise, one-line message."""


class ConfigError(TravelTideError):
    """A parameter in params.yaml (or on the command line) is invalid."""


class DataError(TravelTideError):
    """Input data violates its contract (missing table or column, wrong type, empty cohort)."""


class SourceError(TravelTideError):
    """The source database cannot be reached or queried."""


class TrackingError(TravelTideError):
    """The MLflow store cannot be written."""
