"""Extract on Spark (`engine.name: spark`): the cohort query as a Spark job over the embedded
Parquet tables or PostgreSQL over JDBC gives the very cohort file DuckDB gives; a JDBC failure
is one line and replaces nothing."""

import socket

import pytest

from traveltide.config import CohortConfig, EngineConfig, SparkConfig
from traveltide.engines.errors import EngineError
from traveltide.engines.session import open_engine
from traveltide.sources.cohort_file import cohort_file
from traveltide.sources.db import Source
from traveltide.sources.pgload import load_tables
from traveltide.sources.table_inputs import database_input

pytest.importorskip("pyspark")
CONFIG = CohortConfig(min_sessions=7)
SPARK = EngineConfig(name="spark", spark=SparkConfig(master="local[2]"))


def extracted(source, folder, engine=None, config=CONFIG):
    target = folder / f"cohort-{engine.name if engine else 'duckdb'}.parquet"
    with cohort_file(source, config, target, engine) as cohort:
        summary = cohort.summary
    return target.read_bytes(), summary


def test_spark_over_parquet_writes_duckdbs_cohort_file(embedded_source, tmp_path):
    on_duckdb, summary = extracted(embedded_source, tmp_path)
    on_spark, spark_summary = extracted(embedded_source, tmp_path, SPARK)
    assert summary.users > 50
    assert on_spark == on_duckdb
    assert spark_summary == summary


def test_spark_over_jdbc_writes_duckdbs_cohort_file(
    postgres, pg_schema, small_db, embedded_source, tmp_path
):
    load_tables(postgres, database_input(small_db), schema=pg_schema, progress=False)
    on_duckdb, summary = extracted(embedded_source, tmp_path)
    with open_engine(SPARK):  # a session without the driver first: the JDBC one needs its own JVM
        pass
    on_jdbc, jdbc_summary = extracted(Source(url=postgres, schema=pg_schema), tmp_path, SPARK)
    assert on_jdbc == on_duckdb
    assert jdbc_summary == summary


def test_a_jdbc_failure_is_one_line_and_replaces_nothing(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = tmp_path / "cohort.parquet"
    target.write_bytes(b"the previous cohort")
    source = Source(url=f"postgresql://someone:s3cret@127.0.0.1:{port}/nowhere", schema="public")
    with pytest.raises(EngineError) as caught:
        extracted(source, tmp_path, SPARK)
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    where = f"postgresql://someone:***@127.0.0.1:{port}/nowhere (schema public)"
    assert message.startswith(f"spark: reading users over JDBC from {where}: [FAILED_JDBC.")
    assert "Couldn't connect to the database" in message
    assert "at org." not in message and "Exception:" not in message
    assert target.read_bytes() == b"the previous cohort"
