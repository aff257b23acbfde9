"""The report, the exports and DVC's plots.

Inputs are built with the project's own analysis code (abtest.analyse, compare.agreement) on
small synthetic tables, so every metric key the report reads is the one the stages write.
Figures are checked against pandas, numpy and scikit-learn on the same numbers; the page is
rendered in headless Chromium; one integration test runs `dvc repro` and `dvc plots show`.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from traveltide.errors import DataError
from traveltide.experiment.abtest import analyse, comparison_pairs, power_analysis
from traveltide.io import to_json, write_csv, write_json, write_parquet
from traveltide.report.exports import (
    analysis,
    key_traits,
    recommend,
    rewards_assignment,
    segment_summary,
)
from traveltide.report.page import (
    ReportInputs,
    executive_summary,
    headline,
    lift_table,
    make_plots,
    pca_projection,
    plot_data,
    render_html,
)
from traveltide.segment.compare import (
    agreement,
    contingency,
    recommendations_dict,
    segment_agreement,
)
from traveltide.segment.rules import mix
from traveltide.timings import StageTiming

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}
PERK_OF = {
    "spender": "one_night_free_hotel_with_flight",
    "family": "free_checked_bag",
    "saver": "exclusive_discounts",
}
SECTION_TITLES = (
    "Executive summary",
    "Headline figures",
    "Segments",
    "Choosing the number of clusters",
    "Rules vs ML",
    "A/B test",
    "Exports",
)
ALL_PLOTS = {
    "pca.png",
    "cluster_sizes.png",
    "segment_sizes.png",
    "perk_mix.png",
    "k_selection.png",
    "contingency.png",
    "ab_lift.png",
}


# --------------------------------------------------------------------------- synthetic inputs


def ab_metrics(rates: dict[str, float], n: dict[str, int] | None = None) -> dict:
    """metrics/ab_test.json for arms converting at exactly `rates` (first users convert)."""
    n = n or dict.fromkeys(rates, 1500)
    parts, start = [], 0
    for arm, rate in rates.items():
        k = n[arm]
        converted = np.arange(k) < round(rate * k)
        parts.append(
            pd.DataFrame(
                {
                    "user_id": np.arange(start, start + k),
                    "group": arm,
                    "converted": converted,
                    "revenue": np.where(converted, 300.0, 0.0),
                }
            )
        )
        start += k
    table = pd.concat(parts, ignore_index=True)
    result = analyse(table, control="C", weights=WEIGHTS)
    plan = power_analysis(
        {g: int((table["group"] == g).sum()) for g in WEIGHTS},
        control="C",
        baseline_rate=0.1,
        mde=0.02,
        power=0.8,
        correction="bonferroni",
        pairs=comparison_pairs(WEIGHTS, control="C"),
    )
    return json.loads(to_json({**result.to_dict(), **plan.to_dict(), "outcomes": "simulate"}))


VERDICTS = {  # name -> (arm conversion rates, arm sizes)
    "B": ({"A": 0.10, "B": 0.20, "C": 0.10}, None),
    "A": ({"A": 0.20, "B": 0.10, "C": 0.10}, None),
    "tie": ({"A": 0.20, "B": 0.20, "C": 0.10}, None),
    "no significant difference": ({"A": 0.10, "B": 0.10, "C": 0.10}, None),
    "C": ({"A": 0.05, "B": 0.05, "C": 0.20}, None),
    "inconclusive": ({"A": 0.10, "B": 0.20, "C": 0.10}, {"A": 1500, "B": 1500, "C": 900}),
}


@pytest.fixture(scope="module")
def ab_by_verdict() -> dict[str, dict]:
    out = {name: ab_metrics(*spec) for name, spec in VERDICTS.items()}
    for name, metrics in out.items():  # the scenarios really give these verdicts
        assert metrics["verdict_winner"] == name
    return out


def synthetic_tables(n: int = 600, seed: int = 3):
    """Features with three behaviours; rules and clusters that mostly, not fully, agree."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    features = pd.DataFrame(
        {
            "user_id": np.arange(100, 100 + n),
            "total_spend_usd": rng.gamma(2.0, 800, n) * np.where(kind == 0, 4, 1),
            "avg_seats": 1 + rng.poisson(np.where(kind == 1, 2.0, 0.2)),
            "bargain_hunter_index": rng.exponential(np.where(kind == 2, 0.02, 0.002)),
            "avg_nights": rng.gamma(2.0, 1.5, n),
            "constant": np.ones(n),
        }
    )
    names = np.array(list(PERK_OF))
    segment = names[kind]
    flip = rng.random(n) < 0.15
    cluster = np.where(flip, rng.integers(0, 3, n), kind)
    rules = pd.DataFrame(
        {"user_id": features["user_id"], "segment": segment, "perk": [PERK_OF[s] for s in segment]}
    )
    cluster_perk = {0: PERK_OF["spender"], 1: PERK_OF["family"], 2: "free_hotel_meal"}
    clusters = pd.DataFrame(
        {
            "user_id": features["user_id"][::-1].to_numpy(),  # another order: joined by user_id
            "cluster": cluster[::-1],
            "cluster_name": [f"group {c}" for c in cluster[::-1]],
            "perk": [cluster_perk[c] for c in cluster[::-1]],
        }
    )
    return features, rules, clusters, cluster_perk


