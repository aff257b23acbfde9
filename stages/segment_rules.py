"""DVC stage segment_rules: a rule-based segment and perk per user."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import RulesConfig
from traveltide.io import write_json, write_parquet
from traveltide.segment.rules import rules_metrics, segment_by_rules
from traveltide.segment.table import FileTable
from traveltide.stage import run_stage


def main(params, paths):
    features = FileTable(paths.features)  # only the rules' columns are read
    segments, thresholds = segment_by_rules(features, RulesConfig.from_params(params))
    write_parquet(segments, paths.segments)
    write_json(rules_metrics(segments, thresholds), paths.summary)


if __name__ == "__main__":
    run_stage("segment_rules", main, ["features", "segments", "summary"])
