"""DVC stage ab_test: A (rule perks) vs B (ML perks) vs C (control): analysis, policy values."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from pathlib import Path

from traveltide.config import ABTestConfig, PerksConfig
from traveltide.experiment.outcomes import read_results
from traveltide.experiment.run import inputs_needed, run_ab_test
from traveltide.io import read_parquet, write_csv, write_json, write_parquet
from traveltide.stage import run_stage

PATHS = ("features", "rules", "clusters", "personas", "campaign")
PATHS += ("users", "arms", "policy_values", "summary", "metrics")


def main(params, paths):
    config = ABTestConfig.from_params(params)
    need = inputs_needed(config)  # read only what this config uses
    optional = {"features": read_parquet(paths.features, what="features' user table")}
    optional["signals"] = PerksConfig.from_params(params).signals
    if "personas" in need:
        optional["personas"] = read_parquet(paths.personas, what="the cohort's latent truth")
    if "results" in need:
        optional["results"] = read_results(Path(config.outcomes), paths.campaign)
    rules = read_parquet(paths.rules, what="segment_rules' segments")
    clusters = read_parquet(paths.clusters, what="cluster's segments")
    out = run_ab_test(rules, clusters, config=config, **optional)
    write_parquet(out.users, paths.users)
    write_csv(out.arms, paths.arms)
    write_csv(out.policy_values, paths.policy_values)
    write_json(out.summary, paths.summary)
    write_json(out.metrics, paths.metrics)


if __name__ == "__main__":
    run_stage("ab_test", main, PATHS)
