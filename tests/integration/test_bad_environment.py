"""What surrounds the pipeline fails: the source database, the MLflow store, a killed stage.

Same checks as test_bad_input.py (`bad_cases`): one error line naming what and where, exit 1,
no traceback, and `dvc checkout` restores every output; for a store or a process that fails,
the next `dvc repro` completes. The PostgreSQL cases load the small database into a schema of
the real server and switch the repository to it through params `source.*`, the password only in
the environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from bad_cases import (
    SQL_CASES,
    VOLATILE,
    Case,
    baseline_fixture,
    check_case,
    expect_one_line_failure,
    restore_and_compare,
    setter,
)
from pipeline_repo import ALL_STAGES, stages_ran
from support import schema_url
from traveltide.sources.db import driver_url

pytestmark = pytest.mark.integration


repo = baseline_fixture("bad_environment")


# -------------------------------------------------------------------------- tracking --


def test_unwritable_mlflow_store_fails_only_track_and_a_rerun_logs(repo):
    """Every ML output is still produced; track fails in one line; with the store back, the
    next `dvc repro` reruns track alone and logs the run of that state, found by its tag."""
    import mlflow

    from traveltide.mlops.state import pipeline_digest

    params_text = (repo.path / "params.yaml").read_text()
    params = repo.params()
    params["cluster"]["k"] = 4
    repo.write_params(params)
    bad = {**repo.env, "MLFLOW_TRACKING_URI": "sqlite:////proc/traveltide/mlflow.db"}
    try:
        ran, _ = expect_one_line_failure(repo, Case("mlflow", "track", r"MLflow"), bad)
        assert {"cluster", "compare", "ab_test", "report", "track"} <= ran
        assert (repo.path / "data/models/segmenter.pkl").exists()
        assert (repo.path / "data/report/report.html").exists()
        again = repo.run("dvc", "repro")
        assert stages_ran(again.stdout) == {"track"}
        digest = pipeline_digest(repo.path / "dvc.lock")
        mlflow.set_tracking_uri(f"sqlite:///{repo.path / 'mlflow.db'}")
        found = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=f"tags.dvc_lock_md5 = '{digest}'",
            output_format="list",
        )
        (run,) = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
        assert run.data.params["cluster.k"] == "4"
    finally:
        (repo.path / "params.yaml").write_text(params_text)
        repo.restore_locks()
        repo.run("dvc", "checkout", "--force")


# ---------------------------------------------------------------------------- faults --


def test_stage_killed_mid_write_leaves_no_partial_output(repo):
    """SIGKILL between writing a temporary file and renaming it: the output is absent (DVC
    removed it before the run), never half-written; the next repro completes and tidies up.

    The stage is ab_test (a Parquet output, late in the pipeline, so few stages run), with a
    new seed: DVC's run-cache cannot restore its outputs instead of running it again.
    """
    from traveltide.io import KILL_IN_WRITE

    before = repo.output_hashes(VOLATILE)
    params_text = (repo.path / "params.yaml").read_text()
    params = repo.params()
    params["ab_test"]["seed"] += 1
    repo.write_params(params)
    ab = repo.path / "data/ab"
    try:
        killed = repo.run(
            "dvc", "repro", check=False, env={**repo.env, KILL_IN_WRITE: "users.parquet"}
        )
        assert killed.returncode != 0
        assert stages_ran(killed.stdout) == {"ab_test"}
        assert not (ab / "users.parquet").exists()
        assert list(ab.glob(".users.parquet.*.tmp")), "the kill came mid-write"
        untracked = repo.run("git", "status", "--porcelain", "--untracked-files=all").stdout
        assert ".tmp" not in untracked, untracked  # git ignores the leftover
        again = repo.run("dvc", "repro")
        assert stages_ran(again.stdout) == {"ab_test", "report", "track"}
        assert not list(ab.glob(".*.tmp"))
        assert repo.changed_stages() == set()
    finally:
        restore_and_compare(repo, before, params_text)


# -------------------------------------------------------------------- source database --


# Any password connects (this server trusts local logins); it must reach no file.
SECRET = "Tr0ub4dor-S3cret"
ENV_URL = "TRAVELTIDE_DB_URL"


def source(url: str, schema: str | None = None, **more) -> Callable[[dict], None]:
    """Params pointing extract at `url` (and `schema`), plus other dotted keys."""

    def apply(params: dict) -> None:
        params["source"]["url"] = url
        if schema is not None:
            params["source"]["schema"] = schema
        for key, value in more.items():
            setter(key, value)(params)

    return apply


@pytest.fixture(scope="module")
def pg_source(repo, postgres):
    """The small database loaded into a PostgreSQL schema, and the repo switched to it by params
    (committed, as a user would): every stage rerun (`--force`) with the password only in
    `TRAVELTIDE_DB_URL`, for the test that no file holds it."""
    import uuid

    schema = f"tt_bad_{uuid.uuid4().hex[:10]}"
    repo.run("traveltide", "db", "load", "--url", schema_url(postgres, schema), "--schema", schema)
    params = repo.params()
    source(postgres, schema)(params)
    # no latent truth in an external database: the A/B simulation reads behaviour instead
    params["ab_test"]["response"]["fit_source"] = "behaviour"
    repo.write_params(params)
    engine = sa.create_engine(driver_url(postgres))
    env = {**repo.env, ENV_URL: postgres.replace("postgres@", f"postgres:{SECRET}@", 1)}
    switched = repo.run("dvc", "repro", "--force", env=env)
    repo.run("git", "add", "-A")
    repo.run("git", "commit", "-q", "-m", "external source")
    yield {
        "schema": schema,
        "engine": engine,
        "env": env,
        "postgres": postgres,
        "repro_output": switched.stdout + switched.stderr,
    }
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for name in FAULTS:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}_{name}" CASCADE')
    engine.dispose()


# Each fault: SQL run on a copy of the loaded schema, and the error it must give.
FAULTS = {
    "missing_table": ("DROP TABLE hotels", r"table 'hotels' not found"),
    "missing_column": (
        "ALTER TABLE sessions DROP COLUMN page_clicks",
        r"table 'sessions' has no column 'page_clicks'",
    ),
    "wrong_type": (
        "ALTER TABLE sessions ALTER COLUMN page_clicks TYPE text",
        r"sessions.page_clicks: expected int",
    ),
    "duplicate_key": (
        "INSERT INTO users SELECT user_id, birthdate, 'X', married, has_children, home_country,"
        " home_city, home_airport, home_airport_lat, home_airport_lon, sign_up_date"
        " FROM users WHERE user_id = (SELECT min(user_id) FROM sessions"
        " WHERE session_start > '2023-01-04' GROUP BY user_id HAVING count(*) > 7"
        " ORDER BY user_id LIMIT 1)",
        r"users: duplicate primary key user_id [0-9]+ with different values \(column gender\)",
    ),
    "reversed_times": (
        "UPDATE sessions SET session_end = session_start - interval '1 minute'"
        " WHERE session_start > '2023-03-01' AND page_clicks > 20",
        r"sessions: session_end before session_start in [0-9,]+ cohort sessions",
    ),
    "null_heavy": (
        "UPDATE sessions SET page_clicks = NULL WHERE session_start > '2023-03-01'",
        r"sessions.page_clicks is NULL in [0-9,]+ of [0-9,]+ cohort rows",
    ),
}


def copy_schema(engine: sa.Engine, source: str, target: str) -> None:
    """Tables without keys or constraints, so a fault can break what the loader enforced."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{target}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{target}"')
        for table in ("users", "sessions", "flights", "hotels"):
            conn.exec_driver_sql(f'CREATE TABLE "{target}".{table} AS TABLE "{source}".{table}')


