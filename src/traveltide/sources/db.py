"""Where the source tables live: the embedded default or `TRAVELTIDE_DB_URL`.

The embedded default is the synthetic database of the generate stage: one Parquet file per
table, queried in process by DuckDB through SQLAlchemy (duckdb-engine). Parquet rather than a
DuckDB database file because DuckDB's file layout differs from run to run for identical data,
and DVC needs byte-identical outputs. With `TRAVELTIDE_DB_URL` set (PostgreSQL in production)
the same SQL text runs on that database instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from traveltide.errors import ConfigError
from traveltide.schema import TABLES
from traveltide.sources.source import ENV_URL, configured_url, redact_url

EMBEDDED_DIR = Path("data/raw/traveltide")


@dataclass(frozen=True)
class Source:
    """A resolved source: an SQLAlchemy URL, or the embedded Parquet folder."""

    url: str | None
    embedded_dir: Path = EMBEDDED_DIR

    @property
    def is_embedded(self) -> bool:
        return self.url is None

    @property
    def label(self) -> str:
        """Where the data comes from, safe to print: never a password."""
        return (
            f"embedded DuckDB over {self.embedded_dir}"
            if self.url is None
            else redact_url(self.url)
        )


def resolve_source(env: dict[str, str] | None = None) -> Source:
    """The source the pipeline reads: `TRAVELTIDE_DB_URL` when set and non-empty, else embedded."""
    return Source(url=configured_url(os.environ if env is None else env))


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
            "run `dvc repro generate` or set TRAVELTIDE_DB_URL"
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
        raise ConfigError(f"{ENV_URL}: cannot use {source.label}: {type(exc).__name__}") from exc
