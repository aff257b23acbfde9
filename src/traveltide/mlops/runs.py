"""Reading tracked runs back: the run of a pipeline state, one run by name, its model, and a
sweep's runs side by side; and logging a state once (`track_once`, the track stage's work)."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException

from traveltide.config import TrackConfig
from traveltide.errors import TrackingError, first_line
from traveltide.mlops.model import MODEL_NAME
from traveltide.mlops.pipeline_state import PipelineOutputs, track_pipeline_state
from traveltide.mlops.state import LOCK_TAG, RunFile, workspace_digest
from traveltide.mlops.store import TrackingTarget, open_store, resolve_target
from traveltide.mlops.ui import run_link

log = logging.getLogger(__name__)
FINISHED = "FINISHED"
PARENT_TAG = "mlflow.parentRunId"
DEFAULT_RUN_METRICS = (
    "cluster/silhouette",
    "cluster/calinski_harabasz",
    "cluster/davies_bouldin",
    "cluster/stability",
    "compare/ari",
    "compare/nmi",
    "ab_test/B_vs_C_decision_effect",
    "ab_test/B_vs_C_decision_p_adj",
)
VERDICT_TAG = "ab_test.verdict_winner"


def run_model_uri(target: TrackingTarget, run_id: str) -> str:
    """`models:/<id>` of the segmenter logged by run `run_id` (its `segmenter` tag)."""
    with open_store(target) as client:
        try:
            run = client.get_run(run_id)
        except MlflowException as exc:
            raise TrackingError(f"run {run_id} not in {target.label}: {first_line(exc)}") from exc
    model_id = run.data.tags.get(MODEL_NAME)
    if not model_id:
        raise TrackingError(f"run {run_id} logged no {MODEL_NAME} model")
    return f"models:/{model_id}"


def find_run(target: TrackingTarget, experiment: str, run_name: str) -> str:
    """Id of the latest top-level run named `run_name` (a DVC experiment's name)."""
    if "'" in run_name:
        raise TrackingError(f"no run named {run_name!r}")
    with open_store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        runs = (
            client.search_runs(
                [exp.experiment_id],
                filter_string=f"attributes.run_name = '{run_name}'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            if exp is not None
            else []
        )
    if not runs:
        raise TrackingError(f"no run named {run_name!r} in experiment {experiment!r}")
    return runs[0].info.run_id


def state_runs(client: Any, experiment_id: str, digest: str) -> list[Any]:
    """The top-level runs tagged with the pipeline state `digest`, newest first, whatever their
    status."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{LOCK_TAG} = '{digest}'",
        order_by=["attributes.start_time DESC"],
    )
    return [r for r in runs if PARENT_TAG not in r.data.tags]


def find_state_run(target: TrackingTarget, experiment: str, digest: str) -> str:
    """Id of the latest finished run of the pipeline state `digest` that logged a model."""
    with open_store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        runs = state_runs(client, exp.experiment_id, digest) if exp is not None else []
    done = [r for r in runs if r.info.status == FINISHED and MODEL_NAME in r.data.tags]
    if not done:
        raise TrackingError(
            f"no run of this workspace's pipeline state (dvc.lock digest {digest[:12]}) in "
            f"experiment {experiment!r} of {target.label}; run `dvc repro` to log it"
        )
    return done[0].info.run_id


def _discard(client: Any, run: Any) -> None:
    """Delete an unfinished run and its nested runs (a killed or failed track stage's)."""
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.{PARENT_TAG} = '{run.info.run_id}'"
    )
    for child in children:
        client.delete_run(child.info.run_id)
    client.delete_run(run.info.run_id)


def track_once(
    params: dict[str, Any],
    outputs: PipelineOutputs,
    *,
    env: Mapping[str, str] | None = None,
    workspace: Path = Path("."),
) -> RunFile:
    """Log the pipeline state in `workspace` as one MLflow run, unless a finished run of the
    same state is there already: a track stage killed after logging, forced to rerun, or run
    again after `dvc exp apply` or on a configuration a sweep ran before, adds no second run
    (the first keeps its name). Unfinished runs of the state (a killed or failed track's) are
    deleted first. Returns the run file's record."""
    env = os.environ if env is None else env
    target = resolve_target(env, workspace)
    experiment = TrackConfig.from_params(params).experiment
    digest = workspace_digest(workspace)
    with open_store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        runs = state_runs(client, exp.experiment_id, digest) if exp is not None else []
        done = [r for r in runs if r.info.status == FINISHED]
        if not done:
            for run in runs:
                _discard(client, run)
    if done:
        first = done[0].info
        log.info(
            "this pipeline state is logged already: run %s (%s): %s",
            first.run_id,
            first.run_name,
            run_link(target.tracking_uri, first.experiment_id, first.run_id),
        )
    else:
        track_pipeline_state(params, outputs, env=env, workspace=workspace)
    return RunFile(experiment, digest)


def top_level_runs(client: Any, experiment_id: str) -> list[Any]:
    """Every run of the experiment that is not a nested k-selection candidate, newest first."""
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            order_by=["attributes.start_time DESC"],
            max_results=1000,
            page_token=token,
        )
        runs += [r for r in page if "mlflow.parentRunId" not in r.data.tags]
        token = page.token
        if not token:
            return runs


def check_metric_names(runs: Sequence[Any], names: Sequence[str]) -> None:
    """Each of `names` is a metric some run logged, else one line with the closest one.
    Without runs there is nothing to check against."""
    logged = sorted({key for r in runs for key in r.data.metrics})
    if not logged:
        return
    for name in names:
        if name not in logged:
            close = difflib.get_close_matches(name, logged, n=1)
            hint = f"did you mean {close[0]}?" if close else f"{len(logged)} metrics are logged"
            raise TrackingError(f"no run logged a metric {name} ({hint})")


def runs_table(
    target: TrackingTarget,
    experiment: str,
    *,
    names: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    sort: str | None = None,
) -> pd.DataFrame:
    """One row per pipeline run (one per DVC experiment; `names` picks some), newest first or
    by `sort` (highest first): the run name, the params that differ between the rows (like
    `dvc exp show --only-changed`), the `metrics` asked for and the A/B verdict when logged.

    `metrics` (and `sort`) must name metrics some run of the experiment logged: a typo is an
    error naming the closest one. The default, `DEFAULT_RUN_METRICS`, is shown as logged (NaN
    where a run did not log one)."""
    with open_store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise TrackingError(f"no experiment {experiment!r} in {target.label}")
        runs = top_level_runs(client, exp.experiment_id)
    check_metric_names(runs, [*(metrics or ()), *([sort] if sort else [])])
    metrics = DEFAULT_RUN_METRICS if metrics is None else metrics
    if names:
        missing = sorted(set(names) - {r.info.run_name for r in runs})
        if missing:
            raise TrackingError(f"no run named {', '.join(missing)} in experiment {experiment!r}")
        runs = [r for r in runs if r.info.run_name in set(names)]
    keys = sorted({key for r in runs for key in r.data.params})
    varying = [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]
    columns = list(dict.fromkeys([*metrics, *([sort] if sort else [])]))
    rows = []
    for r in runs:
        row = {
            "run": r.info.run_name,
            "started": pd.Timestamp(r.info.start_time, unit="ms", tz="UTC").strftime(
                "%Y-%m-%d %H:%M"
            ),
        }
        row |= {k: r.data.params.get(k) for k in varying}
        # a metric named like a param (cluster.k: the k fitted, e.g. for k = auto) keeps both
        row |= {
            (f"metric:{m}" if m in varying else m): r.data.metrics.get(m, float("nan"))
            for m in columns
        }
        if any(VERDICT_TAG in x.data.tags for x in runs):
            row["verdict"] = r.data.tags.get(VERDICT_TAG, "")
        rows.append(row)
    table = pd.DataFrame(rows, columns=None if rows else ["run", "started", *columns])
    if sort:
        by = f"metric:{sort}" if sort in varying else sort
        table = table.sort_values(by, ascending=False, na_position="last", kind="stable")
    return table.reset_index(drop=True)
