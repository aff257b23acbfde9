"""The pipeline pointed at PostgreSQL by params, and back: nothing lost, nothing logged twice
(a module of its own, so it runs beside the other pipeline tests)."""

from __future__ import annotations

import pytest
import yaml

from pipeline_repo import PipelineRepo, copy_repo, mlflow_runs, run, stages_ran
from support import schema_url
from traveltide.mlops.state import pipeline_digest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def repo(baseline_template, tmp_path_factory):
    """A copy of the run's baseline repository, without its MLflow store."""
    copy = copy_repo(baseline_template, tmp_path_factory.mktemp("pipeline"))
    return {"path": copy.path, "env": copy.env}


def test_postgres_source_by_params_keeps_the_synthetic_tables(repo, postgres, pg_schema):
    """`source.url` and `source.schema` point extract at PostgreSQL: generate does not run (its
    tables stay), extract reads the same cohort, byte for byte, and re-queries only when the
    params change (a new `source.snapshot`); back on the embedded source, nothing is lost and
    the state already logged is not logged again."""
    import pandas as pd

    path, env = repo["path"], repo["env"]
    cohort = path / "data/interim/cohort.parquet"
    truth = path / "data/interim/cohort_truth.parquet"
    embedded_cohort, embedded_truth = cohort.read_bytes(), pd.read_parquet(truth)
    tables = {p.name: p.read_bytes() for p in (path / "data/raw/traveltide").iterdir()}
    embedded_state = pipeline_digest(path / "dvc.lock")
    params_text = (path / "params.yaml").read_text()
    run(["traveltide", "db", "load", "--url", schema_url(postgres, pg_schema), "--schema",
         pg_schema], path, env)  # fmt: skip

    def repro_with(**source) -> set[str]:
        params = yaml.safe_load((path / "params.yaml").read_text())
        params["source"].update(source)
        # no latent truth in an external database: the A/B simulation reads behaviour instead
        params["ab_test"]["response"]["fit_source"] = "behaviour"
        (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        done = run(["dvc", "repro"], path, env)
        return stages_ran(done.stdout + done.stderr)

    first = repro_with(url=postgres, schema=pg_schema)
    assert "extract" in first and "generate" not in first
    # the cohort did not change, so nothing that reads only the cohort reran; the stages that
    # read the ground truth (none for an external source) did, once
    assert first.isdisjoint({"clean", "features", "segment_rules", "compare"}), first
    assert cohort.read_bytes() == embedded_cohort  # same SQL, same cohort, same bytes
    external_truth = pd.read_parquet(truth)
    assert external_truth.empty and list(external_truth.columns) == list(embedded_truth.columns)
    assert {p.name: p.read_bytes() for p in (path / "data/raw/traveltide").iterdir()} == tables
    assert PipelineRepo(path, env).changed_stages() == set()

    assert repro_with() == set()  # same params: no query
    assert repro_with(snapshot="2024-06") == {"extract", "track"}  # a new label: a new query

    (path / "params.yaml").write_text(params_text)  # back to the embedded source
    back = stages_ran(run(["dvc", "repro"], path, env).stdout)
    assert "extract" in back and "generate" not in back
    assert cohort.read_bytes() == embedded_cohort
    pd.testing.assert_frame_equal(pd.read_parquet(truth), embedded_truth)
    assert pipeline_digest(path / "dvc.lock") == embedded_state
    logged = [r for r in mlflow_runs(path) if r.data.tags["dvc_lock_md5"] == embedded_state]
    assert len(logged) == 1  # logged once, by this repro or an earlier one: never twice
    assert PipelineRepo(path, env).changed_stages() == set()
