"""numpy's CPU-specific code paths, for tests that switch them off (`NPY_DISABLE_CPU_FEATURES`).

numpy picks a loop by the CPU's features (AVX2, AVX-512, ...) when it is imported; a child
process started with those features disabled runs the baseline loops, as on an older CPU.
"""

from __future__ import annotations

from collections.abc import Mapping

from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

# the dispatched features this CPU has: the ones a child can be told to go without
DISPATCHED = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def without_vector_paths(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a child Python that uses none of `DISPATCHED` (fails if there is none)."""
    assert DISPATCHED, "numpy dispatches nothing on this CPU: nothing to switch off"
    return {**env, "NPY_DISABLE_CPU_FEATURES": " ".join(DISPATCHED)}
