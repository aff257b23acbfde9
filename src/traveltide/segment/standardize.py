"""Cohort z-scores: how far each user's feature value is from the cohort's, in cohort sds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def cohort_zscores(values: pd.DataFrame) -> pd.DataFrame:
    """(value - cohort mean) / cohort sd per column (population sd); a constant column is 0."""
    values = values.astype(float)
    sd = values.std(ddof=0)
    return (values - values.mean()) / sd.where(sd > 0, np.inf)
