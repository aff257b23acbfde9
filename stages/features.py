"""DVC stage features: one row per user, and the feature catalog."""

from dataclasses import asdict

import pandas as pd

from traveltide.config import FeaturesConfig
from traveltide.features import CATALOG, build_features
from traveltide.io import read_parquet, write_csv, write_json, write_parquet
from traveltide.stage import run_stage


def main(params, paths):
    sessions = read_parquet(paths.sessions, what="clean's sessions")
    table = build_features(sessions, FeaturesConfig.from_params(params))
    write_parquet(table, paths.features)
    write_csv(pd.DataFrame([asdict(f) for f in CATALOG]), paths.catalog)
    write_json({"users": len(table), "features": len(CATALOG)}, paths.metrics)


if __name__ == "__main__":
    run_stage("features", main, ["sessions", "features", "catalog", "metrics"])
