"""Outcomes: the checks every outcome table meets, and a real campaign's results file.

The file (CSV or Parquet, inside the folder DVC tracks for ab_test) has one row per user with
user_id, group, converted, revenue, and optionally cancelled and exposure_days. A malformed
table is a contract error: one line naming the file, the column and the first offending rows
(1-based data rows: row 1 follows a CSV header). ``analyse`` runs the same checks.
Cohort users missing from the file count as assigned and not converted (intention to treat).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.checks import as_series, bool_like, check_ids, rows, show

log = logging.getLogger(__name__)

RESULT_COLUMNS = ("user_id", "group", "converted", "revenue")
OPTIONAL_COLUMNS = ("cancelled", "exposure_days")


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


def _fail(what: str, column: str, problem: str, mask: np.ndarray) -> None:
    if mask.any():
        raise DataError(f"{what} column {column!r}: {int(mask.sum())} {problem} at {rows(mask)}")


def check_outcomes(
    results: pd.DataFrame, *, groups: Iterable[str], what: str = "outcomes", refunds: bool = False
) -> pd.DataFrame:
    """The contract of every outcome table; returns user_id, group, converted, revenue (typed)
    and the optional columns present (cancelled, exposure_days).

    Raises DataError in one line starting with ``what``, naming the column and the first
    offending rows: missing columns or values, duplicate user_ids, unknown groups,
    non-boolean ``converted``/``cancelled``, non-numeric revenue, negative revenue (unless
    ``refunds``: then only after a conversion), revenue without a conversion, a cancellation
    without one, and exposure_days that is not a number >= 0.
    """
    absent = [c for c in RESULT_COLUMNS if c not in results.columns]
    if absent:
        raise DataError(
            f"{what}: missing column(s) {', '.join(map(repr, absent))}; "
            f"got {list(map(str, results.columns))}"
        )
    columns = [*RESULT_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in results.columns)]
    frame = results.loc[:, columns].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{what}: the results table has no rows")
    for column in columns:
        _fail(what, column, "missing value(s)", frame[column].isna().to_numpy())
    check_ids(frame["user_id"], what=what)
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
    revenue = pd.to_numeric(frame["revenue"], errors="coerce").astype(float).to_numpy()
    _fail(what, "revenue", "non-numeric or infinite value(s)", ~np.isfinite(revenue))
    negative = revenue < 0
    if refunds:
        _fail(what, "revenue", "refund(s) (negative) without a conversion", negative & ~converted)
    else:
        _fail(what, "revenue", "negative value(s) (refunds need results.refunds)", negative)
    _fail(what, "revenue", "non-zero revenue where converted is false", (revenue != 0) & ~converted)
    out = pd.DataFrame(
        {
            "user_id": frame["user_id"],
            "group": group.astype(object),
            "converted": converted.to_numpy(),
            "revenue": revenue,
        }
    )
    if "cancelled" in frame:
        cancelled, bad = bool_like(frame["cancelled"])
        _fail(what, "cancelled", "value(s) not true/false/1/0", bad)
        _fail(what, "cancelled", "cancellation(s) without a conversion", (cancelled & ~converted))
        out["cancelled"] = cancelled.to_numpy()
    if "exposure_days" in frame:
        days = pd.to_numeric(frame["exposure_days"], errors="coerce").astype(float).to_numpy()
        _fail(
            what, "exposure_days", "value(s) not a number >= 0", ~(np.isfinite(days) & (days >= 0))
        )
        out["exposure_days"] = days
    return out


def load_outcomes(
    results: pd.DataFrame,
    *,
    known_users: Iterable[Any],
    groups: Iterable[str],
    what: str = "outcomes",
    refunds: bool = False,
) -> pd.DataFrame:
    """A real campaign's results table, checked (``check_outcomes``) against the cohort:
    a user not in ``known_users`` is an error too."""
    frame = check_outcomes(results, groups=groups, what=what, refunds=refunds)
    known = pd.Index(as_series(known_users, "user_id").dropna().unique())
    unknown = ~frame["user_id"].isin(known).to_numpy()
    if unknown.any():
        raise DataError(
            f"{what} column 'user_id': {unknown.sum()} unknown user(s), not in the "
            f"cohort (e.g. {show(frame['user_id'][unknown].iloc[0])}) at {rows(unknown)}"
        )
    return frame


@dataclass(frozen=True)
class Coverage:
    """How the results file covers the assigned users."""

    users: int  # assigned users with a row in the file
    missing: int  # assigned users without one: not converted, no revenue (intention to treat)
    group_mismatch: int  # rows whose group differs from the seeded assignment

    @property
    def share(self) -> float:
        total = self.users + self.missing
        return self.users / total if total else float("nan")


def intention_to_treat(
    checked: pd.DataFrame,
    assigned: pd.DataFrame,
    *,
    what: str = "outcomes",
    min_coverage: float = 0.0,
    group_mismatch: Literal["error", "report"] = "error",
) -> tuple[pd.DataFrame, Coverage]:
    """The outcomes of every assigned user, by the arm they were assigned (intention to treat).

    ``assigned`` has user_id and group (the seeded assignment); ``checked`` is the file as
    ``load_outcomes`` returns it. An assigned user missing from the file did not convert and
    earned nothing; below ``min_coverage`` (share of assigned users in the file) the stage
    refuses. A row whose group differs from the assignment is an error, or with
    ``group_mismatch="report"`` only counted: the analysis keeps the assigned arm.
    """
    position = pd.Index(assigned["user_id"]).get_indexer(checked["user_id"])
    mismatch = assigned["group"].to_numpy()[position] != checked["group"].to_numpy()
    if group_mismatch == "error":
        _fail(
            what,
            "group",
            "row(s) whose group differs from the seeded assignment (results.group_mismatch: "
            "report analyses them by their assigned arm)",
            mismatch,
        )
    coverage = Coverage(len(checked), len(assigned) - len(checked), int(mismatch.sum()))
    if coverage.share < min_coverage:
        raise DataError(
            f"{what}: covers {coverage.users} of {len(assigned)} assigned users "
            f"({coverage.share:.1%}), below ab_test.results.min_coverage {min_coverage:.1%}"
        )
    if coverage.missing:
        log.warning(
            "outcomes cover %d of %d assigned users; the others count as not converted",
            coverage.users,
            len(assigned),
        )
    out = assigned[["user_id", "group"]].reset_index(drop=True).copy()
    filled = {"converted": False, "revenue": 0.0, "cancelled": False, "exposure_days": 0.0}
    for column in [c for c in filled if c in checked.columns or c in RESULT_COLUMNS]:
        values = pd.Series(filled[column], index=out.index, dtype=type(filled[column]))
        values.iloc[position] = checked[column].to_numpy()
        out[column] = values.to_numpy()
    return out, coverage
