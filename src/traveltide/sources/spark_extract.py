"""Extract on Spark (`engine.name: spark`): the cohort query as a Spark job, over the embedded
Parquet tables or over PostgreSQL's tables read through JDBC.

The query is `extract.cohort_sql` in its plain-join form (Spark plans its own joins), its two
values as literals, in Spark's dialect (`engines.dialect`). Spark writes the answer as one
Parquet file in a private temporary folder; `cohort_file` then streams it through the same
normalisation, checks and writer as DuckDB's answer, so the cohort file is the same whichever
engine ran the query (tested at small scale). Spark's failures (an unreachable database, a
refused login, a missing table) are one line, as everywhere on the Spark path.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.engine import make_url

from traveltide.config import CohortConfig, EngineConfig
from traveltide.engines.errors import EngineError
from traveltide.engines.session import open_engine
from traveltide.errors import ConfigError
from traveltide.schema import TABLES
from traveltide.sources.db import Source

JDBC_JAR = Path("/usr/share/java/postgresql.jar")  # Debian's libpostgresql-jdbc-java
JDBC_DRIVER = "org.postgresql.Driver"
BATCH = 1_048_576


def cohort_spark_sql(config: CohortConfig) -> str:
    """The cohort query with plain joins and its values as literals (DuckDB's dialect)."""
    from traveltide.sources.extract import cohort_sql

    start = dt.datetime.combine(config.session_start_after, dt.time())
    text = str(cohort_sql(()))
    text = text.replace(":start_after", f"TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}'")
    return text.replace(":min_sessions", str(int(config.min_sessions)))


def jdbc_options(url: str, schema: str | None, env: dict[str, str] | None = None) -> dict[str, str]:
    """Spark's JDBC options for a PostgreSQL URL: host, port and database as a JDBC URL, the
    user, the password from the URL or PGPASSWORD, the schema as `currentSchema`.

    >>> jdbc_options("postgresql://me@db.example:5433/tt", "public", env={})["url"]
    'jdbc:postgresql://db.example:5433/tt?currentSchema=public'
    """
    env = dict(os.environ) if env is None else env
    parsed = make_url(url)
    if not parsed.host and not env.get("PGHOST"):
        raise ConfigError(
            "engine.name spark reads PostgreSQL over JDBC: source.url needs a host "
            "(a service file or a socket path is for libpq only)"
        )
    host = parsed.host or env.get("PGHOST", "localhost")
    port = parsed.port or int(env.get("PGPORT", "5432"))
    database = parsed.database or env.get("PGDATABASE", "")
    jdbc = f"jdbc:postgresql://{host}:{port}/{database}"
    if schema:
        jdbc += f"?currentSchema={schema}"
    options = {"url": jdbc, "driver": JDBC_DRIVER}
    user = parsed.username or env.get("PGUSER")
    password = parsed.password or env.get("PGPASSWORD")
    if user:
        options["user"] = user
    if password:
        options["password"] = password
    return options


def spark_config(config: EngineConfig) -> EngineConfig:
    """`config` with PostgreSQL's JDBC driver on Spark's class path (unless conf has spark.jars)."""
    conf = dict(config.spark.conf)
    if "spark.jars" not in conf and JDBC_JAR.exists():
        conf["spark.jars"] = str(JDBC_JAR)
    return replace(config, spark=replace(config.spark, conf=conf))


def _load_tables(engine: object, source: Source) -> None:
    """The four tables as Spark views: the embedded Parquet files, or JDBC reads."""
    if source.url is None:
        for table in TABLES:
            path = source.embedded_dir / f"{table}.parquet"
            engine.load(table, path, what="generate's database")  # type: ignore[attr-defined]
        return
    options = jdbc_options(source.url, source.schema)
    session = engine.session  # type: ignore[attr-defined]
    for table in TABLES:
        doing = f"reading {table} over JDBC from {source.label}"

        def read(table: str = table) -> None:
            frame = session.read.format("jdbc").options(**options, dbtable=table).load()
            frame.createOrReplaceTempView(table)

        engine._call(read, doing)  # type: ignore[attr-defined]


@contextmanager
def spark_batches(
    config: EngineConfig, source: Source, cohort: CohortConfig, folder: Path
) -> Iterator[pa.RecordBatchReader]:
    """The cohort query's rows, run on Spark, as a stream of Arrow batches. Spark's answer is
    a file in `folder` (the cohort's: on a cluster, storage the executors share), deleted when
    the block ends; the session stops before the stream starts."""
    if config.spark.master.startswith("sc://") and source.url is not None:
        raise EngineError("spark: JDBC reads need a local or cluster master, not Spark Connect")
    answer = Path(folder, f".cohort-spark-{uuid.uuid4().hex[:8]}.parquet")
    try:
        with open_engine(spark_config(config)) as engine:
            _load_tables(engine, source)
            engine._call(  # type: ignore[attr-defined]
                lambda: engine.session.conf.set(  # type: ignore[attr-defined]
                    "spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS"
                ),
                "setting the timestamp type",
            )
            engine.write(cohort_spark_sql(cohort), answer)
        file = pq.ParquetFile(answer)
        yield pa.RecordBatchReader.from_batches(
            file.schema_arrow, file.iter_batches(batch_size=BATCH)
        )
    finally:
        answer.unlink(missing_ok=True)
