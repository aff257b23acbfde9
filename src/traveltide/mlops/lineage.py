"""Dataset lineage: the tables a run used, as MLflow datasets whose digests are their DVC md5s."""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import yaml
from mlflow.data.pandas_dataset import from_pandas

from traveltide.errors import DataError, first_line

# libyaml's loader where PyYAML was built with it: several times faster on a large dvc.lock
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SCHEMA_ROWS = 1000  # rows MLflow infers a dataset's column types from

log = logging.getLogger(__name__)


def file_md5(path: Path) -> str:
    """The md5 of the file's bytes, or "missing"."""
    return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else "missing"


def dvc_out_hashes(lock: Path) -> dict[str, str]:
    """{output path: md5} of every stage output recorded in `lock` (dvc.lock); {} without it."""
    if not lock.exists():
        return {}
    try:
        text = lock.read_text(encoding="utf-8")
        stages = (yaml.load(text, Loader=SAFE_LOADER) or {}).get("stages", {})
    except yaml.YAMLError as exc:
        raise DataError(f"{lock}: not valid YAML: {first_line(exc)}") from exc
    return {
        Path(out["path"]).as_posix(): str(out["md5"])
        for stage in stages.values()
        for out in stage.get("outs", [])
        if "path" in out and "md5" in out
    }


def dvc_digest(path: Path, hashes: Mapping[str, str]) -> str:
    """The md5 DVC records for the file `path`: DVC 3 hashes a file's bytes with plain md5, so
    it is the file's md5, checked against dvc.lock's entry (a mismatch means a stale lock: it
    is logged, and the file's own md5 is what the run used)."""
    actual = file_md5(path)
    recorded = hashes.get(path.as_posix())
    if recorded is not None and recorded != actual:
        log.warning("%s: dvc.lock records md5 %s, the file has %s", path, recorded, actual)
    return actual


@dataclass(frozen=True)
class DatasetSpec:
    """A table the run used, logged as an MLflow dataset named `name` in `context`."""

    name: str
    path: Path
    context: str
    digest: str


def log_dataset(spec: DatasetSpec) -> None:
    """Log the Parquet table of `spec` as an input of the active run."""
    if not spec.path.exists():
        raise DataError(f"{spec.path}: missing input; run `dvc repro` to rebuild it")
    frame = pd.read_parquet(spec.path)
    with warnings.catch_warnings():
        # MLflow registers its local-file source class twice and says so on every dataset,
        # and hints that integer columns cannot hold NaN: true, and no concern for a record.
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer")
        dataset = from_pandas(
            frame, source=spec.path.as_posix(), name=spec.name, digest=spec.digest
        )
        # MLflow infers the schema value by value, slow on the whole cohort; the first rows give
        # the same column types. `schema` is a cached property, so seed its cache.
        from mlflow.models import infer_signature

        dataset.__dict__["schema"] = infer_signature(frame.head(SCHEMA_ROWS)).inputs
        mlflow.log_input(dataset, context=spec.context)
