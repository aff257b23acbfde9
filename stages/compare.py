"""DVC stage compare: agreement of rule segments and ML clusters, and their contingency table."""

from dataclasses import asdict

from traveltide.compare import agreement, align, contingency
from traveltide.io import read_parquet, write_csv, write_json
from traveltide.stage import run_stage


def main(params, paths):
    both = align(
        read_parquet(paths.rules, what="segment_rules' segments"),
        read_parquet(paths.clusters, what="cluster's segments"),
    )
    result = agreement(both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"])
    write_csv(contingency(both["segment"], both["cluster"]).reset_index(), paths.contingency)
    write_json(asdict(result), paths.metrics)


if __name__ == "__main__":
    run_stage("compare", main, ["rules", "clusters", "contingency", "metrics"])
