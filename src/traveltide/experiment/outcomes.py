"""A real campaign's outcomes: reading the results file and checking it before any analysis.

The file (CSV or Parquet, inside the folder DVC tracks for ab_test) has one row per user with
user_id, group, converted, revenue. A malformed file is a contract error: one line naming the
file, the column and the first offending rows (1-based data rows: row 1 follows a CSV header).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.checks import as_series, bool_like, check_ids, rows, show

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("user_id", "group", "converted", "revenue")


def read_results(path: Path, campaign: Path) -> pd.DataFrame:
    """Read a campaign results file (CSV or Parquet) from the folder DVC tracks for ab_test."""
    if not path.resolve().is_relative_to(campaign.resolve()):
        raise ConfigError(
            f"params.yaml: ab_test.outcomes must be a file inside {campaign}/ (ab_test depends "
            f"on that folder in dvc.yaml, so a new or changed file reruns it), got '{path}'"
        )
    if not path.is_file():
        raise DataError(f"{path}: results file not found (params.yaml ab_test.outcomes)")
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad input file
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{path}: cannot read the results file: {detail}") from exc


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
                f"{what} column {column!r}: {missing.sum()} missing value(s) at {rows(missing)}"
            )
    check_ids(frame["user_id"], what=what)
    known = pd.Index(as_series(known_users, "user_id").dropna().unique())
    unknown = ~frame["user_id"].isin(known).to_numpy()
    if unknown.any():
        raise DataError(
            f"{what} column 'user_id': {unknown.sum()} unknown user(s), not in the "
            f"cohort (e.g. {show(frame['user_id'][unknown].iloc[0])}) at {rows(unknown)}"
        )
    allowed = [str(g) for g in groups]
    group = frame["group"].astype(str)
    stray = ~group.isin(allowed).to_numpy()
    if stray.any():
        names = ", ".join(map(repr, pd.unique(group[stray])[:3]))
        raise DataError(
            f"{what} column 'group': unknown group(s) {names} (expected "
            f"{', '.join(allowed)}) at {rows(stray)}"
        )
    converted, bad = bool_like(frame["converted"])
    if bad.any():
        raise DataError(
            f"{what} column 'converted': {bad.sum()} value(s) not true/false/1/0 "
            f"(e.g. {show(frame['converted'][bad].iloc[0])}) at {rows(bad)}"
        )
    revenue = pd.to_numeric(frame["revenue"], errors="coerce").astype(float)
    bad = ~np.isfinite(revenue.to_numpy())
    if bad.any():
        raise DataError(
            f"{what} column 'revenue': {bad.sum()} non-numeric or infinite value(s) at {rows(bad)}"
        )
    bad = (revenue < 0).to_numpy()
    if bad.any():
        raise DataError(f"{what} column 'revenue': {bad.sum()} negative value(s) at {rows(bad)}")
    bad = ((revenue != 0) & ~converted).to_numpy()
    if bad.any():
        raise DataError(
            f"{what} column 'revenue': {bad.sum()} non-zero revenue where "
            f"converted is false at {rows(bad)}"
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
