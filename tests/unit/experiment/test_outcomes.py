"""A campaign's results: reading the file, and the one-line errors of a malformed table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.outcomes import (
    RESULT_COLUMNS,
    intention_to_treat,
    load_outcomes,
    read_results,
)

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}


def good_results() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": np.arange(1, 11),
            "group": list("ABCABCABCA"),
            "converted": [True, False] * 5,
            "revenue": [100.0, 0.0] * 5,
        }
    )


def _set(column, positions, value):
    def mutate(df):
        df = df.copy()
        df[column] = df[column].astype(object)
        for p in positions:
            df.loc[p, column] = value
        return df

    return mutate


class TestLoadOutcomes:
    def test_valid_file_is_typed(self):
        raw = good_results().assign(converted=[1, 0] * 5, extra="x")
        out = load_outcomes(raw, known_users=range(1, 20), groups=WEIGHTS)
        assert list(out.columns) == list(RESULT_COLUMNS)
        assert out["converted"].dtype == bool
        assert out["revenue"].dtype == float
        assert out["converted"].sum() == 5

    @pytest.mark.parametrize(
        ("mutate", "column", "rows"),
        [
            (_set("user_id", [3], 2), "'user_id'", "rows 2, 4"),
            (_set("user_id", [5], 999), "'user_id'", "row 6"),
            (_set("group", [2, 8], "D"), "'group'", "rows 3, 9"),
            (_set("revenue", [7], np.nan), "'revenue'", "row 8"),
            (_set("group", [0], None), "'group'", "row 1"),
            (_set("converted", [1], "maybe"), "'converted'", "row 2"),
            (_set("revenue", [4], "abc"), "'revenue'", "row 5"),
            (_set("revenue", [2], -5.0), "'revenue'", "row 3"),
            (_set("revenue", [1, 3], 50.0), "'revenue'", "rows 2, 4"),
            (_set("group", list(range(7)), "Z"), "'group'", "rows 1, 2, 3, 4, 5 and 2 more"),
        ],
        ids=[
            "duplicate",
            "unknown-user",
            "unknown-group",
            "missing-revenue",
            "missing-group",
            "not-bool",
            "not-numeric",
            "negative",
            "revenue-unconverted",
            "many-rows",
        ],
    )
    def test_bad_rows_are_named_in_one_line(self, mutate, column, rows):
        with pytest.raises(DataError) as info:
            load_outcomes(mutate(good_results()), known_users=range(1, 11), groups=WEIGHTS)
        message = str(info.value)
        assert column in message and rows in message and "\n" not in message

    def test_message_names_the_file_and_plain_values(self):
        bad = good_results()
        bad.loc[[3, 8], "user_id"] = [998, 999]  # stays int64: numpy scalars in the message
        with pytest.raises(DataError) as info:
            load_outcomes(bad, known_users=range(1, 11), groups=WEIGHTS, what="results.csv")
        assert str(info.value) == (
            "results.csv column 'user_id': 2 unknown user(s), not in the cohort (e.g. 998) "
            "at rows 4, 9"
        )

    def test_missing_column(self):
        with pytest.raises(DataError, match="'revenue'"):
            load_outcomes(
                good_results().drop(columns="revenue"), known_users=range(11), groups=WEIGHTS
            )

    def test_empty(self):
        with pytest.raises(DataError, match="no rows"):
            load_outcomes(good_results().iloc[:0], known_users=range(11), groups=WEIGHTS)


class TestOptionalColumns:
    def test_refunds_behind_the_flag(self):
        refund = good_results()
        refund.loc[2, "revenue"] = -40.0  # row 3 converted: a refund
        with pytest.raises(DataError, match="negative.*results.refunds"):
            load_outcomes(refund, known_users=range(1, 11), groups=WEIGHTS)
        out = load_outcomes(refund, known_users=range(1, 11), groups=WEIGHTS, refunds=True)
        assert out.loc[2, "revenue"] == -40.0
        refund.loc[1, "revenue"] = -5.0  # row 2 did not convert
        with pytest.raises(DataError, match="refund.*without a conversion at row 2"):
            load_outcomes(refund, known_users=range(1, 11), groups=WEIGHTS, refunds=True)

    def test_cancelled_and_exposure(self):
        raw = good_results().assign(cancelled=[1, 0, 0, 0, 0, 0, 0, 0, 0, 0], exposure_days=3.5)
        out = load_outcomes(raw, known_users=range(1, 11), groups=WEIGHTS)
        assert out["cancelled"].dtype == bool and out["cancelled"].sum() == 1
        assert (out["exposure_days"] == 3.5).all()
        with pytest.raises(
            DataError, match="'cancelled': 5 cancellation.*without a conversion at rows 2, 4"
        ):
            load_outcomes(
                raw.assign(cancelled=[0, 1] * 5), known_users=range(1, 11), groups=WEIGHTS
            )
        with pytest.raises(DataError, match="'exposure_days'.*row 4"):
            bad = raw.assign(exposure_days=[1.0, 2, 3, -1, 5, 6, 7, 8, 9, 10])
            load_outcomes(bad, known_users=range(1, 11), groups=WEIGHTS)


class TestIntentionToTreat:
    def assigned(self) -> pd.DataFrame:
        return pd.DataFrame({"user_id": np.arange(1, 13), "group": list("ABCABCABCABC")})

    def test_missing_users_count_as_not_converted(self):
        checked = load_outcomes(good_results(), known_users=range(1, 13), groups=WEIGHTS)
        out, coverage = intention_to_treat(checked, self.assigned())
        assert len(out) == 12 and (coverage.users, coverage.missing) == (10, 2)
        assert coverage.share == pytest.approx(10 / 12)
        assert not out["converted"].iloc[10:].any() and (out["revenue"].iloc[10:] == 0).all()
        assert out["converted"].iloc[:10].tolist() == good_results()["converted"].tolist()
        with pytest.raises(
            DataError, match="covers 10 of 12 .* below ab_test.results.min_coverage"
        ):
            intention_to_treat(checked, self.assigned(), min_coverage=0.9)

    def test_group_mismatch_is_an_error_or_reported(self):
        moved = good_results()
        moved.loc[[1, 4], "group"] = "C"  # rows 2 and 5: not their assigned arm
        checked = load_outcomes(moved, known_users=range(1, 13), groups=WEIGHTS)
        with pytest.raises(DataError, match="'group': 2 row.*assignment.* at rows 2, 5"):
            intention_to_treat(checked, self.assigned(), what="results.csv")
        out, coverage = intention_to_treat(checked, self.assigned(), group_mismatch="report")
        assert coverage.group_mismatch == 2
        assert out["group"].tolist() == self.assigned()["group"].tolist()  # the assigned arm


class TestReadResults:
    def test_csv_and_parquet_read_the_same_table(self, tmp_path):
        good_results().to_csv(tmp_path / "results.csv", index=False)
        good_results().to_parquet(tmp_path / "results.parquet")
        from_csv = read_results(tmp_path / "results.csv", tmp_path)
        from_parquet = read_results(tmp_path / "results.parquet", tmp_path)
        pd.testing.assert_frame_equal(from_csv, good_results())
        pd.testing.assert_frame_equal(from_parquet, good_results())

    def test_a_file_outside_the_campaign_folder_is_refused(self, tmp_path):
        (tmp_path / "campaign").mkdir()
        good_results().to_csv(tmp_path / "results.csv", index=False)
        with pytest.raises(ConfigError, match=r"ab_test\.outcomes must be a file inside"):
            read_results(tmp_path / "results.csv", tmp_path / "campaign")

    def test_missing_or_unreadable_file_is_one_line(self, tmp_path):
        with pytest.raises(DataError, match="results file not found"):
            read_results(tmp_path / "absent.csv", tmp_path)
        (tmp_path / "broken.parquet").write_text("not parquet")
        with pytest.raises(DataError, match="cannot read the results file") as info:
            read_results(tmp_path / "broken.parquet", tmp_path)
        assert "\n" not in str(info.value)
