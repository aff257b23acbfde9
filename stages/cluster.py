"""DVC stage cluster: ML segments and perks, the fitted segmenter, quality and stability.

k = auto picks from select_k's table; a fixed k refits only that k.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import ClusterConfig, PerksConfig
from traveltide.io import read_csv, write_bytes, write_csv, write_json, write_parquet
from traveltide.segment.clustering import fit_segmenter
from traveltide.segment.segmenter import model_bytes
from traveltide.segment.table import FileTable, read_personas
from traveltide.stage import run_stage


def main(params, paths):
    config = ClusterConfig.from_params(params)
    signals = PerksConfig.from_params(params).signals
    personas = read_personas(paths.personas)
    k_table = read_csv(paths.k_selection, what="select_k's k-selection table")
    result = fit_segmenter(
        FileTable(paths.features), config, signals, personas=personas, k_table=k_table
    )
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
