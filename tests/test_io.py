import pandas as pd
import pytest

from traveltide.io import atomic_path, to_json, write_parquet


def test_failed_write_leaves_previous_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def test_parquet_is_byte_identical(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    write_parquet(df, tmp_path / "1.parquet")
    write_parquet(df, tmp_path / "2.parquet")
    assert (tmp_path / "1.parquet").read_bytes() == (tmp_path / "2.parquet").read_bytes()


def test_json_is_stable_and_nan_free():
    assert to_json({"b": float("nan"), "a": 1}) == '{\n  "a": 1,\n  "b": null\n}\n'
