"""The self-contained HTML report: executive summary, headline figures, plots and tables.

Plots are drawn with matplotlib's Agg backend (imported only when a plot is drawn) to PNG and
embedded as base64 data URIs, so the page opens offline; the PNGs are also returned so the
tracking stage can log them. The same figures are written as small tables for DVC's own plots
(`plot_data`). Output is deterministic: no timestamps, no absolute paths, PNG metadata
stripped, the PCA sample seeded.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from traveltide.report.exports import BASIS, RECOMMENDATION_RULE, arms_above_control, perk_counts

DPI = 90
_PNG_META = {"Software": None}  # no matplotlib version in the file: same bytes across installs
PCA_SAMPLE = 3000  # users drawn into the PCA scatter (all of them below this)
PCA_SEED = 0
ARM_NAMES = {"A": "rule perks (A)", "B": "ML perks (B)", "C": "control (C)"}
NOISE = -1


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use (it costs ~0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Projection:
    """A 2-D PCA of the standardized features, for looking at the clusters only."""

    points: pd.DataFrame  # user_id, cluster, pc1, pc2 (the sampled users, by user_id)
    explained: tuple[float, ...]  # share of variance of PC1, PC2
    users: int  # users in the cohort (before sampling)

    def to_dict(self) -> dict[str, Any]:
        return {
            "explained_variance_ratio": list(self.explained),
            "users": self.users,
            "sampled_users": len(self.points),
            "seed": PCA_SEED,
            "space": "standardized features (z-scores), not the clustering space",
        }


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read from the pipeline's outputs."""

    metrics: Mapping[str, Any]  # metrics/<stage>.json contents by stage name
    k_table: pd.DataFrame
    contingency: pd.DataFrame  # index: rule segment, columns: cluster
    ab_arms: pd.DataFrame  # columns: comparison, lift_abs, ci_low, ci_high, p_value
    projection: Projection | None = None
    assignment: pd.DataFrame | None = None  # exports.rewards_assignment
    summary: pd.DataFrame | None = None  # exports.segment_summary
    export_links: Mapping[str, str] = field(default_factory=dict)  # file name -> relative href
    # timings/*.json by stage (traveltide.timings): shown by `traveltide report`, never by the
    # report stage, whose page must be byte-identical from run to run
    timings: Mapping[str, Any] | None = None


def pca_projection(
    features: pd.DataFrame,
    clusters: pd.DataFrame,
    *,
    sample: int = PCA_SAMPLE,
    seed: int = PCA_SEED,
) -> Projection:
    """PC1 and PC2 of the z-scored features of a seeded sample of users, with their cluster.

    A picture of the clusters in a space a reader can see, not the one they were found in
    (the cluster stage may transform, subset or reduce the features first).
    """
    table = features.merge(clusters[["user_id", "cluster"]], on="user_id", validate="one_to_one")
    table = table.sort_values("user_id", kind="stable").reset_index(drop=True)
    users = len(table)
    if len(table) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(table), sample, replace=False))
        table = table.iloc[rows].reset_index(drop=True)
    cols = [c for c in features.columns if c != "user_id"]
    X = table[cols].to_numpy(float)
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    scores, explained = _principal_components(Z, 2)
    points = pd.DataFrame(
        {
            "user_id": table["user_id"].to_numpy(),
            "cluster": table["cluster"].to_numpy(),
            "pc1": scores[:, 0],
            "pc2": scores[:, 1],
        }
    )
    return Projection(points, explained, users=users)


