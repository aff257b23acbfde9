"""The fitted segmenter as a product: score new users from a file, the CLI or over HTTP.

The cluster stage pickles one `Segmenter` (preprocessing + K-Means + cluster-to-perk map).
Everything that scores users goes through `score` here: `traveltide score` on a file, and the
MLflow model that `mlflow models serve` serves (`traveltide.mlops.model.SegmenterModel`). Input
is checked column by column first, so a bad file or request fails with one line naming the
column, never with a scikit-learn traceback. No MLflow here: the CLI stays quick to start.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from traveltide.errors import DataError, first_line

if TYPE_CHECKING:
    import pandas as pd

    from traveltide.segment.segmenter import Segmenter

ID_COLUMN = "user_id"
REGISTERED_MODEL = "traveltide-segmenter"  # the name in MLflow's model registry
OUTPUT_COLUMNS = ("cluster", "cluster_name", "perk")
READERS = {".parquet": "Parquet", ".csv": "CSV"}
MAX_NAMED = 5  # missing columns named in an error message


def load_segmenter(path: str | Path) -> Segmenter:
    """The pickled segmenter the cluster stage wrote (a file this project made: trusted)."""
    from traveltide.segment.segmenter import Segmenter

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no fitted segmenter; run `dvc repro cluster`")
    try:
        segmenter = pickle.loads(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - any unpickling failure: not a segmenter file
        raise DataError(f"{path}: not a pickled segmenter: {first_line(exc)}") from exc
    if not isinstance(segmenter, Segmenter):
        raise DataError(f"{path}: holds a {type(segmenter).__name__}, not a Segmenter")
    return segmenter


def read_table(path: str | Path) -> pd.DataFrame:
    """A user table from Parquet or CSV (by extension); unreadable files are one DataError."""
    import pandas as pd

    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported format; use .parquet or .csv")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        return pd.read_parquet(path) if kind == "Parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow and the CSV parser raise many types
        raise DataError(f"{path}: cannot be read as {kind}: {first_line(exc)}") from exc


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Scores to Parquet or CSV (by extension), atomically."""
    from traveltide.io import write_csv, write_parquet

    path = Path(path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported output format; use .parquet or .csv")
    (write_parquet if kind == "Parquet" else write_csv)(table, path)


def feature_matrix(table: pd.DataFrame, features: list[str], *, source: str) -> pd.DataFrame:
    """The feature columns as float64, or a DataError naming `source`, the column and the row.

    Rows are numbered from 1 in the order given. Missing or infinite values are refused
    rather than guessed: the features stage never produces them, so their presence means the
    input was not built the way the model's training data was.
    """
    import numpy as np
    import pandas as pd

    if len(table) == 0:
        raise DataError(f"{source}: no rows to score")
    missing = [f for f in features if f not in table.columns]
    if missing:
        shown = ", ".join(missing[:MAX_NAMED]) + (", ..." if len(missing) > MAX_NAMED else "")
        raise DataError(f"{source}: missing {len(missing)} feature column(s): {shown}")
    out = {}
    for name in features:
        column = table[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = column.astype("float64")
        else:
            values = pd.to_numeric(column, errors="coerce").astype("float64")
            bad = values.isna() & column.notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{source}: column {name} is not numeric: {column.iloc[row]!r} in row {row + 1}"
                )
        invalid = ~np.isfinite(values.to_numpy())
        if invalid.any():
            row = int(np.flatnonzero(invalid)[0])
            what = "missing" if pd.isna(values.iloc[row]) else "infinite"
            raise DataError(
                f"{source}: column {name} has {int(invalid.sum())} missing or infinite "
                f"value(s), the first {what} in row {row + 1}"
            )
        out[name] = values.to_numpy()
    return pd.DataFrame(out, index=table.index)


def score(segmenter: Segmenter, table: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
    """Cluster, its name and perk per row of `table`, in order (`OUTPUT_COLUMNS`); `user_id`
    first when the input has it."""
    X = feature_matrix(table, list(segmenter.features), source=source)
    scored = segmenter.predict(X).reset_index(drop=True)
    names = scored["cluster"].map(segmenter.names).fillna("").astype(str)
    scored.insert(1, "cluster_name", names.to_numpy(dtype=object))
    if ID_COLUMN in table.columns:
        scored.insert(0, ID_COLUMN, table[ID_COLUMN].to_numpy())
    return scored
