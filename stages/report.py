"""DVC stage report: the self-contained HTML page, its plots as PNG, the tables behind DVC's
plots, and the exports a marketing team takes away (docs/report.md)."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.report.publish import publish
from traveltide.stage import run_stage


def main(params, paths):
    publish(paths)


if __name__ == "__main__":
    run_stage(
        "report",
        main,
        [
            "metrics_dir",
            "k_selection",
            "contingency",
            "ab_arms",
            "features",
            "rules",
            "clusters",
            "plots",
            "plot_data",
            "report",
            "exports",
        ],
    )
