"""Open the engine params.yaml's `engine` block names, for the length of a stage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from traveltide.config import EngineConfig
from traveltide.engines.base import Engine
from traveltide.engines.duck import DuckDBEngine
from traveltide.engines.spark import SparkEngine


@contextmanager
def open_engine(config: EngineConfig) -> Iterator[Engine]:
    """DuckDB (`engine.name: duckdb`) or a Spark session (`spark`), closed on the way out."""
    engine: Engine = SparkEngine(config.spark) if config.name == "spark" else DuckDBEngine()
    try:
        yield engine
    finally:
        engine.close()
