"""DVC stage report: the self-contained HTML page, its plots as PNG, the tables behind DVC's
plots, and the exports a marketing team takes away (docs/report.md)."""

import gc

if __name__ == "__main__":  # no collections while the imports below run (traveltide.stage)
    gc.disable()

from traveltide.report.publish import publish
from traveltide.stage import run_stage

PATHS = ("metrics_dir", "summary_dir", "ab_summary", "policy_values", "k_selection")
PATHS += ("contingency", "ab_arms", "features", "rules", "clusters", "benchmark")
PATHS += ("plots", "plot_data", "report", "exports")


def main(params, paths):
    publish(paths)


if __name__ == "__main__":
    run_stage("report", main, PATHS)
