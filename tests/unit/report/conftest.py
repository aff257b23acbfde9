"""The A/B metrics of every verdict scenario (report_inputs.VERDICTS), computed once."""

from __future__ import annotations

import pytest

from report_inputs import ab_metrics_by_verdict


@pytest.fixture(scope="session")
def ab_by_verdict() -> dict[str, dict]:
    return ab_metrics_by_verdict()