def _principal_components(Z: np.ndarray, n: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """Scores on the first ``n`` principal components of centred ``Z`` and their variance shares.

    A plain SVD (numpy), so the report stage does not import scikit-learn. Each component's
    sign is fixed so that its largest loading is positive: the same data give the same picture.
    Components beyond the data's rank are zero.
    """
    scores = np.zeros((len(Z), n))
    explained = [0.0] * n
    if len(Z) < 2 or Z.shape[1] == 0:
        return scores, tuple(explained)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # one BLAS thread: the same bits however the stage runs
        u, s, vt = np.linalg.svd(Z, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1.0
    m = min(n, len(s))
    scores[:, :m] = (u[:, :m] * s[:m]) * signs[:m]
    total = float((s**2).sum())
    if total > 0:
        explained[:m] = [float(v) for v in (s[:m] ** 2) / total]
    return scores, tuple(explained)


# --------------------------------------------------------------------------- plots


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata=_PNG_META)
    _pyplot().close(fig)
    return buf.getvalue()


def _cluster_label(cluster: Any, metrics: Mapping[str, Any]) -> str:
    """'3: free_checked_bag' (the cluster's perk), or 'noise'."""
    if str(cluster) == str(NOISE):
        return "noise"
    perk = (metrics.get("cluster", {}).get("cluster_perks") or {}).get(str(cluster))
    return f"{cluster}: {perk}" if perk else str(cluster)


def plot_pca(projection: Projection, metrics: Mapping[str, Any]) -> bytes:
    plt = _pyplot()
    pts = projection.points
    clusters = sorted(pts["cluster"].unique())
    cmap = plt.get_cmap("tab10" if len(clusters) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, c in enumerate(clusters):
        sel = (pts["cluster"] == c).to_numpy()
        ax.scatter(
            pts["pc1"].to_numpy()[sel],
            pts["pc2"].to_numpy()[sel],
            s=5,
            alpha=0.6,
            linewidths=0,
            color="lightgrey" if c == NOISE else cmap(i % cmap.N),
            label=_cluster_label(c, metrics),
        )
    ev = projection.explained
    ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f}% of variance)")
    ax.set_title("ML clusters on the first two principal components")
    ax.legend(fontsize=7, markerscale=3, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(fig)


def plot_k_selection(k_table: pd.DataFrame, chosen: Any = None) -> bytes:
    """Silhouette (and persona ARI when known) on the left axis, Davies-Bouldin on the right."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    k = k_table["k"]
    if "silhouette" in k_table:
        ax.plot(k, k_table["silhouette"], marker="o", label="silhouette (higher is better)")
    if "truth_ari" in k_table and k_table["truth_ari"].notna().any():
        ax.plot(k, k_table["truth_ari"], marker="^", ls="--", label="ARI vs personas")
    ax.set_xlabel("k")
    ax.set_ylabel("silhouette / ARI")
    handles, labels = ax.get_legend_handles_labels()
    if "davies_bouldin" in k_table and k_table["davies_bouldin"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(k, k_table["davies_bouldin"], marker="s", color="tab:red", label="Davies-Bouldin")
        ax2.set_ylabel("Davies-Bouldin (lower is better)")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if isinstance(chosen, int) and chosen in set(k):
        ax.axvline(chosen, color="grey", lw=1, ls=":")
        labels = [*labels, f"chosen k = {chosen}"]
        handles = [*handles, ax.lines[-1]]
    ax.legend(
        handles,
        labels,
        fontsize=7,
        frameon=False,
        ncol=2,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
    )
    ax.set_title("k-selection")
    return _png(fig)


def plot_sizes(sizes: Mapping[str, int], title: str) -> bytes:
    plt = _pyplot()
    labels = list(sizes)
    fig, ax = plt.subplots(figsize=(5.5, 0.35 * len(labels) + 1.2))
    bars = ax.barh(labels, [sizes[k] for k in labels], color="tab:blue")
    ax.bar_label(bars, labels=[f"{sizes[k]:,}" for k in labels], fontsize=7, padding=2)
    ax.invert_yaxis()
    ax.set_xlabel("users")
    ax.set_title(title)
    return _png(fig)


def plot_perk_mix(mixes: Mapping[str, Mapping[str, int]]) -> bytes:
    """Users per perk under each view (grouped bars)."""
    plt = _pyplot()
    perks = sorted({p for mix in mixes.values() for p in mix})
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(perks) + 1.4))
    height = 0.8 / max(len(mixes), 1)
    y = np.arange(len(perks))
    for i, (name, mix) in enumerate(mixes.items()):
        ax.barh(y + i * height, [mix.get(p, 0) for p in perks], height=height, label=name)
    ax.set_yticks(y + height * (len(mixes) - 1) / 2, perks)
    ax.invert_yaxis()
    ax.set_xlabel("users")
    ax.set_title("perk mix")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    return _png(fig)


def plot_contingency(table: pd.DataFrame) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(0.55 * table.shape[1] + 3.5, 0.4 * table.shape[0] + 1.6))
    values = table.to_numpy()
    im = ax.imshow(values, cmap="Blues", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    top = values.max() if values.size else 0
    for (i, j), v in np.ndenumerate(values):
        color = "white" if top and v > top / 2 else "black"
        ax.text(j, i, f"{v:,}", ha="center", va="center", fontsize=7, color=color)
    ax.set_xlabel("ML cluster")
    ax.set_ylabel("rule segment")
    ax.set_title("rule segment x ML cluster (users)")
    fig.colorbar(im, ax=ax)
    return _png(fig)


def lift_table(ab: Mapping[str, Any]) -> pd.DataFrame:
    """Every tested comparison's conversion lift with its 95% CI, in percentage points."""
    rows = []
    for key in ab.get("comparisons") or []:
        lift, low, high = (
            ab.get(f"{key}_{n}") for n in ("lift_abs", "lift_ci_low", "lift_ci_high")
        )
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lift, low, high)):
            continue
        treatment, baseline = key.split("_vs_")
        rows.append(
            {
                "comparison": f"{treatment} vs {baseline}",
                "label": f"{ARM_NAMES.get(treatment, treatment)} vs "
                f"{ARM_NAMES.get(baseline, baseline)}",
                "lift_pts": 100 * lift,
                "ci_low_pts": 100 * low,
                "ci_high_pts": 100 * high,
                "p_adj": ab.get(f"{key}_p_adj"),
                "significant": bool(ab.get(f"{key}_significant")),
            }
        )
    columns = ["comparison", "label", "lift_pts", "ci_low_pts", "ci_high_pts", "p_adj"]
    return pd.DataFrame(rows, columns=[*columns, "significant"])


