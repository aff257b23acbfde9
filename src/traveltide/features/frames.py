"""The stages' queries on pandas frames (notebooks, tests): the frame goes to a temporary
Parquet file, DuckDB runs the very code the stage runs, and the result comes back as a frame.

Integers and booleans come back nullable (`Int64`, `boolean`), as extract gives them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from traveltide.engines.base import Engine
from traveltide.engines.duck import DuckDBEngine
from traveltide.io import write_parquet

T = TypeVar("T")


def read_nullable(path: Path) -> pd.DataFrame:
    """A Parquet file with nullable integer and boolean columns (NULL stays NULL, not NaN)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    mapping = {
        pa.int64(): pd.Int64Dtype(),
        pa.int32(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return pq.read_table(path).to_pandas(types_mapper=mapping.get)


def run_on_frame(
    frame: pd.DataFrame, run: Callable[[Engine, Path, Path], T]
) -> tuple[pd.DataFrame, T]:
    """`run(engine, input_path, output_path)` on `frame`; the output as a frame, and its result."""
    with tempfile.TemporaryDirectory(prefix="traveltide-frame-") as folder:
        source, target = Path(folder, "in.parquet"), Path(folder, "out.parquet")
        write_parquet(frame, source)
        engine = DuckDBEngine()
        try:
            result = run(engine, source, target)
        finally:
            engine.close()
        return read_nullable(target), result
