"""Generated databases shared by the generator's tests (built once per worker)."""

from __future__ import annotations

import pytest

from traveltide.config import GenerateConfig
from traveltide.synthetic.generate import SyntheticDatabase, generate


@pytest.fixture(scope="session")
def small_config() -> GenerateConfig:
    return GenerateConfig(seed=42, scale=0.02)


@pytest.fixture(scope="session")
def db(small_config: GenerateConfig) -> SyntheticDatabase:
    return generate(small_config)


@pytest.fixture(scope="session")
def moderate() -> tuple[SyntheticDatabase, float]:
    config = GenerateConfig(seed=7, scale=0.05)
    return generate(config), config.scale
