"""The segmenter as a product: scoring files, the CLI, the MLflow model and its HTTP server."""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import BLOB_FEATURES, SIGNALS, blob_users
from traveltide.config import ClusterConfig
from traveltide.errors import DataError, TrackingError
from traveltide.mlops.serving import feature_matrix, load_segmenter, read_table, score
from traveltide.mlops.tracking import (
    MODEL_NAME,
    DatasetSpec,
    ModelSpec,
    RunRecord,
    TrackingTarget,
    file_md5,
    find_run,
    load_logged_segmenter,
    log_pipeline_run,
    register_model,
    resolve_target,
    run_model_uri,
)
from traveltide.segment.cluster import Segmenter, fit_segmenter

SERVER_START_S = 120  # a loaded 2-core machine needs ~20 s; fail clearly long before CI's limit


@pytest.fixture(scope="module")
def users() -> pd.DataFrame:
    return blob_users()[0]


@pytest.fixture(scope="module")
def segmenter(users) -> Segmenter:
    return fit_segmenter(users, ClusterConfig(k=3, k_range=(2, 3, 4)), SIGNALS).segmenter


@pytest.fixture(scope="module")
def files(tmp_path_factory, users, segmenter) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    paths = {
        "model": folder / "segmenter.pkl",
        "parquet": folder / "users.parquet",
        "csv": folder / "users.csv",
    }
    paths["model"].write_bytes(pickle.dumps(segmenter, protocol=5))
    users.to_parquet(paths["parquet"], index=False)
    users.to_csv(paths["csv"], index=False)
    return paths


# --- scoring ------------------------------------------------------------------------------


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


# --- the CLI ------------------------------------------------------------------------------


