"""The segmenter as a product: the `traveltide score` CLI, the MLflow model and its HTTP server,
and the track stage's run that logs it (scoring itself: tests/unit/mlops/test_serving.py)."""

from __future__ import annotations

import json
import os
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
from types import SimpleNamespace

import pandas as pd
import pytest

from support import blob_segmenter, blob_users, scoring_files
from traveltide.errors import TrackingError
from traveltide.mlops.lineage import DatasetSpec, file_md5
from traveltide.mlops.model import MODEL_NAME, ModelSpec, load_logged_segmenter, register_model
from traveltide.mlops.pipeline_state import PipelineOutputs, track_pipeline_state
from traveltide.mlops.runs import find_run, run_model_uri
from traveltide.mlops.store import TrackingTarget, resolve_target
from traveltide.mlops.tracking import RunRecord, log_pipeline_run
from traveltide.segment.segmenter import Segmenter
from traveltide.timings import StageTiming, write_timing

SERVER_START_S = 120  # a loaded 2-core machine needs ~20 s; fail clearly long before CI's limit


@pytest.fixture(scope="module")
def users() -> pd.DataFrame:
    return blob_users()[0]


@pytest.fixture(scope="module")
def segmenter(users) -> Segmenter:
    return blob_segmenter(users)


@pytest.fixture(scope="module")
def files(tmp_path_factory, users, segmenter) -> dict[str, Path]:
    return scoring_files(tmp_path_factory.mktemp("files"), users, segmenter)


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
    assert written.columns.tolist() == ["user_id", "cluster", "cluster_name", "perk"]
    assert written["user_id"].tolist() == users["user_id"].tolist()
    pd.testing.assert_frame_equal(written[["cluster", "perk"]], expected)
    assert written["cluster_name"].tolist() == expected["cluster"].map(segmenter.names).tolist()
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
    assert lines[0].split() == ["user_id", "cluster", "cluster_name", "perk"]
    expected = segmenter.predict(head)
    rows = [(w[0], w[1], " ".join(w[2:-1]), w[-1]) for w in map(str.split, lines[1:])]
    assert rows == [
        (str(u), str(c), segmenter.names[c], p)
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
    # optional, so a request without a feature reaches the model's own one-line refusal
    assert all(c["required"] is False for c in inputs)
    outputs = [c["name"] for c in info.signature.outputs.to_dict()]
    assert outputs == ["user_id", "cluster", "cluster_name", "perk"]
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
        cluster = int(expected["cluster"].iloc[0])
        assert body["predictions"] == [
            {
                "user_id": int(user["user_id"].iloc[0]),
                "cluster": cluster,
                "cluster_name": segmenter.names[cluster],
                "perk": expected["perk"].iloc[0],
            }
        ]
        # records without user_id; integers where the signature says double
        records = user.drop(columns="user_id").round().astype("int64").to_dict("records")
        status, body = post(f"{base}/invocations", {"dataframe_records": records})
        assert status == 200, body
        rounded = segmenter.predict(pd.DataFrame(records))
        cluster = int(rounded["cluster"].iloc[0])
        assert body["predictions"] == [
            {
                "cluster": cluster,
                "cluster_name": segmenter.names[cluster],
                "perk": rounded["perk"].iloc[0],
            }
        ]
        # a feature without a value, or without its column, is refused in one line naming it
        status, body = post(
            f"{base}/invocations", {"dataframe_records": [{**records[0], "bags": None}]}
        )
        assert status == 400
        assert (
            body["message"] == "request: column bags has 1 missing or infinite value(s), "
            "the first missing in row 1"
        )
        lacking = {k: v for k, v in records[0].items() if k != "bags"}
        status, body = post(f"{base}/invocations", {"dataframe_records": [lacking]})
        assert (status, body["message"]) == (400, "request: missing 1 feature column(s): bags")
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
    # a registry URI before any registration under that name says how to register
    with pytest.raises(TrackingError, match=r"no model is registered as 'other'.*`traveltide "
                       r"register --name other` first"):  # fmt: skip
        load_logged_segmenter(logged.target, "models:/other/1")


# --- the track stage's run ----------------------------------------------------------------


def stage_timing(stage: str, wall: float) -> StageTiming:
    return StageTiming(
        stage=stage,
        status="ok",
        started_at="2024-01-01T00:00:00+00:00",
        wall_s=wall,
        startup_s=None,
        run_s=wall,
        cpu_s=wall,
        peak_rss_bytes=1_000_000,
    )


def pipeline_workspace(root: Path, users: pd.DataFrame, model: Path) -> PipelineOutputs:
    """A workspace laid out like the pipeline's after `dvc repro`, with relative paths."""
    outputs = PipelineOutputs.from_paths(
        SimpleNamespace(**{name: Path("out") / name for name in PipelineOutputs.names()})
    )
    for folder in (outputs.metrics_dir, outputs.plots, outputs.exports):
        (root / folder).mkdir(parents=True)
    (root / outputs.metrics_dir / "cluster.json").write_text('{"silhouette": 0.7, "k": 3}')
    (root / outputs.metrics_dir / "ab_test.json").write_text('{"B_vs_C_decision_effect": 4.2}')
    (root / outputs.ab_summary).write_text('{"verdict": {"winner": "B"}}')
    (root / outputs.report).write_text("<html></html>")
    (root / outputs.plots / "k.png").write_bytes(b"png")
    (root / outputs.exports / "segments.csv").write_text("user_id\n1\n")
    pd.DataFrame({"k": [2, 3], "silhouette": [0.5, 0.7]}).to_csv(
        root / outputs.k_selection, index=False
    )
    users.to_parquet(root / outputs.features, index=False)
    users.head(20).to_parquet(root / outputs.cohort, index=False)
    (root / outputs.model).write_bytes(model.read_bytes())
    write_timing(stage_timing("cluster", 3.0), root / "timings")
    write_timing(stage_timing("track", 20.0), root / "timings")  # track's previous run
    return outputs


def test_track_pipeline_state_logs_the_workspace_as_one_run(
    files, users, tmp_path, monkeypatch, caplog
):
    import mlflow

    outputs = pipeline_workspace(tmp_path, users, files["model"])
    monkeypatch.chdir(tmp_path)
    md5 = {path: file_md5(path) for path in (outputs.cohort, outputs.model)}
    Path("dvc.lock").write_text(
        "stages:\n  extract:\n    outs:\n"
        f"    - path: {outputs.cohort.as_posix()}\n      md5: '{'0' * 32}'\n"  # stale
    )
    params = {"track": {"experiment": "t"}, "cluster": {"k": 3}}
    env = {"DVC_ROOT": str(tmp_path), "DVC_EXP_NAME": "exp-x"}
    with caplog.at_level("INFO"):
        record = track_pipeline_state(params, outputs, env=env, timings=Path("timings"))
    assert "dvc.lock records md5 " + "0" * 32 in caplog.text
    assert f"MLflow run {record.run_id} (exp-x): {record.url}" in caplog.text
    assert json.loads(json.dumps(record.__dict__))["run_name"] == "exp-x"  # the stage's file

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = mlflow.get_run(record.run_id)
    assert run.info.run_name == "exp-x"
    assert run.data.params == {"track.experiment": "t", "cluster.k": "3"}
    assert run.data.metrics == {
        "cluster/silhouette": 0.7,
        "cluster/k": 3.0,
        "ab_test/B_vs_C_decision_effect": 4.2,
    }
    assert run.data.tags["ab_test.verdict_winner"] == "B"
    assert run.data.tags[MODEL_NAME] == record.model_id
    client = mlflow.MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(record.run_id)}
    assert {"report", "tables", "exports", "metrics", "timings.json"} <= artifacts
    assert "report/plots/k.png" in {
        a.path for a in client.list_artifacts(record.run_id, "report/plots")
    }
    timings = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/timings.json")
    assert timings["cluster"]["wall_s"] == 3.0 and "track" not in timings
    datasets = {d.dataset.name: d.dataset.digest for d in run.inputs.dataset_inputs}
    assert datasets.keys() == {"cohort", "user_features"}
    assert datasets["cohort"] == md5[outputs.cohort]  # the file's md5, not the stale entry
    children = mlflow.search_runs(
        [record.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{record.run_id}'"
    )
    assert children.empty  # the k-selection table is an artifact, not nested runs
    assert mlflow.get_logged_model(record.model_id).tags["dvc_md5"] == md5[outputs.model]
    model_dir = tmp_path / "mlartifacts" / "t" / "models" / record.model_id / "artifacts"
    example = json.loads((model_dir / "input_example.json").read_text())
    assert example["columns"][0] == "user_id"
    assert [row[0] for row in example["data"]] == users["user_id"].head(3).tolist()
