"""Spark Connect (`engine.spark.master: sc://host:port`): the engine's calls through a Connect
server, and clean's table equal to DuckDB's.

The server is a local Spark with Connect's plugin, in a process of its own on a loopback port:
the stage's engine is then a thin gRPC client, as with a real cluster's Connect endpoint.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from feature_cases import cohort_frame, tiny_rows
from traveltide.config import CleanConfig, SparkConfig
from traveltide.engines.duck import DuckDBEngine
from traveltide.features.clean import clean_file
from traveltide.io import json_safe, write_parquet

pytestmark = pytest.mark.integration

SERVER = textwrap.dedent(
    """
    import sys, time
    from pyspark.sql import SparkSession
    (SparkSession.builder.master("local[2]")
        .config("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
        .config("spark.connect.grpc.binding.address", "127.0.0.1")
        .config("spark.connect.grpc.binding.port", sys.argv[1])
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", sys.argv[2])
        .getOrCreate())
    print("ready", flush=True)
    time.sleep(600)  # the fixture ends it
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The address of a Spark Connect server on this machine, stopped after the module."""
    folder = tmp_path_factory.mktemp("connect")
    port = free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(folder / "warehouse")],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        start_new_session=True,  # the server and its JVM: one process group to stop
    )
    try:
        deadline = time.monotonic() + 180
        while "ready" not in (folder / "server.log").read_text():
            assert proc.poll() is None, (folder / "server.log").read_text()
            assert time.monotonic() < deadline, "the Spark Connect server did not start"
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def test_every_engine_call_through_spark_connect(server, tmp_path):
    """clean as the stage runs it (load, view, rows, write), then the calls only features makes
    (a lookup table, a cached table): the features query itself is the parity test's."""
    from traveltide.engines.spark import SparkEngine

    rows = tiny_rows()
    rows.append(dict(rows[0]))  # a repeated session, for the rule that drops it
    write_parquet(cohort_frame(rows), tmp_path / "cohort.parquet")
    spark = SparkEngine(SparkConfig(master=server, conf={}))
    duck = DuckDBEngine()
    try:
        assert spark.remote
        quality = {
            name: clean_file(
                engine, tmp_path / "cohort.parquet", tmp_path / f"{name}.parquet", CleanConfig()
            )
            for name, engine in (("spark", spark), ("duck", duck))
        }
        spark.lookup("pairs", {"k": "VARCHAR", "x": "DOUBLE"}, [("a", 0.1), ("b", 1e-300)])
        spark.table("doubled", "SELECT k, x * 2 AS y FROM pairs")
        got = spark.rows("SELECT k, y FROM doubled ORDER BY k")
    finally:
        spark.close()
        duck.close()
    assert got == [("a", 0.2), ("b", 2e-300)]
    # counts equal; caps (interpolated quantiles) to the 10 digits data_quality.json holds
    assert json_safe(asdict(quality["spark"])) == json_safe(asdict(quality["duck"]))
    assert quality["spark"].duplicate_sessions_dropped == 1
    a, b = pd.read_parquet(tmp_path / "duck.parquet"), pd.read_parquet(tmp_path / "spark.parquet")
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    for column in a.columns:
        if a[column].dtype.kind == "f":
            np.testing.assert_allclose(b[column], a[column], rtol=1e-9, equal_nan=True)
        else:
            assert a[column].equals(b[column]), column
