"""The A/B stage's figures on the synthetic tables (report_inputs), computed once."""

from __future__ import annotations

import pytest

from report_inputs import ab_figures


@pytest.fixture(scope="session")
def ab() -> dict:
    return ab_figures()