def plot_ab_lift(lifts: pd.DataFrame) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(lifts) + 1.4))
    y = np.arange(len(lifts))
    lift, low, high = (lifts[c].to_numpy(float) for c in ("lift_pts", "ci_low_pts", "ci_high_pts"))
    colors = ["tab:green" if s else "tab:grey" for s in lifts["significant"]]
    for i in range(len(lifts)):
        ax.errorbar(
            lift[i],
            y[i],
            xerr=[[lift[i] - low[i]], [high[i] - lift[i]]],
            fmt="o",
            capsize=4,
            color=colors[i],
        )
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, list(lifts["label"]))
    ax.invert_yaxis()
    ax.set_xlabel("conversion lift (percentage points, 95% CI; green: significant)")
    ax.set_title("A/B lift")
    return _png(fig)


def _sizes(metrics: Mapping[str, Any], stage: str, key: str) -> dict[str, int]:
    return dict(metrics.get(stage, {}).get(key) or {})


def _recommended_mix(inputs: ReportInputs) -> dict[str, int]:
    if inputs.assignment is None:
        return {}
    return perk_counts(inputs.assignment["recommended_perk"])


def make_plots(inputs: ReportInputs) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by file name, in reading order."""
    m = inputs.metrics
    plots: dict[str, bytes] = {}
    if inputs.projection is not None and len(inputs.projection.points):
        plots["pca.png"] = plot_pca(inputs.projection, m)
    clusters = _sizes(m, "cluster", "cluster_sizes")
    if clusters:
        labels = {_cluster_label(c, m): n for c, n in sorted(clusters.items(), key=_cluster_key)}
        plots["cluster_sizes.png"] = plot_sizes(labels, "ML clusters (users)")
    segments = _sizes(m, "segment_rules", "segment_sizes")
    if segments:
        ordered = dict(sorted(segments.items(), key=lambda kv: (-kv[1], kv[0])))
        plots["segment_sizes.png"] = plot_sizes(ordered, "rule segments (users)")
    mixes = {
        "rules": _sizes(m, "segment_rules", "perk_mix"),
        "ML": _sizes(m, "cluster", "perk_mix"),
        "recommended": _recommended_mix(inputs),
    }
    mixes = {k: v for k, v in mixes.items() if v}
    if mixes:
        plots["perk_mix.png"] = plot_perk_mix(mixes)
    if not inputs.k_table.empty and "k" in inputs.k_table:
        plots["k_selection.png"] = plot_k_selection(inputs.k_table, m.get("cluster", {}).get("k"))
    if not inputs.contingency.empty:
        plots["contingency.png"] = plot_contingency(inputs.contingency)
    lifts = lift_table(m.get("ab_test", {}))
    if not lifts.empty:
        plots["ab_lift.png"] = plot_ab_lift(lifts)
    return plots


def _cluster_key(item: tuple[str, Any]) -> tuple[int, str]:
    """Clusters in numeric order (ids are strings in the metrics JSON)."""
    try:
        return int(item[0]), ""
    except ValueError:
        return 1 << 30, item[0]


# --------------------------------------------------------------------------- DVC plot data


def plot_data(inputs: ReportInputs) -> dict[str, pd.DataFrame]:
    """The tables behind dvc.yaml's top-level `plots` (`dvc plots show` / `dvc plots diff`)."""
    m = inputs.metrics
    out: dict[str, pd.DataFrame] = {}
    clusters = sorted(_sizes(m, "cluster", "cluster_sizes").items(), key=_cluster_key)
    out["cluster_sizes.csv"] = pd.DataFrame(
        {"cluster": [_cluster_label(c, m) for c, _ in clusters], "users": [n for _, n in clusters]}
    )
    segments = sorted(_sizes(m, "segment_rules", "segment_sizes").items())
    out["segment_sizes.csv"] = pd.DataFrame(
        {"segment": [s for s, _ in segments], "users": [n for _, n in segments]}
    )
    table = inputs.contingency
    out["contingency.csv"] = pd.DataFrame(
        [
            {"segment": str(seg), "cluster": str(c), "users": int(table.loc[seg, c])}
            for seg in table.index
            for c in table.columns
        ],
        columns=["segment", "cluster", "users"],
    )
    out["ab_lift.csv"] = lift_table(m.get("ab_test", {}))
    if inputs.projection is not None:
        pts = inputs.projection.points
        out["pca.csv"] = pd.DataFrame(
            {
                "pc1": pts["pc1"].round(4),
                "pc2": pts["pc2"].round(4),
                "cluster": [_cluster_label(c, m) for c in pts["cluster"]],
            }
        )
    return out


