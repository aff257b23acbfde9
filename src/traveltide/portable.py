"""Elementary functions that give the same bits on every CPU.

numpy evaluates float64 `exp`, `log1p`, `sin`, `cos`, `arcsin` and others on a vectorised
path on CPUs with AVX-512 and with the C library elsewhere, and the two differ in the last
bit: enough to change flight distances, cluster spaces and simulated revenues, and so the
output hashes in dvc.lock, from one machine to another. numpy has no vectorised path for
long double, so a function evaluated there and rounded back to float64 is the same on every
x86-64 machine (tests/unit/test_portable.py and tests/integration/test_determinism.py check
it with numpy's vector paths switched off). It costs about 8x the float64 time.

This holds where long double is the x87 80-bit type: Linux and macOS on x86-64, the
project's machines. On Windows and on Apple silicon long double is plain double, so the
vector paths apply again; on Linux aarch64 it is a software quad, the same everywhere but
many times slower. Neither was measured here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

LONG = np.longdouble


def portable(fn: np.ufunc, x: ArrayLike) -> np.ndarray:
    """`fn(x)` computed in long double and rounded to float64 (see the module docstring)."""
    return fn(np.asarray(x, dtype=LONG)).astype("float64")
