"""traveltide.report.names: human names for codes, and names for the ML groups."""

from __future__ import annotations

import pandas as pd

from traveltide.config import PERKS
from traveltide.report.names import (
    PERK_NAMES,
    cluster_label,
    group_names,
    perk_name,
    policy_name,
    segment_name,
)


def test_every_perk_has_a_human_name_and_unknown_codes_read_as_words():
    assert set(PERK_NAMES) == set(PERKS)
    assert perk_name("free_hotel_meal") == "Free hotel meal" and perk_name("") == "No perk"
    assert segment_name("family_traveller") == "Family travellers"
    assert segment_name("weekend_flyer") == "Weekend flyer"
    assert policy_name("all_free_checked_bag") == "Everyone: Free checked bag"
    assert policy_name("clusters") == "ML group perks (B)"


def test_groups_are_named_after_the_segments_they_hold():
    table = pd.DataFrame(
        {"0": [90, 10, 0], "1": [30, 30, 40], "-1": [1, 1, 1]},
        index=["bargain_hunter", "big_spender", "hotel_lover"],
    )
    names = group_names(table)
    assert names == {
        "0": "Group 0: mostly Bargain hunters",
        "1": "Group 1: Hotel lovers and bargain hunters",
        "-1": "No group (noise)",
    }
    assert cluster_label(7, names) == "Group 7" and cluster_label(-1, {}) == "No group (noise)"