@pytest.mark.postgres
@pytest.mark.parametrize("fault", list(FAULTS))
def test_faulty_source_database(repo, pg_source, fault):
    sql, message = FAULTS[fault]
    target = f"{pg_source['schema']}_{fault}"
    copy_schema(pg_source["engine"], pg_source["schema"], target)
    with pg_source["engine"].begin() as conn:
        conn.exec_driver_sql(f'SET search_path TO "{target}"')
        conn.exec_driver_sql(sql)
    stage, more = "extract", {}
    if fault == "reversed_times":  # repaired by default; the `error` policy refuses them
        stage, more = "clean", {"clean.reversed_times": "error"}
    case = Case(fault, stage, message, source(pg_source["postgres"], target, **more))
    check_case(repo, case, env=pg_source["env"])


@pytest.mark.postgres
def test_sql_in_params_leaves_the_database_intact(repo, pg_source):
    """The hostile strings never reach SQL: validation stops them, and the tables are whole."""
    engine, schema = pg_source["engine"], pg_source["schema"]
    count = (
        f'SELECT (SELECT count(*) FROM "{schema}".users), '
        f'(SELECT count(*) FROM "{schema}".sessions)'
    )
    with engine.connect() as conn:
        before = tuple(conn.exec_driver_sql(count).one())
    for case in SQL_CASES:
        check_case(repo, case, env=pg_source["env"])
    with engine.connect() as conn:
        assert tuple(conn.exec_driver_sql(count).one()) == before