# --------------------------------------------------------------------------- figures in words


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "n/a" if not np.isfinite(value) else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if value is None:
        return "n/a"
    return html.escape(str(value))


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def headline(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The figures a reader needs first, in reading order; optional ones only when present."""
    e, q, cmp_, ab = (metrics.get(k, {}) for k in ("extract", "cluster", "compare", "ab_test"))
    segments = metrics.get("segment_rules", {}).get("segment_sizes")
    rows: list[tuple[str, Any]] = [
        ("cohort users", e.get("users")),
        ("cohort sessions", e.get("sessions")),
        ("rule segments", len(segments) if segments is not None else None),
        ("ML clusters (k)", q.get("k")),
        ("clustering algorithm", q.get("algorithm")),
        ("silhouette", q.get("silhouette")),
        ("Calinski-Harabasz", q.get("calinski_harabasz")),
        ("Davies-Bouldin", q.get("davies_bouldin")),
    ]
    optional = [
        ("cluster stability (bootstrap mean ARI)", q.get("stability")),
        ("ARI vs synthetic personas", q.get("truth_ari")),
        ("noise share", q.get("noise_share") if q.get("noise_users") else None),
    ]
    rows += [(name, v) for name, v in optional if _num(v)]
    rows += [
        ("ARI rules vs ML", cmp_.get("ari")),
        ("NMI rules vs ML", cmp_.get("nmi")),
        ("perk agreement", _pct(cmp_.get("perk_agreement"))),
        ("A/B verdict", ab.get("verdict_winner", "n/a")),
    ]
    return rows


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def _agreement_words(ari: float) -> str:
    """Plain words for an adjusted Rand index (bands are for reading, not a test)."""
    for bound, words in ((0.2, "hardly"), (0.4, "weakly"), (0.6, "moderately"), (0.8, "largely")):
        if ari < bound:
            return words
    return "strongly"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cohort_sentence(metrics: Mapping[str, Any]) -> str | None:
    e = metrics.get("extract", {})
    if not _num(e.get("users")):
        return None
    text = f"The cohort has {e['users']:,} customers"
    if _num(e.get("sessions")):
        text += f" with {e['sessions']:,} browsing sessions"
    if e.get("first_session") and e.get("last_session"):
        text += f" between {str(e['first_session'])[:10]} and {str(e['last_session'])[:10]}"
    return text + "."


def _segments_sentence(metrics: Mapping[str, Any]) -> str | None:
    sizes = metrics.get("segment_rules", {}).get("segment_sizes") or {}
    q = metrics.get("cluster", {})
    parts = []
    if sizes:
        total = sum(sizes.values())
        big = min(sizes, key=lambda s: (-sizes[s], s))
        parts.append(
            f"The marketing rules sort them into {len(sizes)} segments (largest: {big}, "
            f"{_share(sizes[big], total)})"
        )
    if _num(q.get("k")):
        how = f"{q.get('algorithm', 'the clustering')}"
        sil = f", silhouette {q['silhouette']:.2f}" if _num(q.get("silhouette")) else ""
        parts.append(
            f"the ML clustering ({how}{sil}; 1 = well separated, 0 = overlapping) finds "
            f"{q['k']} groups"
        )
    if not parts:
        return None
    text = "; ".join(parts) + "."
    extra = []
    if _num(q.get("stability")):
        extra.append(
            f"refitting on resampled users reproduces them with a mean ARI of {q['stability']:.2f}"
        )
    if _num(q.get("truth_ari")):
        extra.append(f"they recover the planted synthetic personas with ARI {q['truth_ari']:.2f}")
    if _num(q.get("noise_users")) and q["noise_users"] > 0:
        extra.append(f"{q['noise_users']:,} users fit no cluster (noise)")
    if extra:
        text += " " + _upper_first(_join(extra)) + "."
    return text


def _agreement_sentence(metrics: Mapping[str, Any]) -> str | None:
    c = metrics.get("compare", {})
    if not _num(c.get("ari")):
        return None
    text = (
        f"Rules and ML agree {_agreement_words(c['ari'])} on who belongs together "
        f"(adjusted Rand index {c['ari']:.2f}; 1 = the same grouping, 0 = chance)"
    )
    if _num(c.get("perk_agreement")):
        text += f", and give {100 * c['perk_agreement']:.0f}% of users the same perk"
    text += "."
    status = {s: list(c.get(f"segments_{s}") or []) for s in ("agree", "split", "absorbed")}
    n = sum(len(v) for v in status.values()) + len(c.get("segments_scattered") or [])
    if n:
        text += f" {len(status['agree'])} of {n} rule segments match a cluster"
        if status["split"]:
            text += f"; {_join(status['split'])} split across several clusters"
        if status["absorbed"]:
            text += f"; {_join(status['absorbed'])} sit inside larger clusters"
        text += "."
    return text


def _verdict_sentence(ab: Mapping[str, Any]) -> str | None:
    winner = ab.get("verdict_winner")
    if winner is None:
        return None
    reason = str(ab.get("verdict_reason") or "").strip()
    if winner in ("A", "B"):
        lead = f"The A/B test picks the {ARM_NAMES[winner]}."
    elif winner == "C":
        lead = "The A/B test found the targeted perks doing worse than the control."
    elif winner == "tie":
        lead = (
            "The A/B test is a tie: a targeted perk beats the control, but neither targeted "
            "perk is shown to be better than the other."
        )
    elif winner == "inconclusive":
        lead = "The A/B test is inconclusive: its results cannot be trusted."
    else:
        lead = "The A/B test found no significant difference between the arms."
    text = f"{lead} Why: {reason}" if reason else lead
    if ab.get("outcomes") == "simulate":
        text += (
            " Note: these outcomes are simulated by the pipeline's response model, not measured "
            "in a real campaign."
        )
    return text


def _power_sentence(ab: Mapping[str, Any]) -> str | None:
    keys = [k for k in ab.get("comparisons") or [] if _num(ab.get(f"{k}_power"))]
    target, mde = ab.get("plan_target_power"), ab.get("plan_mde_abs")
    if not keys or not _num(target) or not _num(mde):
        return None
    weakest = min(keys, key=lambda k: ab[f"{k}_power"])
    power = ab[f"{weakest}_power"]
    detectable = [ab[f"{k}_mde_abs"] for k in keys if _num(ab.get(f"{k}_mde_abs"))]
    treatment, baseline = weakest.split("_vs_")
    if power >= target:
        text = (
            f"The test was large enough: every comparison had at least {100 * power:.0f}% power "
            f"to detect a lift of {100 * mde:.1f} points"
        )
        if detectable:
            text += f" (smallest reliably detectable lift: {100 * max(detectable):.1f} points)"
        return text + "."
    need = ab.get(f"{weakest}_n_required_treatment")
    text = (
        f"Caveat: the test is underpowered. {treatment} vs {baseline} "
        f"({ab.get(f'{treatment}_n', 'n/a'):,} and {ab.get(f'{baseline}_n', 'n/a'):,} users) had "
        f"only {100 * power:.0f}% power to detect a {100 * mde:.1f}-point lift (target "
        f"{100 * target:.0f}%"
    )
    if _num(need):
        text += f"; about {need:,.0f} users per arm would be needed"
    text += ")"
    if detectable:
        text += (
            f", so real differences smaller than about {100 * max(detectable):.1f} points can go "
            "unnoticed: no significant difference is not evidence of no difference"
        )
    return text + "."


def _recommendation_sentence(assignment: pd.DataFrame | None, ab: Mapping[str, Any]) -> str | None:
    if assignment is None or assignment.empty:
        return None
    n = len(assignment)
    basis = assignment["recommendation_basis"].value_counts()
    mix = perk_counts(assignment["recommended_perk"])
    top = ", ".join(f"{p} {_share(c, n)}" for p, c in list(mix.items())[:3])
    winner = ab.get("verdict_winner")
    if basis.get("ab_winner"):
        view = "rule segment's" if winner == "A" else "ML cluster's"
        return (
            f"Recommendation: give every customer their {view} perk, the winning arm "
            f"({ARM_NAMES.get(str(winner), winner)}); the largest groups get {top}."
        )
    if basis.get("control_won"):
        return (
            f"Recommendation: none ({BASIS['control_won']}); rethink the perks before rolling "
            "them out."
        )
    if basis.get("inconclusive"):
        return (
            f"Recommendation: none yet ({BASIS['inconclusive']}); fix and rerun the test before "
            "rolling out perks."
        )
    agree = int(basis.get("both_agree", 0))
    rest = n - agree
    text = (
        f"Recommendation: {agree:,} customers ({_share(agree, n)}) get the same perk from both "
        f"views, so they get that perk"
    )
    if rest:
        if basis.get("tie_larger_lift"):
            arm = arms_above_control(ab)[0][1]
            view = "rule segment's" if arm == "A" else "ML cluster's"
            how = (
                f"their {view} perk (arm {arm}, the larger significant lift over the control, "
                "though not shown better than the other arm)"
            )
        else:
            how = "their rule perk, as today, since the test showed no difference"
        text += f"; the other {rest:,} get {how}"
    return f"{text}. Resulting mix: {top}."


def executive_summary(
    metrics: Mapping[str, Any], assignment: pd.DataFrame | None = None
) -> list[str]:
    """The page's opening paragraph in plain words, every figure read from the inputs."""
    ab = metrics.get("ab_test", {})
    sentences = [
        _cohort_sentence(metrics),
        _segments_sentence(metrics),
        _agreement_sentence(metrics),
        _verdict_sentence(ab),
        _power_sentence(ab),
        _recommendation_sentence(assignment, ab),
    ]
    return [s for s in sentences if s]


# --------------------------------------------------------------------------- A/B and compare detail


def _pts(value: Any) -> str:
    """A rate difference in percentage points, 'n/a' when missing."""
    return "n/a" if not isinstance(value, int | float) else f"{100 * value:+.2f} pts"


def _pct(value: Any, digits: int = 1) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{100 * value:.{digits}f}%"


def _p(value: Any) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:.3g}"


