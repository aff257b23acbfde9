"""DVC stage extract: Elena's cohort from the source database (params `source.*`), as Parquet,
and its ground truth: the generator's personas of the cohort's users (none for an external
database). Its outputs are `persist`: DVC keeps them while it runs, so a failure replaces none."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

import os

from traveltide.config import CohortConfig, SourceConfig
from traveltide.io import read_parquet, write_json, write_parquet
from traveltide.sources.db import resolve_source
from traveltide.sources.extract import extract_cohort, summarise
from traveltide.sources.truth import cohort_truth
from traveltide.stage import run_stage


def main(params, paths):
    source = resolve_source(SourceConfig.from_params(params), os.environ)
    cohort = extract_cohort(source, CohortConfig.from_params(params))
    personas = read_parquet(paths.personas, what="generate's personas")
    truth = cohort_truth(personas, cohort["user_id"], known=source.is_embedded)
    write_parquet(cohort, paths.cohort)
    write_parquet(truth, paths.truth)
    write_json(summarise(cohort).__dict__, paths.metrics)


if __name__ == "__main__":
    run_stage("extract", main, ["personas", "cohort", "truth", "metrics"])
