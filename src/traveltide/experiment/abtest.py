"""The A/B/C engine: assignment, simulated outcomes, result validation, planning, analysis.

Arms compare ways of giving one of five perks to customers: A = rule-based perks,
B = ML-cluster perks, C = control (random perk or no perk). The shape follows GrowthBook's
statistics engine: sufficient statistics and results are frozen dataclasses, every formula
cites its source, and statistical edge cases (empty arm, no conversions, zero variance, a
missing control) come back as results whose ``error``/``note`` says so, with NaN figures.
Contract errors (bad weights, a malformed results file) raise ConfigError or DataError.

Primary metric: conversion (two-proportion z-test, Fisher exact for small expected counts,
Holm or Benjamini-Hochberg over one family: each treatment vs control and the direct B vs A).
Secondary metric: revenue per user (Welch t and Mann-Whitney U, corrected the same way as its
own family). A treatment wins only when it beats the control and the other treatment
(``decide``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from traveltide.errors import ConfigError, DataError
from traveltide.portable import portable

log = logging.getLogger(__name__)

Correction = Literal["holm", "fdr_bh"]
PlanCorrection = Literal["none", "bonferroni"]
MdeKind = Literal["absolute", "relative"]

NO_DIFFERENCE = "no significant difference"
INCONCLUSIVE = "inconclusive"
TIE = "tie"  # a treatment beats control, but none is shown to beat the other treatments
NO_PERK = "none"
SRM_THRESHOLD = 0.001  # Kohavi, Tang & Xu (2020), ch. 21: flag SRM at p < 0.001
MIN_EXPECTED = 5.0  # Cochran (1954): chi-square/normal approximations need expected >= 5
RESULT_COLUMNS = ("user_id", "group", "converted", "revenue")
SIMULATION_COLUMNS = ("user_id", "group", "perk", "fit_perk")
_MAX_ROWS_SHOWN = 5
_NAN = float("nan")


# --------------------------------------------------------------------------- helpers


def _check_alpha(alpha: float, *, param: str = "alpha") -> float:
    """Validate a significance level (0, 0.5]; a contract error, so it raises."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 0.5:
        raise ConfigError(f"{param}: must be a number in (0, 0.5], got {alpha!r}")
    return float(alpha)


def _check_choice(value: Any, options: Sequence[str], *, param: str) -> str:
    if value not in options:
        raise ConfigError(f"{param}: must be one of {', '.join(options)}, got {value!r}")
    return str(value)


def _rows(mask: np.ndarray | pd.Series) -> str:
    """Name the first offending rows, 1-based over data rows (row 1 = first data row)."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool)) + 1
    shown = ", ".join(str(p) for p in positions[:_MAX_ROWS_SHOWN])
    more = len(positions) - _MAX_ROWS_SHOWN
    label = "row" if len(positions) == 1 else "rows"
    return f"{label} {shown}" + (f" and {more} more" if more > 0 else "")


def _show(value: Any) -> str:
    """A value for an error message: numpy scalars as plain Python (7, not np.int64(7))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _json_value(value: Any) -> Any:
    """A JSON-safe scalar: numpy scalars unwrapped, NaN/inf become None, tuples to lists."""
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _canonical_ids(user_ids: pd.Series) -> list[str]:
    """Text form hashed for each id; integral floats (ids read back with NaN) hash as ints."""
    values = user_ids
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        if np.all(np.isfinite(arr)) and np.all(arr == np.floor(arr)):
            values = values.astype("int64")
    return [str(v) for v in values.tolist()]


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


def _as_series(values: Iterable[Any] | pd.Series, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, np.ndarray | pd.Index):
        return pd.Series(values, name=name)
    return pd.Series(list(values), name=name)


def _check_ids(ids: pd.Series, *, what: str) -> None:
    """Ids must be present and unique: a duplicate would count one user twice."""
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{what} column 'user_id': {missing.sum()} missing id(s) at {_rows(missing)}"
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        example = ids[dup].iloc[0]
        raise DataError(
            f"{what} column 'user_id': {int(ids.duplicated().sum())} duplicated id(s) "
            f"(e.g. {_show(example)}) at {_rows(dup)}"
        )