def _ci(low: Any, high: Any, fmt: Any) -> str:
    return "" if low is None or high is None else f" [{fmt(low)}, {fmt(high)}]"


def _table(head: list[str], rows: list[list[str]], table_id: str) -> str:
    """A small HTML table; cells are escaped here."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table id="{table_id}"><tr>{th}</tr>\n{body}\n</table>'


def _getter(ab: Mapping[str, Any], key: str) -> Any:
    """``g("p_adj")`` reads ``ab["A_vs_C_p_adj"]`` for key ``A_vs_C`` (None when absent)."""
    return lambda name: ab.get(f"{key}_{name}")


def _count(value: Any) -> str:
    return "n/a" if not isinstance(value, int | float) else f"{value:,.0f}"


def _comparisons(ab: Mapping[str, Any]) -> list[str]:
    """Comparison keys (A_vs_C, ...) in the stage's order."""
    return list(ab.get("comparisons") or [])


def ab_verdict_section(ab: Mapping[str, Any]) -> str:
    """The verdict, the design checks (SRM, omnibus) and every comparison with its figures."""
    srm = (
        f"Sample ratio: chi-square p = {_p(ab.get('srm_p_value'))} "
        f"({'MISMATCH, results not trusted' if ab.get('srm_flag') else 'no mismatch'} at "
        f"p < 0.001)"
        if ab.get("srm_assessable")
        else f"Sample ratio: {ab.get('srm_note') or 'not assessable'}"
    )
    omnibus = (
        f"Omnibus chi-square over all arms: p = {_p(ab.get('omnibus_p_value'))}"
        f" (dof {ab.get('omnibus_dof')})"
        if ab.get("omnibus_error") is None
        else f"Omnibus chi-square: {ab.get('omnibus_error')}"
    )
    label = "Holm" if ab.get("correction") == "holm" else "Benjamini-Hochberg"
    rows = []
    for key in _comparisons(ab):
        g = _getter(ab, key)
        if g("error"):
            rows.append([key.replace("_", " "), g("error")] + [""] * 6)
            continue
        test = "Fisher exact" if g("fisher_used") else "z-test"
        rows.append(
            [
                key.replace("_", " "),
                f"{_pct(g('rate_treatment'), 2)} vs {_pct(g('rate_control'), 2)}",
                _pts(g("lift_abs")) + _ci(g("lift_ci_low"), g("lift_ci_high"), _pts),
                _pct(g("lift_rel")) + _ci(g("lift_rel_ci_low"), g("lift_rel_ci_high"), _pct),
                f"{_p(g('p_value'))} ({test})",
                f"{_p(g('p_adj'))}{' *' if g('significant') else ''}",
                (f"{g('revenue_diff'):+,.2f}" if isinstance(g("revenue_diff"), float) else "n/a")
                + f" (Welch adj. p {_p(g('revenue_p_adj'))}, Mann-Whitney p "
                f"{_p(g('revenue_mw_p_value'))})",
            ]
        )
    table = _table(
        [
            "comparison",
            "conversion",
            "lift (95% CI, Newcomb)",
            "relative lift (95% CI, delta method)",
            "p",
            f"{label}-adjusted p (* significant)",
            "revenue per user, difference",
        ],
        [r + [""] * (7 - len(r)) for r in rows],
        "ab-comparisons",
    )
    return (
        f'<p id="verdict-winner"><strong>Winner: '
        f"{html.escape(str(ab.get('verdict_winner', 'n/a')))}</strong></p>\n"
        f"<p>{html.escape(srm)}. {html.escape(omnibus)}.</p>\n{table}"
    )


