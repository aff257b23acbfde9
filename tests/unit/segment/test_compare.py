import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from sklearn import metrics

from traveltide.config import CompareConfig, read_params
from traveltide.errors import ConfigError, DataError
from traveltide.io import write_csv, write_json
from traveltide.segment.compare import (
    agreement,
    align,
    compare_segmentations,
    recommendations_dict,
    segment_agreement,
    segments_table,
)

ROOT = Path(__file__).resolve().parents[3]

rng = np.random.default_rng(0)
A = pd.Series(rng.integers(0, 4, 500).astype(str))
B = pd.Series(rng.integers(0, 5, 500))
P = pd.Series(rng.choice(["x", "y"], 500))
Q = pd.Series(rng.choice(["x", "y"], 500))


def test_equals_sklearn_and_scipy_on_same_labels():
    r = agreement(A, B, P, Q)
    assert r.ari == pytest.approx(metrics.adjusted_rand_score(A, B))
    assert r.ami == pytest.approx(metrics.adjusted_mutual_info_score(A, B))
    assert r.nmi == pytest.approx(metrics.normalized_mutual_info_score(A, B))
    assert r.v_measure == pytest.approx(metrics.v_measure_score(A, B))
    assert r.fowlkes_mallows == pytest.approx(metrics.fowlkes_mallows_score(A, B))
    chi2, p, dof, _ = chi2_contingency(pd.crosstab(A, B).to_numpy())
    assert (r.contingency_chi2, r.contingency_p_value, r.contingency_dof) == pytest.approx(
        (chi2, p, dof)
    )
    assert r.perk_agreement == pytest.approx((P == Q).mean())


def test_properties_identical_relabelled_and_chance():
    relabelled = B.map({0: 9, 1: 7, 2: 5, 3: 3, 4: 1})
    same = agreement(B, relabelled, P, P)
    assert same.ari == pytest.approx(1.0) and same.nmi == pytest.approx(1.0)
    assert same.perk_agreement == 1.0
    chance = agreement(A, B, P, Q)  # independent random labels
    assert abs(chance.ari) < 0.02 and abs(chance.ami) < 0.02


def test_one_cluster_gives_nan_chi2_not_a_crash():
    r = agreement(A, pd.Series(np.zeros(500, dtype=int)), P, Q)
    assert np.isnan(r.contingency_chi2) and r.contingency_dof == 0
    assert r.ari == pytest.approx(0.0)


def test_align_rejects_users_in_only_one_segmentation():
    rules = pd.DataFrame({"user_id": [1, 2], "segment": ["a", "b"], "perk": ["x", "y"]})
    ml = pd.DataFrame({"user_id": [1, 3], "cluster": [0, 1], "perk": ["x", "y"]})
    with pytest.raises(DataError, match="2 users are in only one segmentation"):
        align(rules, ml)


# --------------------------------------------------------------------------- recommendations


def planted() -> pd.DataFrame:
    """Four segments with known shapes over clusters 0-8 (counts chosen by hand).

    agree: 95 of 100 in cluster 0, which holds 100 users; split: 60/40 over clusters 1, 2;
    absorbed: 90 of 100 in cluster 3, where 'big' adds 200 more; scattered: 15 in each of
    clusters 4-9 (17% each, no cluster holds 20%).
    """
    rows = []

    def add(segment, cluster, n, rule_perk, ml_perk):
        rows.extend([(segment, cluster, rule_perk, ml_perk)] * n)

    add("agree", 0, 95, "p1", "p1")
    add("agree", 1, 5, "p1", "p2")
    add("other", 0, 5, "p9", "p1")
    add("split", 1, 60, "p2", "p2")
    add("split", 2, 40, "p2", "p3")
    add("absorbed", 3, 90, "p4", "p5")
    add("absorbed", 2, 10, "p4", "p3")
    add("big", 3, 200, "p5", "p5")
    for c in range(4, 10):
        add("scattered", c, 15, "p6", f"p{c}")
    frame = pd.DataFrame(rows, columns=["segment", "cluster", "rule_perk", "ml_perk"])
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_segment_agreement_statuses_and_numbers():
    f = planted()
    got = {
        s.segment: s
        for s in segment_agreement(
            f.segment, f.cluster, f.rule_perk, f.ml_perk, agree_share=0.7, split_share=0.2
        )
    }
    status = {name: s.status for name, s in got.items()}
    assert status["agree"] == "agree" and status["split"] == "split"
    assert status["absorbed"] == "absorbed" and status["scattered"] == "scattered"
    table = pd.crosstab(f.segment, f.cluster)
    for name, s in got.items():
        row = table.loc[name]
        top = row.idxmax()
        assert s.users == row.sum()
        assert s.dominant_cluster == str(top)
        assert s.dominant_share == pytest.approx(row.max() / row.sum())
        assert s.cluster_purity == pytest.approx(table.loc[name, top] / table[top].sum())
        same = (f.rule_perk == f.ml_perk)[f.segment == name].mean()
        assert s.perk_agreement == pytest.approx(same)
    assert [c for c, _, _ in got["split"].parts] == ["1", "2"]
    assert [perk for _, _, perk in got["split"].parts] == ["p2", "p3"]  # each cluster's ML perk
    # largest first, ties by name
    order = [s.segment for s in segment_agreement(f.segment, f.cluster, f.rule_perk, f.ml_perk)]
    assert order[0] == "big" and order[-1] == "other"