def build_inputs(ab: dict, *, cluster_extra: dict | None = None) -> ReportInputs:
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    features, rules, clusters, cluster_perk = synthetic_tables()
    both = rules.merge(clusters, on="user_id", suffixes=("_rules", "_ml"))
    X = features.drop(columns=["user_id", "constant"]).to_numpy(float)
    labels = clusters.set_index("user_id").loc[features["user_id"], "cluster"].to_numpy()
    result = agreement(both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"])
    segments = segment_agreement(
        both["segment"], both["cluster"], both["perk_rules"], both["perk_ml"]
    )
    metrics = {
        "extract": {
            "users": len(features),
            "sessions": 5123,
            "first_session": "2023-01-04 00:47:34",
            "last_session": "2023-07-28 23:59:59",
        },
        "data_quality": {},
        "features": {"n_features": 5},
        "segment_rules": {"segment_sizes": mix(rules["segment"]), "perk_mix": mix(rules["perk"])},
        "cluster": {
            "algorithm": "kmeans",
            "k": 3,
            "silhouette": float(silhouette_score(X, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
            "davies_bouldin": float(davies_bouldin_score(X, labels)),
            "cluster_sizes": mix(clusters["cluster"]),
            "perk_mix": mix(clusters["perk"]),
            "cluster_perks": {str(k): v for k, v in cluster_perk.items()},
            "cluster_names": {str(k): f"group {k}" for k in cluster_perk},
            **(cluster_extra or {}),
        },
        "compare": json.loads(
            to_json({**asdict(result), **recommendations_dict(result, segments)})
        ),
        "ab_test": ab,
    }
    k_table = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "silhouette": [0.20, 0.31, 0.27, 0.22],
            "calinski_harabasz": [90.0, 120.0, 100.0, 95.0],
            "davies_bouldin": [1.6, 1.1, 1.3, 1.5],
            "truth_ari": [np.nan] * 4,
        }
    )
    arms = lift_table(ab)
    assignment = rewards_assignment(rules, clusters, ab)
    return ReportInputs(
        metrics=metrics,
        k_table=k_table,
        contingency=contingency(both["segment"], both["cluster"]),
        ab_arms=arms,
        projection=pca_projection(features, clusters),
        assignment=assignment,
        summary=segment_summary(features, assignment),
        export_links={"rewards_assignment.csv": "../exports/rewards_assignment.csv"},
    )


# --------------------------------------------------------------------------- recommended perk


@pytest.mark.parametrize("verdict", list(VERDICTS))
def test_recommended_perk_follows_the_documented_rule(ab_by_verdict, verdict):
    _, rules, clusters, _ = synthetic_tables()
    ab = ab_by_verdict[verdict]
    out = rewards_assignment(rules, clusters, ab)
    agree = out["rule_perk"] == out["ml_perk"]
    assert agree.any() and not agree.all()  # both branches of the rule are exercised
    if verdict == "A":
        assert (out["recommended_perk"] == out["rule_perk"]).all()
        assert set(out["recommendation_basis"]) == {"ab_winner"}
    elif verdict == "B":
        assert (out["recommended_perk"] == out["ml_perk"]).all()
        assert set(out["recommendation_basis"]) == {"ab_winner"}
    elif verdict in ("C", "inconclusive"):
        assert (out["recommended_perk"] == "").all()
        assert set(out["recommendation_basis"]) == {"control_won" if verdict == "C" else verdict}
    else:
        assert (out.loc[agree, "recommended_perk"] == out.loc[agree, "rule_perk"]).all()
        assert set(out.loc[agree, "recommendation_basis"]) == {"both_agree"}
        differ = out.loc[~agree]
        if verdict == "tie":  # equal lifts (A and B both +10 pts): the tie-break is A (name order)
            assert ab["A_vs_C_lift_abs"] == pytest.approx(ab["B_vs_C_lift_abs"])
            assert (differ["recommended_perk"] == differ["rule_perk"]).all()
            assert set(differ["recommendation_basis"]) == {"tie_larger_lift"}
        else:
            assert (differ["recommended_perk"] == differ["rule_perk"]).all()
            assert set(differ["recommendation_basis"]) == {"keep_rules"}


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0.03, True), (0.05, True), "ml"),  # both above control: the larger lift
        ((0.05, True), (0.03, True), "rules"),
        ((0.02, True), (0.09, False), "rules"),  # B's larger lift is not significant
        ((-0.02, True), (0.01, True), "ml"),  # A significantly BELOW control does not count
    ],
)
def test_tie_gives_the_perk_of_the_larger_significant_lift(a, b, expected):
    ab = {
        "verdict_winner": "tie",
        "A_vs_C_lift_abs": a[0],
        "A_vs_C_significant": a[1],
        "B_vs_C_lift_abs": b[0],
        "B_vs_C_significant": b[1],
    }
    rule = pd.Series(["x", "y", "z"])
    ml = pd.Series(["x", "q", "r"])
    perk, basis = recommend(rule, ml, ab)
    assert perk.iloc[0] == "x" and basis.iloc[0] == "both_agree"
    assert list(perk.iloc[1:]) == list((ml if expected == "ml" else rule).iloc[1:])
    assert set(basis.iloc[1:]) == {"tie_larger_lift"}


