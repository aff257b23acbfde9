"""Per-user latent traits: persona means times individual factors, deterministic by seed."""

from __future__ import annotations

import numpy as np
import pytest

from traveltide.config import PERKS
from traveltide.synthetic.latents import BOOK_REFERENCE, PROPENSITY_SHAPE, draw_latents
from traveltide.synthetic.personas import PERSONAS, persona_param

N = 70_000


@pytest.fixture(scope="module")
def persona() -> np.ndarray:
    return np.repeat(np.arange(len(PERSONAS)), N // len(PERSONAS))


def test_traits_have_the_persona_means(persona: np.ndarray) -> None:
    t = draw_latents(np.random.default_rng(0), persona)
    for code in range(len(PERSONAS)):
        mine = persona == code
        book = persona_param("book")[code] / BOOK_REFERENCE
        assert t.propensity[mine].mean() == pytest.approx(book, rel=0.01)
        assert t.cancel[mine].mean() == pytest.approx(persona_param("cancel")[code], rel=0.02)
        assert t.spend[mine].mean() == pytest.approx(persona_param("spend")[code], rel=0.02)
        assert np.median(t.bag[mine]) == pytest.approx(persona_param("bag")[code], abs=0.01)
    own = t.propensity / (persona_param("book")[persona] / BOOK_REFERENCE)
    assert own.std() == pytest.approx(PROPENSITY_SHAPE**-0.5, rel=0.05)  # Gamma mixing, cv
    shares = persona_param("share")
    assert np.dot(persona_param("book"), shares) / shares.sum() == pytest.approx(BOOK_REFERENCE)


def test_traits_are_valid_and_deterministic(persona: np.ndarray) -> None:
    t = draw_latents(np.random.default_rng(0), persona)
    again = draw_latents(np.random.default_rng(0), persona)
    for name, value in vars(t).items():
        assert np.array_equal(value, vars(again)[name]), name
        assert len(value) == len(persona) and np.isfinite(value).all(), name
    assert t.mix.shape == (len(persona), 3) and np.allclose(t.mix.sum(axis=1), 1.0)
    assert t.affinity.shape == (len(persona), len(PERKS))
    assert (t.deal > 0).all() and (t.deal < 1).all()
    assert (t.flight_discount <= 0.9).all() and (t.hotel_discount <= 0.9).all()
    assert (t.propensity > 0).all() and (t.spend > 0).all() and (t.cancel > 0).all()


def test_affinity_follows_the_trait_its_perk_serves(persona: np.ndarray) -> None:
    t = draw_latents(np.random.default_rng(1), persona)
    a = dict(zip(PERKS, t.affinity.T, strict=True))
    within = persona == PERSONAS.index("luxury")  # one persona: no persona-mean effect
    assert np.corrcoef(a["free_hotel_meal"][within], np.log(t.spend[within]))[0, 1] > 0.4
    assert np.corrcoef(a["no_cancellation_fees"][within], t.cancel[within])[0, 1] > 0.3
    assert np.corrcoef(a["exclusive_discounts"][within], t.deal[within])[0, 1] > 0.3
    assert np.corrcoef(a["free_checked_bag"][within], t.bag[within])[0, 1] > 0.3