def traveltide(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "traveltide.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_scores_a_file_and_writes_csv_or_parquet(files, users, segmenter, tmp_path):
    out = tmp_path / "scored.parquet"
    done = traveltide(
        "score", "--input", str(files["csv"]), "--model", str(files["model"]), "--output", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = segmenter.predict(users)
    written = pd.read_parquet(out)
    assert written["user_id"].tolist() == users["user_id"].tolist()
    pd.testing.assert_frame_equal(written[["cluster", "perk"]], expected)
    assert done.stderr.strip().splitlines()[-1] == f"scored {len(users)} users -> {out}"


def test_cli_prints_a_table_and_fails_in_one_line_on_bad_input(files, users, segmenter, tmp_path):
    head = users.head(4)
    small = tmp_path / "four.parquet"
    head.to_parquet(small, index=False)
    printed = traveltide(
        "score", "--input", str(small), "--model", str(files["model"]), cwd=tmp_path
    )
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.strip().splitlines()
    assert lines[0].split() == ["user_id", "cluster", "perk"]
    expected = segmenter.predict(head)
    rows = [line.split() for line in lines[1:]]
    assert rows == [
        [str(u), str(c), p]
        for u, c, p in zip(head["user_id"], expected["cluster"], expected["perk"], strict=True)
    ]

    bad = tmp_path / "bad.csv"
    users.head(5).assign(discount=["0.1", "0.2", "lots", "0.3", "0.4"]).to_csv(bad, index=False)
    failed = traveltide("score", "--input", str(bad), "--model", str(files["model"]), cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.strip().splitlines() == [
        f"error: score: {bad}: column discount is not numeric: 'lots' in row 3"
    ]


# --- the MLflow model ---------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    target: TrackingTarget
    record: RunRecord
    model_dir: Path


@pytest.fixture(scope="module")
def logged(tmp_path_factory, files, users, segmenter) -> Logged:
    root = tmp_path_factory.mktemp("repo")
    target = resolve_target({"DVC_ROOT": str(root)}, cwd=root)
    record = log_pipeline_run(
        target=target,
        experiment="serving",
        params={"cluster.k": "3"},
        metrics={"cluster.silhouette": 0.7},
        tags={"dvc_exp_name": "exp-serve"},
        artifacts=[],
        candidates=[],
        datasets=[
            DatasetSpec("user_features", files["parquet"], "training", file_md5(files["parquet"]))
        ],
        model=ModelSpec(
            segmenter=files["model"],
            features=tuple(segmenter.features),
            example=users.head(3),
            digest=file_md5(files["model"]),
        ),
    )
    model_dir = next((root / "mlartifacts").glob(f"serving/models/{record.model_id}/artifacts"))
    return Logged(target, record, model_dir)


def test_run_holds_the_model_its_signature_and_the_dataset(logged, files, segmenter):
    import mlflow

    mlflow.set_tracking_uri(logged.target.tracking_uri)
    run = mlflow.get_run(logged.record.run_id)
    assert run.data.tags[MODEL_NAME] == logged.record.model_id
    assert logged.record.model_uri == f"models:/{logged.record.model_id}"
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name == "user_features"
    assert dataset.dataset.digest == file_md5(files["parquet"])
    assert [t.value for t in dataset.tags] == ["training"]

    model = mlflow.get_logged_model(logged.record.model_id)
    assert model.source_run_id == logged.record.run_id
    assert model.tags["dvc_md5"] == file_md5(files["model"])
    assert {m.key: m.value for m in model.metrics} == {"cluster.silhouette": 0.7}
    info = mlflow.models.get_model_info(logged.record.model_uri)
    inputs = info.signature.inputs.to_dict()
    assert [c["name"] for c in inputs] == ["user_id", *segmenter.features]
    assert [c["type"] for c in inputs] == ["long"] + ["double"] * len(segmenter.features)
    assert inputs[0]["required"] is False
    assert [c["name"] for c in info.signature.outputs.to_dict()] == ["user_id", "cluster", "perk"]
    example = json.loads((logged.model_dir / "input_example.json").read_text())
    assert example["columns"] == ["user_id", *segmenter.features] and len(example["data"]) == 3
    # the pickle inside the model is the DVC output, byte for byte
    assert file_md5(logged.model_dir / "artifacts" / "segmenter.pkl") == file_md5(files["model"])


def test_model_loads_in_a_python_without_the_installed_package(logged, users, segmenter, tmp_path):
    """`python -S` skips site-packages' .pth files, so the editable traveltide is invisible:
    the model must unpickle with the copy of the package it carries (`code_paths`)."""
    site = sysconfig.get_paths()["purelib"]
    code = "\n".join(
        [
            f"import sys; sys.path.append({site!r})",
            "import json, mlflow.pyfunc, pandas as pd",
            f"model = mlflow.pyfunc.load_model({str(logged.model_dir)!r})",
            "import traveltide",
            "rows = pd.read_json(sys.stdin, orient='split')",
            "scores = model.predict(rows).to_dict('list')",
            "print(json.dumps({'package': traveltide.__file__, 'scores': scores}))",
        ]
    )
    rows = users.sample(5, random_state=2)
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        input=rows.to_json(orient="split", index=False),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["package"].startswith(str(logged.model_dir / "code" / "traveltide"))
    expected = segmenter.predict(rows)
    assert out["scores"]["user_id"] == rows["user_id"].tolist()
    assert out["scores"]["cluster"] == expected["cluster"].tolist()
    assert out["scores"]["perk"] == expected["perk"].tolist()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for_ping(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"mlflow models serve exited {server.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{base}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"no /ping within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def test_served_model_scores_a_user_over_http(logged, users, segmenter, tmp_path):
    """`mlflow models serve` on the logged model, from an empty folder, as the README shows."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": logged.target.tracking_uri,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # uvicorn is found on PATH
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                str(bin_dir / "mlflow"),
                "models",
                "serve",
                "-m",
                logged.record.model_uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],  # fmt: skip
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the uvicorn child dies with it
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_ping(base, server, log)
        user = users.iloc[[17]]
        expected = segmenter.predict(user)
        status, body = post(
            f"{base}/invocations",
            {"dataframe_split": json.loads(user.to_json(orient="split", index=False))},
        )
        assert status == 200, body
        assert body["predictions"] == [
            {
                "user_id": int(user["user_id"].iloc[0]),
                "cluster": int(expected["cluster"].iloc[0]),
                "perk": expected["perk"].iloc[0],
            }
        ]
        # records without user_id; integers where the signature says double
        records = user.drop(columns="user_id").round().astype("int64").to_dict("records")
        status, body = post(f"{base}/invocations", {"dataframe_records": records})
        assert status == 200, body
        rounded = segmenter.predict(pd.DataFrame(records))
        assert body["predictions"] == [
            {"cluster": int(rounded["cluster"].iloc[0]), "perk": rounded["perk"].iloc[0]}
        ]
        # a missing feature is refused, naming it
        status, body = post(
            f"{base}/invocations", {"dataframe_records": [{**records[0], "bags": None}]}
        )
        assert status == 400
        assert "request: column bags has 1 missing or infinite value(s)" in body["message"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def test_register_and_score_from_the_registry(logged, files, users, segmenter, tmp_path):
    run_id = find_run(logged.target, "serving", "exp-serve")
    assert run_id == logged.record.run_id
    uri = run_model_uri(logged.target, run_id)
    assert uri == logged.record.model_uri
    first = register_model(logged.target, uri)
    second = register_model(logged.target, uri)
    assert (first, second) == ("1", "2")
    loaded = load_logged_segmenter(logged.target, "models:/traveltide-segmenter/2")
    pd.testing.assert_frame_equal(loaded.predict(users), segmenter.predict(users))
    with pytest.raises(TrackingError, match="no run named 'nope'"):
        find_run(logged.target, "serving", "nope")
    with pytest.raises(TrackingError, match="cannot be loaded"):
        load_logged_segmenter(logged.target, "models:/traveltide-segmenter/9")
