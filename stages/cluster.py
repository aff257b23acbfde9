"""DVC stage cluster: ML segments and perks, the fitted segmenter, quality and stability.

k = auto picks from select_k's table; a fixed k refits only that k. On Spark the users outside
the fit sample are scored in the Spark session.
"""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.io import write_bytes, write_csv, write_json, write_parquet
from traveltide.segment.cluster_file import cluster_file
from traveltide.segment.segmenter import model_bytes
from traveltide.stage import run_stage


def main(params, paths):
    result = cluster_file(
        params, paths.features, paths.personas, paths.k_selection, paths.clusters.parent
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
