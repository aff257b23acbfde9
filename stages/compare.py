"""DVC stage compare: agreement of rule segments and ML clusters, their contingency table, and
per-segment recommendations derived from it."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import CompareConfig
from traveltide.io import read_parquet, write_csv, write_json
from traveltide.segment.compare import compare_segmentations, segments_table
from traveltide.stage import run_stage


def main(params, paths):
    config = CompareConfig.from_params(params)
    result = compare_segmentations(
        read_parquet(paths.rules, what="segment_rules' segments"),
        read_parquet(paths.clusters, what="cluster's segments"),
        agree_share=config.agree_share,
        split_share=config.split_share,
    )
    write_csv(result.contingency.reset_index(), paths.contingency)
    write_csv(segments_table(result.segments), paths.segments)
    write_json(result.metrics(), paths.metrics)
    write_json(result.summary(), paths.summary)


if __name__ == "__main__":
    run_stage(
        "compare", main, ["rules", "clusters", "contingency", "segments", "metrics", "summary"]
    )
