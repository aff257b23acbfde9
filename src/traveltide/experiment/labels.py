"""The words of the A/B verdict shared by the analysis and the recommendation: the verdicts
that name no arm, and each decision metric in a head of marketing's words.

A module of its own, without statistics imports, so the report's exports can apply the
decision without loading SciPy and statsmodels.
"""

NO_DIFFERENCE = "no significant difference"
INCONCLUSIVE = "inconclusive"
TIE = "tie"  # a treatment beats control, but none is shown to beat the other treatments
METRIC_WORDS = {
    "conversion": "conversion",
    "revenue": "revenue per user",
    "net_value": "net value per user (revenue minus perk cost)",
}
