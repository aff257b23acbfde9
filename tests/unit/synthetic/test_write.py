"""What the generate stage writes: the tables, personas and metrics, or placeholders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from traveltide.config import GenerateConfig
from traveltide.io import read_json, write_parquet
from traveltide.schema import TABLES
from traveltide.synthetic.fidelity import FidelityFigure, fidelity
from traveltide.synthetic.generate import SyntheticDatabase
from traveltide.synthetic.outputs import SKIPPED_NOTE, GenerateOutputs, write_skipped
from traveltide.synthetic.write import fidelity_metrics, size_metrics, write_database


@pytest.fixture()
def outputs(tmp_path: Path) -> GenerateOutputs:
    return GenerateOutputs(
        database=tmp_path / "db",
        personas=tmp_path / "personas.parquet",
        metrics=tmp_path / "metrics" / "generate.json",
        fidelity=tmp_path / "metrics" / "generator_fidelity.json",
    )


def test_write_database_writes_every_table_personas_and_metrics(
    outputs: GenerateOutputs, tmp_path: Path
) -> None:
    config = GenerateConfig(seed=5, scale=0.001)
    db = write_database(config, outputs)
    assert sorted(p.name for p in outputs.database.iterdir()) == sorted(
        f"{t}.parquet" for t in TABLES
    )
    files = {outputs.database / f"{t}.parquet": getattr(db, t) for t in TABLES}
    files[outputs.personas] = db.personas
    for path, frame in files.items():  # the two writer threads change no byte
        alone = tmp_path / "alone" / path.name
        write_parquet(frame, alone)
        assert path.read_bytes() == alone.read_bytes(), path
    assert read_json(outputs.metrics) == {
        "scale": 0.001,
        "seed": 5,
        "rows": {t: len(getattr(db, t)) for t in TABLES},
    }
    figures = fidelity(db, scale=config.scale)
    written = read_json(outputs.fidelity)
    assert written["figures_total"] == len(figures) > 0
    assert written["figures_ok"] == sum(f.ok for f in figures)
    assert list(written["figures"]) == sorted(f.name for f in figures)
    for values in written["figures"].values():
        assert set(values) == {"target", "value", "tolerance", "ok"}


def test_size_metrics_count_the_rows_of_the_four_tables(db: SyntheticDatabase) -> None:
    metrics = size_metrics(GenerateConfig(seed=42, scale=0.02), db)
    assert metrics == {
        "scale": 0.02,
        "seed": 42,
        "rows": {
            "users": len(db.users),
            "sessions": len(db.sessions),
            "flights": len(db.flights),
            "hotels": len(db.hotels),
        },
    }


def test_fidelity_metrics_count_figures_and_drop_the_name_from_each() -> None:
    figures = [
        FidelityFigure("users_rows", target=100.0, value=101.0, tolerance=5.0, ok=True),
        FidelityFigure("sessions_rows", target=500.0, value=400.0, tolerance=10.0, ok=False),
    ]
    assert fidelity_metrics(figures) == {
        "figures_ok": 1,
        "figures_total": 2,
        "figures": {
            "users_rows": {"target": 100.0, "value": 101.0, "tolerance": 5.0, "ok": True},
            "sessions_rows": {"target": 500.0, "value": 400.0, "tolerance": 10.0, "ok": False},
        },
    }


def test_write_skipped_leaves_a_note_empty_personas_and_metrics_that_say_why(
    outputs: GenerateOutputs,
) -> None:
    write_skipped(outputs)
    assert [p.name for p in outputs.database.iterdir()] == ["NOT_GENERATED.txt"]
    note = (outputs.database / "NOT_GENERATED.txt").read_text()
    assert note == SKIPPED_NOTE and "TRAVELTIDE_DB_URL" in note
    personas = pd.read_parquet(outputs.personas)
    assert list(personas.columns) == ["user_id", "persona"] and personas.empty
    assert personas["user_id"].dtype == "int64"
    assert pd.api.types.is_string_dtype(personas["persona"].dtype)
    expected = {"skipped": True, "reason": "external source (TRAVELTIDE_DB_URL)"}
    assert read_json(outputs.metrics) == expected
    assert read_json(outputs.fidelity) == expected
