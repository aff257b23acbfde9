"""Latent personas: a separate ground-truth table, one perk each, and distinct behaviour."""

from __future__ import annotations

from traveltide.config import PERKS
from traveltide.schema import TABLES
from traveltide.synthetic.generate import SyntheticDatabase
from traveltide.synthetic.personas import PERSONA_PERK, PERSONAS


def test_persona_table_is_separate_and_covers_every_user(db: SyntheticDatabase) -> None:
    p = db.personas
    assert list(p.columns) == ["user_id", "persona"]
    assert p["user_id"].tolist() == db.users["user_id"].tolist()
    assert set(p["persona"]) == set(PERSONAS)
    for table in TABLES:
        assert "persona" not in getattr(db, table).columns
    assert set(PERSONA_PERK) == set(PERSONAS)
    assert set(PERSONA_PERK.values()) == set(PERKS)  # every perk has a persona


def test_personas_differ_in_behaviour(moderate: tuple[SyntheticDatabase, float]) -> None:
    db, _ = moderate
    s = db.sessions.merge(db.personas, on="user_id")
    trips = s[s["trip_id"].notna() & ~s["cancellation"]]
    seats = trips.merge(db.flights, on="trip_id").groupby("persona")["seats"].mean()
    assert seats["family"] > 2.5 and seats["couple"] == 2 and seats["business"] == 1
    conversion = trips.groupby("persona").size() / s.groupby("persona").size()
    assert conversion["business"] > 1.5 * conversion["senior"] > 10 * conversion["dreamer"]
    deal_share = trips.groupby("persona")["flight_discount"].mean()
    assert deal_share["budget_hunter"] > 0.9 > 0.2 > deal_share["luxury"]
    cancel = s.groupby("persona")["cancellation"].sum()
    assert cancel["business"] > cancel.drop("business").sum()
    ages = db.users.merge(db.personas, on="user_id").groupby("persona")["birthdate"].median()
    assert ages["senior"] < ages["luxury"] < ages["business"] < ages["budget_hunter"]