def test_missing_verdict_recommends_nothing():
    perk, basis = recommend(pd.Series(["x"]), pd.Series(["x"]), {})
    assert perk.tolist() == [""] and basis.tolist() == ["inconclusive"]


def test_assignment_has_one_row_per_user_and_refuses_unmatched_users(ab_by_verdict):
    _, rules, clusters, _ = synthetic_tables()
    out = rewards_assignment(rules, clusters, ab_by_verdict["B"])
    assert out["user_id"].tolist() == sorted(rules["user_id"])
    by_user = clusters.set_index("user_id")
    assert (out["ml_cluster"].to_numpy() == by_user.loc[out["user_id"], "cluster"].to_numpy()).all()
    assert (out["perks_agree"] == (out["rule_perk"] == out["ml_perk"])).all()
    with pytest.raises(DataError, match="only one segmentation"):
        rewards_assignment(rules.iloc[1:], clusters, ab_by_verdict["B"])


# --------------------------------------------------------------------------- segment summary


def test_segment_summary_matches_pandas(ab_by_verdict):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, ab_by_verdict["B"])
    summary = segment_summary(features, assignment)
    joined = assignment.merge(features, on="user_id")
    cols = [c for c in features.columns if c != "user_id"]
    z = (joined[cols] - joined[cols].mean()) / joined[cols].std(ddof=0)
    for view, key in (("rules", "rule_segment"), ("ml", "ml_cluster")):
        part = summary[summary["view"] == view].set_index("segment")
        groups = joined.groupby(joined[key].astype(str))
        assert part["users"].to_dict() == groups.size().to_dict()
        assert part["share"].sum() == pytest.approx(1.0)
        spend = groups["total_spend_usd"].mean()
        assert part["avg_spend_usd"].to_numpy() == pytest.approx(spend.loc[part.index].to_numpy())
        for seg, row in part.iterrows():
            means = z[joined[key].astype(str) == seg].mean().drop("constant")
            top = means.abs().idxmax()
            first = row["key_traits"].split(";")[0].split()
            assert first[1] == top and first[2] == f"({means[top]:+.1f}"
            assert "constant" not in row["key_traits"]
    rules_rows = summary[summary["view"] == "rules"]
    assert rules_rows["users"].is_monotonic_decreasing  # largest segment first


