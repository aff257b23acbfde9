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


def first_line(exc: BaseException, secret: str | None = None) -> str:
    """First line of an error (a driver's own error when SQLAlchemy wrapped it), `secret` masked.

    Driver and MLflow errors run to many lines (SQL text, hints); the one-line contract of the
    stage scripts needs the first, and a password must never reach it.
    """
    orig = getattr(exc, "orig", None) or exc
    return first_line_of(str(orig), secret) or type(orig).__name__


def first_line_of(text: str, secret: str | None = None) -> str:
    """First non-empty line of `text`, stripped, with `secret` masked ("" for no text)."""
    text = text.strip()
    line = text.splitlines()[0].strip() if text else ""
    return line.replace(secret, "***") if secret else line
