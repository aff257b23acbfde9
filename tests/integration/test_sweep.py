"""A parallel sweep, as a user runs it: eight queued experiments on two workers, one SQLite store.

A throwaway repository at a small scale; `traveltide mlflow-init`, a k x scaler grid queued
with DVC's sweep syntax, `dvc queue start -j 2`. Then: every experiment succeeded, exactly
eight new top-level MLflow runs landed in the main store, each named and tagged after its
experiment, no worker hit "database is locked", each run holds what its experiment's DVC
params and metrics say, and the comparison commands of the README work on the result.

Slow (several minutes: eight times five stages of Python start-up on two cores), so it is
marked `slow` and left out of the default run: `pytest -m slow tests/test_sweep.py`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline_repo import PipelineRepo, build_baseline
from traveltide.config import flatten
from traveltide.mlops.tracking import MAX_METRICS, key_metrics

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCALE = 0.02
KS = (3, 4, 5, 6)
SCALERS = ("standard", "robust")
GRID = ("-S", "cluster.k=range(3,7)", "-S", "cluster.scaler=standard,robust")
EXPERIMENT = "traveltide-segmentation"
QUEUE_DEADLINE_S = 1800


@dataclass
class Sweep:
    repo: PipelineRepo
    baseline: str
    names: list[str]
    status: str
    seconds: float


def top_level_runs(path: Path) -> list:
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{path / 'mlflow.db'}")
    exp = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], max_results=5000)
    return [r for r in runs if "mlflow.parentRunId" not in r.data.tags]


def statuses(status: str) -> dict[str, str]:
    """{experiment name: Success | Failed | ...} from `dvc queue status`."""
    rows = [line.split() for line in status.splitlines()[1:] if line.strip()]
    return {row[1]: row[-1] for row in rows if len(row) >= 4 and not row[0].startswith("Worker")}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Sweep:
    repo = build_baseline(tmp_path_factory.mktemp("sweep"), SCALE)
    baseline = repo.run("git", "rev-parse", "HEAD").stdout.strip()
    repo.run("traveltide", "mlflow-init")
    queued = repo.run("dvc", "exp", "run", "--queue", *GRID)
    names = re.findall(r"Queued experiment '([^']+)'", queued.stdout)
    start = time.monotonic()
    repo.run("dvc", "queue", "start", "-j", "2")
    while time.monotonic() - start < QUEUE_DEADLINE_S:
        status = repo.run("dvc", "queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        time.sleep(5)
    else:
        repo.run("dvc", "queue", "kill", *names, check=False)
        pytest.fail(f"the queue did not finish within {QUEUE_DEADLINE_S} s:\n{status}")
    seconds = time.monotonic() - start
    print(f"\n8 experiments on 2 workers at scale {SCALE}: {seconds:.0f} s")
    return Sweep(repo, baseline, names, status, seconds)


def test_eight_experiments_succeed_and_give_eight_named_runs_in_the_main_store(sweep):
    repo = sweep.repo
    assert len(sweep.names) == 8 == len(set(sweep.names))
    state = statuses(sweep.status)
    assert {name: state.get(name) for name in sweep.names} == dict.fromkeys(sweep.names, "Success")
    listed = repo.run("dvc", "exp", "ls", "--name-only").stdout.split()
    assert sorted(listed) == sorted(sweep.names)

    runs = [r for r in top_level_runs(repo.path) if r.info.run_name != "workspace"]
    assert len(runs) == 8, [r.info.run_name for r in runs]  # no lost run, no duplicate
    for run in runs:
        assert run.data.tags["dvc_exp_name"] == run.info.run_name
        assert run.data.tags["dvc_baseline_rev"] == sweep.baseline == run.data.tags["git_commit"]
        assert re.fullmatch(r"[0-9a-f]{32}", run.data.tags["dvc_lock_md5"])
    assert sorted(r.info.run_name for r in runs) == sorted(sweep.names)
    grid = {(int(r.data.params["cluster.k"]), r.data.params["cluster.scaler"]) for r in runs}
    assert grid == set(itertools.product(KS, SCALERS))

    for name in sweep.names:
        log = repo.run("dvc", "queue", "logs", name).stdout
        assert "Running stage 'track'" in log, log[-2000:]
        assert "database is locked" not in log.lower(), name
    # every run went to the main store, none to a worker's temporary copy
    assert not list((repo.path / ".dvc" / "tmp").rglob("mlflow.db"))


def test_each_run_holds_its_experiments_params_and_metrics(sweep):
    """MLflow against DVC's own record of each experiment (`dvc exp show --json`): all of
    params.yaml flattened, and the key metrics of its DVC metrics, at most MAX_METRICS."""
    shown = json.loads(sweep.repo.run("dvc", "exp", "show", "--json").stdout)
    baseline = next(entry for entry in shown if entry["rev"] == sweep.baseline)
    experiments = {e["name"]: e["revs"][0]["data"] for e in baseline["experiments"]}
    assert sorted(experiments) == sorted(sweep.names)
    runs = {r.info.run_name: r for r in top_level_runs(sweep.repo.path)}
    for name, data in experiments.items():
        run = runs[name]
        assert run.data.params == flatten(data["params"]["params.yaml"]["data"]), name
        files = {Path(path).stem: content["data"] for path, content in data["metrics"].items()}
        assert run.data.metrics == pytest.approx(key_metrics(files), rel=1e-12), name
        assert len(run.data.metrics) <= MAX_METRICS
        for key in ("silhouette", "calinski_harabasz", "davies_bouldin", "stability"):
            assert f"cluster/{key}" in run.data.metrics, key
        for key in ("compare/ari", "compare/nmi", "ab_test/B_vs_C_decision_effect"):
            assert key in run.data.metrics, key


def test_the_readme_comparison_commands_work_on_the_sweep(sweep, tmp_path):
    repo, first, second = sweep.repo, sweep.names[0], sweep.names[1]
    table = repo.run("dvc", "exp", "show", "--only-changed", "--csv").stdout
    header, *rows = table.strip().splitlines()
    assert "cluster.k" in header.split(",") and "cluster.scaler" in header.split(",")
    assert {name for name in sweep.names if any(f",{name}," in f",{row}," for row in rows)} == set(
        sweep.names
    )

    diff = json.loads(repo.run("dvc", "metrics", "diff", first, second, "--json").stdout)
    runs = {r.info.run_name: r for r in top_level_runs(repo.path)}
    silhouette = diff["metrics/cluster.json"]["silhouette"]
    assert silhouette["old"] == pytest.approx(runs[first].data.metrics["cluster/silhouette"])
    assert silhouette["new"] == pytest.approx(runs[second].data.metrics["cluster/silhouette"])

    out = tmp_path / "plots"
    repo.run("dvc", "plots", "diff", first, second, "-o", str(out))
    assert (out / "index.html").stat().st_size > 0

    listed = repo.run("traveltide", "runs", "--exp", first, "--exp", second, "--csv").stdout
    header, *rows = listed.strip().splitlines()
    assert sorted(row.split(",")[0] for row in rows) == sorted([first, second])
