"""The report's A/B sections, fed with the metrics the analysis and the plan write."""

from __future__ import annotations

from traveltide.experiment.analysis import analyse, comparison_pairs
from traveltide.experiment.power import power_analysis
from traveltide.report.sections import ab_power_section, ab_verdict_section

WEIGHTS = {"A": 1.0, "B": 1.0, "C": 1.0}


def metrics(make_table, counts) -> dict:
    res = analyse(make_table(counts), weights=WEIGHTS)
    plan = power_analysis(
        {g: n for g, (n, _) in counts.items()},
        baseline_rate=0.1,
        mde=0.02,
        correction="bonferroni",
        pairs=comparison_pairs(WEIGHTS),
    )
    return {**res.to_dict(), **plan.to_dict()}


class TestReportSections:
    def test_verdict_and_power_tables(self, make_table):
        m = metrics(make_table, {"A": (4000, 440), "B": (4000, 640), "C": (4000, 400)})
        verdict = ab_verdict_section(m)
        assert "<strong>Winner: B</strong>" in verdict
        assert verdict.count("<tr>") == 1 + 3  # header + A vs C, B vs C, B vs A
        assert f"{100 * m['B_vs_A_lift_abs']:+.2f} pts" in verdict
        assert "no mismatch" in verdict
        power = ab_power_section(m)
        assert power.count("<tr>") == 1 + 3
        assert f"{100 * m['B_vs_A_power']:.1f}%" in power
        assert "Bonferroni over 3" in power

    def test_sections_survive_edge_cases(self, make_table):
        m = metrics(make_table, {"A": (0, 0), "B": (300, 0), "C": (300, 0)})
        verdict = ab_verdict_section(m)
        assert "has no users" in verdict and "inconclusive" in verdict
        assert "has no users" in ab_power_section(m)
        assert "n/a" in ab_verdict_section({})
