"""The feature catalog: complete, in sync with the table and params.yaml, and the docs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from feature_cases import tiny_features
from traveltide.config import PerksConfig, RulesConfig
from traveltide.features.catalog import (
    CATALOG,
    FEATURE_NAMES,
    GROUPS,
    catalog_frame,
    catalog_markdown,
    main,
)

ROOT = Path(__file__).resolve().parents[3]


# Names that params.yaml rules, perks.signals and earlier consumers rely on: never drop one.
ORIGINAL_39 = (
    "n_sessions",
    "total_page_clicks",
    "avg_page_clicks",
    "avg_session_seconds",
    "conversion_rate",
    "browse_only_ratio",
    "weekend_share",
    "n_trips",
    "n_flights",
    "n_hotels",
    "package_share",
    "n_cancelled_trips",
    "cancellation_rate",
    "flight_discount_share",
    "hotel_discount_share",
    "avg_flight_discount",
    "avg_hotel_discount",
    "ads_usd",
    "total_km",
    "avg_km",
    "ads_per_km",
    "bargain_hunter_index",
    "flight_spend_usd",
    "hotel_spend_usd",
    "total_spend_usd",
    "avg_base_fare_usd",
    "avg_hotel_price_usd",
    "avg_seats",
    "avg_bags",
    "one_way_share",
    "avg_rooms",
    "avg_nights",
    "avg_lead_days",
    "age_years",
    "married",
    "has_children",
    "tenure_days",
    "recency_days",
    "rfm_score",
)


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return tiny_features()


def test_catalog_is_complete_and_in_sync_with_the_table(tiny):
    assert len(CATALOG) >= 50
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert set(ORIGINAL_39) <= set(FEATURE_NAMES)
    assert {f.group for f in CATALOG} == set(GROUPS)
    assert all(f.definition.strip() and f.unit.strip() for f in CATALOG)
    assert list(tiny.reset_index().columns) == ["user_id", *FEATURE_NAMES]
    assert (tiny.dtypes == "float64").all()
    assert catalog_frame()["name"].tolist() == list(FEATURE_NAMES)


def test_every_feature_params_yaml_names_exists():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    used = {r.feature for r in RulesConfig.from_params(params).priority}
    used |= set(PerksConfig.from_params(params).signals.values())
    assert used <= set(FEATURE_NAMES)


def test_committed_docs_equal_the_generated_catalog(tmp_path):
    committed = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert committed == catalog_markdown(), (
        "docs/features.md is stale: "
        "python -m traveltide.features.catalog --write-docs docs/features.md"
    )
    main(["--write-docs", str(tmp_path / "f.md")])
    assert (tmp_path / "f.md").read_text(encoding="utf-8") == committed
    for f in CATALOG:
        assert f"| `{f.name}` | {f.group} |" in committed
