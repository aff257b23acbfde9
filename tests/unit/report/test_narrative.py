"""traveltide.report.narrative: the appendix figures, rules vs ML in words, why this k."""

from __future__ import annotations

import pandas as pd
import pytest

from report_inputs import inputs_for
from traveltide.report.narrative import (
    agreement_html,
    agreement_words,
    best_k,
    headline,
    k_choice,
    plain_text,
)

K_TABLE = pd.DataFrame(
    {
        "k": [2, 3, 4, 5],
        "silhouette": [0.2, 0.31, 0.31, 0.22],
        "davies_bouldin": [1.6, 1.2, 1.1, 1.5],
    }
)


def test_best_k_prefers_the_smaller_k_on_ties_and_minimises_davies_bouldin():
    assert best_k(K_TABLE, "silhouette") == 3
    assert best_k(K_TABLE, "davies_bouldin") == 4
    assert best_k(K_TABLE, "bic") is None


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        ({"k": 5, "k_rule": "fixed: cluster.k", "algorithm": "kmeans"},
         "k = 5 was set by hand (cluster.k in params.yaml), not chosen from these curves; the "
         "silhouette alone would pick k = 3."),
        ({"k": 3, "k_rule": "fixed: cluster.k", "algorithm": "kmeans"},
         "k = 3 was set by hand (cluster.k in params.yaml), not chosen from these curves; it "
         "is also where the silhouette peaks."),
        ({"k": 3, "k_requested": "auto", "k_rule": "auto: max silhouette over cluster.k_range",
          "algorithm": "kmeans"},
         "k = 3 was chosen automatically: the highest silhouette over the candidates"),
        ({"k": 4, "k_rule": "found by hdbscan", "algorithm": "hdbscan"},
         "HDBSCAN finds its own number of groups: 4"),
    ],
)  # fmt: skip
def test_k_choice_says_why_the_k_used_was_chosen(cluster, expected):
    assert expected in k_choice(cluster, K_TABLE)


def test_agreement_in_words_names_segments_and_gives_no_perk_advice(ab):
    compare = {
        "ari": 0.45,
        "perk_agreement": 0.61,
        "segments_agree": ["bargain_hunter"],
        "segments_split": ["casual_browser", "family_traveller"],
        "segments_absorbed": [],
        "segments_scattered": [],
    }
    text = agreement_html(compare)
    assert "agree moderately" in text and "(adjusted Rand index 0.45" in text
    assert "61% of customers the same perk" in text
    assert "Bargain hunters each match one ML group" in text
    assert "Casual browsers and Family travellers split across several ML groups" in text
    assert "keep" not in text and agreement_html({}) == ""
    assert [agreement_words(x) for x in (0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "hardly", "weakly", "moderately", "largely", "strongly",
    ]  # fmt: skip


def test_headline_shows_optional_cluster_figures_only_when_present(ab):
    plain = dict(headline(inputs_for(ab, "B wins").metrics))
    assert "cluster stability (bootstrap mean ARI)" not in plain
    extra = {"stability": 0.91, "truth_ari": 0.77, "noise_users": 12, "noise_share": 0.02}
    rows = dict(headline(inputs_for(ab, "B wins", cluster_extra=extra).metrics))
    assert rows["cluster stability (bootstrap mean ARI)"] == 0.91
    assert rows["ARI vs synthetic personas"] == 0.77 and rows["noise share"] == 0.02
    assert rows["A/B verdict"] == "B"


def test_plain_text_keeps_paragraphs_items_and_table_rows():
    text = plain_text(
        "<p>One <b>two</b></p><ul><li>three</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
    )
    assert text == ["One two", "three", "a | b"]
