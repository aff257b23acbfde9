"""Reading tracked runs back: one run by name, its model, and a sweep's runs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from mlflow.exceptions import MlflowException

from traveltide.errors import TrackingError, first_line
from traveltide.mlops.model import MODEL_NAME
from traveltide.mlops.store import TrackingTarget, open_store

DEFAULT_RUN_METRICS = (
    "cluster.silhouette",
    "cluster.calinski_harabasz",
    "cluster.davies_bouldin",
    "cluster.stability",
    "compare.ari",
    "compare.nmi",
    "ab_test.B_vs_C_lift_abs",
    "ab_test.B_vs_C_p_adj",
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


def runs_table(
    target: TrackingTarget,
    experiment: str,
    *,
    names: Sequence[str] = (),
    metrics: Sequence[str] = DEFAULT_RUN_METRICS,
    sort: str | None = None,
) -> pd.DataFrame:
    """One row per pipeline run (one per DVC experiment; `names` picks some), newest first or
    by `sort` (highest first): the run name, the params that differ between the rows (like
    `dvc exp show --only-changed`), the `metrics` asked for and the A/B verdict when logged."""
    with open_store(target) as client:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise TrackingError(f"no experiment {experiment!r} in {target.label}")
        runs = top_level_runs(client, exp.experiment_id)
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
