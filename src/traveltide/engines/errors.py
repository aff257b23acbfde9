"""The engine's own failures, as one line each: it cannot start, or a query failed."""

from __future__ import annotations

from collections.abc import Sequence

from traveltide.errors import TravelTideError, first_line_of


class EngineError(TravelTideError):
    """The query engine cannot start (no Java, an unreachable Spark master) or a query failed."""


def engine_error(engine: str, doing: str, message: str, reading: Sequence[str] = ()) -> EngineError:
    """`<engine>: <doing> (reading <files>): <first line of message>`, printable characters only
    (a corrupt file can put its bytes into a driver's message)."""
    line = "".join(c if c.isprintable() else "?" for c in first_line_of(message)) or "failed"
    files = f" (reading {', '.join(reading)})" if reading else ""
    return EngineError(f"{engine}: {doing}{files}: {line}")
