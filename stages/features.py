"""DVC stage features: one row per user, the feature catalog and the table's metrics, on the
engine params.yaml's `engine` block names (DuckDB by default, or Spark)."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import EngineConfig, FeaturesConfig
from traveltide.engines.session import open_engine
from traveltide.features.build import features_file
from traveltide.features.catalog import catalog_csv
from traveltide.io import write_json, write_text
from traveltide.stage import run_stage


def main(params, paths):
    config = FeaturesConfig.from_params(params)
    with open_engine(EngineConfig.from_params(params)) as engine:
        metrics = features_file(engine, paths.sessions, paths.features, config)
    write_text(catalog_csv(), paths.catalog)
    write_json(metrics, paths.metrics)


if __name__ == "__main__":
    run_stage("features", main, ["sessions", "features", "catalog", "metrics"])