def ab_power_section(ab: Mapping[str, Any]) -> str:
    """Power and minimum detectable effect of each comparison at the assigned sizes."""
    if ab.get("plan_error"):
        return f"<p>Power plan: {html.escape(str(ab['plan_error']))}</p>"
    rows = []
    for key in _comparisons(ab):
        treatment, control = key.split("_vs_")
        g = _getter(ab, key)
        rows.append(
            [
                key.replace("_", " "),
                f"{ab.get(f'{treatment}_n', 'n/a')} / {ab.get(f'{control}_n', 'n/a')}",
                _pct(g("power")),
                _pts(g("mde_abs")).lstrip("+") + f" ({_pct(g('mde_rel'), 0)} relative)",
                f"{_count(g('n_required_treatment'))} / {_count(g('n_required_control'))}",
                str(g("plan_error") or g("plan_note") or ""),
            ]
        )
    intro = (
        f"Planned before any outcome: baseline conversion {_pct(ab.get('plan_baseline_rate'))}, "
        f"effect of interest {_pts(ab.get('plan_mde_abs'))}, alpha "
        f"{_p(ab.get('plan_alpha_per_comparison'))} per comparison (Bonferroni over "
        f"{len(rows)}, conservative for Holm), target power {_pct(ab.get('plan_target_power'), 0)}."
    )
    table = _table(
        [
            "comparison",
            "users (treatment / baseline)",
            "power for the effect of interest",
            "minimum detectable effect",
            "users needed per arm",
            "note",
        ],
        rows,
        "ab-power",
    )
    return f"<p>{html.escape(intro)}</p>\n{table}"


