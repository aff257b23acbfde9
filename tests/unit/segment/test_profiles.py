"""Cluster profiles and perks: the perk follows the strongest signal; noise gets none."""

import pandas as pd

from support import SIGNALS
from traveltide.segment.models import NOISE
from traveltide.segment.profiles import perk_map


def test_perk_map_picks_the_highest_signal_and_skips_noise():
    z = pd.DataFrame({"bags": [9.0, 2.0, -1.0], "discount": [0.0, 0.5, 1.5]}, index=[NOISE, 0, 1])
    assert perk_map(z, SIGNALS) == {0: "free_checked_bag", 1: "exclusive_discounts"}
