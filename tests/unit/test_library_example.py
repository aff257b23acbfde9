"""The README's notebook example, run as written on a small generated cohort.

The code block under "## Library use (notebook)" is taken from README.md and executed in a
folder laid out like the repository after `make run`, so the example cannot rot. Its figures
are then checked against scikit-learn and statsmodels on the same numbers.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from statsmodels.stats.proportion import proportions_ztest

from traveltide.config import CleanConfig, CohortConfig, FeaturesConfig, RulesConfig, read_params
from traveltide.features.build import build_features
from traveltide.features.clean import clean_sessions
from traveltide.io import write_parquet
from traveltide.segment.rules import segment_by_rules
from traveltide.sources.extract import extract_cohort

ROOT = Path(__file__).resolve().parents[2]
RATES = {"A": 0.12, "B": 0.20, "C": 0.08}  # planted conversion rates of the A/B table


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Library use (notebook)\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section should hold exactly one python block"
    return blocks[0]


@pytest.fixture(scope="module")
def workspace(embedded_source, tmp_path_factory) -> Path:
    """params.yaml and the three pipeline outputs the example reads, at a small scale."""
    folder = tmp_path_factory.mktemp("notebook")
    shutil.copy(ROOT / "params.yaml", folder / "params.yaml")
    params = read_params(folder / "params.yaml")
    cohort = extract_cohort(embedded_source, CohortConfig.from_params(params))
    sessions = clean_sessions(cohort, CleanConfig.from_params(params))[0]
    features = build_features(sessions, FeaturesConfig.from_params(params))
    rules, _ = segment_by_rules(features, RulesConfig.from_params(params))
    rng = np.random.default_rng(3)
    group = rng.choice(list(RATES), size=len(features))
    converted = rng.random(len(features)) < pd.Series(group).map(RATES).to_numpy()
    ab = pd.DataFrame(
        {
            "user_id": features["user_id"].to_numpy(),
            "group": group,
            "converted": converted,
            "revenue": np.where(converted, rng.lognormal(5.7, 0.3, len(features)), 0.0),
        }
    )
    write_parquet(features, folder / "data/features/user_features.parquet")
    write_parquet(rules, folder / "data/segments/rules.parquet")
    write_parquet(ab, folder / "data/ab/users.parquet")
    return folder


def test_readme_notebook_example_runs_and_its_figures_are_right(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    names: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), names)  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    features = pd.read_parquet("data/features/user_features.parquet")
    rules = pd.read_parquet("data/segments/rules.parquet")
    ab = pd.read_parquet("data/ab/users.parquet")
    assert len(features) > 50

    # 1. clustering: every user once, k = 6, silhouette as scikit-learn computes it
    result = names["result"]
    labels = result.assignments["cluster"].to_numpy()
    assert result.assignments["user_id"].tolist() == features["user_id"].tolist()
    assert len(set(labels)) == 6 == result.quality.k
    X = result.segmenter.transform(features)
    assert result.quality.silhouette == pytest.approx(silhouette_score(X, labels), abs=1e-9)

    # 2. agreement of rules and clusters, by user
    by_user = rules.merge(result.assignments, on="user_id")
    agree = names["agree"]
    assert agree.users == len(features)
    expected_ari = adjusted_rand_score(by_user["segment"], by_user["cluster"])
    assert agree.ari == pytest.approx(expected_ari, abs=1e-12)
    expected_nmi = normalized_mutual_info_score(by_user["segment"], by_user["cluster"])
    assert agree.nmi == pytest.approx(expected_nmi, abs=1e-12)
    assert f"ARI {agree.ari:.3f}" in printed

    # 3. the A/B analysis: B vs C by a two-proportion z-test on the same counts
    analysis = names["analysis"]
    b_vs_c = next(c for c in analysis.comparisons if c.treatment == "B")
    counts = ab.groupby("group")["converted"].agg(["sum", "size"])
    _, p = proportions_ztest(counts.loc[["B", "C"], "sum"], counts.loc[["B", "C"], "size"])
    assert b_vs_c.conversion.p_value_z == pytest.approx(p, rel=1e-9)
    rate = counts["sum"] / counts["size"]
    assert b_vs_c.conversion.lift_abs == pytest.approx(rate["B"] - rate["C"], abs=1e-12)
    assert f"B vs C: {b_vs_c.conversion.lift_abs:+.2%}" in printed
    assert printed.rstrip().splitlines()[-1].startswith(analysis.verdict.winner + " - ")
