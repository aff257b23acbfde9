"""The report stage (traveltide.report.publish) run as a process: byte-identical outputs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from report_inputs import ALL_PLOTS, inputs_for, synthetic_tables
from traveltide.io import write_csv, write_json, write_parquet

ROOT = Path(__file__).resolve().parents[3]


def write_stage_inputs(folder: Path, ab: dict) -> list[str]:
    """The report stage's input files in `folder`, as the pipeline lays them out (numbers in
    metrics/, the rest in summary/ and the A/B summary), and its command-line options."""
    inputs = inputs_for(ab, "tie, B risks less")
    features, rules, clusters, _ = synthetic_tables()
    for name, data in inputs.metrics.items():
        numbers = {k: v for k, v in data.items() if isinstance(v, int | float | None)}
        text = {k: v for k, v in data.items() if k not in numbers}
        write_json(numbers, folder / "metrics" / f"{name}.json")
        if name != "ab_test":
            write_json(text, folder / "summary" / f"{name}.json")
    write_json(
        {k: v for k, v in inputs.metrics["ab_test"].items() if not isinstance(v, int | float)},
        folder / "ab_summary.json",
    )
    write_csv(inputs.policy_values, folder / "policy_values.csv")
    write_parquet(features, folder / "features.parquet")
    write_parquet(rules, folder / "rules.parquet")
    write_parquet(clusters, folder / "clusters.parquet")
    write_csv(inputs.k_table, folder / "k_selection.csv")
    assert inputs.benchmark is not None
    write_csv(inputs.benchmark, folder / "benchmark.csv")
    write_csv(inputs.contingency.reset_index(), folder / "contingency.csv")
    write_csv(inputs.ab_arms, folder / "arms.csv")
    shutil.copy(ROOT / "params.yaml", folder / "params.yaml")
    return [
        "--metrics-dir=metrics",
        "--summary-dir=summary",
        "--ab-summary=ab_summary.json",
        "--policy-values=policy_values.csv",
        "--k-selection=k_selection.csv",
        "--contingency=contingency.csv",
        "--ab-arms=arms.csv",
        "--features=features.parquet",
        "--rules=rules.parquet",
        "--clusters=clusters.parquet",
        "--benchmark=benchmark.csv",
    ]


def run_report_stage(folder: Path, options: list[str], out: str, hash_seed: str) -> Path:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "TRAVELTIDE_LOG_LEVEL": "WARNING"}
    outputs = [
        f"--plots={out}/report/plots",
        f"--plot-data={out}/report/plot_data",
        f"--report={out}/report/report.html",
        f"--exports={out}/exports",
    ]
    subprocess.run(
        [sys.executable, str(ROOT / "stages" / "report.py"), *options, *outputs],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / out


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_stage_outputs_are_byte_identical_across_runs(tmp_path, ab):
    options = write_stage_inputs(tmp_path, ab)
    first = tree_hashes(run_report_stage(tmp_path, options, "one", "1"))
    second = tree_hashes(run_report_stage(tmp_path, options, "two", "2"))
    assert first == second
    expected = {f"report/plots/{name}" for name in ALL_PLOTS} | {
        "report/report.html",
        "exports/rewards_assignment.csv",
        "exports/segment_summary.csv",
        "exports/analysis.json",
    }
    assert expected <= set(first)
    page = (tmp_path / "one/report/report.html").read_text()
    assert str(tmp_path) not in page  # no absolute path
    assert "http://" not in page and "https://" not in page  # nothing loaded from the network
    assert 'href="../exports/rewards_assignment.csv"' in page
    exported = pd.read_csv(tmp_path / "one/exports/rewards_assignment.csv")
    assert len(exported) == json.loads((tmp_path / "metrics/extract.json").read_text())["users"]
    assert set(exported["recommendation_basis"]) == {"both_agree", "lower_expected_loss"}
    assert "Free hotel night with a flight" in page and "In short" in page
