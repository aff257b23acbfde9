"""The response model and the hash-based simulation of outcomes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.simulate import ResponseModel, simulate_outcomes

PERKS = np.array(["p1", "p2", "p3", "p4", "p5"])
MODEL = ResponseModel(
    base_rate=0.10, fit_lift=0.06, any_perk_lift=0.02, revenue_mean=320.0, revenue_sd=90.0, seed=4
)


def sim_table(n: int) -> pd.DataFrame:
    """A third no perk (None / "none" / NaN), a third fitting perk, a third unfitting perk."""
    ids = np.arange(n)
    fit = PERKS[ids % 5]
    kind = ids % 3
    perk = np.where(kind == 1, fit, PERKS[(ids + 1) % 5]).astype(object)
    nothing = np.array([None, "none", np.nan], dtype=object)[(ids // 3) % 3]
    perk[kind == 0] = nothing[kind == 0]
    return pd.DataFrame(
        {"user_id": ids, "group": np.array(["C", "B", "A"])[kind], "perk": perk, "fit_perk": fit}
    )


class TestSimulateOutcomes:
    def test_rates_follow_the_model(self):
        out = simulate_outcomes(sim_table(90_000), model=MODEL)
        expected = {
            "C": MODEL.base_rate - MODEL.any_perk_lift,  # no perk
            "B": MODEL.base_rate + MODEL.fit_lift,  # fitting perk
            "A": MODEL.base_rate,
        }  # unfitting perk
        for group, p in expected.items():
            rate = out.loc[out.group == group, "converted"].mean()
            assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / 30_000), group

    def test_revenue_zero_unless_converted_and_moments(self):
        out = simulate_outcomes(sim_table(90_000), model=MODEL)
        assert (out.loc[~out.converted, "revenue"] == 0).all()
        paid = out.loc[out.converted, "revenue"]
        assert (paid > 0).all()
        assert paid.mean() == pytest.approx(MODEL.revenue_mean, rel=0.02)
        assert paid.std() == pytest.approx(MODEL.revenue_sd, rel=0.08)

    def test_deterministic_row_order_free_and_seeded(self):
        table = sim_table(3_000)
        a = simulate_outcomes(table, model=MODEL)
        b = simulate_outcomes(table.sample(frac=1.0, random_state=2), model=MODEL)
        c = simulate_outcomes(table, model=MODEL, seed=MODEL.seed + 1)
        assert a.equals(simulate_outcomes(table, model=MODEL))
        assert a.equals(b.sort_index())
        assert not a["converted"].equals(c["converted"])
        assert "converted" not in table.columns  # the input is not mutated

    def test_noise_keeps_mean_rate(self):
        noisy = ResponseModel(0.3, 0.0, 0.0, 100.0, 0.0, noise_sd=0.1, seed=1)
        out = simulate_outcomes(sim_table(60_000).assign(perk="p1"), model=noisy)
        assert out.converted.mean() == pytest.approx(0.3, abs=0.01)
        assert set(out.loc[out.converted, "revenue"]) == {100.0}  # sd 0: constant revenue

    def test_missing_column(self):
        with pytest.raises(DataError, match="fit_perk"):
            simulate_outcomes(sim_table(10).drop(columns="fit_perk"), model=MODEL)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("base_rate", 1.5),
            ("revenue_mean", 0.0),
            ("revenue_sd", -1.0),
            ("noise_sd", -0.1),
            ("fit_lift", "x"),
            ("seed", 1.5),
        ],
    )
    def test_bad_model(self, field, value):
        kwargs = dict(
            base_rate=0.1, fit_lift=0.06, any_perk_lift=0.02, revenue_mean=320.0, revenue_sd=90.0
        )
        kwargs[field] = value
        with pytest.raises(ConfigError, match=field):
            ResponseModel(**kwargs)
