"""DVC stage benchmark: each clustering setting of the `benchmark` block, at the true k and at
every auto-k rule's k, against the planted personas and their supervised ceiling."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import BenchmarkConfig, ClusterConfig
from traveltide.io import read_parquet, write_csv
from traveltide.segment.benchmark import run_benchmark
from traveltide.stage import run_stage


def main(params, paths):
    cluster = ClusterConfig.from_params(params)
    bench = BenchmarkConfig.from_params(params)
    features = read_parquet(paths.features, what="features' user table")
    personas = read_parquet(
        paths.personas, what="extract's cohort truth (empty for an external source)"
    )
    write_csv(run_benchmark(features, cluster, bench, personas=personas), paths.benchmark)


if __name__ == "__main__":
    run_stage("benchmark", main, ["features", "personas", "benchmark"])