def recommendations_section(compare: Mapping[str, Any]) -> str:
    """The compare stage's recommendations, one list item each (overall summary first)."""
    items = compare.get("recommendations") or []
    if not items:
        return "<p>No recommendations.</p>"
    lis = "\n".join(f"<li>{html.escape(str(text))}</li>" for text in items)
    return f'<ul id="recommendations">\n{lis}\n</ul>'


# --------------------------------------------------------------------------- the page

CAPTIONS = {
    "pca.png": (
        "ML clusters on the first two principal components of the standardized features"
        "{sample}. A projection for looking only: it is not the space the clusters were found "
        "in, so clusters that overlap here may still be apart there."
    ),
    "cluster_sizes.png": "Users per ML cluster (label: cluster id and its perk).",
    "segment_sizes.png": "Users per rule segment.",
    "perk_mix.png": "Users per perk: as the rules give them, as the ML clusters give them, "
    "and as recommended (see Exports).",
    "k_selection.png": "k-selection: quality of each candidate number of clusters; "
    "the dotted line is the k used.",
    "contingency.png": "Users per rule segment (rows) and ML cluster (columns).",
    "ab_lift.png": "Conversion lift of each comparison in percentage points with its 95% "
    "confidence interval; green: significant after multiple-testing correction.",
}


def _caption(name: str, inputs: ReportInputs) -> str:
    text = CAPTIONS.get(name, name)
    if name == "pca.png" and inputs.projection is not None:
        p = inputs.projection
        sample = (
            f", a seeded sample of {len(p.points):,} of {p.users:,} users"
            if len(p.points) < p.users
            else f", all {p.users:,} users"
        )
        text = text.format(sample=sample)
    return text


def _figure(name: str, png: bytes, caption: str) -> str:
    fig_id = "fig-" + name.removesuffix(".png").replace("_", "-")
    return (
        f'<figure id="{fig_id}"><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def summary_section(summary: pd.DataFrame | None) -> str:
    if summary is None or summary.empty:
        return "<p>No segment summary.</p>"
    rows = [
        [
            "rules" if r.view == "rules" else "ML",
            str(r.segment) if r.view == "rules" else f"{r.segment}: {r.name}",
            f"{r.users:,}",
            _pct(r.share),
            "n/a" if not _num(r.avg_spend_usd) else f"{r.avg_spend_usd:,.0f}",
            str(r.perk),
            f"{r.recommended_perk or 'none'} ({_pct(r.recommended_share, 0)})",
            str(r.key_traits),
        ]
        for r in summary.itertuples(index=False)
    ]
    head = [
        "view",
        "segment",
        "users",
        "share",
        "avg spend (USD)",
        "perk",
        "recommended (share of segment)",
        "key traits (mean z-score vs cohort)",
    ]
    return _table(head, rows, "segment-summary")


def exports_section(inputs: ReportInputs) -> str:
    links = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(name)}</a>: '
        f"{html.escape(EXPORT_NOTES.get(name, ''))}</li>"
        for name, href in inputs.export_links.items()
    )
    basis = ""
    if inputs.assignment is not None:
        counts = inputs.assignment["recommendation_basis"].value_counts()
        rows = [[k, f"{int(counts[k]):,}", BASIS.get(k, "")] for k in sorted(counts.index)]
        basis = _table(["recommendation_basis", "users", "meaning"], rows, "recommendation-basis")
    return (
        f'<ul id="exports">\n{links}\n</ul>\n'
        f'<p id="recommendation-rule">{html.escape(RECOMMENDATION_RULE)}</p>\n{basis}'
    )


