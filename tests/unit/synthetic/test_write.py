"""What the generate stage writes: the tables, personas and metrics files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from traveltide.config import GenerateConfig
from traveltide.io import read_json, read_parquet, write_parquet
from traveltide.schema import TABLES
from traveltide.synthetic import write
from traveltide.synthetic.fidelity import FidelityFigure, fidelity_report
from traveltide.synthetic.generate import SyntheticDatabase, chunk_bounds, generate
from traveltide.synthetic.outputs import GenerateOutputs
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
    written = write_database(config, outputs)
    db = generate(config)
    assert sorted(p.name for p in outputs.database.iterdir()) == sorted(
        f"{t}.parquet" for t in TABLES
    )
    files = {outputs.database / f"{t}.parquet": getattr(db, t) for t in TABLES}
    files[outputs.personas] = db.personas
    for path, frame in files.items():  # one chunk: the bytes of the whole frame written alone
        alone = tmp_path / "alone" / path.name
        write_parquet(frame, alone)
        assert path.read_bytes() == alone.read_bytes(), path
    rows = {t: len(getattr(db, t)) for t in TABLES}
    assert written.rows == rows
    assert read_json(outputs.metrics) == {"scale": 0.001, "seed": 5, "rows": rows}
    report = fidelity_report(db, scale=config.scale)
    figures = report.figures
    written_json = read_json(outputs.fidelity)
    assert written_json["figures_total"] == len(figures) > 0
    assert written_json["figures_ok"] == sum(f.ok for f in figures)
    assert list(written_json["figures"]) == sorted(f.name for f in figures)
    for values in written_json["figures"].values():
        assert set(values) == {"target", "value", "tolerance", "ok"}
    assert set(written_json["distributions"]) == {d.name for d in report.distributions}
    for d in report.distributions:  # numbers only: each bin's target and value share
        entry = written_json["distributions"][d.name]
        assert entry["tvd"] == pytest.approx(d.tvd) and entry["users"] == d.users
        assert written_json["figures"][f"{d.name}_tvd"]["value"] == pytest.approx(d.tvd)
        assert list(entry["bins"]) == sorted(d.bins)
        assert [entry["bins"][b]["target"] for b in d.bins] == pytest.approx(d.target)
        assert sum(entry["bins"][b]["value"] for b in d.bins) == pytest.approx(1.0)


def test_chunks_write_the_rows_and_figures_of_the_whole_database(
    outputs: GenerateOutputs,
) -> None:
    config = GenerateConfig(seed=11, scale=0.002)
    budget = 2_000.0  # expected sessions per chunk: several chunks at this scale
    assert len(chunk_bounds(np.full(10, 1.0), 3.0)) == 4
    written = write_database(config, outputs, chunk_sessions=budget)
    whole = generate(config, chunk_sessions=budget)
    for table in TABLES:
        path = outputs.database / f"{table}.parquet"
        assert pq.ParquetFile(path).metadata.num_row_groups > 1, table
        pd.testing.assert_frame_equal(read_parquet(path, what=table), getattr(whole, table))
    pd.testing.assert_frame_equal(read_parquet(outputs.personas, what="personas"), whole.personas)
    expected = {f.name: f for f in fidelity_report(whole, scale=config.scale).figures}
    got = {f.name: f for f in written.fidelity.figures}
    assert got.keys() == expected.keys()
    for name, figure in expected.items():
        assert got[name].value == pytest.approx(figure.value, nan_ok=True), name


def test_a_failed_chunk_leaves_the_previous_database(
    outputs: GenerateOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_database(GenerateConfig(seed=5, scale=0.001), outputs)
    before = {p: p.read_bytes() for p in outputs.database.iterdir()}

    def failing(*args: object, **kwargs: object):
        yield generate(GenerateConfig(seed=6, scale=0.001))
        raise OSError("No space left on device")

    monkeypatch.setattr(write, "generate_chunks", failing)
    with pytest.raises(OSError):
        write_database(GenerateConfig(seed=6, scale=0.001), outputs)
    assert {p: p.read_bytes() for p in outputs.database.iterdir()} == before


def test_size_metrics_count_the_rows_of_the_four_tables(db: SyntheticDatabase) -> None:
    rows = {t: len(getattr(db, t)) for t in TABLES}
    metrics = size_metrics(GenerateConfig(seed=42, scale=0.02), rows)
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
