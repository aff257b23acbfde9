"""Where the source tables live: the embedded default or PostgreSQL, as params `source.*` say.

The embedded default is the synthetic database of the generate stage: one Parquet file per
table, queried in process by DuckDB through SQLAlchemy (duckdb-engine). Parquet rather than a
DuckDB database file because DuckDB's file layout differs from run to run for identical data,
and DVC needs byte-identical outputs. With `source.url` a PostgreSQL URL the same SQL text runs
on that database instead, with `source.schema` as the connection's search_path; the password
comes from libpq (PGPASSWORD, ~/.pgpass, PGSERVICE, or `TRAVELTIDE_DB_URL` naming the same
database), never from params.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from traveltide.config import SourceConfig
from traveltide.errors import ConfigError
from traveltide.schema import TABLES
from traveltide.sources.source import ENV_URL, configured_url, redact_url, same_database

EMBEDDED_DIR = Path("data/raw/traveltide")
OPTIONS = "options"  # libpq's URL parameter for server settings (`-c name=value`)


@dataclass(frozen=True)
class Source:
    """A resolved source: an SQLAlchemy URL, or the embedded Parquet folder.

    `url` is what both drivers connect with (psycopg2 through SQLAlchemy, ADBC's libpq), so
    the search_path of `schema` travels inside it as libpq options.
    """

    url: str | None
    embedded_dir: Path = EMBEDDED_DIR
    schema: str | None = None

    @property
    def is_embedded(self) -> bool:
        return self.url is None

    @property
    def label(self) -> str:
        """Where the data comes from, safe to print: never a password."""
        if self.url is None:
            return f"embedded DuckDB over {self.embedded_dir}"
        if self.schema is None:
            return redact_url(self.url)
        shown = make_url(self.url).difference_update_query([OPTIONS])
        return f"{redact_url(shown.render_as_string(hide_password=False))} (schema {self.schema})"


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq options that set the search_path to `schema` (quoted: its case kept),
    after any options the URL already has."""
    parsed = make_url(url)
    setting = f'-csearch_path="{schema}"'
    given = parsed.query.get(OPTIONS)
    given = given[-1] if isinstance(given, tuple) else given
    options = f"{given} {setting}" if given else setting
    return parsed.update_query_dict({OPTIONS: options}).render_as_string(hide_password=False)


def connection_url(config: SourceConfig, env: Mapping[str, str]) -> str | None:
    """The URL extract connects with: None for the embedded source, else `source.url`, or
    `TRAVELTIDE_DB_URL` when it names the same database (it may carry a password for libpq).

    DVC sees params, not the environment: a `TRAVELTIDE_DB_URL` naming another database than
    `source.url` would make extract read one database while DVC records another, so it stops.
    """
    from_env = configured_url(env)
    if from_env is not None and (config.is_embedded or not same_database(from_env, config.url)):
        raise ConfigError(
            f"{ENV_URL} ({redact_url(from_env)}) is not params source.url ({config.url}): "
            "DVC sees only params, so set source.url instead (e.g. "
            "`dvc exp run -S source.url=postgresql://user@host:5432/db`) and unset "
            f"{ENV_URL}, or make them name the same database"
        )
    if config.is_embedded:
        return None
    return from_env or config.url


def resolve_source(config: SourceConfig, env: Mapping[str, str]) -> Source:
    """The source extract reads: embedded, or PostgreSQL with `source.schema` as search_path."""
    url = connection_url(config, env)
    if url is None:
        return Source(url=None)
    return Source(url=with_search_path(url, config.schema), schema=config.schema)


def database_label(url: str) -> str:
    """`host:port/database` of a URL, for one-line errors."""
    parsed: URL = make_url(url)
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()} at {host}{port}/{parsed.database or ''}"


def driver_url(url: str) -> URL:
    """A plain `postgresql://` URL uses psycopg2 (SQLAlchemy 2.1 defaults to psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def embedded_engine(folder: Path) -> sa.Engine:
    """An in-memory DuckDB whose four tables are views over the Parquet files in `folder`."""
    missing = [t for t in TABLES if not (folder / f"{t}.parquet").exists()]
    if missing:
        raise ConfigError(
            f"embedded database {folder}: missing {', '.join(f'{t}.parquet' for t in missing)}; "
            "run `dvc repro generate`, or set params source.url to read another database"
        )
    engine = sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.StaticPool)
    with engine.begin() as conn:
        for table in TABLES:
            path = _quote_literal(str((folder / f"{table}.parquet").resolve()))
            conn.exec_driver_sql(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({path})")
    return engine


def make_engine(source: Source) -> sa.Engine:
    """An engine for the source; connection problems surface on first use (see extract)."""
    if source.url is None:
        return embedded_engine(source.embedded_dir)
    try:
        return sa.create_engine(driver_url(source.url), pool_pre_ping=True)
    except Exception as exc:  # noqa: BLE001 - bad driver names, malformed URLs
        raise ConfigError(f"source.url: cannot use {source.label}: {type(exc).__name__}") from exc
