"""The feature table read a piece at a time (traveltide.segment.table): a Parquet file answers
as the frame it holds, and the clustering fitted from the file, a batch of users at a time,
writes what the clustering fitted from the whole frame writes."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cluster_cases import CONFIG, blob_features, personas_of
from support import BLOB_FEATURES, SIGNALS
from traveltide.errors import DataError
from traveltide.segment import table as table_module
from traveltide.segment.clustering import fit_segmenter, select_k
from traveltide.segment.models import fitted_rows
from traveltide.segment.table import FileTable, FrameTable


def written(tmp_path, frame, *, row_group_size=97):
    """`frame` as a Parquet file of many small row groups (so reads cross their boundaries)."""
    path = tmp_path / "features.parquet"
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size
    )
    return FileTable(path)


def test_the_file_answers_as_the_frame_it_holds(tmp_path):
    df, _ = blob_features(n=500)
    df["n_trips"] = np.arange(len(df)) % 5  # an integer column beside the doubles
    names = [*BLOB_FEATURES, "n_trips"]
    file, frame = written(tmp_path, df), FrameTable(df)
    assert file.n_rows == frame.n_rows == 500
    assert file.columns == frame.columns
    assert file.column("user_id").dtype == np.int64
    np.testing.assert_array_equal(file.column("user_id"), df["user_id"].to_numpy())
    rows = fitted_rows(500, 123, seed=4)
    np.testing.assert_array_equal(file.take(names, rows), df[names].to_numpy(float)[rows])
    np.testing.assert_array_equal(frame.take(names, rows), df[names].to_numpy(float)[rows])
    for source in (file, frame):
        parts = list(source.batches(names, size=64))
        assert max(len(p) for p in parts) <= 64
        np.testing.assert_array_equal(np.vstack(parts), df[names].to_numpy(float))


def test_a_bad_file_or_feature_is_one_line(tmp_path):
    with pytest.raises(DataError, match=r"missing input \(features' user table\); run"):
        assert FileTable(tmp_path / "absent.parquet").n_rows
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        assert FileTable(tmp_path / "junk.parquet").columns
    df, _ = blob_features(n=200)
    df.loc[[3, 150], "discount"] = np.nan
    with pytest.raises(DataError, match="feature 'discount' is NaN or infinite for 2 rows"):
        fit_segmenter(written(tmp_path, df), CONFIG, SIGNALS)
    text = blob_features(n=200)[0].assign(c="x")
    with pytest.raises(DataError, match="feature 'c' is not numeric"):
        select_k(written(tmp_path, text), CONFIG)


@pytest.mark.parametrize(
    "changes",
    [{}, {"algorithm": "dbscan", "eps": 0.3, "min_samples": 5}, {"pca": 2}],
    ids=["kmeans", "dbscan-noise", "pca"],
)
def test_fitting_from_the_file_in_batches_writes_what_the_frame_does(
    tmp_path, monkeypatch, changes
):
    df, truth = blob_features(n=900)
    personas = personas_of(df, truth)
    config = replace(CONFIG, fit_sample=300, stability_resamples=1, **changes)
    whole = fit_segmenter(df, config, SIGNALS, personas=personas)
    monkeypatch.setattr(table_module, "BATCH_ROWS", 256)  # four batches of users
    batched = fit_segmenter(written(tmp_path, df), config, SIGNALS, personas=personas)
    pd.testing.assert_frame_equal(batched.assignments, whole.assignments)
    pd.testing.assert_frame_equal(batched.profiles, whole.profiles)
    assert batched.metrics() == pytest.approx(whole.metrics(), nan_ok=True)
    assert batched.n_users == 900 and batched.n_fitted == 300
    if config.algorithm == "dbscan":  # noise among the fitted users gets the nearest perk
        assert (whole.assignments["cluster"] == -1).any()
    k_file = select_k(written(tmp_path, df), config, personas=personas)
    pd.testing.assert_frame_equal(k_file, select_k(df, config, personas=personas))
