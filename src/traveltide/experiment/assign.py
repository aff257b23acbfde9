"""Who gets which arm: seeded, hash-based assignment of users to A/B/C arms, optionally stratified.

Arms compare ways of giving one of five perks: A = rule-based perks, B = ML-cluster perks,
C = control (a random perk or none).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from traveltide.errors import ConfigError
from traveltide.experiment.checks import as_series, check_ids

log = logging.getLogger(__name__)

NO_PERK = "none"  # the perk of a user who gets none (control: no_perk)


def unit_hash(keys: Sequence[str], *, salt: str) -> np.ndarray:
    """Map each key to a uniform number in (0, 1): BLAKE2b-64 of ``f"{salt}:{key}"``.

    Why: the value of one key never depends on the other keys, the machine or the Python
    hash seed, so assignments and simulated draws are stable as users come and go. The top
    53 bits of the digest give ``(k + 0.5) / 2**53``, strictly inside (0, 1) (safe for ppf).
    About 1 s per million keys.
    """
    prefix = f"{salt}:".encode()
    digest = b"".join(hashlib.blake2b(prefix + k.encode(), digest_size=8).digest() for k in keys)
    top53 = np.frombuffer(digest, dtype=">u8") >> np.uint64(11)
    return (top53.astype(np.float64) + 0.5) * 2.0**-53


def canonical_ids(user_ids: pd.Series) -> list[str]:
    """Text form hashed for each id; integral floats (ids read back with NaN) hash as ints."""
    values = user_ids
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        if np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
            values = values.astype("int64")
    return [str(v) for v in values.tolist()]


def validate_weights(weights: Mapping[str, float], *, param: str = "weights") -> dict[str, float]:
    """Check arm weights (non-empty names, finite and > 0) and normalise them to sum 1."""
    if not isinstance(weights, Mapping) or len(weights) == 0:
        raise ConfigError(
            f"{param}: must be a non-empty mapping of arm name to weight, got {weights!r}"
        )
    clean: dict[str, float] = {}
    for name, w in weights.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{param}: arm names must be non-empty strings, got {name!r}")
        if isinstance(w, bool) or not isinstance(w, int | float | np.number):
            raise ConfigError(f"{param}.{name}: weight must be a number, got {w!r}")
        if not math.isfinite(float(w)) or float(w) <= 0:
            raise ConfigError(f"{param}.{name}: weight must be finite and > 0, got {w!r}")
        clean[name] = float(w)
    total = sum(clean.values())
    return {name: w / total for name, w in clean.items()}


def assign_groups(
    user_ids: Iterable[Any] | pd.Series,
    *,
    weights: Mapping[str, float],
    seed: int,
    strata: pd.Series | Sequence[Any] | None = None,
) -> pd.Series:
    """Assign each user to an arm, deterministically, named ``group``, aligned with the input.

    Unstratified: ``u = unit_hash(user_id, salt=seed)`` is cut at the cumulative weights of
    the arms in sorted name order, so a user's arm depends only on (seed, user_id, weights):
    adding or removing other users never moves anyone (the hashing-based bucketing of
    Kohavi, Tang & Xu 2020, ch. 4; GrowthBook hashes ``seed + id`` the same way).

    Stratified (``strata`` aligned by position): within each stratum users are ordered by
    the same hash and placed at evenly spaced points ``(rank + offset) / n`` with a seeded
    offset per stratum (systematic allocation with a random start), then cut at the
    cumulative weights. Every arm gets ``n * w`` users of each stratum, give or take one,
    and each user's marginal probability of an arm is its weight. Trade-off: ranks shift
    when the stratum's membership changes, so stratify only a frozen cohort.

    >>> assign_groups([1, 2, 3], weights={"A": 1, "B": 1}, seed=7).tolist() == \\
    ...     assign_groups([3, 1, 2], weights={"A": 1, "B": 1}, seed=7).loc[[1, 2, 0]].tolist()
    True
    """
    w = validate_weights(weights)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ConfigError(f"seed: must be an integer, got {seed!r}")
    ids = as_series(user_ids, "user_id")
    check_ids(ids, what="assignment")
    names = sorted(w)
    cuts = np.cumsum([w[n] for n in names])
    cuts[-1] = 1.0  # guard float rounding so every u < 1 lands in an arm
    u = unit_hash(canonical_ids(ids), salt=str(int(seed)))
    if strata is None:
        position = u
    else:
        layer = as_series(strata, "stratum").reset_index(drop=True)
        if len(layer) != len(ids):
            raise ConfigError(f"strata: length {len(layer)} differs from user_ids ({len(ids)})")
        position = _stratified_positions(u, layer, seed=int(seed))
    arm = np.minimum(np.searchsorted(cuts, position, side="right"), len(names) - 1)
    log.debug(
        "assigned %d users to %d arms (stratified=%s)", len(ids), len(names), strata is not None
    )
    return pd.Series(np.asarray(names, dtype=object)[arm], index=ids.index, name="group")


def _stratified_positions(u: np.ndarray, layer: pd.Series, *, seed: int) -> np.ndarray:
    """Evenly spaced positions in [0, 1) per stratum: (rank by hash + seeded offset) / size."""
    frame = pd.DataFrame({"u": u, "stratum": layer.to_numpy()})
    by = frame.groupby("stratum", dropna=False, sort=False)["u"]
    rank = by.rank(method="first").to_numpy() - 1.0
    size = by.transform("size").to_numpy(dtype=float)
    keys = [str(s) for s in layer.tolist()]
    labels = pd.unique(np.asarray(keys, dtype=object))
    offset_of = dict(zip(labels, unit_hash(list(labels), salt=f"{seed}:stratum"), strict=True))
    offset = np.fromiter((offset_of[k] for k in keys), dtype=float, count=len(keys))
    return (rank + offset) / size
