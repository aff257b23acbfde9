"""Two fresh clones, same params and seed: every output hash in the dvc.lock files is the same.

The first clone is the run's baseline repository (conftest's `baseline_template`, built by the
same steps); the second runs with numpy's vectorised code paths above its baseline switched off
(`NPY_DISABLE_CPU_FEATURES`), as on an older CPU: outputs must not depend on the machine.
numpy's float64 sin, cos and arcsin differ in the last bit between the AVX-512 path and
the C library, which once changed every output from the features stage on.

The tracking stage's run-id file differs by design (a new MLflow run each time) and per-stage
timings live in untracked files of their own, so neither is compared.
"""

from __future__ import annotations

import pytest

from numpy_paths import without_vector_paths
from pipeline_repo import build_repo
from support import SMALL_SCALE

pytestmark = pytest.mark.integration

NOT_COMPARED = {"track"}


def output_hashes(lock: dict) -> dict[str, str]:
    return {
        f"{stage}:{out['path']}": out["md5"]
        for stage, entry in lock["stages"].items()
        if stage not in NOT_COMPARED
        for out in entry.get("outs", [])
    }


def test_two_clones_give_identical_dvc_lock_hashes(baseline_template, tmp_path):
    clone = build_repo(tmp_path, SMALL_SCALE)
    clone.run("dvc", "repro", env=without_vector_paths(clone.env))
    first, second = (
        {key: md5 for lock in r.locks() for key, md5 in output_hashes(lock).items()}
        for r in (baseline_template, clone)
    )
    assert len(first) >= 20  # every stage's outputs, not an empty comparison
    differing = sorted(k for k in first if first[k] != second.get(k))
    assert first == second, differing
