"""The response model: outcomes drawn from latent truth, with known potential outcomes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from traveltide.errors import ConfigError, DataError
from traveltide.experiment.simulate import (
    AFFINITY,
    ResponseModel,
    behaviour_truth,
    latent_truth,
    potential_outcomes,
    simulate_outcomes,
)

PERKS = ("p1", "p2", "no_cancellation_fees")
MODEL = ResponseModel(
    base_rate=0.10,
    affinity_effect=0.5,
    propensity_effect=1.0,
    no_perk_effect=-0.3,
    noise_sd=0.0,
    revenue_mean=320.0,
    revenue_sd=90.0,
    cancel_rate=0.05,
    cancel_lift=0.05,
    seed=4,
)


def truth(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {
            "user_id": np.arange(n),
            "persona": "x",
            "propensity": rng.gamma(4, 0.25, n),
            "spend": rng.lognormal(0, 0.3, n),
        }
    )
    for perk in PERKS:
        out[AFFINITY + perk] = rng.normal(size=n)
    return out


def table(n: int, perk) -> pd.DataFrame:
    return pd.DataFrame({"user_id": np.arange(n), "group": "A", "perk": perk})


class TestPotentialOutcomes:
    def test_logistic_model_by_hand(self):
        t = truth(50)
        po = potential_outcomes(t, model=MODEL, perks=PERKS)
        base = special.logit(0.10) + np.log(t["propensity"].to_numpy())
        expected = special.expit(base[:, None] + 0.5 * t[[AFFINITY + p for p in PERKS]])
        assert po.options == (*PERKS, "none")
        assert po.conversion[:, :3] == pytest.approx(expected.to_numpy())
        assert po.conversion[:, 3] == pytest.approx(special.expit(base - 0.3))
        assert po.cancel[0] == pytest.approx([0.05, 0.05, 0.10, 0.05])
        assert po.booking_value == pytest.approx(320 * t["spend"].to_numpy())

    def test_expected_net_value(self):
        po = potential_outcomes(truth(20), model=MODEL, perks=PERKS)
        costs = {"p1": 10.0, "p2": 0.0, "no_cancellation_fees": 5.0}
        e = po.expected(costs)
        kept = po.conversion * (1 - po.cancel) * po.booking_value[:, None]
        assert e["revenue"] == pytest.approx(kept)
        assert e["net_value"] == pytest.approx(kept - po.conversion * [10.0, 0.0, 5.0, 0.0])


class TestSimulateOutcomes:
    def test_rates_and_revenue_follow_the_potential_outcomes(self):
        n = 60_000
        t = truth(n, seed=1)
        po = potential_outcomes(t, model=MODEL, perks=PERKS)
        for j, perk in enumerate(PERKS):
            out = simulate_outcomes(table(n, perk), t, model=MODEL, perks=PERKS)
            p = po.conversion[:, j].mean()
            assert abs(out["converted"].mean() - p) < 4 * math.sqrt(p * (1 - p) / n), perk
            kept = out["converted"] & ~out["cancelled"]
            cancel = out.loc[out["converted"], "cancelled"].mean()
            assert cancel == pytest.approx(po.cancel[0, j], abs=0.02)
            assert (out.loc[~kept, "revenue"] == 0).all() and (out.loc[kept, "revenue"] > 0).all()
            expected = (po.conversion[:, j] * (1 - po.cancel[:, j]) * po.booking_value).mean()
            assert out["revenue"].mean() == pytest.approx(expected, rel=0.05)

    def test_common_random_numbers_across_perks(self):
        """A user's draws are the same whatever perk: with a higher probability under p2,
        whoever converts under p1 also converts under p2."""
        t = truth(5_000)
        for perk in PERKS:
            t[AFFINITY + perk] = 0.0
        t[AFFINITY + "p2"] = 1.0
        low = simulate_outcomes(table(5_000, "p1"), t, model=MODEL, perks=PERKS)
        high = simulate_outcomes(table(5_000, "p2"), t, model=MODEL, perks=PERKS)
        assert (high["converted"] | ~low["converted"]).all()
        assert high["converted"].sum() > low["converted"].sum()

    def test_deterministic_row_order_free_and_seeded(self):
        t = truth(3_000)
        perk = np.array(PERKS, dtype=object)[np.arange(3_000) % 3]
        a = simulate_outcomes(table(3_000, perk), t, model=MODEL, perks=PERKS)
        again = simulate_outcomes(table(3_000, perk), t, model=MODEL, perks=PERKS)
        other = simulate_outcomes(table(3_000, perk), t, model=MODEL, perks=PERKS, seed=9)
        pd.testing.assert_frame_equal(a, again)
        assert not a["converted"].equals(other["converted"])
        order = np.random.default_rng(0).permutation(3_000)
        shuffled = simulate_outcomes(
            table(3_000, perk).iloc[order].reset_index(drop=True),
            t.iloc[order].reset_index(drop=True),
            model=MODEL,
            perks=PERKS,
        )
        assert shuffled["converted"].to_numpy() == pytest.approx(a["converted"].to_numpy()[order])

    def test_no_perk_and_constant_revenue(self):
        flat = ResponseModel(0.3, 0.0, 0.0, 0.0, 0.0, 100.0, 0.0)
        t = truth(20_000).assign(spend=1.0)
        out = simulate_outcomes(table(20_000, None), t, model=flat, perks=PERKS)
        assert out["converted"].mean() == pytest.approx(0.3, abs=0.015)
        assert set(out.loc[out["revenue"] > 0, "revenue"]) == {100.0}

    def test_truth_must_match_the_table(self):
        with pytest.raises(DataError, match="truth rows"):
            simulate_outcomes(table(10, "p1"), truth(11), model=MODEL, perks=PERKS)
        with pytest.raises(DataError, match="'perk'"):
            simulate_outcomes(
                table(10, "p1").drop(columns="perk"), truth(10), model=MODEL, perks=PERKS
            )

    @pytest.mark.parametrize(
        ("field", "value"),
        [("base_rate", 1.0), ("revenue_mean", 0.0), ("noise_sd", -0.1), ("cancel_lift", 0.99)],
    )
    def test_bad_model(self, field, value):
        kwargs = dict(
            base_rate=0.1,
            affinity_effect=0.4,
            propensity_effect=1.0,
            no_perk_effect=-0.2,
            noise_sd=0.3,
            revenue_mean=320.0,
            revenue_sd=90.0,
            cancel_rate=0.04,
            cancel_lift=0.04,
        )
        kwargs[field] = value
        with pytest.raises(ConfigError, match=field):
            ResponseModel(**kwargs)


class TestTruth:
    def test_latent_truth_aligned_to_the_users(self):
        t = truth(10)
        users = pd.Series([7, 2, 5])
        out = latent_truth(users, t.sample(frac=1, random_state=1), PERKS)
        assert out["user_id"].tolist() == [7, 2, 5]
        assert out["spend"].tolist() == t.set_index("user_id").loc[[7, 2, 5], "spend"].tolist()

    def test_an_external_database_has_no_truth(self):
        with pytest.raises(DataError, match="empty.*fit_source: behaviour"):
            latent_truth(pd.Series([1]), truth(0), PERKS)

    @pytest.mark.parametrize(
        ("change", "needle"),
        [
            (lambda t: t.drop(columns=AFFINITY + "p2"), "'affinity_p2'"),
            (lambda t: t[t["user_id"] != 3], "no row for 1 cohort user"),
            (lambda t: t.assign(propensity=0.0), "'propensity'"),
            (lambda t: t.assign(spend=np.nan), "'spend'"),
        ],
    )
    def test_bad_truth_is_one_line(self, change, needle):
        with pytest.raises(DataError, match=needle) as info:
            latent_truth(pd.Series(range(5)), change(truth(5)), PERKS)
        assert "\n" not in str(info.value)

    def test_behaviour_truth_is_the_clipped_signal_z_score(self):
        features = pd.DataFrame({"user_id": range(6), "a": [0.0, 1, 2, 3, 4, 100], "b": 1.0})
        signals = {"p1": "a", "p2": "b", "no_cancellation_fees": "a"}
        out = behaviour_truth(features, signals, PERKS)
        z = (features["a"] - features["a"].mean()) / features["a"].std(ddof=0)
        assert out[AFFINITY + "p1"].tolist() == pytest.approx(np.clip(z, -3, 3).tolist())
        assert (out[AFFINITY + "p2"] == 0).all() and (out["propensity"] == 1).all()
        with pytest.raises(DataError, match="perks.signals"):
            behaviour_truth(features, {"p1": "a"}, PERKS)
