"""DVC stage cluster: ML segments and perks, the fitted segmenter, k-selection and quality."""

import pickle
from dataclasses import asdict

from traveltide.cluster import fit_segmenter
from traveltide.config import ClusterConfig, PerksConfig
from traveltide.io import read_parquet, write_bytes, write_csv, write_json, write_parquet
from traveltide.rules import mix
from traveltide.stage import run_stage


def main(params, paths):
    config = ClusterConfig.from_params(params)
    signals = PerksConfig.from_params(params).signals
    features = read_parquet(paths.features, what="features' user table")
    result = fit_segmenter(features, config, signals)
    write_parquet(result.assignments, paths.clusters)
    write_bytes(pickle.dumps(result.segmenter, protocol=5), paths.model)
    write_csv(result.k_table, paths.k_selection)
    write_csv(result.profiles.reset_index(), paths.profiles)
    write_json(
        {
            **asdict(result.quality),
            "algorithm": config.algorithm,
            "cluster_sizes": mix(result.assignments["cluster"]),
            "perk_mix": mix(result.assignments["perk"]),
            "cluster_names": result.segmenter.names,
            "cluster_perks": result.segmenter.perks,
        },
        paths.metrics,
    )


if __name__ == "__main__":
    run_stage(
        "cluster", main, ["features", "clusters", "model", "k_selection", "profiles", "metrics"]
    )
