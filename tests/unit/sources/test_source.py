"""The source stage's records: what DVC compares to decide whether extract re-queries."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from traveltide.sources.source import ENV_URL, redact_url, source_state

NOW = dt.datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=dt.UTC)


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
    ],
)
def test_redact_masks_only_the_password(url, expected):
    assert redact_url(url) == expected


def test_unparsable_url_is_never_echoed():
    assert redact_url("postgresql://alice:secret@[::1/tt") == "<unparsable database URL>"


def test_embedded_state_is_constant():
    a = source_state({}, NOW)
    b = source_state({ENV_URL: "   "}, NOW + dt.timedelta(days=1))
    assert a == b
    assert a.kind_record() == {"kind": "embedded"}
    assert a.request_record() == {"kind": "embedded", "database": None, "requested_at": None}


def test_external_state_changes_with_time_but_kind_does_not():
    env = {ENV_URL: "postgresql://alice:hunter2@db.example/tt"}
    first = source_state(env, NOW)
    later = source_state(env, NOW + dt.timedelta(microseconds=1))
    assert first.kind_record() == later.kind_record() == {"kind": "external"}
    assert first.request_record() != later.request_record()
    record = first.request_record()
    assert record["database"] == "postgresql://alice:***@db.example/tt"
    assert record["requested_at"] == "2026-11-23T12:00:00.123456+00:00"
    assert "hunter2" not in repr(first)


def test_source_stage_imports_no_heavy_library():
    """It runs on every `dvc repro`: pandas, SQLAlchemy or numpy would cost most of a second."""
    code = (
        "import sys;"  # what stages/source.py imports
        "import traveltide.config, traveltide.io, traveltide.sources.source, traveltide.stage;"
        "heavy = {'pandas', 'numpy', 'sqlalchemy', 'sklearn', 'mlflow'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nested_source_stage_writes_the_paths_the_pipeline_reads():
    """`source` sits in data/source/dvc.yaml (a small lock of its own to rewrite on every
    repro). Its outputs must be the paths dvc.yaml's generate and extract depend on, or DVC
    would no longer run it first, nor rerun them when the source changes."""
    root = Path(__file__).resolve().parents[3]
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())
    paths = pipeline["vars"][0]["paths"]
    nested = yaml.safe_load((root / "data/source/dvc.yaml").read_text())["stages"]
    assert "source" not in pipeline["stages"] and set(nested) == {"source"}
    source = nested["source"]
    assert source["wdir"] == "../.." and source["always_changed"] is True
    assert source["outs"] == [paths["source_kind"], paths["source_request"]]
    assert "${paths.source_kind}" in pipeline["stages"]["generate"]["deps"]
    assert "${paths.source_request}" in pipeline["stages"]["extract"]["deps"]
    for option, key in (("--kind", "source_kind"), ("--request", "source_request")):
        assert f"{option} {paths[key]}" in source["cmd"]
