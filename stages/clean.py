"""DVC stage clean: repaired cohort sessions and the data-quality counts, on the engine
params.yaml's `engine` block names (DuckDB by default, or Spark)."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from dataclasses import asdict

from traveltide.config import CleanConfig, EngineConfig
from traveltide.engines.session import open_engine
from traveltide.features.clean import clean_file
from traveltide.io import write_json
from traveltide.stage import run_stage


def main(params, paths):
    config = CleanConfig.from_params(params)
    with open_engine(EngineConfig.from_params(params)) as engine:
        quality = clean_file(engine, paths.cohort, paths.sessions, config)
    write_json(asdict(quality), paths.metrics)


if __name__ == "__main__":
    run_stage("clean", main, ["cohort", "sessions", "metrics"])
