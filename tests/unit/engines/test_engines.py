"""The engine layer without starting Spark: params, the checks before Spark starts, the SQL
translation, DuckDB's writes, and that the DuckDB path never imports Spark or pandas."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from traveltide.config import EngineConfig
from traveltide.engines.base import column_kind
from traveltide.engines.dialect import to_spark
from traveltide.engines.duck import DuckDBEngine
from traveltide.engines.errors import EngineError
from traveltide.engines.spark import (
    SparkEngine,
    check_java,
    check_reachable,
    java_version,
    master_endpoints,
)
from traveltide.errors import ConfigError
from traveltide.params import read_params

ROOT = Path(__file__).resolve().parents[3]


def engine_block(**spark) -> dict:
    return {"engine": {"name": "spark", "spark": {"master": "local[2]", "conf": {}, **spark}}}


def test_default_is_duckdb_and_the_repository_params_read():
    config = EngineConfig.from_params(read_params(ROOT / "params.yaml"))
    assert config.name == "duckdb" and config.spark.master == "local[2]"


@pytest.mark.parametrize(
    "master",
    ["local", "local[2]", "local[*]", "local[4,2]", "spark://a:7077,b:7077", "yarn",
     "sc://spark.example:15002", "sc://h/;use_ssl=true", "k8s://https://h:443"],
)  # fmt: skip
def test_masters_spark_takes(master):
    assert EngineConfig.from_params(engine_block(master=master)).spark.master == master


@pytest.mark.parametrize(
    ("spark", "message"),
    [
        ({"master": "local[two]"}, "engine.spark.master must be local"),
        ({"master": "sc://h:15002/;token=abc"}, "must not carry a token"),
        ({"master": "http://h"}, "engine.spark.master must be local"),
        ({"conf": {"driver.memory": "2g"}}, r"engine.spark.conf.driver.memory is not a Spark"),
        ({"conf": {"spark.x": [1]}}, r"engine.spark.conf.spark.x must be a string"),
        ({"mastr": "local"}, "unknown key engine.spark.mastr"),
    ],
)
def test_bad_spark_params_name_the_key(spark, message):
    with pytest.raises(ConfigError, match=message):
        EngineConfig.from_params(engine_block(**spark))


def test_spark_conf_values_become_strings():
    conf = EngineConfig.from_params(engine_block(conf={"spark.a": True, "spark.b": 4})).spark.conf
    assert conf == {"spark.a": "true", "spark.b": "4"}


def test_master_endpoints_and_java_versions():
    assert master_endpoints("sc://h") == [("h", 15002)]
    assert master_endpoints("spark://a:1,b") == [("a", 1), ("b", 7077)]
    assert master_endpoints("yarn") == [] and master_endpoints("k8s://https://h:443") == []
    assert java_version('openjdk version "17.0.15" 2025-04-15') == 17
    assert java_version('java version "1.8.0_412"') == 8
    assert java_version('openjdk version "21" 2023-09-19') == 21
    assert java_version("no java here") is None


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed once the socket is: nothing listens there


def test_an_unreachable_master_is_one_line_before_spark_starts():
    port = closed_port()
    with pytest.raises(EngineError) as err:
        check_reachable(f"sc://127.0.0.1:{port}")
    assert str(err.value) == (
        f"spark: engine.spark.master sc://127.0.0.1:{port}: "
        f"cannot connect to 127.0.0.1:{port} (Connection refused)"
    )
    with pytest.raises(EngineError, match="cannot connect"):
        SparkEngine(EngineConfig.from_params(engine_block(master=f"sc://127.0.0.1:{port}")).spark)
    check_reachable("local[2]")  # nothing to reach


def test_a_missing_or_old_java_is_one_line(tmp_path):
    with pytest.raises(EngineError, match=r"^spark: no Java found on PATH: Spark needs Java 17"):
        check_java({"PATH": str(tmp_path)})
    with pytest.raises(EngineError, match=r"no Java found on JAVA_HOME=/nowhere"):
        check_java({"JAVA_HOME": "/nowhere", "PATH": ""})
    old = tmp_path / "bin" / "java"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'java version \"1.8.0_412\"' >&2\n")
    old.chmod(0o755)
    with pytest.raises(EngineError, match=r"is Java 8: Spark needs Java 17 or later"):
        check_java({"JAVA_HOME": str(tmp_path)})


def test_sql_translation_to_spark():
    assert to_spark("SELECT epoch_us(t) // 86400000000 FROM s") == (
        "SELECT UNIX_MICROS(t) DIV 86400000000 FROM s"
    )
    assert to_spark("SELECT quantile_cont(x, 0.99e0) FROM s") == (
        "SELECT PERCENTILE(x, 0.99e0) FROM s"
    )
    assert "NULLS LAST" in to_spark("SELECT * FROM s ORDER BY a")  # DuckDB's default order


@pytest.mark.parametrize(
    ("name", "kind"),
    [("BIGINT", "int"), ("timestamp_ntz", "timestamp"), ("DECIMAL(18,3)", "float"),
     ("VARCHAR", "string"), ("boolean", "bool"), ("DATE", "date"), ("STRUCT(a INT)", "other")],
)  # fmt: skip
def test_column_kinds(name, kind):
    assert column_kind(name) == kind


def test_duckdb_writes_the_same_bytes_whatever_the_threads_and_row_order(tmp_path):
    engine = DuckDBEngine()
    engine.view(
        "t",
        "SELECT i % 997 AS user_id, (i * 7919) % 1000003 / 7.0 AS x, 'u' || i AS s "
        "FROM range(300000) r(i)",
    )
    digests = set()
    for threads, order in ((1, "i"), (2, "x DESC"), (4, "s")):
        engine.rows(f"SET threads = {threads}")
        source = f"(SELECT * FROM t ORDER BY {order.replace('i', 'user_id')})"
        target = tmp_path / f"{threads}.parquet"
        sql = f"SELECT user_id, sum(x) AS x FROM (SELECT * FROM {source} ORDER BY user_id, s) o"
        engine.write(f"{sql} GROUP BY user_id ORDER BY user_id", target, serial=True)
        digests.add(hashlib.sha256(target.read_bytes()).hexdigest())
    engine.close()
    assert len(digests) == 1


def test_a_failing_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.parquet"
    target.write_bytes(b"old")
    engine = DuckDBEngine()
    with pytest.raises(EngineError, match=r"^duckdb: writing .*out.parquet: .*Error"):
        engine.write("SELECT CAST('x' AS INTEGER) AS a", target)

    def refuse(view: str) -> None:
        raise EngineError("refused")

    with pytest.raises(EngineError, match="refused"):
        engine.write("SELECT 1 AS a", target, check=refuse)
    engine.close()
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_the_duckdb_path_imports_neither_spark_nor_pandas(tmp_path):
    """Every stage is a fresh Python: the default engine's clean and features load no Spark,
    sqlglot or pandas (about a second of start-up each)."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from traveltide.config import CleanConfig, EngineConfig, FeaturesConfig
        from traveltide.engines.session import open_engine
        from traveltide.features.build import features_file
        from traveltide.features.clean import clean_file
        cohort = Path(sys.argv[1])
        with open_engine(EngineConfig()) as engine:
            clean_file(engine, cohort, cohort.with_name("s.parquet"), CleanConfig())
            features_file(
                engine, cohort.with_name("s.parquet"), cohort.with_name("f.parquet"),
                FeaturesConfig(),
            )
        print(sorted(m for m in ("pyspark", "py4j", "sqlglot", "pandas") if m in sys.modules))
        """
    )
    from feature_cases import cohort_frame, tiny_rows
    from traveltide.io import write_parquet

    write_parquet(cohort_frame(tiny_rows()), tmp_path / "cohort.parquet")
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cohort.parquet")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "f.parquet").exists()


def test_duckdb_writes_several_queries_as_one_file_of_their_rows_in_turn(tmp_path):
    """The feature table is written range by range: the bytes of the one query it replaces."""
    engine = DuckDBEngine()
    engine.view("t", "SELECT i AS user_id, i * 0.5 AS x FROM range(250000) r(i)")
    whole, parts = tmp_path / "whole.parquet", tmp_path / "parts.parquet"
    engine.write("SELECT * FROM t ORDER BY user_id", whole)
    ranges = [(0, 99_999), (100_000, 100_000), (100_001, 249_999)]
    engine.write(
        [f"SELECT * FROM t WHERE user_id BETWEEN {a} AND {b} ORDER BY user_id" for a, b in ranges],
        parts,
    )
    engine.close()
    assert parts.read_bytes() == whole.read_bytes()