def test_key_traits_wording():
    text = key_traits(pd.Series({"a": 0.2, "b": -2.04, "c": 1.0, "d": 0.0}), top=3)
    assert text == "low b (-2.0 sd); high c (+1.0 sd); high a (+0.2 sd)"


def test_segment_summary_refuses_users_without_features(ab_by_verdict):
    features, rules, clusters, _ = synthetic_tables()
    assignment = rewards_assignment(rules, clusters, ab_by_verdict["B"])
    with pytest.raises(DataError, match="no feature row"):
        segment_summary(features.iloc[5:], assignment)


# --------------------------------------------------------------------------- PCA


def test_pca_matches_sklearn_on_standardized_features():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    features, _, clusters, _ = synthetic_tables()
    proj = pca_projection(features, clusters, sample=10_000)
    X = StandardScaler().fit_transform(features.drop(columns="user_id").to_numpy(float))
    ref = PCA(n_components=2).fit(X)
    expected = ref.transform(X)
    got = proj.points[["pc1", "pc2"]].to_numpy()
    for j in range(2):  # a component's sign is a convention
        sign = np.sign(expected[:, j] @ got[:, j])
        assert got[:, j] == pytest.approx(sign * expected[:, j], abs=1e-8)
    assert proj.explained == pytest.approx(tuple(ref.explained_variance_ratio_))
    by_user = clusters.set_index("user_id")["cluster"]
    assert (proj.points["cluster"].to_numpy() == by_user.loc[proj.points["user_id"]]).all()


def test_pca_samples_users_with_a_seed():
    features, _, clusters, _ = synthetic_tables()
    a = pca_projection(features, clusters, sample=100)
    b = pca_projection(features, clusters, sample=100)
    c = pca_projection(features, clusters, sample=100, seed=1)
    assert len(a.points) == 100 and a.users == len(features)
    assert a.points.equals(b.points)
    assert set(a.points["user_id"]) <= set(features["user_id"])
    assert set(a.points["user_id"]) != set(c.points["user_id"])


# --------------------------------------------------------------------------- words and tables


@pytest.mark.parametrize("verdict", list(VERDICTS))
def test_executive_summary_says_what_the_numbers_say(ab_by_verdict, verdict):
    inputs = build_inputs(ab_by_verdict[verdict])
    text = " ".join(executive_summary(inputs.metrics, inputs.assignment))
    m = inputs.metrics
    assert f"{m['extract']['users']:,} customers" in text
    assert f"{len(m['segment_rules']['segment_sizes'])} segments" in text
    assert f"adjusted Rand index {m['compare']['ari']:.2f}" in text
    assert m["ab_test"]["verdict_reason"] in text
    assert "simulated" in text
    words = {
        "A": "picks the rule perks (A)",
        "B": "picks the ML perks (B)",
        "tie": "is a tie",
        "no significant difference": "found no significant difference",
        "inconclusive": "is inconclusive",
        "C": "doing worse than the control",
    }
    assert words[verdict] in text
    for other, phrase in words.items():
        if other != verdict:
            assert phrase not in text
    if verdict in ("C", "inconclusive"):
        assert "Recommendation: none" in text


def test_power_caveat_when_underpowered(ab_by_verdict):
    small = ab_metrics({"A": 0.10, "B": 0.12, "C": 0.10}, dict.fromkeys("ABC", 200))
    text = " ".join(executive_summary({"ab_test": small}))
    power = min(small[f"{k}_power"] for k in small["comparisons"])
    assert power < 0.8
    assert "underpowered" in text and f"only {100 * power:.0f}% power" in text
    big = ab_by_verdict["B"]
    assert min(big[f"{k}_power"] for k in big["comparisons"]) < 0.8  # 1,500 per arm: still low
    huge = ab_metrics({"A": 0.10, "B": 0.20, "C": 0.10}, dict.fromkeys("ABC", 20_000))
    assert min(huge[f"{k}_power"] for k in huge["comparisons"]) >= 0.8
    assert "large enough" in " ".join(executive_summary({"ab_test": huge}))