# --------------------------------------------------------------------------- assignment


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
    ids = _as_series(user_ids, "user_id")
    _check_ids(ids, what="assignment")
    names = sorted(w)
    cuts = np.cumsum([w[n] for n in names])
    cuts[-1] = 1.0  # guard float rounding so every u < 1 lands in an arm
    u = unit_hash(_canonical_ids(ids), salt=str(int(seed)))
    if strata is None:
        position = u
    else:
        layer = _as_series(strata, "stratum").reset_index(drop=True)
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


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class ResponseModel:
    """Explicit, assumed response to a perk (no outcome data exists; README "A/B outcomes").

    Conversion probability per user (params.yaml comments define the baseline):
    ``base_rate`` with a perk that does not fit, ``+ fit_lift`` when the perk fits,
    ``- any_perk_lift`` with no perk at all; plus ``noise_sd`` * N(0, 1) of per-user
    heterogeneity; clipped to [0, 1]. Revenue of a converter is lognormal with mean
    ``revenue_mean`` and sd ``revenue_sd`` (constant when sd is 0), 0 otherwise.
    """

    base_rate: float
    fit_lift: float
    any_perk_lift: float
    revenue_mean: float
    revenue_sd: float
    noise_sd: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ConfigError(f"response.{f.name}: must be a number, got {value!r}")
        if not isinstance(self.seed, int | np.integer):
            raise ConfigError(f"response.seed: must be an integer, got {self.seed!r}")
        checks = {
            "base_rate": 0.0 <= self.base_rate <= 1.0,
            "fit_lift": -1.0 <= self.fit_lift <= 1.0,
            "any_perk_lift": -1.0 <= self.any_perk_lift <= 1.0,
            "revenue_mean": self.revenue_mean > 0,
            "revenue_sd": self.revenue_sd >= 0,
            "noise_sd": self.noise_sd >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not math.isfinite(float(value)) or not ok:
                raise ConfigError(f"response.{name}: out of range, got {value!r}")

    def probability(self, *, has_perk: np.ndarray, fits: np.ndarray) -> np.ndarray:
        """Expected conversion probability before per-user noise."""
        p = self.base_rate - self.any_perk_lift * ~has_perk + self.fit_lift * (fits & has_perk)
        return np.clip(p, 0.0, 1.0)

    def revenue(self, z: np.ndarray) -> np.ndarray:
        """Lognormal revenue from standard normal draws, moments matched to mean and sd.

        sigma^2 = ln(1 + sd^2 / mean^2), mu = ln(mean) - sigma^2 / 2 (lognormal moments,
        e.g. Johnson, Kotz & Balakrishnan 1994, ch. 14).
        """
        if self.revenue_sd == 0:
            return np.full(z.shape, float(self.revenue_mean))
        sigma2 = math.log1p((self.revenue_sd / self.revenue_mean) ** 2)
        mu = math.log(self.revenue_mean) - sigma2 / 2
        return portable(np.exp, mu + math.sqrt(sigma2) * z)


def _no_perk(perk: pd.Series) -> np.ndarray:
    text = perk.astype(object).where(perk.notna(), NO_PERK).map(lambda v: str(v).strip().lower())
    return text.isin([NO_PERK, ""]).to_numpy()


def simulate_outcomes(
    table: pd.DataFrame, *, model: ResponseModel, seed: int | None = None
) -> pd.DataFrame:
    """Add ``converted`` (bool) and ``revenue`` (float, 0 unless converted) to a copy of table.

    ``table`` has user_id, group, perk, fit_perk; ``perk`` None/NaN/"none" means no perk.
    Draws are per-user hashes of (seed, user_id) - ``seed`` defaults to ``model.seed`` - so
    results do not depend on row order, and a user gets the same uniform draws whichever
    arm they sit in (common random numbers: arms differ only through the perk).
    """
    missing = [c for c in SIMULATION_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"simulation table: missing column(s) {', '.join(map(repr, missing))}")
    ids = table["user_id"].reset_index(drop=True)
    _check_ids(ids, what="simulation table")
    salt = str(model.seed if seed is None else int(seed))
    keys = _canonical_ids(ids)
    has_perk = ~_no_perk(table["perk"])
    fits = table["perk"].astype(object).to_numpy() == table["fit_perk"].astype(object).to_numpy()
    fits &= table["fit_perk"].notna().to_numpy()
    p = model.probability(has_perk=has_perk, fits=fits)
    if model.noise_sd > 0:
        noise = stats.norm.ppf(unit_hash(keys, salt=f"{salt}:noise"))
        p = np.clip(p + model.noise_sd * noise, 0.0, 1.0)
    converted = unit_hash(keys, salt=f"{salt}:convert") < p
    z = stats.norm.ppf(unit_hash(keys, salt=f"{salt}:revenue"))
    out = table.copy()
    out["converted"] = converted
    out["revenue"] = np.where(converted, model.revenue(z), 0.0)
    log.info(
        "simulated %d users: %.2f%% converted",
        len(out),
        100 * converted.mean() if len(out) else 0.0,
    )
    return out


# --------------------------------------------------------------------------- validation


def _bool_like(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Coerce true/false, 1/0, yes/no to bool; return the values and a mask of failures."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(bool), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_integer_dtype(values.dtype):
        bad = ~values.isin([0, 1]).to_numpy()
        return values.astype(bool), bad
    mapping = {
        "true": True,
        "false": False,
        "1": True,
        "0": False,
        "yes": True,
        "no": False,
        "1.0": True,
        "0.0": False,
    }
    text = values.map(lambda v: str(v).strip().lower())
    parsed = text.map(mapping)
    bad = parsed.isna().to_numpy()
    return parsed.where(~bad, False).astype(bool), bad


def load_outcomes(
    results: pd.DataFrame,
    *,
    known_users: Iterable[Any],
    groups: Iterable[str],
    what: str = "outcomes",
) -> pd.DataFrame:
    """Validate a real campaign results table and return user_id, group, converted, revenue.

    Raises DataError in one line starting with ``what`` (the file name), naming the column
    and the first offending rows (1-based data rows: row 1 is the line after a CSV header):
    missing columns or values, duplicate or unknown user_ids, unknown groups, non-boolean
    ``converted``, non-numeric/negative revenue, revenue without a conversion.
    """
    absent = [c for c in RESULT_COLUMNS if c not in results.columns]
    if absent:
        raise DataError(
            f"{what}: missing column(s) {', '.join(map(repr, absent))}; "
            f"got {list(map(str, results.columns))}"
        )
    frame = results.loc[:, list(RESULT_COLUMNS)].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{what}: the results table has no rows")
    for column in RESULT_COLUMNS:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            raise DataError(
                f"{what} column {column!r}: {missing.sum()} missing value(s) at {_rows(missing)}"
            )
    _check_ids(frame["user_id"], what=what)
    known = pd.Index(_as_series(known_users, "user_id").dropna().unique())
    unknown = ~frame["user_id"].isin(known).to_numpy()
    if unknown.any():
        raise DataError(
            f"{what} column 'user_id': {unknown.sum()} unknown user(s), not in the "
            f"cohort (e.g. {_show(frame['user_id'][unknown].iloc[0])}) at {_rows(unknown)}"
        )
    allowed = [str(g) for g in groups]
    group = frame["group"].astype(str)
    stray = ~group.isin(allowed).to_numpy()
    if stray.any():
        names = ", ".join(map(repr, pd.unique(group[stray])[:3]))
        raise DataError(
            f"{what} column 'group': unknown group(s) {names} (expected "
            f"{', '.join(allowed)}) at {_rows(stray)}"
        )
    converted, bad = _bool_like(frame["converted"])
    if bad.any():
        raise DataError(
            f"{what} column 'converted': {bad.sum()} value(s) not true/false/1/0 "
            f"(e.g. {_show(frame['converted'][bad].iloc[0])}) at {_rows(bad)}"
        )
    revenue = pd.to_numeric(frame["revenue"], errors="coerce").astype(float)
    bad = ~np.isfinite(revenue.to_numpy())
    if bad.any():
        raise DataError(
            f"{what} column 'revenue': {bad.sum()} non-numeric or infinite value(s) at {_rows(bad)}"
        )
    bad = (revenue < 0).to_numpy()
    if bad.any():
        raise DataError(f"{what} column 'revenue': {bad.sum()} negative value(s) at {_rows(bad)}")
    bad = ((revenue != 0) & ~converted).to_numpy()
    if bad.any():
        raise DataError(
            f"{what} column 'revenue': {bad.sum()} non-zero revenue where "
            f"converted is false at {_rows(bad)}"
        )
    absent_users = len(known) - len(frame)
    if absent_users > 0:
        log.warning("outcomes cover %d of %d assigned users", len(frame), len(known))
    return pd.DataFrame(
        {
            "user_id": frame["user_id"],
            "group": group.astype(object),
            "converted": converted.to_numpy(),
            "revenue": revenue.to_numpy(),
        }
    )


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class PowerResult:
    """Power of one treatment-vs-control comparison at its planned size (NormalIndPower).

    Effect size is Cohen's h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)) (Cohen 1988, ch. 6),
    the metric statsmodels' ``proportion_effectsize`` returns.
    """

    treatment: str
    control: str
    n_treatment: int
    n_control: int
    baseline_rate: float
    target_rate: float
    effect_size: float
    alpha: float
    power: float
    target_power: float
    mde_abs: float
    mde_rel: float
    n_required_treatment: float
    n_required_control: float
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PowerPlan:
    """Planned design: every comparison's power and minimum detectable effect (MDE)."""

    control: str
    baseline_rate: float
    mde_abs: float
    alpha: float
    alpha_per_comparison: float
    target_power: float
    correction: str
    comparisons: tuple[PowerResult, ...]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-safe metrics: ``plan_*`` and ``{t}_vs_{c}_power|mde_abs|...``."""
        out: dict[str, Any] = {
            "plan_baseline_rate": self.baseline_rate,
            "plan_mde_abs": self.mde_abs,
            "plan_alpha": self.alpha,
            "plan_alpha_per_comparison": self.alpha_per_comparison,
            "plan_target_power": self.target_power,
            "plan_error": self.error,
        }
        for r in self.comparisons:
            prefix = f"{r.treatment}_vs_{r.control}_"
            for key in (
                "power",
                "effect_size",
                "mde_abs",
                "mde_rel",
                "n_required_treatment",
                "n_required_control",
                "error",
                "note",
            ):
                out[prefix + ("plan_" + key if key in ("error", "note") else key)] = getattr(r, key)
        return {k: _json_value(v) for k, v in out.items()}


def _rate_from_h(p0: float, h: float) -> float:
    """Invert Cohen's h upwards: p1 = sin(asin(sqrt(p0)) + h/2)^2, NaN beyond p1 = 1."""
    theta = math.asin(math.sqrt(p0)) + h / 2
    return math.sin(theta) ** 2 if 0 <= theta <= math.pi / 2 else _NAN


def power_analysis(
    n_per_arm: Mapping[str, int],
    *,
    control: str = "C",
    baseline_rate: float,
    mde: float,
    mde_kind: MdeKind = "absolute",
    alpha: float = 0.05,
    power: float = 0.8,
    correction: PlanCorrection = "none",
    pairs: Sequence[tuple[str, str]] | None = None,
) -> PowerPlan:
    """Power of each comparison at the planned sizes, and the MDE at ``power``.

    ``mde`` is the lift to detect, absolute (0.02 = +2 points) or relative (0.2 = +20%),
    over ``baseline_rate`` (the rate of the second arm of each pair).
    ``pairs`` lists (treatment, baseline) arm pairs; by default each treatment vs control.
    ``correction="bonferroni"`` plans each comparison at alpha / m (m = number of pairs),
    a conservative plan for Holm (whose first step uses exactly alpha / m).
    """
    alpha = _check_alpha(alpha)
    _check_choice(mde_kind, ("absolute", "relative"), param="mde_kind")
    _check_choice(correction, ("none", "bonferroni"), param="correction")
    if not 0 < baseline_rate < 1:
        raise ConfigError(f"baseline_rate: must be in (0, 1), got {baseline_rate!r}")
    if not 0 < power < 1:
        raise ConfigError(f"power: must be in (0, 1), got {power!r}")
    if isinstance(mde, bool) or not isinstance(mde, int | float) or not mde > 0:
        raise ConfigError(f"mde: must be a number > 0, got {mde!r}")
    mde_abs = mde if mde_kind == "absolute" else mde * baseline_rate
    target = baseline_rate + mde_abs
    if not target < 1:
        raise ConfigError(f"mde: baseline_rate + mde must stay < 1, got {mde!r} ({mde_kind})")
    for arm, n in n_per_arm.items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ConfigError(f"n_per_arm.{arm}: must be an integer >= 0, got {n!r}")
    if pairs is None:
        pairs = [(a, control) for a in n_per_arm if a != control]
    m = max(len(pairs), 1)
    alpha_c = alpha / m if correction == "bonferroni" else alpha
    common = dict(
        control=control,
        baseline_rate=float(baseline_rate),
        mde_abs=float(mde_abs),
        alpha=alpha,
        alpha_per_comparison=alpha_c,
        target_power=float(power),
        correction=correction,
    )
    unknown = sorted({a for pair in pairs for a in pair if a not in n_per_arm})
    if unknown:
        what = "control arm" if unknown == [control] else "arm(s)"
        return PowerPlan(
            **common,
            comparisons=(),
            error=f"{what} {', '.join(map(repr, unknown))} not among the arms",
        )
    h = float(proportion_effectsize(target, baseline_rate))
    results = tuple(
        _power_one(
            t,
            c,
            int(n_per_arm[t]),
            int(n_per_arm[c]),
            p0=baseline_rate,
            p1=target,
            h=h,
            alpha=alpha_c,
            target_power=power,
        )
        for t, c in pairs
    )
    return PowerPlan(**common, comparisons=results)


def _power_one(
    treatment: str,
    control: str,
    n_t: int,
    n_c: int,
    *,
    p0: float,
    p1: float,
    h: float,
    alpha: float,
    target_power: float,
) -> PowerResult:
    base = dict(
        treatment=treatment,
        control=control,
        n_treatment=n_t,
        n_control=n_c,
        baseline_rate=p0,
        target_rate=p1,
        effect_size=h,
        alpha=alpha,
        target_power=target_power,
    )
    if n_t == 0 or n_c == 0:
        empty = treatment if n_t == 0 else control
        return PowerResult(
            **base,
            power=_NAN,
            mde_abs=_NAN,
            mde_rel=_NAN,
            n_required_treatment=_NAN,
            n_required_control=_NAN,
            error=f"arm {empty!r} has no users",
        )
    engine = NormalIndPower()
    ratio = n_c / n_t  # statsmodels: nobs2 = ratio * nobs1
    pw = float(engine.power(effect_size=h, nobs1=n_t, alpha=alpha, ratio=ratio))
    note = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h_min = float(
                engine.solve_power(
                    effect_size=None, nobs1=n_t, alpha=alpha, power=target_power, ratio=ratio
                )
            )
            n_req = float(
                engine.solve_power(
                    effect_size=h, nobs1=None, alpha=alpha, power=target_power, ratio=ratio
                )
            )
    except (ValueError, RuntimeError, ArithmeticError) as exc:  # root finding failed
        h_min, n_req, note = _NAN, _NAN, f"solve_power failed: {exc}"
    p_min = _rate_from_h(p0, h_min) if math.isfinite(h_min) else _NAN
    if math.isfinite(h_min) and not math.isfinite(p_min):
        note = "no lift below a 100% rate reaches the target power at this size"
    mde_abs = p_min - p0
    return PowerResult(
        **base,
        power=pw,
        mde_abs=mde_abs,
        mde_rel=mde_abs / p0,
        n_required_treatment=math.ceil(n_req) if math.isfinite(n_req) else _NAN,
        n_required_control=math.ceil(n_req * ratio) if math.isfinite(n_req) else _NAN,
        note=note,
    )


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class ArmStats:
    """Sufficient statistics of one arm: users, conversions, revenue mean and variance."""

    group: str
    n: int
    conversions: int
    revenue_mean: float
    revenue_var: float

    @property
    def rate(self) -> float:
        return self.conversions / self.n if self.n else _NAN


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio mismatch: chi-square goodness of fit of arm counts vs configured weights.

    ``flag`` is None when not assessable (an expected count below ``min_expected``).
    """

    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    p_value: float
    flag: bool | None
    assessable: bool
    threshold: float = SRM_THRESHOLD
    min_expected: float = MIN_EXPECTED
    note: str | None = None


@dataclass(frozen=True)
class OmnibusResult:
    """Chi-square test of independence of arm and conversion over all non-empty arms."""

    statistic: float
    p_value: float
    dof: int
    arms: tuple[str, ...]
    min_expected: float
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ConversionTest:
    """Treatment vs control on conversion: z-test or Fisher, Newcomb and delta-method CIs.

    ``p_value`` is Fisher's when ``fisher_used`` (an expected cell < 5), else the z-test's.
    ``lift_abs`` = p_t - p_c, CI ``lift_ci_low/high``; ``lift_rel`` = p_t / p_c - 1.
    """

    treatment: str
    control: str
    rate_treatment: float
    rate_control: float
    lift_abs: float
    lift_ci_low: float
    lift_ci_high: float
    lift_rel: float
    lift_rel_ci_low: float
    lift_rel_ci_high: float
    z_statistic: float
    p_value_z: float
    p_value_fisher: float
    fisher_used: bool
    p_value: float
    min_expected: float
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class RevenueTest:
    """Treatment vs control on revenue per user (zeros included): Welch t and Mann-Whitney U."""

    revenue_mean_treatment: float
    revenue_mean_control: float
    revenue_diff: float
    revenue_diff_ci_low: float
    revenue_diff_ci_high: float
    revenue_welch_t: float
    revenue_welch_df: float
    revenue_welch_p_value: float
    revenue_mw_u: float
    revenue_mw_p_value: float
    revenue_error: str | None = None
    revenue_note: str | None = None


@dataclass(frozen=True)
class Comparison:
    """One arm against another: a treatment vs the control, or one treatment vs another
    (``control`` is then the other treatment, e.g. B vs A). ``p_adj`` is adjusted over the
    whole family of comparisons of the analysis (vs control and direct alike)."""

    treatment: str
    control: str
    conversion: ConversionTest
    revenue: RevenueTest
    p_adj: float
    significant: bool
    revenue_p_adj: float
    revenue_significant: bool


@dataclass(frozen=True)
class Verdict:
    """The decision: an arm, ``tie``, ``no significant difference`` or ``inconclusive``.

    ``significant_arms``: treatments whose conversion differs significantly from control.
    """

    winner: str
    reason: str
    significant_arms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ABAnalysis:
    """Everything ``analyse`` found; ``to_dict()`` flattens it into JSON-safe metrics."""

    control: str
    alpha: float
    correction: str
    arms: tuple[ArmStats, ...]
    srm: SRMResult
    omnibus: OmnibusResult
    comparisons: tuple[Comparison, ...]
    verdict: Verdict
    error: str | None = None
    direct: tuple[Comparison, ...] = ()  # treatment vs treatment (B vs A), same family

    @property
    def all_comparisons(self) -> tuple[Comparison, ...]:
        """Every comparison of the family: each treatment vs control, then the direct ones."""
        return self.comparisons + self.direct

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-safe metrics (NaN -> None), stable keys for DVC and MLflow."""
        out: dict[str, Any] = {
            "alpha": self.alpha,
            "correction": self.correction,
            "n_total": sum(a.n for a in self.arms),
        }
        for a in self.arms:
            out[f"{a.group}_n"] = a.n
            out[f"{a.group}_conversions"] = a.conversions
            out[f"{a.group}_conversion_rate"] = a.rate
            out[f"{a.group}_revenue_per_user"] = a.revenue_mean
        s = self.srm
        out.update(
            srm_statistic=s.statistic,
            srm_p_value=s.p_value,
            srm_flag=s.flag,
            srm_assessable=s.assessable,
            srm_note=s.note,
        )
        o = self.omnibus
        out.update(
            omnibus_statistic=o.statistic,
            omnibus_p_value=o.p_value,
            omnibus_dof=o.dof,
            omnibus_error=o.error,
        )
        out["comparisons"] = [f"{c.treatment}_vs_{c.control}" for c in self.all_comparisons]
        for c in self.all_comparisons:
            prefix = f"{c.treatment}_vs_{c.control}_"
            for part in (c.conversion, c.revenue):
                for f in fields(part):
                    if f.name not in ("treatment", "control"):
                        out[prefix + f.name] = getattr(part, f.name)
            out[prefix + "p_adj"] = c.p_adj
            out[prefix + "significant"] = c.significant
            out[prefix + "revenue_p_adj"] = c.revenue_p_adj
            out[prefix + "revenue_significant"] = c.revenue_significant
        out["verdict_winner"] = self.verdict.winner
        out["verdict_reason"] = self.verdict.reason
        out["error"] = self.error
        return {k: _json_value(v) for k, v in out.items()}


def arm_stats(table: pd.DataFrame, *, arms: Sequence[str]) -> tuple[ArmStats, ...]:
    """Sufficient statistics per arm, in ``arms`` order (an arm with no rows gets n = 0)."""
    grouped = table.groupby("group", sort=False)
    result = []
    for arm in arms:
        if arm in grouped.groups:
            g = grouped.get_group(arm)
            rev = g["revenue"].to_numpy(dtype=float)
            result.append(
                ArmStats(
                    arm,
                    len(g),
                    int(g["converted"].sum()),
                    float(rev.mean()),
                    float(rev.var(ddof=1)) if len(rev) > 1 else _NAN,
                )
            )
        else:
            result.append(ArmStats(arm, 0, 0, _NAN, _NAN))
    return tuple(result)


def srm_test(
    counts: Mapping[str, int],
    *,
    weights: Mapping[str, float],
    threshold: float = SRM_THRESHOLD,
    min_expected: float = MIN_EXPECTED,
) -> SRMResult:
    """Chi-square goodness of fit of observed arm counts to the configured split.

    Flags a sample-ratio mismatch at p < ``threshold`` (Fabijan et al. 2019, "Diagnosing
    Sample Ratio Mismatch in Online Controlled Experiments"). Not assessable when any
    expected count is below ``min_expected`` (chi-square approximation, Cochran 1954).
    """
    w = validate_weights(weights)
    observed = {a: int(counts.get(a, 0)) for a in w}
    total = sum(observed.values())
    expected = {a: total * w[a] for a in w}
    base = dict(
        observed=observed, expected=expected, threshold=threshold, min_expected=min_expected
    )
    if len(w) < 2:
        return SRMResult(
            **base,
            statistic=_NAN,
            p_value=_NAN,
            flag=None,
            assessable=False,
            note="a single arm has no split to check",
        )
    if min(expected.values()) < min_expected:
        return SRMResult(
            **base,
            statistic=_NAN,
            p_value=_NAN,
            flag=None,
            assessable=False,
            note=f"not assessable: {total} users give an expected arm count below {min_expected:g}",
        )
    res = stats.chisquare(f_obs=list(observed.values()), f_exp=list(expected.values()))
    p = float(res.pvalue)
    flag = p < threshold
    if flag:
        log.warning("sample ratio mismatch: counts %s, p = %.3g", observed, p)
    return SRMResult(**base, statistic=float(res.statistic), p_value=p, flag=flag, assessable=True)


def omnibus_test(arms: Sequence[ArmStats]) -> OmnibusResult:
    """Chi-square independence test of converted/not by arm (scipy chi2_contingency).

    No Yates correction, so with two arms the statistic equals the squared pooled z
    (Agresti 2013, sec. 3.1). Empty arms are left out (their row would make expected 0).
    """
    used = [a for a in arms if a.n > 0]
    names = tuple(a.group for a in used)
    nan = dict(statistic=_NAN, p_value=_NAN, dof=0, arms=names, min_expected=_NAN)
    if len(used) < 2:
        return OmnibusResult(**nan, error="fewer than two arms have users")
    table = np.array([[a.conversions, a.n - a.conversions] for a in used], dtype=float)
    if table[:, 0].sum() == 0:
        return OmnibusResult(**nan, error="no conversions in any arm")
    if table[:, 1].sum() == 0:
        return OmnibusResult(**nan, error="every user converted in every arm")
    res = stats.chi2_contingency(table, correction=False)
    min_exp = float(res.expected_freq.min())
    note = None if min_exp >= MIN_EXPECTED else "an expected cell < 5: approximation is rough"
    skipped = [a.group for a in arms if a.n == 0]
    if skipped:
        note = "; ".join(filter(None, [note, f"empty arm(s) left out: {', '.join(skipped)}"]))
    return OmnibusResult(
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        dof=int(res.dof),
        arms=names,
        min_expected=min_exp,
        note=note,
    )


def _conversion_failure(treatment: ArmStats, control: ArmStats, error: str) -> ConversionTest:
    return ConversionTest(
        treatment=treatment.group,
        control=control.group,
        rate_treatment=treatment.rate,
        rate_control=control.rate,
        lift_abs=_NAN,
        lift_ci_low=_NAN,
        lift_ci_high=_NAN,
        lift_rel=_NAN,
        lift_rel_ci_low=_NAN,
        lift_rel_ci_high=_NAN,
        z_statistic=_NAN,
        p_value_z=_NAN,
        p_value_fisher=_NAN,
        fisher_used=False,
        p_value=_NAN,
        min_expected=_NAN,
        error=error,
    )


def conversion_test(
    treatment: ArmStats, control: ArmStats, *, alpha: float = 0.05
) -> ConversionTest:
    """Compare conversion of two arms from their counts alone (the lean path of ``analyse``).

    - z: pooled two-proportion z-test, statsmodels ``proportions_ztest``.
    - Fisher exact (scipy), used as ``p_value`` when an expected cell is < 5.
    - absolute lift CI: Newcomb (1998) hybrid Wilson score, method 10,
      ``confint_proportions_2indep(method="newcomb")``.
    - relative lift CI: delta method for p_t / p_c (Kohavi, Tang & Xu 2020, ch. 18;
      GrowthBook gbstats ``frequentist``):
      Var(p_t/p_c) ~= Var(p_t) / p_c^2 + p_t^2 Var(p_c) / p_c^4, Var(p) = p (1 - p) / n.
    """
    nt, xt, nc, xc = treatment.n, treatment.conversions, control.n, control.conversions
    for arm in (control, treatment):
        if arm.n == 0:
            return _conversion_failure(treatment, control, f"arm {arm.group!r} has no users")
    if xt + xc == 0:
        return _conversion_failure(
            treatment, control, "no conversions in either arm: conversion tests are undefined"
        )
    if xt + xc == nt + nc:
        return _conversion_failure(
            treatment, control, "every user converted in both arms: conversion tests are undefined"
        )
    pt, pc = xt / nt, xc / nc
    table = np.array([[xt, nt - xt], [xc, nc - xc]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    min_exp = float(expected.min())
    z, p_z = proportions_ztest(np.array([xt, xc]), np.array([nt, nc]))
    fisher_used = min_exp < MIN_EXPECTED
    p_fisher = float(stats.fisher_exact(table.astype(int)).pvalue) if fisher_used else _NAN
    low, high = confint_proportions_2indep(
        xt, nt, xc, nc, method="newcomb", compare="diff", alpha=alpha
    )
    note = None
    if pc > 0:
        rel = pt / pc - 1
        var = pt * (1 - pt) / nt / pc**2 + pt**2 * pc * (1 - pc) / nc / pc**4
        half = stats.norm.ppf(1 - alpha / 2) * math.sqrt(var)
        rel_low, rel_high = rel - half, rel + half
    else:
        rel = rel_low = rel_high = _NAN
        note = "control rate is 0: relative lift undefined"
    return ConversionTest(
        treatment=treatment.group,
        control=control.group,
        rate_treatment=pt,
        rate_control=pc,
        lift_abs=pt - pc,
        lift_ci_low=float(low),
        lift_ci_high=float(high),
        lift_rel=rel,
        lift_rel_ci_low=rel_low,
        lift_rel_ci_high=rel_high,
        z_statistic=float(z),
        p_value_z=float(p_z),
        p_value_fisher=p_fisher,
        fisher_used=fisher_used,
        p_value=p_fisher if fisher_used else float(p_z),
        min_expected=min_exp,
        note=note,
    )


def revenue_test(treatment: np.ndarray, control: np.ndarray, *, alpha: float = 0.05) -> RevenueTest:
    """Revenue per user: Welch t (scipy ``ttest_ind(equal_var=False)``, Welch 1947) with its
    CI for the mean difference, and Mann-Whitney U (two-sided, scipy ``mannwhitneyu``)."""
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    mean_t = float(t.mean()) if len(t) else _NAN
    mean_c = float(c.mean()) if len(c) else _NAN
    nan = dict(
        revenue_mean_treatment=mean_t,
        revenue_mean_control=mean_c,
        revenue_diff=mean_t - mean_c,
        revenue_diff_ci_low=_NAN,
        revenue_diff_ci_high=_NAN,
        revenue_welch_t=_NAN,
        revenue_welch_df=_NAN,
        revenue_welch_p_value=_NAN,
        revenue_mw_u=_NAN,
        revenue_mw_p_value=_NAN,
    )
    if len(t) < 2 or len(c) < 2:
        return RevenueTest(**nan, revenue_error="an arm has fewer than 2 users")
    if np.ptp(np.concatenate([t, c])) == 0:
        return RevenueTest(
            **nan,
            revenue_error="revenue is constant across both arms: zero variance, tests undefined",
        )
    mw = stats.mannwhitneyu(t, c, alternative="two-sided")
    mw_part = dict(revenue_mw_u=float(mw.statistic), revenue_mw_p_value=float(mw.pvalue))
    if np.ptp(t) == 0 and np.ptp(c) == 0:
        nan.update(mw_part)
        return RevenueTest(
            **nan, revenue_error="revenue has zero variance within both arms: Welch t undefined"
        )
    welch = stats.ttest_ind(t, c, equal_var=False)
    ci = welch.confidence_interval(confidence_level=1 - alpha)
    return RevenueTest(
        revenue_mean_treatment=mean_t,
        revenue_mean_control=mean_c,
        revenue_diff=mean_t - mean_c,
        revenue_diff_ci_low=float(ci.low),
        revenue_diff_ci_high=float(ci.high),
        revenue_welch_t=float(welch.statistic),
        revenue_welch_df=float(welch.df),
        revenue_welch_p_value=float(welch.pvalue),
        **mw_part,
    )


def adjust_p_values(
    p_values: Sequence[float], *, method: Correction = "holm", alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Holm (1979) or Benjamini-Hochberg (1995) via statsmodels ``multipletests``.

    NaN p-values (failed comparisons) stay NaN and out of the family.
    Returns (adjusted p-values, reject flags).
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    ok = np.isfinite(p)
    if ok.any():
        rej, adj, _, _ = multipletests(p[ok], alpha=alpha, method=method)
        adjusted[ok], reject[ok] = adj, rej
    return adjusted, reject


def _pts(x: float) -> str:
    return f"{100 * x:+.2f} pts"


def _describe(c: Comparison, label: str) -> str:
    """One comparison in words: 'B vs C +3.95 pts (11.77% -> 15.72%, Holm p = 0.0005)'."""
    cv = c.conversion
    if cv.error or not math.isfinite(c.p_adj):
        return f"{c.treatment} vs {c.control} not tested ({cv.error or 'no p-value'})"
    return (
        f"{c.treatment} vs {c.control} {_pts(cv.lift_abs)} ({100 * cv.rate_control:.2f}% -> "
        f"{100 * cv.rate_treatment:.2f}%, {label} p = {c.p_adj:.2g})"
    )


def _beats(winner: str, other: str, direct: Sequence[Comparison]) -> Comparison | None:
    """The direct comparison showing ``winner`` significantly above ``other``, if any."""
    for d in direct:
        if not d.significant or not math.isfinite(d.conversion.lift_abs):
            continue
        if (d.treatment, d.control) == (winner, other) and d.conversion.lift_abs > 0:
            return d
        if (d.treatment, d.control) == (other, winner) and d.conversion.lift_abs < 0:
            return d
    return None


def decide(
    comparisons: Sequence[Comparison],
    *,
    srm: SRMResult,
    control: str,
    alpha: float,
    correction: str,
    direct: Sequence[Comparison] = (),
) -> Verdict:
    """The verdict on conversion (primary metric) from adjusted p-values.

    Every p-value is adjusted over one family: each treatment vs control and each direct
    treatment-vs-treatment comparison (``direct``), so every claim below holds at ``alpha``
    family-wise (Holm) or as a false discovery rate (BH).

    - SRM, or no comparison could be tested: ``inconclusive`` (nothing is trusted).
    - A treatment wins when it converts significantly above the control AND significantly
      above every other treatment in their direct comparison: beating control shows the
      perk works, beating the other shows it is the better policy. A missing direct
      comparison proves nothing.
    - ``tie``: some treatment beats the control, but none is shown to beat the others.
    - The control wins when every treatment converts significantly below it.
    - Otherwise ``no significant difference``.
    """
    if srm.flag:
        return Verdict(
            INCONCLUSIVE,
            f"Sample ratio mismatch (p = {srm.p_value:.2g} < "
            f"{srm.threshold:g}): the assignment is broken, so no lift is trusted.",
        )
    valid = [c for c in comparisons if math.isfinite(c.p_adj)]
    if not valid:
        why = next(
            (c.conversion.error for c in comparisons if c.conversion.error),
            f"control arm {control!r} is missing",
        )
        return Verdict(INCONCLUSIVE, f"No comparison could be tested: {why}.")
    label = "Holm" if correction == "holm" else "BH"
    up = [c for c in valid if c.significant and c.conversion.lift_abs > 0]
    down = [c for c in valid if c.significant and c.conversion.lift_abs < 0]
    treatments = [c.treatment for c in comparisons]
    if up:
        for c in sorted(up, key=lambda c: -c.conversion.lift_abs):
            others = [t for t in treatments if t != c.treatment]
            proofs = [_beats(c.treatment, o, direct) for o in others]
            if all(proofs):
                vs_others = "".join(
                    f" and above {o} ({_describe(d, label)})"
                    for o, d in zip(others, proofs, strict=True)
                )
                return Verdict(
                    c.treatment,
                    f"{c.treatment} wins on conversion: significantly above {control} "
                    f"({_describe(c, label)}){vs_others}, at {label}-adjusted alpha {alpha:g}.",
                    tuple(x.treatment for x in up + down),
                )
        names = " and ".join(c.treatment for c in up)
        verb = "converts" if len(up) == 1 else "convert"
        pairs = "; ".join(_describe(d, label) for d in direct) or "no direct comparison"
        return Verdict(
            TIE,
            f"{names} {verb} significantly above {control} "
            f"({'; '.join(_describe(c, label) for c in up)}), but no treatment is shown to "
            f"beat the other(s) directly ({pairs}; {label}-adjusted alpha {alpha:g}).",
            tuple(x.treatment for x in up + down),
        )
    if len(down) == len(comparisons):
        return Verdict(
            control,
            f"Every treatment converts significantly below {control} "
            f"({label}-adjusted p <= {max(c.p_adj for c in down):.2g}).",
            tuple(c.treatment for c in down),
        )
    smallest = min(valid, key=lambda c: c.p_adj)
    below = f"; {', '.join(c.treatment for c in down)} significantly below" if down else ""
    return Verdict(
        NO_DIFFERENCE,
        f"No treatment converts significantly above {control} at "
        f"{label}-adjusted alpha {alpha:g} (smallest adjusted p = "
        f"{smallest.p_adj:.2g}{below}).",
        tuple(c.treatment for c in down),
    )


def _analysis_frame(table: pd.DataFrame, *, arms: Sequence[str]) -> pd.DataFrame:
    """Check the analysis table's contract (columns, no missing values, known arms)."""
    what = "ab table"
    absent = [c for c in RESULT_COLUMNS if c not in table.columns]
    if absent:
        raise DataError(f"{what}: missing column(s) {', '.join(map(repr, absent))}")
    frame = table.loc[:, list(RESULT_COLUMNS)].reset_index(drop=True)
    for column in RESULT_COLUMNS:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            raise DataError(
                f"{what} column {column!r}: {missing.sum()} missing value(s) at {_rows(missing)}"
            )
    group = frame["group"].astype(str)
    stray = ~group.isin(list(arms)).to_numpy()
    if stray.any():
        raise DataError(
            f"{what} column 'group': arm(s) "
            f"{', '.join(map(repr, pd.unique(group[stray])[:3]))} not in weights "
            f"({', '.join(arms)}) at {_rows(stray)}"
        )
    converted, bad = _bool_like(frame["converted"])
    if bad.any():
        raise DataError(f"{what} column 'converted': non-boolean value(s) at {_rows(bad)}")
    revenue = pd.to_numeric(frame["revenue"], errors="coerce").astype(float)
    bad = ~np.isfinite(revenue.to_numpy())
    if bad.any():
        raise DataError(f"{what} column 'revenue': non-numeric value(s) at {_rows(bad)}")
    return pd.DataFrame(
        {
            "group": group.to_numpy(dtype=object),
            "converted": converted.to_numpy(),
            "revenue": revenue.to_numpy(),
        }
    )


def _missing_revenue(error: str) -> RevenueTest:
    return RevenueTest(
        _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, _NAN, revenue_error=error
    )


def comparison_pairs(
    arms: Iterable[str], *, control: str = "C", direct: bool = True
) -> list[tuple[str, str]]:
    """The (treatment, baseline) pairs of one analysis family, in a fixed order.

    Each treatment vs the control, then with ``direct`` each pair of treatments, the later
    arm against the earlier: with arms A, B, C that is A vs C, B vs C, B vs A (ML vs rules).
    """
    treatments = [a for a in arms if a != control]
    pairs = [(t, control) for t in treatments]
    if direct:
        pairs += [(b, a) for i, a in enumerate(treatments) for b in treatments[i + 1 :]]
    return pairs


def analyse(
    table: pd.DataFrame,
    *,
    control: str = "C",
    weights: Mapping[str, float],
    alpha: float = 0.05,
    correction: Correction = "holm",
    direct: bool = True,
) -> ABAnalysis:
    """Analyse an A/B/C test: SRM, omnibus chi-square, pairwise comparisons, verdict.

    ``table`` has user_id, group, converted, revenue (revenue per user, 0 if not converted).
    Treatments are the arms of ``weights`` other than ``control``, in ``weights`` order.
    Each treatment is compared with the control and, with ``direct``, each treatment with
    each other treatment (B vs A). Conversion p-values are adjusted over all of these at
    once (one family), revenue p-values likewise as their own family.
    Statistical edge cases never raise: they show up as ``error``/``note`` with NaN figures.
    """
    w = validate_weights(weights)
    alpha = _check_alpha(alpha)
    _check_choice(correction, ("holm", "fdr_bh"), param="correction")
    frame = _analysis_frame(table, arms=list(w))
    arms = arm_stats(frame, arms=list(w))
    srm = srm_test({a.group: a.n for a in arms}, weights=w)
    omnibus = omnibus_test(arms)
    by_arm = {a.group: a for a in arms}
    revenue = {g: r.to_numpy() for g, r in frame.groupby("group", sort=False)["revenue"]}
    error = None if control in w else f"control arm {control!r} is not among the arms"
    treatments = [a for a in w if a != control]
    pairs = comparison_pairs(w, control=control, direct=direct)
    tests = []
    for t, c in pairs:
        if c == control and error:
            conv = _conversion_failure(by_arm[t], ArmStats(control, 0, 0, _NAN, _NAN), error)
            rev = _missing_revenue(error)
        else:
            conv = conversion_test(by_arm[t], by_arm[c], alpha=alpha)
            rev = revenue_test(
                revenue.get(t, np.empty(0)), revenue.get(c, np.empty(0)), alpha=alpha
            )
        tests.append((t, c, conv, rev))
    p_adj, reject = adjust_p_values(
        [conv.p_value for _, _, conv, _ in tests], method=correction, alpha=alpha
    )
    r_adj, r_reject = adjust_p_values(
        [rev.revenue_welch_p_value for _, _, _, rev in tests], method=correction, alpha=alpha
    )
    every = tuple(
        Comparison(
            t,
            c,
            conv,
            rev,
            float(p_adj[i]),
            bool(reject[i]),
            float(r_adj[i]),
            bool(r_reject[i]),
        )
        for i, (t, c, conv, rev) in enumerate(tests)
    )
    comparisons, between = every[: len(treatments)], every[len(treatments) :]
    verdict = decide(
        comparisons,
        srm=srm,
        control=control,
        alpha=alpha,
        correction=correction,
        direct=between,
    )
    log.info("A/B verdict: %s - %s", verdict.winner, verdict.reason)
    return ABAnalysis(
        control=control,
        alpha=alpha,
        correction=correction,
        arms=arms,
        srm=srm,
        omnibus=omnibus,
        comparisons=comparisons,
        verdict=verdict,
        error=error,
        direct=between,
    )
