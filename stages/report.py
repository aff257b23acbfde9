"""DVC stage report: one self-contained HTML page and its plots as PNG."""

import pandas as pd

from traveltide.io import read_json, write_bytes, write_text
from traveltide.report import ReportInputs, make_plots, render_html
from traveltide.stage import run_stage

STAGES = ("extract", "data_quality", "features", "segment_rules", "cluster", "compare", "ab_test")


def main(params, paths):
    metrics = {name: read_json(paths.metrics_dir / f"{name}.json") for name in STAGES}
    inputs = ReportInputs(
        metrics=metrics,
        k_table=pd.read_csv(paths.k_selection),
        contingency=pd.read_csv(paths.contingency, index_col="segment"),
        ab_arms=pd.read_csv(paths.ab_arms),
    )
    plots = make_plots(inputs)
    for name, png in plots.items():
        write_bytes(png, paths.plots / name)
    write_text(render_html(inputs, plots), paths.report)


if __name__ == "__main__":
    run_stage(
        "report", main, ["metrics_dir", "k_selection", "contingency", "ab_arms", "plots", "report"]
    )
