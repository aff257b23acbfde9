"""DVC stage benchmark: each clustering setting of the `benchmark` block, at the true k and at
every auto-k rule's k, against the planted personas and their supervised ceiling."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import BenchmarkConfig, ClusterConfig
from traveltide.io import write_csv
from traveltide.segment.benchmark import run_benchmark
from traveltide.segment.table import FileTable, read_personas
from traveltide.stage import run_stage


def main(params, paths):
    cluster = ClusterConfig.from_params(params)
    bench = BenchmarkConfig.from_params(params)
    features = FileTable(paths.features)  # read a sample or a batch of users at a time
    personas = read_personas(paths.personas)
    write_csv(run_benchmark(features, cluster, bench, personas=personas), paths.benchmark)


if __name__ == "__main__":
    run_stage("benchmark", main, ["features", "personas", "benchmark"])
