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
    assert scored.columns.tolist() == ["user_id", "cluster", "cluster_name", "perk"]
    assert scored["user_id"].tolist() == shuffled["user_id"].tolist()
    pd.testing.assert_frame_equal(scored[["cluster", "perk"]], expected)
    # each cluster's name, as the cluster stage named it (e.g. "high bags, low d")
    assert scored["cluster_name"].tolist() == [segmenter.names[c] for c in expected["cluster"]]
    assert scored["cluster_name"].str.match(r"^(high|low) \w+, (high|low) \w+$").all()
    # without user_id: the same scores, in order, no id column
    bare = score(segmenter, shuffled.drop(columns="user_id"))
    pd.testing.assert_frame_equal(bare, scored.drop(columns="user_id"))
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


def served_error(exc_type, features: list[str], request: pd.DataFrame) -> tuple[int, str]:
    """What MLflow's scoring server answers when the model's predict raises `exc_type`: it
    rewrites an MlflowException's message to lead with the whole request as a table."""
    import json

    from mlflow.exceptions import MlflowException
    from mlflow.models import Model
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    from mlflow.pyfunc.scoring_server import invocations

    from traveltide.mlops.model import model_signature

    class Served:
        metadata = Model(signature=model_signature(features))

        def predict(self, data, params=None):
            message = "request: missing 1 feature column(s): bags"
            raise exc_type(message, error_code=INVALID_PARAMETER_VALUE)

    payload = json.dumps({"dataframe_split": json.loads(request.to_json(orient="split"))})
    try:
        invocations(payload, "application/json", Served(), Served.metadata.get_input_schema())
    except MlflowException as exc:
        return exc.get_http_status_code(), json.loads(exc.serialize_as_json())["message"]
    raise AssertionError("no error")


def test_a_refused_request_is_answered_in_one_short_line_naming_the_column(users):
    """The model's RequestError keeps its message through the server's rewrite; a plain
    MlflowException's message starts with the request, printed as a table."""
    from mlflow.exceptions import MlflowException

    from traveltide.mlops.model import RequestError

    features = [f"feature_{i}" for i in range(65)]
    request = pd.DataFrame([dict.fromkeys(features, 1.5)])
    plain_status, plain = served_error(MlflowException, features, request)
    status, short = served_error(RequestError, features, request)
    assert plain_status == status == 400
    assert short == "request: missing 1 feature column(s): bags"
    assert plain.startswith("Failed to predict data '") and plain.endswith(short)
    assert "[1 rows x 65 columns]" in plain  # the request, as pandas prints it


def test_signature_lets_a_request_without_a_feature_reach_the_model():
    """MLflow checks a request against the signature before predict: a required column that
    is missing is refused there, with the schema and the request in the message."""
    from traveltide.mlops.model import model_signature

    signature = model_signature(["bags", "discount"])
    assert [c.required for c in signature.inputs.inputs] == [False, False, False]
    assert signature.outputs.input_names() == ["user_id", "cluster", "cluster_name", "perk"]
