"""Database URLs without their secrets: masked for messages, compared without the password.

The source is a params block (`source.url`, `traveltide.config.SourceConfig`), so DVC sees it.
`TRAVELTIDE_DB_URL` may still be set, for libpq's sake (it may carry the password that params
must not): extract uses it only when it names the database `source.url` names, and stops when
the two disagree, since DVC cannot see the environment (`traveltide.sources.db.resolve_source`).

Standard library only: the MLflow store's messages use `redact_url` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ENV_URL = "TRAVELTIDE_DB_URL"
_SECRET_KEYS = frozenset({"password", "sslpassword"})  # libpq reads these from a URL's query


def configured_url(env: Mapping[str, str]) -> str | None:
    """`TRAVELTIDE_DB_URL` when set and non-empty."""
    return env.get(ENV_URL, "").strip() or None


def redact_url(url: str) -> str:
    """The URL with its password masked (`user:***@host`): host and database stay visible."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if not any(key in _SECRET_KEYS for key, _ in query) and parts.password is None:
            return url  # as given: urlunsplit would rewrite `sqlite:///x.db`
        masked = [(k, "***" if k in _SECRET_KEYS else v) for k, v in query]
        parts = parts._replace(query=urlencode(masked, safe="*/"))
        if parts.password is None:
            return urlunsplit(parts)
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:  # malformed port, bad IPv6 brackets: never echo what might hold a secret
        return "<unparsable database URL>"


def without_password(url: str) -> str:
    """The URL with no password at all, and `postgresql` for any `postgresql+driver`: what
    two URLs of the same database share, whoever's credentials they carry."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        netloc = f"{user}@{netloc.rpartition('@')[2]}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = urlencode(sorted((k, v) for k, v in query if k not in _SECRET_KEYS))
    scheme = parts.scheme.split("+", 1)[0].lower()
    return urlunsplit(parts._replace(scheme=scheme, netloc=netloc, query=kept))


def same_database(a: str, b: str) -> bool:
    """Whether two URLs name the same database, user and options, passwords aside."""
    try:
        return without_password(a) == without_password(b)
    except ValueError:
        return False
