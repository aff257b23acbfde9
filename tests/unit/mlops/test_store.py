"""Where MLflow writes: the store, its lock, the experiment, and one-line store errors."""

import pytest

from traveltide.errors import TrackingError
from traveltide.mlops.store import experiment_id, init_store, resolve_target, store_lock, store_uri
from traveltide.sources.source import redact_url


def test_store_resolves_to_dvc_root_even_from_a_temp_copy(tmp_path):
    copy = tmp_path / "repo" / ".dvc" / "tmp" / "exps" / "abc"
    target = resolve_target({"DVC_ROOT": str(tmp_path / "repo")}, cwd=copy)
    assert target.tracking_uri == f"sqlite:///{tmp_path / 'repo' / 'mlflow.db'}"
    assert target.artifact_location == (tmp_path / "repo" / "mlartifacts").as_uri()
    assert resolve_target({}, cwd=copy).tracking_uri.endswith("exps/abc/mlflow.db")


def test_env_uri_wins_and_passwords_are_masked(tmp_path):
    uri = "postgresql://u:s3cret@localhost:5432/mlflow"
    target = resolve_target({"MLFLOW_TRACKING_URI": uri}, cwd=tmp_path)
    # psycopg2 is the installed driver; SQLAlchemy 2.1 would pick psycopg 3 for postgresql://
    assert target.tracking_uri == "postgresql+psycopg2://u:s3cret@localhost:5432/mlflow"
    assert "s3cret" not in target.label and ":***@" in target.label
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("uri", "locked", "artifacts_here"),
    [
        (None, True, True),  # the default SQLite file: one writer at a time
        ("sqlite:////elsewhere/mlflow.db", True, True),
        ("postgresql+psycopg2://u@db:5432/mlflow", False, True),  # the database serialises
        ("mysql+pymysql://u@db/mlflow", False, True),
        ("http://127.0.0.1:5000", False, False),  # the server stores artifacts
        ("https://mlflow.example.com", False, False),
    ],
)
def test_lock_only_local_stores_and_let_a_server_place_artifacts(
    tmp_path, uri, locked, artifacts_here
):
    env = {"DVC_ROOT": str(tmp_path)} | ({"MLFLOW_TRACKING_URI": uri} if uri else {})
    target = resolve_target(env, cwd=tmp_path / "elsewhere")
    assert target.lock_path == (tmp_path / ".mlflow.lock" if locked else None)
    expected = (tmp_path / "mlartifacts").as_uri() if artifacts_here else None
    assert target.artifact_location == expected
    assert store_uri(uri or "sqlite:///x.db") == (uri or "sqlite:///x.db")  # only postgresql://


def test_unwritable_store_is_one_clear_error(tmp_path):
    target = resolve_target(
        {"MLFLOW_TRACKING_URI": "sqlite:////proc/nope/mlflow.db", "DVC_ROOT": str(tmp_path)},
        cwd=tmp_path,
    )
    with pytest.raises(TrackingError, match="cannot be written"):
        init_store(target, "t")  # what every writer opens first (`open_store`)


def test_two_writers_creating_the_experiment_at_once_share_it(tmp_path):
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

    class RacedClient:
        """The other writer creates the experiment between our lookup and our create."""

        def __init__(self):
            self.lookups = 0

        def get_experiment_by_name(self, name):
            self.lookups += 1
            return None if self.lookups == 1 else type("Exp", (), {"experiment_id": "7"})()

        def create_experiment(self, name, artifact_location=None):
            raise MlflowException(
                f"Experiment(name={name}) already exists.", RESOURCE_ALREADY_EXISTS
            )

    target = resolve_target({"DVC_ROOT": str(tmp_path)}, cwd=tmp_path)
    assert experiment_id(RacedClient(), "t", target) == "7"


def test_unreachable_database_store_fails_fast_in_one_line(tmp_path):
    import time

    target = resolve_target(
        {"MLFLOW_TRACKING_URI": "postgresql://u:pw1@127.0.0.1:1/mlflow", "DVC_ROOT": str(tmp_path)},
        cwd=tmp_path,
    )
    start = time.monotonic()
    with pytest.raises(TrackingError) as failed:
        init_store(target, "t")
    assert time.monotonic() - start < 10  # MLflow alone retries for about two minutes
    message = str(failed.value)
    assert message.startswith("MLflow store postgresql+psycopg2://u:***@127.0.0.1:1/mlflow ")
    assert "\n" not in message and "pw1" not in message
    assert not (tmp_path / ".mlflow.lock").exists()  # a database store takes no file lock


def test_a_held_store_lock_is_waited_for_then_one_line(tmp_path):
    """A writer waits for another's lock (a queue worker logging), but not for ever: a lock
    held past the wait is one line naming the lock file."""
    import fcntl
    import threading
    import time

    lock = tmp_path / ".mlflow.lock"
    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        start = time.monotonic()
        with pytest.raises(TrackingError) as failed, store_lock(lock, wait_s=0.5):
            pass
        assert 0.5 <= time.monotonic() - start < 3
        assert str(failed.value) == (
            f"MLflow store lock {lock} still held by another process after 0.5 s "
            "(another track stage or `traveltide` command logging?)"
        )
        threading.Timer(0.3, fcntl.flock, (held, fcntl.LOCK_UN)).start()
        with store_lock(lock, wait_s=5):  # released while waiting: taken then
            assert time.monotonic() - start >= 0.8
