"""The cohort's truth streamed from the personas file (traveltide.sources.truth_file): the bytes
`write_parquet(cohort_truth(...))` gives, and the same errors."""

import pandas as pd
import pytest

from traveltide.errors import DataError
from traveltide.io import read_parquet, write_parquet
from traveltide.sources import truth_file as streaming
from traveltide.sources.truth import cohort_truth


def written(tmp_path, personas, users, known=True, name="streamed"):
    path = tmp_path / "personas.parquet"
    write_parquet(personas, path)
    personas = read_parquet(path, what="personas")
    target = tmp_path / f"{name}.parquet"
    streaming.truth_file(path, users, target, known=known)
    expected = tmp_path / f"{name}-frame.parquet"
    write_parquet(cohort_truth(personas, users, known=known), expected)
    return target.read_bytes(), expected.read_bytes()


@pytest.mark.parametrize("known", [True, False])
def test_the_file_is_write_parquet_of_the_frame(small_db, tmp_path, monkeypatch, known):
    monkeypatch.setattr(streaming, "BATCH", 1000)  # users fall in several batches
    users = pd.Series(sorted(small_db.personas["user_id"].sample(3000, random_state=1)))
    got, expected = written(tmp_path, small_db.personas, users, known)
    assert got == expected


def test_errors_are_cohort_truths(small_db, tmp_path):
    personas = small_db.personas
    users = pd.Series(sorted(personas["user_id"].iloc[10:500]))
    twin = pd.concat([personas.iloc[:50], personas.iloc[49:]], ignore_index=True)
    gone = personas[personas["user_id"] != users.iloc[7]]
    for name, table in {"twin": twin, "gone": gone}.items():
        path = tmp_path / f"{name}.parquet"
        write_parquet(table, path)
        with pytest.raises(DataError) as expected:
            cohort_truth(read_parquet(path, what="personas"), users, known=True)
        with pytest.raises(DataError) as got:
            streaming.truth_file(path, users, tmp_path / "truth.parquet", known=True)
        assert str(got.value) == str(expected.value), name
        assert not (tmp_path / "truth.parquet").exists()
