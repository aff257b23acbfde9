"""The source as params DVC sees (`source.*`): checked URLs, TRAVELTIDE_DB_URL, the search_path,
the pipeline's wiring (no always-run stage), and the cohort's ground truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from traveltide.config import SourceConfig
from traveltide.errors import ConfigError, DataError
from traveltide.sources.db import Source, resolve_source, with_search_path
from traveltide.sources.source import ENV_URL, redact_url, same_database
from traveltide.sources.truth import cohort_truth

ROOT = Path(__file__).resolve().parents[3]
SECRET = "hunter2"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://alice:hunter2@db.example:5432/tt",
            "postgresql://alice:***@db.example:5432/tt",
        ),
        ("postgresql+psycopg2://alice:p%40ss@h/tt", "postgresql+psycopg2://alice:***@h/tt"),
        ("postgresql://alice:p@ss@h/tt", "postgresql://alice:***@h/tt"),
        ("postgresql://alice@h/tt", "postgresql://alice@h/tt"),
        ("postgresql://h/tt?sslmode=require", "postgresql://h/tt?sslmode=require"),
        ("postgresql://alice:secret@h:notaport/tt", "postgresql://alice:***@h:notaport/tt"),
        ("postgresql://h/tt?password=hunter2&sslmode=require", "postgresql://h/tt?password=***&sslmode=require"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)  # fmt: skip
def test_redact_masks_only_the_password(url, expected):
    assert redact_url(url) == expected


def test_unparsable_url_is_never_echoed():
    assert redact_url("postgresql://alice:secret@[::1/tt") == "<unparsable database URL>"


def block(**source) -> dict:
    return {"source": {"url": "embedded", "schema": "public", "snapshot": "", **source}}


@pytest.mark.parametrize(
    "url",
    [
        "embedded",
        "postgresql://alice@db.example:5432/tt",
        "postgresql+psycopg2://alice@db.example/tt?sslmode=require",
        "postgresql:///?service=traveltide",  # libpq's service file names host, user, database
    ],
)
def test_source_url_embedded_or_postgresql_without_a_password(url):
    config = SourceConfig.from_params(block(url=url))
    assert config.url == url and config.is_embedded == (url == "embedded")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"postgresql://alice:{SECRET}@db/tt", "holds a password: remove it and give it through"),
        (f"postgresql://alice@db/tt?password={SECRET}", "holds a password"),
        (f"mysql://alice:{SECRET}@db/tt", "must be 'embedded' or a postgresql://user@host:port/db"),
        (f"postgresql://alice:{SECRET}@db:port/tt", "must be 'embedded' or a postgresql://"),
        ("embeded", "must be 'embedded' or a postgresql://"),
    ],
)
def test_bad_source_url_is_one_line_that_never_shows_the_password(url, message):
    with pytest.raises(ConfigError) as failed:
        SourceConfig.from_params(block(url=url))
    text = str(failed.value)
    assert text.startswith("params.yaml: source.url ") and message in text
    assert SECRET not in text and "\n" not in text
    if "password" in message:
        assert "PGPASSWORD, ~/.pgpass or PGSERVICE" in text


def test_snapshot_is_any_scalar_label_and_schema_an_identifier():
    import datetime as dt

    # `dvc exp run -S source.snapshot=2024-05-01` writes a YAML date
    assert SourceConfig.from_params(block(snapshot=dt.date(2024, 5, 1))).snapshot == "2024-05-01"
    assert SourceConfig.from_params(block(snapshot=3)).snapshot == "3"
    with pytest.raises(ConfigError, match="source.snapshot must be a text label"):
        SourceConfig.from_params(block(snapshot=["a"]))
    with pytest.raises(ConfigError, match="source.schema must be an identifier"):
        SourceConfig.from_params(block(schema="public; DROP TABLE users"))


def search_path(url: str) -> str:
    return sa.make_url(url).query["options"]


def test_embedded_source_needs_no_url_and_refuses_a_stray_env_url():
    assert resolve_source(SourceConfig(), {}) == Source(url=None)
    assert resolve_source(SourceConfig(), {ENV_URL: "  "}).is_embedded
    env = {ENV_URL: f"postgresql://alice:{SECRET}@db/tt"}
    with pytest.raises(ConfigError) as failed:
        resolve_source(SourceConfig(), env)
    text = str(failed.value)
    assert f"{ENV_URL} (postgresql://alice:***@db/tt) is not params source.url (embedded)" in text
    assert "dvc exp run -S source.url=" in text and SECRET not in text


def test_external_source_reads_params_or_the_same_database_from_the_env():
    config = SourceConfig(url="postgresql://alice@db:5432/tt", schema="Sales")
    plain = resolve_source(config, {})
    assert plain.url == "postgresql://alice@db:5432/tt?options=-csearch_path%3D%22Sales%22"
    assert plain.label == "postgresql://alice@db:5432/tt (schema Sales)"
    # the env URL names the same database and carries the password libpq needs
    with_password = resolve_source(config, {ENV_URL: f"postgresql://alice:{SECRET}@db:5432/tt"})
    assert sa.make_url(with_password.url).password == SECRET
    assert SECRET not in with_password.label and search_path(with_password.url).endswith(
        '-csearch_path="Sales"'
    )
    with pytest.raises(ConfigError, match=r"is not params source.url \(postgresql://alice@db"):
        resolve_source(config, {ENV_URL: "postgresql://alice@db:5432/other"})


def test_search_path_follows_options_the_url_has():
    url = with_search_path("postgresql://a@h/d?options=-cstatement_timeout%3D5000", "s")
    assert search_path(url) == '-cstatement_timeout=5000 -csearch_path="s"'


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql+psycopg2://u@h:5432/db", True),
        ("postgresql://u@h:5432/db?password=x", "postgresql://u@h:5432/db", True),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5433/db", False),
        ("postgresql://u@h/db", "postgresql://v@h/db", False),
        ("postgresql:///?service=a", "postgresql:///?service=b", False),
    ],
)
def test_same_database_ignores_only_the_password_and_the_driver(a, b, same):
    assert same_database(a, b) is same


# --------------------------------------------------------------------- the pipeline's wiring


def pipeline() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())


def test_no_always_run_stage_and_no_env_to_files_step():
    """`dvc status` after `dvc repro` says up to date only if no stage always runs."""
    spec = pipeline()
    assert not (ROOT / "data/source").exists() and not (ROOT / "stages/source.py").exists()
    assert not any(stage.get("always_changed") for stage in spec["stages"].values())
    assert "source" not in spec["stages"]


def test_generate_never_depends_on_the_source_and_extract_on_its_params():
    stages, paths = pipeline()["stages"], pipeline()["vars"][0]["paths"]
    generate, extract = stages["generate"], stages["extract"]
    assert "--source" not in generate["cmd"]
    assert not [d for d in generate["deps"] if "source" in d]
    assert not [p for p in generate.get("params", []) if str(p).startswith("source")]
    assert {"source", "cohort"} <= set(extract["params"])
    # persist: DVC keeps the cohort while extract runs, so a failure replaces nothing
    for out in (*extract["outs"], *extract.get("metrics", [])):
        ((path, options),) = out.items()
        assert options == {"persist": True}, path
    assert [next(iter(o)) for o in extract["outs"]][:2] == ["${paths.cohort}", "${paths.truth}"]
    assert paths["truth"] == "data/interim/cohort_truth.parquet"


@pytest.mark.parametrize("stage", ["select_k", "cluster", "ab_test"])
def test_ground_truth_reaches_the_ml_stages_only_through_extract(stage):
    spec = pipeline()["stages"][stage]
    assert "--personas ${paths.truth}" in spec["cmd"]
    assert "${paths.truth}" in spec["deps"] and "${paths.personas}" not in spec["deps"]


# --------------------------------------------------------------------------- ground truth


@pytest.fixture
def personas() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": pd.array([5, 1, 3, 2, 4], dtype="int64"),
            "persona": ["a", "b", "c", "a", "b"],
            "propensity": [0.5, 1.5, 1.0, 2.0, 0.7],  # a latent column: copied like any other
        }
    )


def test_truth_is_the_cohort_users_rows_every_column_sorted(personas):
    cohort_users = pd.Series([4, 4, 1, 5, 1, 5], name="user_id")
    truth = cohort_truth(personas, cohort_users, known=True)
    expected = personas.set_index("user_id").loc[[1, 4, 5]].reset_index()
    pd.testing.assert_frame_equal(truth, expected)


def test_external_source_gets_an_empty_truth_with_the_same_columns(personas):
    truth = cohort_truth(personas, pd.Series([1, 2]), known=False)
    assert truth.empty and list(truth.columns) == list(personas.columns)
    assert (truth.dtypes == personas.dtypes).all()


def test_cohort_user_without_a_persona_is_one_line(personas):
    with pytest.raises(
        DataError, match=r"1 of the cohort's 2 users have no row \(first user_id 9\)"
    ):
        cohort_truth(personas, pd.Series([1, 9]), known=True)
    twice = pd.concat([personas, personas.head(1)])
    with pytest.raises(DataError, match="user_id 5 has 2 rows"):
        cohort_truth(twice, pd.Series([5]), known=True)
