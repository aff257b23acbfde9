"""DVC stage cluster: ML segments and perks, the fitted segmenter, quality and stability.

k = auto picks from select_k's table; a fixed k refits only that k.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import ClusterConfig, PerksConfig
from traveltide.io import read_csv, read_parquet, write_bytes, write_csv, write_json, write_parquet
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.segmenter import model_bytes
from traveltide.stage import run_stage


def main(params, paths):
    config = ClusterConfig.from_params(params)
    signals = PerksConfig.from_params(params).signals
    features = read_parquet(paths.features, what="features' user table")
    personas = read_parquet(
        paths.personas, what="extract's cohort truth (empty for an external source)"
    )
    k_table = read_csv(paths.k_selection, what="select_k's k-selection table")
    result = fit_segmenter(features, config, signals, personas=personas, k_table=k_table)
    write_parquet(result.assignments, paths.clusters)
    write_bytes(model_bytes(result.segmenter), paths.model)
    write_csv(result.profiles.reset_index(), paths.profiles)
    write_json(result.metrics(), paths.metrics)
    write_json(result.summary(), paths.summary)


if __name__ == "__main__":
    run_stage(
        "cluster",
        main,
        [
            "features",
            "personas",
            "k_selection",
            "clusters",
            "model",
            "profiles",
            "metrics",
            "summary",
        ],
    )