EXPORT_NOTES = {
    "rewards_assignment.csv": "one row per customer: rule segment and perk, ML cluster and perk, "
    "the recommended perk and why",
    "segment_summary.csv": "one row per rule segment and ML cluster: size, spend, key traits, "
    "perks",
    "analysis.json": "every result of this pipeline run in one file",
}

SECTIONS = (
    ("summary", "Executive summary"),
    ("headline", "Headline figures"),
    ("segments", "Segments"),
    ("k-selection", "Choosing the number of clusters"),
    ("rules-vs-ml", "Rules vs ML"),
    ("ab-test", "A/B test"),
    ("exports", "Exports"),
)


def timings_section(timings: Mapping[str, Any]) -> str:
    """The last run of each stage (slowest first): wall, start-up (imports), CPU, peak memory."""
    ordered = sorted(timings.values(), key=lambda t: (-t.wall_s, t.stage))
    rows = [
        [
            t.stage,
            f"{t.wall_s:.1f}",
            "" if t.startup_s is None else f"{t.startup_s:.2f}",
            f"{t.cpu_s:.1f}",
            f"{t.peak_rss_gb:.2f}",
            t.status,
            t.started_at,
        ]
        for t in ordered
    ]
    head = ["stage", "wall s", "start-up s", "CPU s", "peak RSS GB", "status", "started (UTC)"]
    total = sum(t.wall_s for t in ordered)
    return (
        f"<p>{len(ordered)} stages, {total:.1f} s of stage wall time in their last runs "
        "(<code>timings/</code>; DVC's own time between stages is not included). Start-up is "
        "the interpreter and its imports, paid again by every stage DVC starts.</p>\n"
        + _table(head, rows, "timings")
    )


def render_html(inputs: ReportInputs, plots: Mapping[str, bytes]) -> str:
    """The whole report as one HTML string with the plots inlined (no external resources)."""
    m = inputs.metrics
    ab = m.get("ab_test", {})
    figs = {name: _figure(name, png, _caption(name, inputs)) for name, png in plots.items()}

    def fig(*names: str) -> str:
        return "\n".join(figs[n] for n in names if n in figs)

    rows = "\n".join(
        f'<tr><th>{html.escape(name)}</th><td data-metric="{html.escape(name)}">{_fmt(v)}</td></tr>'
        for name, v in headline(m)
    )
    summary = "\n".join(f"<p>{html.escape(s)}</p>" for s in executive_summary(m, inputs.assignment))
    verdict = html.escape(str(ab.get("verdict_reason", "")))
    body = {
        "summary": f'<div id="executive-summary">\n{summary}\n</div>',
        "headline": f'<table id="headline">\n{rows}\n</table>',
        "segments": f"{fig('pca.png', 'cluster_sizes.png', 'segment_sizes.png', 'perk_mix.png')}"
        f"\n<h3>Segment summary</h3>\n{summary_section(inputs.summary)}",
        "k-selection": fig("k_selection.png"),
        "rules-vs-ml": f"{fig('contingency.png')}\n<h3>Recommendations</h3>\n"
        f"{recommendations_section(m.get('compare', {}))}",
        "ab-test": f"{fig('ab_lift.png')}\n<h3>Verdict</h3>\n"
        f'<p id="verdict">{verdict}</p>\n{ab_verdict_section(ab)}\n'
        f"<h3>Power and minimum detectable effect</h3>\n{ab_power_section(ab)}",
        "exports": exports_section(inputs),
    }
    shown = SECTIONS
    if inputs.timings:
        body["timings"] = timings_section(inputs.timings)
        shown = (*SECTIONS, ("timings", "Where the time went"))
    nav = " | ".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title in shown)
    sections = "\n".join(
        f'<section id="{sid}">\n<h2>{html.escape(title)}</h2>\n{body[sid]}\n</section>'
        for sid, title in shown
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>TravelTide segmentation report</title>
<style>
body {{ font-family: sans-serif; max-width: 1150px; margin: 2em auto; color: #222;
  line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }}
th {{ text-align: left; }}
figure {{ display: inline-block; margin: 8px; vertical-align: top; max-width: 560px; }}
figure img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85em; color: #555; }}
#executive-summary {{ background: #f4f7fb; padding: 0.5em 1em; border-left: 4px solid #4a7ab5; }}
nav {{ font-size: 0.9em; }}
</style></head>
<body>
<h1>TravelTide segmentation report</h1>
<nav>{nav}</nav>
{sections}
</body></html>
"""
