"""DVC stage extract: Elena's cohort from the source database, as Parquet."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import CohortConfig
from traveltide.io import write_json, write_parquet
from traveltide.sources.db import resolve_source
from traveltide.sources.extract import extract_cohort, summarise
from traveltide.stage import run_stage


def main(params, paths):
    config = CohortConfig.from_params(params)
    cohort = extract_cohort(resolve_source(), config)
    write_parquet(cohort, paths.cohort)
    write_json(summarise(cohort).__dict__, paths.metrics)


if __name__ == "__main__":
    run_stage("extract", main, ["cohort", "metrics"])
