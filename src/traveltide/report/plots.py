"""The report's figures as PNG bytes, by file name (drawing: `traveltide.report.plotting`)."""

from __future__ import annotations

from traveltide.report import plots_ab, plots_groups
from traveltide.report.benchmark_view import has_benchmark, plot_benchmark
from traveltide.report.inputs import ReportInputs
from traveltide.report.names import segment_name


def make_plots(inputs: ReportInputs) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by file name, in reading order."""
    m = inputs.metrics
    names = inputs.group_names
    plots: dict[str, bytes] = {}
    segments = dict((m.get("segment_rules") or {}).get("segment_sizes") or {})
    if segments:
        ordered = dict(sorted(segments.items(), key=lambda kv: (-kv[1], kv[0])))
        labelled = {segment_name(s): n for s, n in ordered.items()}
        plots["segment_sizes.png"] = plots_groups.plot_sizes(labelled, "Customers per segment")
    mixes = plots_groups.perk_mixes(inputs)
    if mixes:
        plots["perk_mix.png"] = plots_groups.plot_perk_mix(mixes)
    clusters = dict((m.get("cluster") or {}).get("cluster_sizes") or {})
    if clusters:
        labelled = plots_groups.cluster_sizes(clusters, names)
        plots["cluster_sizes.png"] = plots_groups.plot_sizes(labelled, "Customers per ML group")
    if inputs.projection is not None and len(inputs.projection.points):
        plots["pca.png"] = plots_groups.plot_pca(inputs.projection, names)
    if not inputs.contingency.empty:
        plots["contingency.png"] = plots_groups.plot_contingency(inputs.contingency, names)
    lifts, unit = plots_ab.lift_rows(m.get("ab_test") or {})
    if not lifts.empty:
        plots["ab_lift.png"] = plots_ab.plot_ab_lift(lifts, unit)
    policy = plots_ab.policy_rows(inputs.policy_values)
    if policy is not None:
        plots["policy_value.png"] = plots_ab.plot_policy_value(*policy)
    if not inputs.k_table.empty and "k" in inputs.k_table:
        plots["k_selection.png"] = plots_groups.plot_k_selection(
            inputs.k_table, m.get("cluster") or {}
        )
    if inputs.benchmark is not None and has_benchmark(inputs.benchmark):
        plots["benchmark.png"] = plot_benchmark(inputs.benchmark)
    return plots