def test_lift_table_reads_every_comparison(ab_by_verdict):
    ab = ab_by_verdict["B"]
    table = lift_table(ab)
    assert table["comparison"].tolist() == ["A vs C", "B vs C", "B vs A"]
    row = table.set_index("comparison").loc["B vs C"]
    assert row["lift_pts"] == pytest.approx(100 * ab["B_vs_C_lift_abs"])
    assert row["ci_low_pts"] < row["lift_pts"] < row["ci_high_pts"]
    assert bool(row["significant"]) is True


def test_optional_cluster_metrics_show_only_when_present(ab_by_verdict):
    plain = dict(headline(build_inputs(ab_by_verdict["B"]).metrics))
    assert "cluster stability (bootstrap mean ARI)" not in plain
    assert "ARI vs synthetic personas" not in plain
    extra = {"stability": 0.91, "truth_ari": 0.77, "noise_users": 12, "noise_share": 0.02}
    inputs = build_inputs(ab_by_verdict["B"], cluster_extra=extra)
    rows = dict(headline(inputs.metrics))
    assert rows["cluster stability (bootstrap mean ARI)"] == 0.91
    assert rows["ARI vs synthetic personas"] == 0.77 and rows["noise share"] == 0.02
    text = " ".join(executive_summary(inputs.metrics, inputs.assignment))
    assert "mean ARI of 0.91" in text and "ARI 0.77" in text and "12 users fit no cluster" in text