def without_env_url(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != ENV_URL}


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url_of", "message"),
    [
        (lambda pg: "postgresql://alice@127.0.0.1:1/traveltide", r"127.0.0.1:1/traveltide"),
        (
            lambda pg: pg.replace("postgres@", "tt_no_such_role@", 1),
            r'role "tt_no_such_role" does not exist',
        ),
        (lambda pg: pg.rsplit("/", 1)[0] + "/tt_no_such_db", r'database "tt_no_such_db"'),
    ],
    ids=["unreachable", "wrong_credentials", "no_such_database"],
)
def test_database_refusing_the_connection_replaces_no_output(repo, pg_source, url_of, message):
    """A mistyped URL or an unreachable server: one line, and not one output replaced (extract's
    outputs are `persist`, and no other stage ran), before any `dvc checkout`."""
    url = url_of(pg_source["postgres"])
    password = {ENV_URL: url.replace("@", ":S3cr3t-pw@", 1)}  # libpq's, from the environment
    before = repo.output_hashes(VOLATILE)
    params_text = (repo.path / "params.yaml").read_text()
    repo.write_params({**repo.params(), "source": {**repo.params()["source"], "url": url}})
    try:
        ran, output = expect_one_line_failure(
            repo, Case("connection", "extract", message), {**pg_source["env"], **password}
        )
        assert ran == {"extract"}
        assert repo.output_hashes(VOLATILE) == before
    finally:
        restore_and_compare(repo, before, params_text)
    assert "S3cr3t-pw" not in output


@pytest.mark.postgres
def test_env_url_naming_another_database_than_params_stops_extract(repo, pg_source):
    """DVC sees params, not the environment: nothing reruns for an env URL alone, and when
    extract runs (here for a new snapshot label) an env URL that disagrees is refused."""
    other = pg_source["postgres"].rsplit("/", 1)[0] + "/elsewhere"
    unchanged = repo.run("dvc", "repro", env={**pg_source["env"], ENV_URL: other})
    assert stages_ran(unchanged.stdout) == set()
    case = Case(
        "env_disagrees",
        "extract",
        rf"{ENV_URL} \(.*/elsewhere\) is not params source.url \(.*\): DVC sees only params, so "
        r"set source.url instead \(e.g. `dvc exp run -S source.url=",
        setter("source.snapshot", "later"),
    )
    ran, _ = check_case(repo, case, env={**pg_source["env"], ENV_URL: other})
    assert ran == {"extract"}


class CuttingProxy:
    """A TCP proxy to PostgreSQL that drops each connection after `limit` bytes from the
    server: the server going away in the middle of a query, without stopping the real one."""

    def __init__(self, host: str, port: int, limit: int | None):
        import socket
        import threading

        self.target, self.limit = (host, port), limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for args in ((client, server, None), (server, client, self.limit)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    @staticmethod
    def _pump(source, sink, limit: int | None) -> None:
        import socket

        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, sink):  # shutdown wakes the other pump's blocked recv; close
            with contextlib.suppress(OSError):  # alone would not send the FIN
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.postgres
def test_database_lost_during_extract_then_back(repo, pg_source):
    server = sa.make_url(pg_source["postgres"])
    proxy = CuttingProxy(server.host, server.port, limit=20_000)
    via_proxy = pg_source["postgres"].replace(f":{server.port}/", f":{proxy.port}/", 1)
    env = without_env_url(pg_source["env"])  # it names the server's own port
    params_text = (repo.path / "params.yaml").read_text()
    try:
        cohort = (repo.path / "data/interim/cohort.parquet").read_bytes()
        case = Case(
            "connection_lost",
            "extract",
            r"server closed the connection|connection",
            source(via_proxy, pg_source["schema"]),
        )
        check_case(repo, case, env=env)
        proxy.limit = None  # the server is back
        params = repo.params()
        source(via_proxy, pg_source["schema"])(params)
        repo.write_params(params)
        back = repo.run("dvc", "repro", env=env)
        assert "extract" in stages_ran(back.stdout)
        assert (repo.path / "data/interim/cohort.parquet").read_bytes() == cohort
    finally:
        proxy.close()
        (repo.path / "params.yaml").write_text(params_text)
        repo.restore_locks()
        repo.run("dvc", "checkout", "--force")


@pytest.mark.postgres
def test_database_password_never_reaches_an_output(repo, pg_source):
    """Every stage ran against PostgreSQL with the password in TRAVELTIDE_DB_URL (the fixture's
    forced repro; later tests' runs too): neither DVC's output nor any file in the repository
    holds it, while the source itself (params source.url) is in dvc.lock and MLflow."""
    assert SECRET in pg_source["env"][ENV_URL]
    assert SECRET not in pg_source["repro_output"]
    assert stages_ran(pg_source["repro_output"]) == ALL_STAGES  # every stage, forced
    scanned = 0
    for file in repo.path.rglob("*"):
        if ".git" in file.relative_to(repo.path).parts or not file.is_file():
            continue
        scanned += 1
        assert SECRET.encode() not in file.read_bytes(), file
    assert scanned > 50  # dvc.lock, data, metrics, mlflow.db, artifacts, timings
    assert pg_source["postgres"] in (repo.path / "dvc.lock").read_text()
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo.path / 'mlflow.db'}")
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert pg_source["postgres"] in {r.data.params.get("source.url") for r in runs}
