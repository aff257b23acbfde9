"""Assignment: the documented hash, determinism, stability, weights and stratification."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.assign import assign_groups, unit_hash, validate_weights

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}


class TestUnitHash:
    def test_is_blake2b_of_salt_and_key_inside_the_unit_interval(self):
        u = unit_hash(["1", "22"], salt="9")
        for key, value in zip(["1", "22"], u, strict=True):
            digest = hashlib.blake2b(f"9:{key}".encode(), digest_size=8).digest()
            assert value == ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2**53
        assert ((u > 0) & (u < 1)).all()

    def test_a_key_does_not_depend_on_the_others(self):
        assert unit_hash(["7", "8"], salt="s")[0] == unit_hash(["7"], salt="s")[0]


class TestValidateWeights:
    def test_normalises_to_one(self):
        assert validate_weights({"A": 1, "B": 3}) == {"A": 0.25, "B": 0.75}


class TestAssignGroups:
    def test_matches_documented_hash(self):
        ids = [1, 22, 333, 4444, 55555]
        got = assign_groups(ids, weights={"B": 1, "A": 3}, seed=9)
        for uid, group in zip(ids, got, strict=True):
            digest = hashlib.blake2b(f"9:{uid}".encode(), digest_size=8).digest()
            u = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2**53
            assert group == ("A" if u < 0.75 else "B")  # arms cut in sorted name order

    def test_deterministic_and_order_free(self):
        ids = pd.Series(np.arange(10_000) * 3 + 5)
        first = assign_groups(ids, weights=WEIGHTS, seed=42)
        again = assign_groups(ids, weights=WEIGHTS, seed=42)
        shuffled = ids.sample(frac=1.0, random_state=1)
        moved = assign_groups(shuffled, weights=WEIGHTS, seed=42)
        assert first.equals(again)
        assert moved.sort_index().equals(first)
        assert first.name == "group"

    def test_stable_when_users_are_added_or_removed(self):
        old = np.arange(5_000)
        grown = np.concatenate([np.arange(20_000, 25_000), old[::-1][:4_000]])
        before = pd.Series(assign_groups(old, weights=WEIGHTS, seed=3).to_numpy(), index=old)
        after = pd.Series(assign_groups(grown, weights=WEIGHTS, seed=3).to_numpy(), index=grown)
        common = after.index.intersection(before.index)
        assert len(common) == 4_000
        assert (before[common] == after[common]).all()

    def test_seed_changes_assignment(self):
        ids = np.arange(2_000)
        a = assign_groups(ids, weights=WEIGHTS, seed=1)
        b = assign_groups(ids, weights=WEIGHTS, seed=2)
        assert 0.5 < (a != b).mean() < 0.8  # independent draws disagree ~2/3 of the time

    def test_weights_respected(self):
        got = assign_groups(np.arange(200_000), weights={"A": 1, "B": 2, "C": 1}, seed=7)
        share = got.value_counts(normalize=True)
        assert share["A"] == pytest.approx(0.25, abs=0.005)
        assert share["B"] == pytest.approx(0.50, abs=0.005)
        assert share["C"] == pytest.approx(0.25, abs=0.005)

    def test_string_ids_and_float_ids(self):
        as_int = assign_groups([10, 11, 12], weights=WEIGHTS, seed=0)
        as_float = assign_groups(pd.Series([10.0, 11.0, 12.0]), weights=WEIGHTS, seed=0)
        as_text = assign_groups(["10", "11", "12"], weights=WEIGHTS, seed=0)
        assert as_int.tolist() == as_float.tolist() == as_text.tolist()

    def test_stratified_balances_each_stratum(self):
        sizes = {"s7": 7, "s100": 100, "s1001": 1001, "s2": 2}
        strata = pd.Series(np.repeat(list(sizes), list(sizes.values())))
        ids = np.arange(len(strata))
        w = {"A": 1, "B": 2, "C": 1}
        got = assign_groups(ids, weights=w, seed=5, strata=strata)
        table = pd.crosstab(strata, got)
        for stratum, n in sizes.items():
            for group, weight in w.items():
                count = table.loc[stratum].get(group, 0)
                assert abs(count - n * weight / 4) <= 1, (stratum, group, count)

    def test_stratified_marginals_are_unbiased(self):
        n = 30_000
        got = assign_groups(
            np.arange(n), weights=WEIGHTS, seed=11, strata=pd.Series(np.arange(n))
        )  # every stratum of size 1
        share = got.value_counts(normalize=True)
        for group in WEIGHTS:
            assert share[group] == pytest.approx(1 / 3, abs=0.015)

    @pytest.mark.parametrize(
        ("weights", "needle"),
        [
            ({}, "weights"),
            ({"A": 0.0}, "weights.A"),
            ({"A": -1, "B": 1}, "weights.A"),
            ({"A": 1, "B": "x"}, "weights.B"),
            ({"": 1.0}, "weights"),
            ({"A": math.nan}, "weights.A"),
            ({"A": True}, "weights.A"),
            ([1, 2], "weights"),
        ],
    )
    def test_bad_weights_name_the_param(self, weights, needle):
        with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
            assign_groups([1, 2], weights=weights, seed=0)

    def test_duplicate_or_missing_ids_are_data_errors(self):
        with pytest.raises(DataError, match=r"'user_id'.*rows 2, 4"):
            assign_groups([1, 2, 3, 2], weights=WEIGHTS, seed=0)
        with pytest.raises(DataError, match=r"'user_id'.*row 2"):
            assign_groups(pd.Series([1.0, np.nan]), weights=WEIGHTS, seed=0)

    def test_strata_length_mismatch(self):
        with pytest.raises(ConfigError, match="strata"):
            assign_groups([1, 2, 3], weights=WEIGHTS, seed=0, strata=pd.Series(["x"]))
