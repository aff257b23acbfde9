"""Helpers shared by test modules: small scales, PostgreSQL URLs, synthetic feature tables."""

from __future__ import annotations

import os

SMALL_SCALE = 0.02  # the generator scale of the tests' databases and pipeline repositories


def postgres_url() -> str:
    return os.environ.get("TRAVELTIDE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def schema_url(url: str, schema: str) -> str:
    """The URL with libpq `options` setting search_path, so unqualified SQL reads `schema`."""
    import sqlalchemy as sa

    parsed = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


def pg_query(url: str, sql: str, **params) -> list[tuple]:
    """Rows of one query on a PostgreSQL URL, through a short-lived engine."""
    import sqlalchemy as sa

    from traveltide.sources.db import driver_url

    engine = sa.create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


SIGNALS = {"free_checked_bag": "bags", "exclusive_discounts": "discount"}  # perks.signals
BLOB_FEATURES = ["bags", "discount", "c", "d"]  # the feature columns of blob_users


def blob_users(n: int = 300, *, k: int = 3, seed: int = 0, std: float = 0.6, first_id: int = 1000):
    """`n` users in `k` well-separated Gaussian blobs over BLOB_FEATURES (user_id counting from
    `first_id`), and each user's blob: a feature table whose right clustering is known."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_blobs

    X, truth = make_blobs(
        n_samples=n, centers=k, n_features=len(BLOB_FEATURES), cluster_std=std, random_state=seed
    )
    table = pd.DataFrame(X, columns=BLOB_FEATURES)
    table.insert(0, "user_id", np.arange(n, dtype="int64") + first_id)
    return table, truth


def blob_segmenter(users):
    """A k=3 segmenter fitted on `blob_users()`: a model whose scores tests can predict."""
    from traveltide.config import ClusterConfig
    from traveltide.segment.clustering import fit_segmenter

    config = ClusterConfig(k=3, k_range=(2, 3, 4), max_correlation=None)  # blobs: keep all four
    return fit_segmenter(users, config, SIGNALS).segmenter


def scoring_files(folder, users, segmenter) -> dict:
    """The segmenter pickled and the users as Parquet and CSV in `folder`, by kind."""
    import pickle

    paths = {
        "model": folder / "segmenter.pkl",
        "parquet": folder / "users.parquet",
        "csv": folder / "users.csv",
    }
    paths["model"].write_bytes(pickle.dumps(segmenter, protocol=5))
    users.to_parquet(paths["parquet"], index=False)
    users.to_csv(paths["csv"], index=False)
    return paths


def write_csvs(frames: dict, folder):
    """Each frame as `<table>.csv` in `folder` (created): a CSV export of the four tables."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, df in frames.items():
        df.to_csv(folder / f"{table}.csv", index=False)
    return folder


def mlflow_run(target, experiment: str, *, name: str, params=None, metrics=None, tags=None) -> str:
    """A finished top-level run in `target`'s store, made with MLflow's client alone (not the
    track stage's logging): what tests of reading runs back need. Returns its id."""
    from traveltide.mlops.store import experiment_id, open_store

    with open_store(target) as client:
        exp_id = experiment_id(client, experiment, target)
        run = client.create_run(exp_id, run_name=name, tags={"dvc_exp_name": name, **(tags or {})})
        for key, value in (params or {}).items():
            client.log_param(run.info.run_id, key, value)
        for key, value in (metrics or {}).items():
            client.log_metric(run.info.run_id, key, value)
        client.set_terminated(run.info.run_id)
    return run.info.run_id
