"""Checking the report's numbers against the pipeline's outputs, independently of the report.

Every number of the report's opening answers is a span `<span class="n" data-src=...
data-value=... data-fmt=...>text</span>` (traveltide.report.formatting.tagged). `Sources`
resolves a data-src from the outputs themselves (metrics, the rewards assignment, the segment
summary, the policy values), and `check_numbers` asserts that each value equals its source and
that each text is that value written in its format, parsing the text back here rather than
calling the report's own formatter.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

SPAN = re.compile(
    r'<span class="n" data-src="([^"]*)" data-value="([^"]*)" data-fmt="([^"]*)">([^<]*)</span>'
)
# a number the answers may print without a source: the confidence level of every range
CONSTANT_WORDS = ("95% range",)


@dataclass(frozen=True)
class Sources:
    """The pipeline outputs a data-src names."""

    metrics: Mapping[str, Any]  # by stage: metrics merged with summaries
    assignment: pd.DataFrame  # rewards_assignment
    summary: pd.DataFrame  # segment_summary
    policy_values: pd.DataFrame | None

    def _rows(self, filters: str) -> pd.Series:
        mask = pd.Series(True, index=self.assignment.index)
        for part in filter(None, filters.split(";")):
            negate = "!=" in part
            column, value = part.split("!=" if negate else "=", 1)
            values = value.split(",") if negate else [value]
            hit = self.assignment[column].astype(str).isin(values)
            mask &= ~hit if negate else hit
        return mask

    def resolve(self, src: str) -> float:
        kind, _, rest = src.partition(":")
        if kind == "m":
            stage, _, path = rest.partition(".")
            value: Any = self.metrics[stage]
            for key in path.split("."):
                value = value[int(key)] if isinstance(value, list) else value[key]
            return float(value)
        if kind == "a":
            return float(self._rows(rest).sum())
        if kind == "s":
            part, whole = rest.split("|")
            return float(self._rows(part).sum() / self._rows(whole).sum())
        if kind == "e":
            _, filters, column = rest.split(":")
            rows = self.summary
            for f in filters.split(";"):
                key, value = f.split("=")
                rows = rows[rows[key].astype(str) == value]
            assert len(rows) == 1, src
            return float(rows[column].iloc[0])
        if kind in ("p", "t"):
            parts = rest.split(":")
            table = self.policy_values
            assert table is not None, src
            policy, estimator, metric = parts[:3]
            row = table[
                (table["policy"] == policy)
                & (table["estimator"] == estimator)
                & (table["metric"] == metric)
            ]
            assert len(row) == 1, src
            if kind == "p":
                return float(row[parts[3]].iloc[0])
            return float(row["estimate"].iloc[0]) * len(self.assignment)
        raise AssertionError(f"unknown data-src {src!r}")


def _parse(text: str, fmt: str) -> tuple[float, float]:
    """The number a text shows and half its last digit's unit (the rounding it allows)."""
    sign = -1.0 if text.startswith("-") else 1.0
    digits = re.sub(r"[^0-9.]", "", text.replace(" points", ""))
    number = sign * float(digits)
    decimals = len(digits.partition(".")[2])
    half = 0.5 * 10.0**-decimals
    if fmt in ("pct0", "pct1", "pts1", "size1"):
        return number / 100, half / 100
    if fmt == "top":
        return 1 - number / 100, half / 100
    if fmt == "g3":
        return number, half
    return number, half


def check_numbers(fragment: str, sources: Sources) -> int:
    """Assert every tagged number of `fragment` equals its source and reads as its value, and
    that no other number is printed; returns how many numbers were checked."""
    found = SPAN.findall(fragment)
    for src, value, fmt, text in found:
        text = html.unescape(text)
        expected = sources.resolve(html.unescape(src))
        assert math.isclose(float(value), expected, rel_tol=1e-9, abs_tol=1e-12), (
            src,
            value,
            expected,
        )
        shown, half = _parse(text, fmt)
        assert abs(shown - float(value)) <= half * (1 + 1e-9) + 1e-12, (src, text, value)
    bare = html.unescape(re.sub(r"<[^>]+>", " ", SPAN.sub(" ", fragment)))
    for words in CONSTANT_WORDS:
        bare = bare.replace(words, "")
    untagged = re.findall(r".{0,30}\d.{0,30}", bare)
    assert not untagged, f"numbers without a source: {untagged[:5]}"
    return len(found)


def pipeline_sources(root: Path) -> Sources:
    """The numbers a report may quote, read from the pipeline's files themselves."""
    metrics: dict[str, dict] = {}
    for folder in ("metrics", "data/summary"):
        for path in sorted((root / folder).glob("*.json")):
            metrics.setdefault(path.stem, {}).update(json.loads(path.read_text()))
    summary = root / "data/ab/summary.json"
    if summary.exists():
        metrics["ab_test"].update(json.loads(summary.read_text()))
    policy = root / "data/ab/policy_values.csv"
    return Sources(
        metrics,
        pd.read_csv(root / "data/exports/rewards_assignment.csv", keep_default_na=False),
        pd.read_csv(root / "data/exports/segment_summary.csv"),
        pd.read_csv(policy) if policy.exists() else None,
    )
