import numpy as np
import pandas as pd
import pytest

from traveltide.config import PERKS
from traveltide.errors import DataError
from traveltide.segment.perks import arm_perks, fit_perk_by_behaviour, random_perks, strongest_perk

SIGNALS = {"free_checked_bag": "bags", "exclusive_discounts": "discount"}


def test_fit_perk_is_the_users_highest_z_score():
    f = pd.DataFrame({"user_id": [1, 2, 3], "bags": [0.0, 3.0, 1.0], "discount": [0.9, 0.1, 0.1]})
    z_bags = (f["bags"] - f["bags"].mean()) / f["bags"].std(ddof=0)
    z_disc = (f["discount"] - f["discount"].mean()) / f["discount"].std(ddof=0)
    expected = np.where(z_bags > z_disc, "free_checked_bag", "exclusive_discounts")
    assert fit_perk_by_behaviour(f, SIGNALS).tolist() == expected.tolist()


def test_strongest_perk_ties_and_unknown_features():
    z = pd.DataFrame({"bags": [1.0], "discount": [1.0]})
    assert strongest_perk(z, SIGNALS).tolist() == ["exclusive_discounts"]  # sorts first
    with pytest.raises(DataError, match="unknown feature"):
        strongest_perk(z, {"free_hotel_meal": "nights"})


def test_random_perks_are_stable_and_roughly_uniform():
    ids = pd.Series(np.arange(20_000))
    first = random_perks(ids, seed=1)
    assert first.tolist() == random_perks(ids, seed=1).tolist()
    assert first.tolist() != random_perks(ids, seed=2).tolist()
    shares = first.value_counts(normalize=True)
    assert set(shares.index) == set(PERKS) and (shares.sub(0.2).abs() < 0.015).all()


def test_arm_perks_follow_the_groups():
    groups = pd.Series(["A", "B", "C"])
    rule, ml, rand = (pd.Series([x] * 3) for x in ("r", "m", "c"))
    assert arm_perks(groups, rule, ml, rand, control="random_perk").tolist() == ["r", "m", "c"]
    assert arm_perks(groups, rule, ml, rand, control="no_perk").tolist() == ["r", "m", "none"]
