"""What a bench leaves behind: every sample in bench/results/ (gitignored), and one line in
bench/history.jsonl (committed), so figures of different runs and machines can be compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from figure import median
from scratch import ROOT

RESULTS = ROOT / "bench" / "results"
HISTORY = ROOT / "bench" / "history.jsonl"


def write_results(report: dict[str, Any], stamp: str) -> Path:
    """The whole report, every sample included, as bench/results/<stamp>.json."""
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return out


def history_record(report: dict[str, Any], *, timestamp: str, commit: str) -> dict[str, Any]:
    """One run in a line: when, which commit, the machine and its loop yardstick, and each
    figure as shown with its target, result and the medians of its samples, and the cold
    run's medians per stage."""
    m = report["machine"]
    return {
        "timestamp": timestamp,
        "commit": commit,
        "source": report["source"],
        "python_loop_s": m.get("python_loop_s"),
        "machine": {
            k: m.get(k) for k in ("cpus", "cpu_model", "cpu_vector", "memory_gib", "python")
        },
        "load_average": report["load_average"],
        "scale": report["scale"],
        "runs": report["runs"],
        "minutes": report["minutes"],
        "figures": {
            f["id"]: {
                "value": f["value"],
                "target": f["target"],
                "passed": f["passed"],
                "medians": {k: round(median(v), 3) for k, v in f["samples"].items() if v},
            }
            for f in report["figures"]
        },
        "stages_cold": {
            name: {k: round(v, 3) for k, v in row.items()}
            for name, row in report["stages_cold"].items()
        },
    }


def append_history(record: dict[str, Any], path: Path = HISTORY) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
