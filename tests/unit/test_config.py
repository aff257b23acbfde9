import copy
import re
from pathlib import Path

import pytest
import yaml

from traveltide.config import (
    BLOCKS,
    ABTestConfig,
    CleanConfig,
    ClusterConfig,
    CohortConfig,
    RulesConfig,
    flatten,
    read_params,
    validate_params,
)
from traveltide.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def params():
    return read_params("params.yaml")


def test_repository_params_are_valid(params):
    assert CohortConfig.from_params(params).min_sessions == 7
    assert ClusterConfig.from_params(params).k == 7  # the planted personas: docs/clustering.md
    assert len(RulesConfig.from_params(params).priority) == 5
    assert ABTestConfig.from_params(params).weights == {"A": 1.0, "B": 1.0, "C": 1.0}


@pytest.mark.parametrize(
    ("block", "key", "value", "message"),
    [
        ("cluster", "k", 1, "cluster.k must be >= 2"),
        ("cluster", "k", "five", "cluster.k must be an integer"),
        ("cluster", "algorithm", "kmeanz", "cluster.algorithm must be one of"),
        ("cluster", "k_range", [2, 1], "cluster.k_range[1]"),
        ("cohort", "min_sessions", "7 OR 1=1", "cohort.min_sessions must be an integer"),
        (
            "cohort",
            "session_start_after",
            "2023-01-04'; DROP TABLE users; --",
            "cohort.session_start_after must be an ISO date",
        ),
        ("cohort", "session_start_after", "2023-02-30", "not a valid date"),
        ("ab_test", "alpha", 2, "ab_test.alpha must be in"),
        ("ab_test", "weights", {"A": 1, "B": 1}, "ab_test.weights must give A, B and C"),
    ],
)
def test_bad_values_name_the_key(params, block, key, value, message):
    bad = copy.deepcopy(params)
    bad[block][key] = value
    loader = {"cluster": ClusterConfig, "cohort": CohortConfig, "ab_test": ABTestConfig}[block]
    with pytest.raises(ConfigError, match=f"^params.yaml: .*{message[:20]}".replace("[", r"\[")):
        loader.from_params(bad)


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ("0.99", "clean.outlier_caps must be a mapping"),
        ({"method": "winsor"}, "clean.outlier_caps.method must be one of"),
        ({"quantile": 1.5}, r"clean.outlier_caps.quantile must be in \[0.5, 1.0\]"),
        ({"columns": "page_clicks"}, "clean.outlier_caps.columns must be a list"),
        ({"columns": ["page clicks; --"]}, r"clean.outlier_caps.columns\[0\] must be an ident"),
    ],
)
def test_bad_outlier_caps_name_the_key(params, caps, message):
    bad = copy.deepcopy(params)
    if isinstance(caps, dict):
        bad["clean"]["outlier_caps"].update(caps)
    else:
        bad["clean"]["outlier_caps"] = caps
    with pytest.raises(ConfigError, match=message):
        CleanConfig.from_params(bad)


def test_missing_key_and_block(params):
    bad = copy.deepcopy(params)
    del bad["cluster"]["k"]
    with pytest.raises(ConfigError, match="missing key cluster.k"):
        ClusterConfig.from_params(bad)
    with pytest.raises(ConfigError, match="block 'cohort'"):
        CohortConfig.from_params({})


def test_unknown_perk_in_rules(params):
    bad = copy.deepcopy(params)
    bad["rules"]["priority"][0]["perk"] = "free_champagne"
    with pytest.raises(ConfigError, match=r"rules.priority\[0\].perk"):
        RulesConfig.from_params(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["cluster"].update(kk=3), "cluster.kk (did you mean cluster.k?)"),
        (
            lambda p: p["ab_test"]["plan"].update(mde_knd="relative"),
            "ab_test.plan.mde_knd (did you mean ab_test.plan.mde_kind?)",
        ),
        (
            lambda p: p["rules"]["priority"][0].update(segmnt="x"),
            "rules.priority[0].segmnt (did you mean rules.priority[0].segment?)",
        ),
        (
            lambda p: p["rules"]["default"].update(perks="x"),
            "rules.default.perks (did you mean rules.default.perk?)",
        ),
        (
            lambda p: p["clean"]["outlier_caps"].update(colums=[]),
            "clean.outlier_caps.colums (did you mean clean.outlier_caps.columns?)",
        ),
        (lambda p: p.update(clsuter={}), "clsuter (did you mean cluster?)"),
        (lambda p: p.update(notes={}), "notes (valid keys: generate, source, cohort, clean, "),
    ],
)
def test_validate_params_rejects_keys_no_config_reads(params, change, message):
    bad = copy.deepcopy(params)
    change(bad)
    with pytest.raises(ConfigError, match="^" + re.escape(f"params.yaml: unknown key {message}")):
        validate_params(bad)


def test_every_key_of_the_repository_params_is_read(params):
    validate_params(params)  # an unread key, at any depth, would raise
    assert {block.BLOCK for block in BLOCKS} == set(params)


def test_dvc_yaml_names_only_params_that_exist(params):
    """Each stage's params in dvc.yaml are keys of params.yaml, so of some config field."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    named = [k for s in stages.values() for k in s.get("params", []) if isinstance(k, str)]
    assert named, "dvc.yaml names no params: the check would pass on nothing"
    for key in named:
        _dotted(params, key)  # KeyError: dvc.yaml names a key params.yaml lacks


def test_read_params_and_flatten_are_importable_from_config():
    from traveltide import params as reader

    assert (read_params, flatten) == (reader.read_params, reader.flatten)


def _dotted(tree: dict, key: str):
    for part in key.split("."):
        tree = tree[part]
    return tree


def test_committed_lock_records_the_committed_params():
    """dvc.lock's params are those of params.yaml: with `core.autostage`, a `dvc repro` run
    while an experiment's `-S` values were in the workspace stages its lock for the commit."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    recorded = {
        (stage, key): value
        for stage, entry in lock["stages"].items()
        for key, value in entry.get("params", {}).get("params.yaml", {}).items()
    }
    assert recorded, "dvc.lock records no params: the check would pass on nothing"
    stale = {
        f"{stage}: {key}": value
        for (stage, key), value in recorded.items()
        if _dotted(params, key) != value
    }
    assert not stale, f"dvc.lock differs from params.yaml (run `dvc repro`): {stale}"
