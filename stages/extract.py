"""DVC stage extract: Elena's cohort from the source database (params `source.*`), as Parquet,
and its ground truth: the generator's personas of the cohort's users (none for an external
database). Its outputs are `persist`: DVC keeps them while it runs, so a failure replaces none.
The cohort and its truth stream into their files a row group at a time (`sources.cohort_file`,
`sources.truth_file`): memory does not grow with the cohort. With
`engine.name: spark` the query runs on Spark (`sources.spark_extract`)."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

import os

from traveltide.config import CohortConfig, EngineConfig, SourceConfig
from traveltide.io import write_json
from traveltide.sources.cohort_file import cohort_file
from traveltide.sources.db import resolve_source
from traveltide.sources.truth_file import truth_file
from traveltide.stage import run_stage


def main(params, paths):
    source = resolve_source(SourceConfig.from_params(params), os.environ)
    config, engine = CohortConfig.from_params(params), EngineConfig.from_params(params)
    with cohort_file(source, config, paths.cohort, engine) as cohort:
        truth_file(paths.personas, cohort.users, paths.truth, known=source.is_embedded)
        write_json(cohort.summary.__dict__, paths.metrics)


if __name__ == "__main__":
    run_stage("extract", main, ["personas", "cohort", "truth", "metrics"])
