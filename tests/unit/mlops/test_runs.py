"""Reading tracked runs back: a sweep's runs side by side."""

import pytest

from traveltide.errors import TrackingError
from traveltide.mlops.runs import runs_table
from traveltide.mlops.store import resolve_target
from traveltide.mlops.tracking import log_pipeline_run


def test_runs_table_has_one_row_per_experiment_and_the_params_that_differ(tmp_path):
    import math

    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    grid = [("exp-a", "3", "standard", 0.31), ("exp-b", "4", "standard", 0.42)]
    grid += [("exp-c", "4", "robust", 0.27)]
    for name, k, scaler, silhouette in grid:
        log_pipeline_run(
            target=target,
            experiment="t",
            params={"cluster.k": k, "cluster.scaler": scaler, "generate.seed": "42"},
            metrics={"cluster.silhouette": silhouette, "cluster.k": float(k)},
            tags={"dvc_exp_name": name, "ab_test.verdict_winner": f"win-{name}"},
            artifacts=[],
            candidates=[{"k": 2, "silhouette": 0.1}, {"k": 3, "silhouette": 0.2}],  # nested
        )
    table = runs_table(target, "t", metrics=("cluster.silhouette", "cluster.k", "compare.ari"))
    assert table["run"].tolist() == ["exp-c", "exp-b", "exp-a"]  # newest first, no candidates
    assert list(table.columns) == [
        "run",
        "started",
        "cluster.k",  # the param; generate.seed is the same everywhere, so not shown
        "cluster.scaler",
        "cluster.silhouette",
        "metric:cluster.k",  # the metric of the same name
        "compare.ari",
        "verdict",
    ]
    assert table["cluster.silhouette"].tolist() == [0.27, 0.42, 0.31]
    assert table["verdict"].tolist() == ["win-exp-c", "win-exp-b", "win-exp-a"]
    assert all(math.isnan(x) for x in table["compare.ari"])  # not logged: NaN, not an error

    best = runs_table(target, "t", names=["exp-a", "exp-b"], sort="cluster.silhouette")
    assert best["run"].tolist() == ["exp-b", "exp-a"]
    assert "cluster.scaler" not in best.columns  # both standard
    with pytest.raises(TrackingError, match="no run named exp-z in experiment 't'"):
        runs_table(target, "t", names=["exp-a", "exp-z"])
    with pytest.raises(TrackingError, match="no experiment 'other'"):
        runs_table(target, "other")
