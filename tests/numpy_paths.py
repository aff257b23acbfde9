"""numpy's and OpenBLAS's CPU-specific code paths, for tests that switch them off.

numpy picks a loop by the CPU's features (AVX2, AVX-512, ...) when it is imported; a child
process started with those features disabled (`NPY_DISABLE_CPU_FEATURES`) runs the baseline
loops, as on an older CPU. OpenBLAS (numpy's and scipy's) likewise picks its kernels by CPU;
`OPENBLAS_CORETYPE` names the kernels to use instead, and Nehalem's (SSE only) run on every
x86-64 CPU and sum in another order than the AVX2 and AVX-512 ones.
"""

from __future__ import annotations

from collections.abc import Mapping

from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

# the dispatched features this CPU has: the ones a child can be told to go without
DISPATCHED = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


# pre-AVX kernels, for a child's OpenBLAS (ignored on other CPUs and by other BLAS libraries)
OLD_BLAS_KERNELS = "Nehalem"


def without_vector_paths(env: Mapping[str, str]) -> dict[str, str]:
    """`env` for a child Python that uses none of `DISPATCHED` (fails if there is none)."""
    assert DISPATCHED, "numpy dispatches nothing on this CPU: nothing to switch off"
    return {
        **env,
        "NPY_DISABLE_CPU_FEATURES": " ".join(DISPATCHED),
        "OPENBLAS_CORETYPE": OLD_BLAS_KERNELS,
    }
