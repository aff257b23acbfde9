"""DVC stage clean: repaired cohort sessions and the data-quality counts."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from dataclasses import asdict

from traveltide.config import CleanConfig
from traveltide.features.clean import clean_sessions
from traveltide.io import read_parquet, write_json, write_parquet
from traveltide.stage import run_stage


def main(params, paths):
    cohort = read_parquet(paths.cohort, what="extract's cohort")
    sessions, quality = clean_sessions(cohort, CleanConfig.from_params(params))
    write_parquet(sessions, paths.sessions)
    write_json(asdict(quality), paths.metrics)


if __name__ == "__main__":
    run_stage("clean", main, ["cohort", "sessions", "metrics"])
