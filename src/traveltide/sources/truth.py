"""The cohort's ground truth: the generator's personas of the users extract returned.

The stages that compare with the truth (select_k, cluster, ab_test) read this file, never the
generator's personas.parquet, so the planted truth reaches them only with the embedded
database it was planted in: for an external database the table is empty (same columns), and a
user id there can never be matched to a synthetic persona.
"""

from __future__ import annotations

import pandas as pd

from traveltide.errors import DataError

ID = "user_id"


def cohort_truth(personas: pd.DataFrame, cohort_users: pd.Series, *, known: bool) -> pd.DataFrame:
    """The rows of `personas` (every column) of the cohort's users, sorted by user_id, when the
    truth is `known` (the embedded source); else no rows, the same columns and types."""
    if ID not in personas.columns:
        raise DataError(f"personas: no column {ID}; run `dvc repro -f generate`")
    if not known:
        return personas.iloc[:0].reset_index(drop=True)
    users = pd.Index(cohort_users.unique())
    rows = personas[personas[ID].isin(users)].sort_values(ID, kind="stable")
    twice = rows[ID][rows[ID].duplicated()]
    if len(twice):
        raise DataError(
            f"personas: user_id {int(twice.iloc[0])} has {(rows[ID] == twice.iloc[0]).sum()} rows"
        )
    if len(rows) != len(users):
        missing = users.difference(pd.Index(rows[ID]))
        raise DataError(
            f"personas: {len(missing)} of the cohort's {len(users)} users have no row "
            f"(first user_id {int(missing[0])}); run `dvc repro -f generate`"
        )
    return rows.reset_index(drop=True)
