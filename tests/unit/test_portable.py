"""The pipeline's elementary functions give the same bits whatever vector unit numpy uses.

Each function runs in a child Python twice: as numpy dispatches on this CPU, and with every
dispatched feature switched off (`NPY_DISABLE_CPU_FEATURES`, as on an older CPU). numpy's own
float64 `exp` and `arcsin` are the control: on a CPU with AVX-512 they differ between the two
runs, which shows the comparison can see a difference at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from numpy_paths import DISPATCHED, without_vector_paths

CHILD = textwrap.dedent(
    """
    import hashlib, json
    import numpy as np
    from traveltide.experiment.simulate import ResponseModel
    from traveltide.geo import haversine_km
    from traveltide.portable import portable
    from traveltide.segment.preprocess import SkewTransform

    rng = np.random.default_rng(7)
    n = 200_000
    lat1, lat2 = rng.uniform(-60, 70, (2, n))
    lon1, lon2 = rng.uniform(-180, 180, (2, n))
    z = rng.standard_normal(n)
    skewed = rng.lognormal(3.0, 1.5, (n, 4))
    response = ResponseModel(
        0.1, 0.5, 0.2, no_perk_effect=0.0, noise_sd=0.5, revenue_mean=250.0, revenue_sd=180.0
    )
    results = {
        "haversine_km": haversine_km(lat1, lon1, lat2, lon2),
        "portable_exp": portable(np.exp, z),
        "portable_log1p": portable(np.log1p, skewed),
        "revenue": response.revenue(z),
        "skew_transform": SkewTransform().fit(skewed).transform(skewed),
        "control_numpy_exp": np.exp(5.3 + 0.6 * z),  # a revenue-like lognormal
        "control_numpy_arcsin": np.arcsin(np.sqrt(rng.uniform(0, 1, n))),
    }
    print(json.dumps({k: hashlib.md5(v.tobytes()).hexdigest() for k, v in results.items()}))
    """
)


def digests(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, str], dict[str, str]]:
    dispatched = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    return digests(dispatched), digests(without_vector_paths(os.environ))


@pytest.mark.parametrize(
    "name", ["haversine_km", "portable_exp", "portable_log1p", "revenue", "skew_transform"]
)
def test_same_bits_with_numpy_vector_paths_off(both, name):
    dispatched, baseline = both
    assert dispatched[name] == baseline[name]


def test_the_control_differs_where_numpy_has_an_avx512_path(both):
    if "X86_V4" not in DISPATCHED:
        pytest.skip("no AVX-512 on this CPU: numpy's float64 exp and arcsin have one path here")
    dispatched, baseline = both
    assert dispatched["control_numpy_exp"] != baseline["control_numpy_exp"]
    assert dispatched["control_numpy_arcsin"] != baseline["control_numpy_arcsin"]
