"""DVC stage compare: agreement of rule segments and ML clusters, their contingency table, and
per-segment recommendations derived from it."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from dataclasses import asdict

from traveltide.config import CompareConfig
from traveltide.io import read_parquet, write_csv, write_json
from traveltide.segment.compare import (
    agreement,
    align,
    contingency,
    recommendations_dict,
    segment_agreement,
    segments_table,
)
from traveltide.stage import run_stage


def main(params, paths):
    config = CompareConfig.from_params(params)
    both = align(
        read_parquet(paths.rules, what="segment_rules' segments"),
        read_parquet(paths.clusters, what="cluster's segments"),
    )
    result = agreement(both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"])
    segments = segment_agreement(
        both["segment"],
        both["cluster"],
        both["perk_rules"],
        both["perk_ml"],
        agree_share=config.agree_share,
        split_share=config.split_share,
    )
    write_csv(contingency(both["segment"], both["cluster"]).reset_index(), paths.contingency)
    write_csv(segments_table(segments), paths.segments)
    write_json({**asdict(result), **recommendations_dict(result, segments)}, paths.metrics)


if __name__ == "__main__":
    run_stage("compare", main, ["rules", "clusters", "contingency", "segments", "metrics"])
