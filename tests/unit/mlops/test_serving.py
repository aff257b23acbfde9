"""Scoring users with the fitted segmenter: column checks, file formats, the pickle."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import BLOB_FEATURES, blob_segmenter, blob_users, scoring_files
from traveltide.errors import DataError
from traveltide.mlops.serving import feature_matrix, load_segmenter, read_table, score
from traveltide.segment.segmenter import Segmenter


@pytest.fixture(scope="module")
def users() -> pd.DataFrame:
    return blob_users()[0]


@pytest.fixture(scope="module")
def segmenter(users) -> Segmenter:
    return blob_segmenter(users)


@pytest.fixture(scope="module")
def files(tmp_path_factory, users, segmenter) -> dict[str, Path]:
    return scoring_files(tmp_path_factory.mktemp("files"), users, segmenter)


def test_score_matches_predict_row_by_row_with_ids(users, segmenter):
    shuffled = users.sample(frac=1.0, random_state=3).reset_index(drop=True)
    scored = score(segmenter, shuffled)
    expected = segmenter.predict(shuffled)
    assert scored.columns.tolist() == ["user_id", "cluster", "perk"]
    assert scored["user_id"].tolist() == shuffled["user_id"].tolist()
    pd.testing.assert_frame_equal(scored[["cluster", "perk"]], expected)
    # without user_id: the same scores, in order, no id column
    bare = score(segmenter, shuffled.drop(columns="user_id"))
    pd.testing.assert_frame_equal(bare, expected)
    # integer and boolean feature columns are numbers too
    ints = shuffled.assign(c=shuffled["c"].round().astype("int64"), d=shuffled["d"] > 0)
    as_float = ints.assign(d=ints["d"].astype("float64"))
    pd.testing.assert_frame_equal(score(segmenter, ints), score(segmenter, as_float))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.drop(columns=["bags", "d"]),
            r"users\.csv: missing 2 feature column\(s\): bags, d",
        ),
        (
            lambda t: t.assign(c=t["c"].astype(str).where(t.index != 4, "n/a")),
            r"users\.csv: column c is not numeric: 'n/a' in row 5",
        ),
        (
            lambda t: t.assign(d=t["d"].where(t.index != 2, np.nan)),
            r"users\.csv: column d has 1 missing or infinite value\(s\), the first missing in "
            r"row 3",
        ),
        (
            lambda t: t.assign(bags=t["bags"].where(t.index < 7, np.inf)),
            r"column bags has \d+ missing or infinite value\(s\), the first infinite in row 8",
        ),
        (lambda t: t.iloc[:0], r"users\.csv: no rows to score"),
    ],
)
def test_bad_feature_tables_name_the_source_column_and_row(users, change, message):
    with pytest.raises(DataError, match=message):
        feature_matrix(change(users.head(10)), BLOB_FEATURES, source="users.csv")


def test_read_table_reads_parquet_and_csv_and_refuses_the_rest(files, users, tmp_path):
    pd.testing.assert_frame_equal(read_table(files["parquet"]), users)
    pd.testing.assert_frame_equal(read_table(files["csv"]), users)
    with pytest.raises(DataError, match=r"nope\.parquet: no such file"):
        read_table(tmp_path / "nope.parquet")
    with pytest.raises(DataError, match=r"users\.json: unsupported format"):
        read_table(tmp_path / "users.json")
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read as Parquet"):
        read_table(broken)


def test_load_segmenter_refuses_what_is_not_one(files, tmp_path):
    assert isinstance(load_segmenter(files["model"]), Segmenter)
    with pytest.raises(DataError, match="no fitted segmenter"):
        load_segmenter(tmp_path / "missing.pkl")
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x00not a pickle")
    with pytest.raises(DataError, match="not a pickled segmenter"):
        load_segmenter(garbage)
    other = tmp_path / "dict.pkl"
    other.write_bytes(pickle.dumps({"k": 3}))
    with pytest.raises(DataError, match="holds a dict, not a Segmenter"):
        load_segmenter(other)
