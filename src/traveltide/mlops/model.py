"""The fitted segmenter as an MLflow model: log it, register it, load it back.

The model (`SegmenterModel`) is what `mlflow models serve` serves. It carries its own copy of
the traveltide package (`code_paths`), so it loads wherever MLflow and the pinned libraries are
installed, the editable install or not.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

import traveltide
from traveltide.errors import DataError, TrackingError, first_line
from traveltide.mlops.serving import REGISTERED_MODEL, load_segmenter, score
from traveltide.mlops.store import TrackingTarget, open_store

MODEL_NAME = "segmenter"  # the logged model's name, also the run tag holding its id
SEGMENTER_ARTIFACT = "segmenter"
# What the served model imports (traveltide.segment.segmenter and its imports); pinned to this
# environment's versions so `mlflow models serve --env-manager virtualenv` rebuilds it.
MODEL_PACKAGES = ("mlflow", "cloudpickle", "numpy", "pandas", "scikit-learn", "scipy", "pyyaml")


class SegmenterModel(PythonModel):
    """The pickled `Segmenter` as an MLflow pyfunc model: user_id (when given), cluster, perk.

    The pickle travels as an artifact, byte for byte the DVC output of the cluster stage; its
    classes (and this one) come from the traveltide copy logged with the model.
    """

    def load_context(self, context: Any) -> None:
        self.segmenter = load_segmenter(context.artifacts[SEGMENTER_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        try:
            return score(self.segmenter, model_input, source="request")
        except DataError as exc:  # MLflow's server answers 400 with the message of these only
            raise MlflowException.invalid_parameter_value(str(exc)) from exc


def model_signature(features: Sequence[str]) -> Any:
    """Feature columns in (double; `user_id` optional), user_id / cluster / perk out."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    user_id = ColSpec("long", "user_id", required=False)
    return ModelSignature(
        inputs=Schema([user_id, *(ColSpec("double", name) for name in features)]),
        outputs=Schema([user_id, ColSpec("long", "cluster"), ColSpec("string", "perk")]),
    )


def model_requirements() -> list[str]:
    """`MODEL_PACKAGES` pinned to the installed versions (no slow requirement inference)."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in MODEL_PACKAGES]


@dataclass(frozen=True)
class ModelSpec:
    """The segmenter pickle to log as a model, with a few real feature rows as input example."""

    segmenter: Path
    features: tuple[str, ...]
    example: pd.DataFrame
    digest: str  # the pickle's md5 (its DVC hash)


@contextmanager
def _package_copy() -> Iterator[Path]:
    """The traveltide package in use, without bytecode, for the model's `code_paths`."""
    source = Path(traveltide.__file__).parent
    with tempfile.TemporaryDirectory(prefix="traveltide-code-") as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        yield copy


class _DropMessage(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


@contextmanager
def _quiet_model_logging() -> Iterator[None]:
    """Hide two MLflow advisories that do not apply here: type-hint signatures (the signature
    is explicit) and "models from code" (the pickled class is ours, from the logged code)."""
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    drop = _DropMessage("Passing a Python object as `python_model`")
    pyfunc_log.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hint", category=UserWarning)
            yield
    finally:
        pyfunc_log.removeFilter(drop)


def log_model(spec: ModelSpec) -> Any:
    """Log `spec` as a pyfunc model of the active run; returns MLflow's ModelInfo."""
    with _package_copy() as code, _quiet_model_logging():
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=SegmenterModel(),
            artifacts={SEGMENTER_ARTIFACT: str(spec.segmenter)},
            code_paths=[str(code)],
            signature=model_signature(spec.features),
            input_example=spec.example,
            pip_requirements=model_requirements(),
            tags={"dvc_md5": spec.digest},
        )


def register_model(target: TrackingTarget, model_uri: str, name: str = REGISTERED_MODEL) -> str:
    """Register a logged model as a new version of `name`; returns the version number."""
    with open_store(target):
        version = mlflow.register_model(model_uri, name)
    return str(version.version)


def load_logged_segmenter(target: TrackingTarget, model_uri: str) -> Any:
    """The `Segmenter` inside a logged or registered model (`models:/traveltide-segmenter/1`)."""
    with open_store(target):
        try:
            model = mlflow.pyfunc.load_model(model_uri)
        except MlflowException as exc:
            raise TrackingError(
                f"{model_uri}: cannot be loaded from {target.label}: {first_line(exc)}"
            ) from exc
    python_model = model.unwrap_python_model()
    if not isinstance(python_model, SegmenterModel):
        raise TrackingError(f"{model_uri} is not a traveltide segmenter model")
    return python_model.segmenter
