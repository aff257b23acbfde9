"""One MLflow run for one pipeline state: params, the key metrics, tags, a description,
artifacts, datasets, the model.

What one run holds, shaped for the MLflow UI: at most `MAX_METRICS` metrics that compare
configurations (`key_metrics`: cluster quality, agreement of rules and ML, the A/B test,
policy values), named `<group>/<name>` so the UI charts each group in its own section and
they sort together; every other figure (data quality, generator fidelity, the full A/B
analysis, stage timings) as JSON artifacts; tags linking it to its DVC experiment
(`run_tags`) and the A/B verdict; a description (`mlflow.note.content`) naming the params
that differ from the experiment's baseline; the k-selection table and plot as artifacts, not
nested runs; the input tables as MLflow datasets whose digests are their DVC md5s
(`traveltide.mlops.lineage`); and the fitted segmenter as an MLflow model
(`traveltide.mlops.model`). The experiment is tagged a model-training experiment. Where it
lands: `traveltide.mlops.store`.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow

from traveltide.mlops.lineage import DatasetSpec, log_dataset
from traveltide.mlops.model import MODEL_NAME, ModelSpec, log_model
from traveltide.mlops.state import EXP_NAME_TAG, LOCK_TAG, exp_name, workspace_digest
from traveltide.mlops.store import TrackingTarget, experiment_id, open_store
from traveltide.mlops.ui import run_link
from traveltide.nested import leaves

log = logging.getLogger(__name__)

MAX_METRICS = 40  # a run's metrics: few enough that the UI shows each as a readable chart
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI (Markdown)
# The experiment's kind, for UIs that read it (MLflow 3.17's follows the URL's workflowType
# and the browser's choice instead: traveltide.mlops.ui)
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"
VERDICT_TAG = "ab_test.verdict_winner"  # `traveltide runs` shows it
# the A/B figures a run logs: per comparison of the verdict's family, the effect on the
# decision metric with its CI and adjusted p; per arm, conversion and net value per user
AB_COMPARISONS = ("A_vs_C", "B_vs_C", "B_vs_A_triggered")
AB_FIGURES = ("decision_effect", "decision_ci_low", "decision_ci_high", "decision_p_adj")
AB_FIGURES_CONVERSION = ("lift_abs", "lift_ci_low", "lift_ci_high", "p_adj")  # no decision
AB_ARM_FIGURES = ("conversion_rate", "net_value_per_user")
AB_CHECKS = ("srm_p_value",)
POLICIES = (
    "rules",
    "clusters",
    "random_perk",
    "best_perk_per_segment",
    "best_perk_per_cluster",
    "uplift_model",
)


def _number(value: Any) -> float | None:
    """A finite float (booleans as 1/0), or None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
        return float(value)
    return None


def key_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The run's metrics from the DVC metrics files (by stage): every number of
    metrics/cluster.json and metrics/compare.json, and the A/B figures that compare
    configurations (`AB_*`, `POLICIES`); `<group>/<name>`, missing figures left out."""
    out: dict[str, float] = {}
    for stage in ("cluster", "compare"):
        for name, value in leaves(metrics.get(stage) or {}):
            if (number := _number(value)) is not None:
                out[f"{stage}/{name}"] = number
    ab = metrics.get("ab_test") or {}
    for key in AB_COMPARISONS:
        figures = AB_FIGURES if f"{key}_decision_effect" in ab else AB_FIGURES_CONVERSION
        for figure in figures:
            if (number := _number(ab.get(f"{key}_{figure}"))) is not None:
                out[f"ab_test/{key}_{figure}"] = number
    for arm in "ABC":
        for figure in AB_ARM_FIGURES:
            if (number := _number(ab.get(f"{arm}_{figure}"))) is not None:
                out[f"ab_test/{arm}_{figure}"] = number
    for name in AB_CHECKS:
        if (number := _number(ab.get(name))) is not None:
            out[f"ab_test/{name}"] = number
    for policy in POLICIES:
        if (number := _number(ab.get(f"policy_{policy}_net_value"))) is not None:
            out[f"policy/{policy}_net_value"] = number
    return dict(list(out.items())[:MAX_METRICS])


def _flat(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in leaves(params)}


def run_description(
    params: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    *,
    name: str,
    baseline_rev: str,
) -> str:
    """The run's description (Markdown): which params differ from the baseline's params.yaml,
    old -> new, or that none do; `baseline` None when the baseline's params are unknown."""
    rev = baseline_rev[:7] or "unknown"
    title = f"**{name}**: " + ("the workspace" if name == "workspace" else "DVC experiment")
    if baseline is None:
        return f"{title}; the params of its baseline ({rev}) could not be read."
    new, old = _flat(params), _flat(baseline)
    changed = sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k))
    if not changed:
        return f"{title} with the params of its baseline commit {rev}: nothing changed."
    lines = [f"- `{k}`: {old.get(k, '(absent)')} → {new.get(k, '(absent)')}" for k in changed]
    return f"{title}. Params changed from its baseline {rev}:\n\n" + "\n".join(lines)


