"""The appendix's glossary: each statistical term the report uses, in a sentence or two."""

from __future__ import annotations

import html

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "95% range (confidence interval)",
        "The values the data cannot rule out at the 5% level; a range that excludes 0 means "
        "the difference is unlikely to be chance.",
    ),
    ("Percentage point", "The difference between two percentages: 12% to 15% is +3 points."),
    (
        "Silhouette",
        "How much closer customers are to their own ML group than to the next one, from -1 "
        "to 1; near 0 means the groups overlap.",
    ),
    (
        "Calinski-Harabasz, Davies-Bouldin",
        "Two other measures of how separate the groups are: higher Calinski-Harabasz and "
        "lower Davies-Bouldin are better.",
    ),
    (
        "ARI (adjusted Rand index)",
        "How far two groupings of the same customers agree: 1 is the same grouping, 0 is "
        "what chance gives. Used for rules vs ML, for stability (refits on resampled "
        "customers) and against the synthetic personas.",
    ),
    (
        "NMI, AMI, Fowlkes-Mallows",
        "Other agreement measures between two groupings, each 1 for identical groupings.",
    ),
    (
        "Personas",
        "The customer types the synthetic data was generated from: known only because the "
        "data is synthetic, so they show how well the ML groups find real structure.",
    ),
    (
        "PCA (principal components)",
        "A two-dimensional picture of many features at once, for looking only.",
    ),
    (
        "z-test, Fisher exact test",
        "Tests of whether two shares of customers who booked differ by more than chance; "
        "Fisher's is used when the counts are small.",
    ),
    (
        "Newcomb interval",
        "The 95% range of a difference between two shares (Newcomb's hybrid Wilson score "
        "method), accurate also for small shares.",
    ),
    (
        "Holm, Bonferroni, Benjamini-Hochberg",
        "Corrections for testing several comparisons at once, so that the chance of a false "
        "alarm stays at the chosen level; Bonferroni is the simplest and most cautious, Holm "
        "is never less powerful, Benjamini-Hochberg controls the share of false alarms.",
    ),
    (
        "Welch t-test, Mann-Whitney U test",
        "Tests of a difference in revenue per customer: Welch's compares means without "
        "assuming equal spread, Mann-Whitney compares the whole distributions by rank.",
    ),
    (
        "Sample ratio mismatch (SRM)",
        "A chi-square check that the groups have the sizes the random split intended; a "
        "mismatch means the split went wrong and the results are not trusted.",
    ),
    (
        "Power, minimum detectable effect",
        "Power is the chance the test sees a lift of the planned size; the minimum detectable "
        "effect is the smallest lift it sees with the planned power.",
    ),
    (
        "Policy value (IPW, self-normalised IPW, doubly robust)",
        "What a way of giving perks would earn per customer, estimated from the customers who "
        "got a random perk by reweighting them (inverse propensity weighting); the doubly "
        "robust estimate adds a model of the outcome and stays right if either part is.",
    ),
)


def glossary_html() -> str:
    """The glossary as a definition list."""
    items = "\n".join(
        f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY
    )
    return f'<dl id="glossary">\n{items}\n</dl>'