def test_timings_section_lists_stages_slowest_first(ab_by_verdict):
    def timing(stage: str, wall: float) -> StageTiming:
        return StageTiming(
            stage, "ok", "2026-01-01T00:00:00+00:00", wall, 0.5, wall - 0.5, wall, 10**9
        )

    inputs = replace(
        build_inputs(ab_by_verdict["tie"]),
        timings={"a": timing("a", 1.0), "b": timing("b", 12.5), "c": timing("c", 3.0)},
    )
    page = render_html(inputs, {})
    table = re.search(r'<table id="timings">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r"<tr><td>(\w+)</td>", table) == ["b", "c", "a"]
    assert "<td>12.5</td>" in table and "16.5 s of stage wall time" in page
    assert 'href="#timings"' in page
    assert 'id="timings"' not in render_html(replace(inputs, timings=None), {})


def test_report_survives_sparse_metrics():
    inputs = ReportInputs(
        metrics={"extract": {"users": 10}},
        k_table=pd.DataFrame(),
        contingency=pd.DataFrame(),
        ab_arms=pd.DataFrame(),
    )
    page = render_html(inputs, make_plots(inputs))
    assert "10 customers" in page and "<img" not in page


def test_plot_data_tables(ab_by_verdict):
    inputs = build_inputs(ab_by_verdict["B"])
    tables = plot_data(inputs)
    long = tables["contingency.csv"]
    assert long["users"].sum() == inputs.contingency.to_numpy().sum()
    wide = long.pivot(index="segment", columns="cluster", values="users")
    wide.columns = wide.columns.astype(int)
    assert (
        (wide.loc[inputs.contingency.index, inputs.contingency.columns] == inputs.contingency)
        .all()
        .all()
    )
    assert tables["cluster_sizes.csv"]["users"].sum() == inputs.metrics["extract"]["users"]
    assert len(tables["pca.csv"]) == len(inputs.projection.points)


def test_analysis_json_holds_every_result(ab_by_verdict):
    inputs = build_inputs(ab_by_verdict["tie"])
    doc = json.loads(
        to_json(
            analysis(
                metrics=inputs.metrics,
                k_table=inputs.k_table,
                contingency=inputs.contingency,
                ab_arms=inputs.ab_arms,
                summary=inputs.summary,
                assignment=inputs.assignment,
                executive_summary=executive_summary(inputs.metrics, inputs.assignment),
                projection=inputs.projection.to_dict(),
            )
        )
    )
    assert doc["metrics"]["compare"]["ari"] == inputs.metrics["compare"]["ari"]
    assert doc["recommendation"]["verdict"] == "tie"
    assert sum(doc["recommendation"]["perks"].values()) == len(inputs.assignment)
    assert len(doc["segment_summary"]) == len(inputs.summary)
    assert doc["k_selection"][0]["truth_ari"] is None  # NaN becomes null


# --------------------------------------------------------------------------- the stage


def write_stage_inputs(folder: Path, inputs_ab: dict) -> list[str]:
    """The report stage's input files in `folder`, and its command-line options."""
    inputs = build_inputs(inputs_ab)
    features, rules, clusters, _ = synthetic_tables()
    for name, data in inputs.metrics.items():
        write_json(data, folder / "metrics" / f"{name}.json")
    write_parquet(features, folder / "features.parquet")
    write_parquet(rules, folder / "rules.parquet")
    write_parquet(clusters, folder / "clusters.parquet")
    write_csv(inputs.k_table, folder / "k_selection.csv")
    write_csv(inputs.contingency.reset_index(), folder / "contingency.csv")
    write_csv(inputs.ab_arms, folder / "arms.csv")
    shutil.copy(ROOT / "params.yaml", folder / "params.yaml")
    return [
        "--metrics-dir=metrics",
        "--k-selection=k_selection.csv",
        "--contingency=contingency.csv",
        "--ab-arms=arms.csv",
        "--features=features.parquet",
        "--rules=rules.parquet",
        "--clusters=clusters.parquet",
    ]


def run_report_stage(folder: Path, options: list[str], out: str, hash_seed: str) -> Path:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "TRAVELTIDE_LOG_LEVEL": "WARNING"}
    outputs = [
        f"--plots={out}/report/plots",
        f"--plot-data={out}/report/plot_data",
        f"--report={out}/report/report.html",
        f"--exports={out}/exports",
    ]
    subprocess.run(
        [sys.executable, str(ROOT / "stages" / "report.py"), *options, *outputs],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / out


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_stage_outputs_are_byte_identical_across_runs(tmp_path, ab_by_verdict):
    options = write_stage_inputs(tmp_path, ab_by_verdict["tie"])
    first = tree_hashes(run_report_stage(tmp_path, options, "one", "1"))
    second = tree_hashes(run_report_stage(tmp_path, options, "two", "2"))
    assert first == second
    expected = {f"report/plots/{name}" for name in ALL_PLOTS} | {
        "report/report.html",
        "exports/rewards_assignment.csv",
        "exports/segment_summary.csv",
        "exports/analysis.json",
    }
    assert expected <= set(first)
    page = (tmp_path / "one/report/report.html").read_text()
    assert str(tmp_path) not in page  # no absolute path
    assert "http://" not in page and "https://" not in page  # nothing loaded from the network
    assert 'href="../exports/rewards_assignment.csv"' in page
    exported = pd.read_csv(tmp_path / "one/exports/rewards_assignment.csv")
    assert len(exported) == json.loads((tmp_path / "metrics/extract.json").read_text())["users"]


# --------------------------------------------------------------------------- headless Chromium

PROBE = """<script>
window.addEventListener('load', function () {
  var rows = [];
  document.querySelectorAll('img').forEach(function (img) {
    rows.push([img.alt, img.complete, img.naturalWidth, img.naturalHeight].join(' '));
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = rows.join('\\n');
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    """The browser, or skip (fail where TRAVELTIDE_REQUIRE_BROWSER=1 or CI is set)."""
    found = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    if found is None:
        reason = (
            "headless Chromium not found (Debian: apt-get install chromium); "
            "the report's browser test needs it"
        )
        if os.environ.get("TRAVELTIDE_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def rendered_dom(report: Path, scratch: Path) -> str:
    """The DOM after load, with a probe listing every image's decoded size."""
    page = scratch / "probe.html"
    page.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={scratch / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def check_rendered_report(dom: str, metrics: dict, plots: set[str]) -> None:
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert probe, "the probe script did not run"
    images = {}
    for line in html.unescape(probe.group(1)).splitlines():
        name, complete, width, height = line.split()
        images[name] = (complete, int(width), int(height))
    assert set(images) == plots
    for name, (complete, width, height) in images.items():
        assert complete == "true" and width > 50 and height > 50, (name, width, height)
    for title in SECTION_TITLES:
        assert f"<h2>{html.escape(title)}</h2>" in dom, title
    cell = re.search(r'data-metric="cohort users">([^<]*)<', dom)
    assert cell and cell.group(1) == f"{metrics['extract']['users']:,}"
    k = re.search(r'data-metric="ML clusters \(k\)">([^<]*)<', dom)
    assert k and k.group(1) == str(metrics["cluster"]["k"])
    assert html.escape(f"{metrics['extract']['users']:,} customers") in dom
    verdict = re.search(r'data-metric="A/B verdict">([^<]*)<', dom)
    assert verdict and html.unescape(verdict.group(1)) == metrics["ab_test"]["verdict_winner"]


def test_report_renders_in_headless_chromium(tmp_path, ab_by_verdict):
    inputs = build_inputs(ab_by_verdict["B"])
    plots = make_plots(inputs)
    report = tmp_path / "report.html"
    report.write_text(render_html(inputs, plots), encoding="utf-8")
    dom = rendered_dom(report, tmp_path)
    check_rendered_report(dom, dict(inputs.metrics), set(plots))


# --------------------------------------------------------------------------- DVC plots


def plot_titles(dvc_yaml: Path) -> list[str]:
    plots = yaml.safe_load(dvc_yaml.read_text())["plots"]
    return [props["title"] for item in plots for props in item.values()]


@pytest.mark.integration
def test_dvc_plots_and_report_from_the_real_pipeline(baseline_template, tmp_path):
    from pipeline_repo import copy_repo

    repo = copy_repo(baseline_template, tmp_path)  # the real pipeline, run at a small scale
    assert repo.changed_stages() == {"source"}
    titles = plot_titles(repo.path / "dvc.yaml")
    assert len(titles) >= 7
    shown = repo.run("dvc", "plots", "show", "-o", str(tmp_path / "shown"))
    page = (tmp_path / "shown" / "index.html").read_text()
    assert "failed to load" not in (shown.stdout + shown.stderr).lower()
    for title in titles:
        assert json.dumps(title) in page, title

    report = repo.path / "data/report/report.html"
    metrics = {p.stem: json.loads(p.read_text()) for p in (repo.path / "metrics").glob("*.json")}
    plots = {p.name for p in (repo.path / "data/report/plots").glob("*.png")}
    assert plots == ALL_PLOTS
    check_rendered_report(rendered_dom(report, tmp_path), metrics, plots)

    outputs = ("data/report", "data/exports")
    before = {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)}
    repo.run("dvc", "repro", "--force", "--single-item", "report")
    after = {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)}
    assert before == after and len(before) > 10

    # `traveltide report` renders the same exports into another folder, workspace untouched
    repo.run("traveltide", "report", "--output", str(tmp_path / "copy"))
    for name in ("rewards_assignment.csv", "segment_summary.csv", "analysis.json"):
        copy = (tmp_path / "copy" / "exports" / name).read_bytes()
        assert copy == (repo.path / "data/exports" / name).read_bytes(), name
    copied = (tmp_path / "copy" / "report.html").read_text()
    assert "data:image/png;base64," in copied
    # ... with the stages' timings, which the stage's own (deterministic) page leaves out
    timed = re.search(r'<table id="timings">(.*?)</table>', copied, re.S).group(1)
    assert {"extract", "select_k", "cluster", "report"} <= set(
        re.findall(r"<tr><td>(\w+)</td>", timed)
    )
    assert 'id="timings"' not in (repo.path / "data/report/report.html").read_text()
    assert {k: v for k, v in repo.output_hashes().items() if k.startswith(outputs)} == before

    # dvc plots diff: HEAD is the baseline's commit (the forced rerun changed nothing it
    # tracks); change the A/B seed and compare with it
    assert repo.run("git", "status", "--porcelain").stdout == ""
    params = repo.params()
    params["ab_test"]["seed"] = 7
    repo.write_params(params)
    repo.run("dvc", "repro", "report")
    repo.run("dvc", "plots", "diff", "HEAD", "-o", str(tmp_path / "diff"))
    diff = (tmp_path / "diff" / "index.html").read_text()
    lift = re.search(r'<div id = "ab_lift">(.*?)</div>', diff, re.S).group(1)
    assert '"rev": "HEAD"' in lift and '"rev": "workspace"' in lift
