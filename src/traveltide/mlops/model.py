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
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
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


class RequestError(MlflowException):
    """A request the model refuses, answered with the model's own one-line message.

    MLflow's scoring server answers an MlflowException from `predict` with status 400 and its
    message, after rewriting it to `Failed to predict data '<the request as a table>'. Error:
    <message>`: for a table of some 60 features, thousands of characters before the reason.
    The message is set once here, and the server's rewrite leaves it as it was.
    """

    _text = ""

    @property
    def message(self) -> str:
        return self._text

    @message.setter
    def message(self, value: str) -> None:
        if not self._text:
            self._text = value


class SegmenterModel(PythonModel):
    """The pickled `Segmenter` as an MLflow pyfunc model: user_id (when given), cluster, the
    cluster's name, perk.

    The pickle travels as an artifact, byte for byte the DVC output of the cluster stage; its
    classes (and this one) come from the traveltide copy logged with the model.
    """

    def load_context(self, context: Any) -> None:
        self.segmenter = load_segmenter(context.artifacts[SEGMENTER_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        try:
            return score(self.segmenter, model_input, source="request")
        except DataError as exc:  # MLflow's server answers 400 with the message of these only
            raise RequestError(str(exc), error_code=INVALID_PARAMETER_VALUE) from exc


def model_signature(features: Sequence[str]) -> Any:
    """Feature columns in (double), user_id / cluster / cluster_name / perk out.

    Every input column is marked optional, `user_id` because scoring needs none, the features
    so that MLflow's schema check lets a request without one through to `predict`, which
    refuses it in one line naming the column (`RequestError`); MLflow's own refusal lists
    the whole schema and the request first.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    user_id = ColSpec("long", "user_id", required=False)
    features_in = (ColSpec("double", name, required=False) for name in features)
    outputs = [user_id, ColSpec("long", "cluster"), ColSpec("string", "cluster_name")]
    return ModelSignature(
        inputs=Schema([user_id, *features_in]),
        outputs=Schema([*outputs, ColSpec("string", "perk")]),
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


def registered_name(model_uri: str) -> str | None:
    """The registered model a `models:/<name>/<version or alias>` URI names; None for a logged
    model's `models:/<model id>`."""
    parts = model_uri.removeprefix("models:/").split("/")
    return parts[0] if model_uri.startswith("models:/") and len(parts) == 2 else None


def _check_registered(client: Any, model_uri: str, target: TrackingTarget) -> None:
    """A registry URI whose model was never registered: say how to register it."""
    name = registered_name(model_uri)
    if name is None:
        return
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        option = "" if name == REGISTERED_MODEL else f" --name {name}"
        raise TrackingError(
            f"{model_uri}: no model is registered as {name!r} in {target.label}; run "
            f"`traveltide register{option}` first (it registers the workspace's model)"
        ) from exc


def load_logged_segmenter(target: TrackingTarget, model_uri: str) -> Any:
    """The `Segmenter` inside a logged or registered model (`models:/traveltide-segmenter/1`)."""
    with open_store(target) as client:
        _check_registered(client, model_uri, target)
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
