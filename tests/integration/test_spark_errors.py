"""Bad input on the Spark path: the stage scripts end with the same kind of one-line error as on
DuckDB, print no Java stack trace, and leave the previous outputs as they were.

Each case runs a stage script as DVC would (a fresh Python, params.yaml in the working folder).
The unreachable master and the missing Java are caught before any JVM starts; the failing job
(a Parquet file whose data pages are corrupt) starts Spark and fails inside a task.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from feature_cases import cohort_frame, tiny_rows
from traveltide.io import write_parquet

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PATHS = {
    "clean": ("cohort", "sessions", "metrics"),
    "features": ("sessions", "features", "catalog", "metrics"),
}


def workspace(folder: Path, master: str = "local[2]", name: str = "spark") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    spark = {"master": master, "conf": {"spark.driver.memory": "1g"}}
    params["engine"] = {"name": name, "spark": spark}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_parquet(cohort_frame(tiny_rows()), folder / "cohort.parquet")
    for name in ("sessions.parquet", "features.parquet", "catalog.csv", "metrics.json"):
        (folder / name).write_text("previous output\n")  # what a failed run must leave alone
    return folder


def run_stage(folder: Path, stage: str, env: dict[str, str] | None = None):
    files = {"cohort": "cohort.parquet", "sessions": "sessions.parquet", "metrics": "metrics.json",
             "features": "features.parquet", "catalog": "catalog.csv"}  # fmt: skip
    cmd = [sys.executable, str(ROOT / "stages" / f"{stage}.py")]
    for option in PATHS[stage]:
        cmd += [f"--{option}", str(folder / files[option])]
    return subprocess.run(
        cmd, cwd=folder, capture_output=True, text=True, timeout=300, env=env or os.environ.copy()
    )


def error_line(proc, stage: str) -> str:
    """The stage failed with exactly one line that is not logging, and no Java or Python trace."""
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("INFO ")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "\tat " not in proc.stderr
    assert "org.apache" not in proc.stderr and "Exception" not in proc.stderr  # no Java names
    assert lines[0].startswith(f"error: {stage}: ")
    return lines[0]


def untouched(folder: Path) -> bool:
    outputs = ("sessions.parquet", "features.parquet", "catalog.csv", "metrics.json")
    left = sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
    return left == [] and all(
        (folder / name).read_text() == "previous output\n" for name in outputs
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["sc", "spark"])
def test_an_unreachable_master(tmp_path, kind):
    port = closed_port()
    folder = workspace(tmp_path, master=f"{kind}://127.0.0.1:{port}")
    line = error_line(run_stage(folder, "clean"), "clean")
    assert line == (
        f"error: clean: spark: engine.spark.master {kind}://127.0.0.1:{port}: "
        f"cannot connect to 127.0.0.1:{port} (Connection refused)"
    )
    assert untouched(folder)


def test_no_java(tmp_path):
    folder = workspace(tmp_path)
    bin_dir = tmp_path / "bin"  # a PATH with Python but no java
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(bin_dir)
    line = error_line(run_stage(folder, "features", env), "features")
    assert line.startswith("error: features: spark: no Java found on PATH: Spark needs Java 17")
    assert untouched(folder)


def corrupt(path: Path) -> None:
    """Overwrite the middle of a Parquet file's data, keeping its footer (the schema reads)."""
    size = path.stat().st_size
    footer = pq.ParquetFile(path).metadata.serialized_size + 8
    data = bytearray(path.read_bytes())
    for i in range(4, size - footer - 4):
        data[i] = 0xFF
    path.write_bytes(bytes(data))


def test_a_failing_job_on_spark_and_on_duckdb(tmp_path):
    spark = workspace(tmp_path / "spark")
    duck = workspace(tmp_path / "duck", name="duckdb")
    for folder in (spark, duck):
        corrupt(folder / "cohort.parquet")
    line = error_line(run_stage(spark, "clean"), "clean")
    assert line.startswith("error: clean: spark: ") and str(spark / "cohort.parquet") in line
    assert "FAILED_READ_FILE" in line  # Spark's error class says what went wrong
    assert "Spark's log: " in line  # the JVM's trace is there, not on the terminal
    assert untouched(spark)
    line = error_line(run_stage(duck, "clean"), "clean")
    assert line.startswith("error: clean: duckdb: ") and str(duck / "cohort.parquet") in line
    assert untouched(duck)


def test_a_good_run_prints_nothing_of_spark(tmp_path):
    """A successful Spark stage says no more on the terminal than a DuckDB one: logging only."""
    folder = workspace(tmp_path)
    proc = run_stage(folder, "clean")
    assert proc.returncode == 0, proc.stderr
    noise = [line for line in proc.stderr.splitlines() if not line.startswith("INFO ")]
    assert noise == [] and proc.stdout == ""
    assert pq.read_table(folder / "sessions.parquet").num_rows == len(tiny_rows())
    made = {p.name for p in folder.iterdir()}  # the repository is the stage's working folder
    assert not made & {"spark-warehouse", "derby.log", "metastore_db", ".tmp"}
