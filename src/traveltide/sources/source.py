"""Which database the pipeline reads, recorded in two small files DVC can track.

DVC cannot see environment variables, so the always-run `source` stage turns
`TRAVELTIDE_DB_URL` into files:

- `kind.json` says embedded or external. Only generate depends on it: with an external
  database generate writes cheap placeholders instead of 5 million synthetic sessions, and it
  reruns only when the kind flips.
- `request.json` is what extract depends on. Embedded, it never changes, so extract reruns
  only when the generated tables do. External, it carries the time of the request, so extract
  re-queries on every `dvc repro` (the database can change under us); stages after it rerun
  only if the extracted cohort changed, because DVC compares output hashes.

Standard library only: this stage runs on every `dvc repro`, and its start-up is the price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "TRAVELTIDE_DB_URL"
SourceKind = Literal["embedded", "external"]


def redact_url(url: str) -> str:
    """The URL with its password masked (`user:***@host`): host and database stay visible."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:  # malformed port, bad IPv6 brackets: never echo what might hold a secret
        return "<unparsable database URL>"


def configured_url(env: Mapping[str, str]) -> str | None:
    """`TRAVELTIDE_DB_URL` when set and non-empty."""
    return env.get(ENV_URL, "").strip() or None


@dataclass(frozen=True)
class SourceState:
    """The source as DVC sees it: kind, a printable database label, and when it was asked."""

    kind: SourceKind
    database: str | None = None
    requested_at: str | None = None

    def kind_record(self) -> dict[str, str]:
        return {"kind": self.kind}

    def request_record(self) -> dict[str, str | None]:
        return {"kind": self.kind, "database": self.database, "requested_at": self.requested_at}


def source_state(env: Mapping[str, str], now: dt.datetime | None = None) -> SourceState:
    """Embedded without a URL; external with the redacted URL and the current UTC time."""
    url = configured_url(env)
    if url is None:
        return SourceState("embedded")
    now = now or dt.datetime.now(dt.UTC)
    return SourceState("external", redact_url(url), now.isoformat(timespec="microseconds"))