def test_recommendations_follow_the_numbers():
    f = planted()
    segs = {s.segment: s for s in segment_agreement(f.segment, f.cluster, f.rule_perk, f.ml_perk)}
    assert "keep it" in segs["agree"].recommendation  # both views give p1
    assert "95% of it is cluster 0" in segs["agree"].recommendation
    assert "splits across clusters 1 (60%, p2), 2 (40%, p3)" in segs["split"].recommendation
    assert "splitting the segment" in segs["split"].recommendation  # parts have different perks
    assert "only 31% of that cluster" in segs["absorbed"].recommendation  # 90 / 290
    assert "instead of p4" in segs["absorbed"].recommendation
    assert "scattered" in segs["scattered"].recommendation


def test_split_with_one_perk_says_the_offer_does_not_change():
    seg = pd.Series(["s"] * 100)
    clu = pd.Series([0] * 50 + [1] * 50)
    perk = pd.Series(["p"] * 100)
    (only,) = segment_agreement(seg, clu, perk, perk)
    assert only.status == "split" and "would not change the offer" in only.recommendation


def test_recommendations_dict_and_table():
    f = planted()
    result = agreement(f.segment, f.cluster, f.rule_perk, f.ml_perk)
    segs = segment_agreement(f.segment, f.cluster, f.rule_perk, f.ml_perk)
    d = recommendations_dict(result, segs)
    assert d["segments_split"] == ["split"] and d["segments_scattered"] == ["scattered"]
    assert "agree" in d["segments_agree"]
    assert len(d["recommendations"]) == len(segs) + 1
    overall = d["recommendations"][0]
    assert f"{round(100 * result.perk_agreement)}% of the {len(f)} users" in overall
    assert f"ARI {result.ari:.2f}" in overall
    json.dumps(d, allow_nan=False)
    table = segments_table(segs)
    assert list(table["segment"]) == [s.segment for s in segs]
    assert table.loc[table.segment == "split", "parts"].item() == "1:0.600:p2; 2:0.400:p3"


def test_compare_config_names_the_key():
    params = read_params(ROOT / "params.yaml")
    assert (
        CompareConfig.from_params(params).split_share
        < CompareConfig.from_params(params).agree_share
    )
    params["compare"]["split_share"] = 0.9
    with pytest.raises(ConfigError, match=r"^params\.yaml: compare\.split_share"):
        CompareConfig.from_params(params)


def test_compare_writes_metrics_and_segments(tmp_path):
    f = planted()
    ids = np.arange(len(f)) + 10
    rules = pd.DataFrame({"user_id": ids, "segment": f.segment, "perk": f.rule_perk})
    clusters = pd.DataFrame(
        {
            "user_id": ids,
            "cluster": f.cluster.astype("int64"),
            "cluster_name": "c",
            "perk": f.ml_perk,
        }
    )
    config = CompareConfig.from_params(read_params(ROOT / "params.yaml"))
    result = compare_segmentations(
        rules, clusters, agree_share=config.agree_share, split_share=config.split_share
    )
    write_json(result.metrics(), tmp_path / "compare.json")  # the compare stage's writers
    write_json(result.summary(), tmp_path / "summary.json")
    write_csv(segments_table(result.segments), tmp_path / "segments.csv")
    numbers = json.loads((tmp_path / "compare.json").read_text())
    assert set(numbers) == {"ari", "ami", "nmi", "fowlkes_mallows", "perk_agreement"}
    assert all(isinstance(v, float) for v in numbers.values())  # DVC metrics: numbers only
    out = json.loads((tmp_path / "summary.json").read_text())
    assert out["ari"] == numbers["ari"]
    assert out["ari"] == pytest.approx(metrics.adjusted_rand_score(f.segment, f.cluster))
    assert out["segments_split"] == ["split"]
    assert out["segments_agree"] == ["agree"]  # 'big' is 200 of 290 users of cluster 3: < 70%
    assert out["recommendations"][0].startswith(
        "1 of 6 rule segments match a cluster; 1 splits across clusters (split); "
        "3 sit inside a larger cluster; 1 is scattered."
    )
    assert len(pd.read_csv(tmp_path / "segments.csv")) == 6
    assert (
        result.contingency.loc["split"].to_dict()
        == pd.crosstab(f.segment, f.cluster).loc["split"].to_dict()
    )


def test_report_section_lists_the_recommendations():
    from traveltide.report.sections import recommendations_section

    html = recommendations_section({"recommendations": ["first <b>", "second"]})
    assert html.count("<li>") == 2 and "first &lt;b&gt;" in html
    assert "No recommendations" in recommendations_section({})
