"""Bad input, one case per test: one line naming what and where, exit 1, and nothing lost.

Each case breaks one param or input file, runs the real `dvc repro` in a throwaway repository
at a small scale, and checks the one error line and that `dvc checkout` restores every output
(`bad_cases`). Every stage checks every params block before its own work, so a bad param stops
the first stage DVC runs, whatever block it is in. Failures of what surrounds the pipeline (the
source database, the MLflow store, a killed stage) are in test_bad_environment.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bad_cases import (
    SQL_CASES,
    VOLATILE,
    Case,
    baseline_fixture,
    check_case,
    expect_one_line_failure,
    restore_and_compare,
    setter,
)
from pipeline_repo import stages_ran

pytestmark = pytest.mark.integration


repo = baseline_fixture("bad_input")


# ------------------------------------------------------------------------------ params --
# Caught by the first stage DVC runs (the first that reads the changed block, or track, which
# reads them all), before it writes: no later stage runs.

PARAM_CASES = [
    Case(
        "k_below_2",
        "cluster",
        r"params.yaml: cluster.k must be >= 2, got 1",
        setter("cluster.k", 1),
    ),
    Case(
        "unknown_key",  # `dvc exp run -S +cluster.kk=5`
        "cluster",
        r"params.yaml: unknown key cluster.kk \(did you mean cluster.k\?\)",
        setter("cluster.kk", 5),
    ),
    Case(
        "unknown_block",  # read by no stage but track, which reads every key
        "track",
        r"params.yaml: unknown key clutser \(did you mean cluster\?\)",
        lambda p: p.update(clutser={"k": 5}),
    ),
    Case(
        "password_in_source_url",
        "extract",
        r"params.yaml: source.url holds a password: remove it and give it through PGPASSWORD",
        setter("source.url", "postgresql://postgres:S3cr3t@127.0.0.1:5432/test"),
    ),
    Case(
        "unknown_algorithm",
        "select_k",
        r"params.yaml: cluster.algorithm must be one of .*got 'kmeanz'",
        setter("cluster.algorithm", "kmeanz"),
    ),
    *SQL_CASES,
    Case(
        "zero_weight",
        "ab_test",
        r"ab_test.weights",
        setter("ab_test.weights", {"A": 1.0, "B": 1.0, "C": 0.0}),
    ),
    Case(
        "unknown_perk_in_rules",
        "segment_rules",
        r"rules.priority\[0\].perk must be one of .*got 'free_spa'",
        lambda p: p["rules"]["priority"][0].update(perk="free_spa"),
    ),
    Case(
        "outlier_quantile_out_of_range",
        "clean",
        r"clean.outlier_caps.quantile must be in \[0.5, 1.0\], got 2",
        setter("clean.outlier_caps.quantile", 2),
    ),
    Case("missing_block", "track", r"missing or malformed block 'track'", lambda p: p.pop("track")),
]


@pytest.mark.parametrize("case", PARAM_CASES, ids=lambda c: c.id)
def test_bad_param_stops_the_first_stage_before_it_writes(repo, case):
    ran, output = check_case(repo, case)
    assert ran == {case.stage}  # nothing after it ran
    assert "S3cr3t" not in output


def test_malformed_params_yaml_stops_dvc_before_any_stage(repo):
    before = repo.output_hashes(VOLATILE)
    text = (repo.path / "params.yaml").read_text()
    (repo.path / "params.yaml").write_text(text.replace("cluster:\n", "cluster: [\n", 1))
    try:
        proc = repo.run("dvc", "repro", check=False)
    finally:
        restore_and_compare(repo, before, text)
    # DVC parses params.yaml itself before any stage runs, so the message is DVC's: it names
    # the file and the YAML problem (over several lines), and no stage has touched anything.
    assert proc.returncode != 0
    first = next(line for line in proc.stderr.splitlines() if line.startswith("ERROR"))
    assert "params.yaml" in first, proc.stderr
    assert "Traceback" not in proc.stderr
    assert stages_ran(proc.stdout) == set()


# -------------------------------------------------------------------- data-dependent --


def test_k_above_the_number_of_users(repo):
    users = json.loads((repo.path / "data/summary/extract.json").read_text())["users"]
    case = Case(
        "k_above_users",
        "cluster",
        rf"cluster.k = {users + 1} needs more users than the cohort's {users}",
        setter("cluster.k", users + 1),
    )
    assert "cluster" in check_case(repo, case)[0]


def test_cohort_too_small_for_k(repo):
    import pandas as pd

    cohort = pd.read_parquet(repo.path / "data/interim/cohort.parquet")
    per_user = cohort.groupby("user_id").size()
    threshold = int(per_user.max()) - 1  # only the busiest users stay
    small = int((per_user > threshold).sum())
    k = repo.params()["cluster"]["k"]
    assert small < k, "the small scale must leave fewer users than the default k"
    case = Case(
        "cohort_too_small",
        "cluster",
        rf"cluster.k = {k} needs more users than the cohort's {small}",
        setter("cohort.min_sessions", threshold),
    )
    ran, _ = check_case(repo, case)
    assert {"extract", "clean", "features", "cluster"} <= ran


def test_empty_cohort(repo):
    case = Case(
        "empty_cohort",
        "extract",
        r"cohort is empty: no user has more than 1000 sessions after 2023-01-04",
        setter("cohort.min_sessions", 1000),
    )
    check_case(repo, case)


def test_unknown_feature_in_rules(repo):
    case = Case(
        "unknown_rule_feature",
        "segment_rules",
        r"no_such_feature",
        lambda p: p["rules"]["priority"][0].update(feature="no_such_feature"),
    )
    check_case(repo, case)


def test_unknown_feature_in_perk_signals(repo):
    case = Case(
        "unknown_signal_feature",
        "cluster",
        r"no_such_feature",
        setter("perks.signals.free_checked_bag", "no_such_feature"),
    )
    check_case(repo, case)


def dbscan(eps: float) -> Callable[[dict], None]:
    def apply(params: dict) -> None:
        params["cluster"].update(algorithm="dbscan", eps=eps)

    return apply


def test_dbscan_labelling_everyone_noise(repo):
    case = Case(
        "all_noise",
        "cluster",
        r"dbscan \(eps=0.001.*labelled all [0-9]+ fitted users as noise",
        dbscan(0.001),
    )
    check_case(repo, case)


def test_all_users_in_one_cluster(repo):
    case = Case(
        "one_cluster", "cluster", r"dbscan \(eps=1000.*found a single cluster", dbscan(1000.0)
    )
    check_case(repo, case)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"user_id": 999_999_999},
            r"results.csv column 'user_id': 1 unknown user\(s\).* at rows? 2",
        ),
        ({"group": "D"}, r"results.csv column 'group': unknown group\(s\) 'D'"),
    ],
    ids=["unknown_user", "unknown_group"],
)
def test_results_file_with_unknown_users_or_groups(repo, change, message):
    import pandas as pd

    users = pd.read_parquet(repo.path / "data/ab/users.parquet")
    results = users[["user_id", "group", "converted", "revenue"]].head(5).copy()
    for column, value in change.items():
        results.loc[results.index[1], column] = value
    case = Case(
        "results_file", "ab_test", message, setter("ab_test.outcomes", "data/campaign/results.csv")
    )
    before = repo.output_hashes(VOLATILE)
    results_file = repo.path / "data/campaign/results.csv"
    results.to_csv(results_file, index=False)
    params_text = (repo.path / "params.yaml").read_text()
    params = repo.params()
    case.params(params)
    repo.write_params(params)
    try:
        expect_one_line_failure(repo, case, repo.env)
    finally:
        results_file.unlink()
        restore_and_compare(repo, before, params_text)
