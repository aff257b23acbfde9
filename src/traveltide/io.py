"""Atomic, deterministic file output: a failed or killed stage never leaves a half-written file.

Every writer goes to a temporary file in the target's folder and renames it over the target
(an atomic operation on POSIX), so readers see the old file or the new one, never a mix.

JSON and CSV outputs carry floats to `SIGNIFICANT_DIGITS`. Past that, a score computed
through BLAS (silhouette, Davies-Bouldin, an SVD) depends on the CPU: OpenBLAS sums in
another order on AVX-512, AVX2 and older kernels, and the last bit or two differ. Rounding
in decimal is exact and the same everywhere, so the files are byte-identical across machines
(unless a value falls within a few units in the last place of a rounding boundary).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traveltide.errors import DataError

if TYPE_CHECKING:  # pandas is imported where a frame is read: the source stage never needs it
    import pandas as pd
    import pyarrow as pa


SIGNIFICANT_DIGITS = 10

_UMASK = os.umask(0)
os.umask(_UMASK)


# Fault injection for the crash test (tests/integration/test_bad_environment.py): the process kills
# itself with SIGKILL after writing the temporary file of the named target, before the rename.
KILL_IN_WRITE = "TRAVELTIDE_FAULT_KILL_IN_WRITE"


def _remove_stale_temporaries(target: Path) -> None:
    """Temporaries a killed writer left beside `target` (SIGKILL skips every cleanup)."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if os.environ.get(KILL_IN_WRITE) == target.name:
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _write(target: str | Path, writer: Callable[[Path], object]) -> None:
    with atomic_path(target) as tmp:
        writer(tmp)


def write_parquet(df: pd.DataFrame, target: str | Path) -> None:
    """Parquet without the index: byte-identical for identical frames."""
    _write(target, lambda p: df.to_parquet(p, index=False, compression="zstd"))


def round_float(value: float) -> float:
    """`value` to `SIGNIFICANT_DIGITS` significant digits (decimal, correctly rounded)."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def rounded_floats(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with every float column's values passed through `round_float`; missing stays missing."""
    floats = [c for c in df.columns if df[c].dtype.kind == "f"]
    if not floats:
        return df
    out = df.copy(deep=False)
    for c in floats:
        out[c] = df[c].map(round_float, na_action="ignore")  # NaN and pd.NA stay missing
    return out


def write_csv(df: pd.DataFrame, target: str | Path) -> None:
    """CSV without the index, floats to `SIGNIFICANT_DIGITS`, Unix line ends."""
    table = rounded_floats(df)
    _write(target, lambda p: table.to_csv(p, index=False, lineterminator="\n"))


def write_text(text: str, target: str | Path) -> None:
    _write(target, lambda p: p.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, target: str | Path) -> None:
    _write(target, lambda p: p.write_bytes(data))


def json_safe(value: Any) -> Any:
    """Plain JSON from numpy scalars, tuples and floats (rounded; NaN and inf become null)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        return round_float(value) if math.isfinite(value) else None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def to_json(obj: Any) -> str:
    """Stable JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(json_safe(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(obj: Any, target: str | Path) -> None:
    write_text(to_json(obj), target)


def read_parquet(path: str | Path, *, what: str) -> pd.DataFrame:
    """Read an upstream output; a missing file names the stage that should have made it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing input ({what}); run `dvc repro` to rebuild it")
    import pandas as pd

    return pd.read_parquet(path)


def read_csv(path: str | Path, *, what: str) -> pd.DataFrame:
    """Read an upstream CSV output; a missing file names the stage that should have made it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing input ({what}); run `dvc repro` to rebuild it")
    import pandas as pd

    return pd.read_csv(path)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing input; run `dvc repro` to rebuild it")
    return json.loads(path.read_text(encoding="utf-8"))


def row_groups(
    batches: Iterable[pa.RecordBatch], size: int, schema: pa.Schema | None = None
) -> Iterator[pa.Table]:
    """Record batches of any size regrouped into tables of exactly `size` rows (the last one
    shorter), as Parquet row groups are written: a file's bytes then do not depend on how a
    reader cut its batches. `schema` (a reader's) when the batches may be empty."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += batch.num_rows
        while held >= size:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, size)
            pending = table.slice(size).to_batches()
            held -= size
    if held:
        yield pa.Table.from_batches(pending, schema)
