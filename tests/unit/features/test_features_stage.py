"""The features stage: the table, the catalog and the metrics it writes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

from feature_cases import cleaned, tiny_rows
from traveltide.features.catalog import FEATURE_NAMES, catalog_frame
from traveltide.io import write_parquet

ROOT = Path(__file__).resolve().parents[3]


def test_stage_writes_table_catalog_and_metrics(tmp_path):
    write_parquet(cleaned(tiny_rows()), tmp_path / "sessions.parquet")
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    cmd = [sys.executable, str(ROOT / "stages" / "features.py")]
    for opt in ("sessions", "features", "catalog", "metrics"):
        cmd += [f"--{opt}", str(tmp_path / f"{opt}.{'json' if opt == 'metrics' else 'out'}")]
    cmd[cmd.index(str(tmp_path / "sessions.out"))] = str(tmp_path / "sessions.parquet")
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(tmp_path / "features.out")
    assert table["user_id"].tolist() == [1, 2, 3]
    catalog = pd.read_csv(io.StringIO((tmp_path / "catalog.out").read_text()))
    assert catalog.equals(catalog_frame())
    assert '"n_features": ' + str(len(FEATURE_NAMES)) in (tmp_path / "metrics.json").read_text()