def baseline_params(cwd: Path, rev: str) -> dict[str, Any] | None:
    """params.yaml as committed at `rev` (None when git or the file is not there)."""
    import yaml

    try:
        out = subprocess.run(
            ["git", "show", f"{rev}:params.yaml"], cwd=cwd, capture_output=True, check=True
        )
        loaded = yaml.safe_load(out.stdout)
    except (OSError, subprocess.CalledProcessError, yaml.YAMLError):
        return None
    return loaded if isinstance(loaded, dict) else None


def git_commit(cwd: Path | None = None) -> str:
    """HEAD of the repository the stage runs in (in a DVC temp copy: the baseline commit)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def run_tags(env: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """Tags linking the MLflow run to its DVC experiment, baseline and commit.

    `dvc_exp_name` is also the run's name, so either finds the other. Outside an experiment
    (`dvc repro`) the name is `workspace` and the baseline is the commit the workspace is on.
    `dvc_lock_md5` is the pipeline state (`traveltide.mlops.state.pipeline_digest`): every
    stage of dvc.lock but track itself, so `traveltide register` finds the run from the
    workspace's dvc.lock.
    """
    commit = git_commit(cwd)
    return {
        EXP_NAME_TAG: exp_name(env),
        "dvc_baseline_rev": env.get("DVC_EXP_BASELINE_REV") or commit,
        "git_commit": commit,
        LOCK_TAG: workspace_digest(cwd),
    }


@dataclass(frozen=True)
class RunRecord:
    """The ids of a logged run, and where it opens in the MLflow UI."""

    run_id: str
    experiment_id: str
    run_name: str
    model_id: str | None = None
    model_uri: str | None = None
    url: str = ""


@dataclass(frozen=True)
class Artifact:
    """A file logged with the run, under `folder` of its artifacts ("" for the top)."""

    path: Path
    folder: str = ""


def log_pipeline_run(
    *,
    target: TrackingTarget,
    experiment: str,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    artifacts: Sequence[Artifact],
    description: str = "",
    documents: Mapping[str, Any] | None = None,
    datasets: Sequence[DatasetSpec] = (),
    model: ModelSpec | None = None,
) -> RunRecord:
    """Log one run and return its ids. `documents` are JSON-ready values logged as JSON
    artifacts by file name (the stage timings).

    Everything happens under the store lock, the model too: parallel queue workers share
    one SQLite store. Metrics are also linked to the logged model, so
    `mlflow.search_logged_models` can rank models by silhouette or policy value.
    """
    if len(metrics) > MAX_METRICS:
        raise ValueError(f"{len(metrics)} metrics: a run logs at most {MAX_METRICS}")
    with open_store(target) as client:
        exp_id = experiment_id(client, experiment, target)
        client.set_experiment_tag(exp_id, KIND_TAG, KIND)
        run_name = tags.get(EXP_NAME_TAG, "workspace")
        model_info = None
        with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
            mlflow.set_tags({**tags, **({NOTE_TAG: description} if description else {})})
            mlflow.log_params(dict(params))
            for spec in datasets:
                log_dataset(spec)
            if model is not None:
                model_info = log_model(model)
                mlflow.set_tag(MODEL_NAME, model_info.model_id)
            mlflow.log_metrics(dict(metrics), model_id=model_info.model_id if model_info else None)
            for item in artifacts:
                if item.path.is_file():
                    mlflow.log_artifact(str(item.path), artifact_path=item.folder or None)
            for name, value in (documents or {}).items():
                mlflow.log_dict(value, name)
        return RunRecord(
            run.info.run_id,
            exp_id,
            run_name,
            model_info.model_id if model_info else None,
            model_info.model_uri if model_info else None,
            run_link(target.tracking_uri, exp_id, run.info.run_id),
        )
