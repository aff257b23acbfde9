"""DVC stage features: one row per user, the feature catalog and the table's metrics."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.config import FeaturesConfig
from traveltide.features.build import build_features, feature_metrics
from traveltide.features.catalog import catalog_frame
from traveltide.features.sessions import read_sessions
from traveltide.io import write_csv, write_json, write_parquet
from traveltide.stage import run_stage


def main(params, paths):
    sessions = read_sessions(paths.sessions)
    table = build_features(sessions, FeaturesConfig.from_params(params))
    write_parquet(table, paths.features)
    write_csv(catalog_frame(), paths.catalog)
    write_json(feature_metrics(table), paths.metrics)


if __name__ == "__main__":
    run_stage("features", main, ["sessions", "features", "catalog", "metrics"])
