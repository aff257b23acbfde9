from decimal import Decimal

import pandas as pd
import pytest

from traveltide.io import atomic_path, round_float, to_json, write_csv, write_parquet


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


# Two Davies-Bouldin values of the same clustering, computed with OpenBLAS's AVX2 and its
# pre-AVX (Nehalem) kernels: they differ in the last bits only.
SAME_SCORE = (1.8490518699258225, 1.8490518699258232)


def test_json_floats_do_not_carry_the_last_bits():
    texts = {to_json({"davies_bouldin": v}) for v in SAME_SCORE}
    assert texts == {'{\n  "davies_bouldin": 1.84905187\n}\n'}


def test_csv_floats_do_not_carry_the_last_bits(tmp_path):
    for i, v in enumerate(SAME_SCORE):
        frame = pd.DataFrame({"k": [7, 8], "db": [v, float("nan")], "name": ["a", "b"]})
        write_csv(frame, tmp_path / f"{i}.csv")
    first, second = ((tmp_path / f"{i}.csv").read_text() for i in range(2))
    assert first == second == "k,db,name\n7,1.84905187,a\n8,,b\n"


@pytest.mark.parametrize("value", [1 / 3, -2.5e-300, 6.02214076e23, 0.1 + 0.2, 123456789012.5])
def test_round_float_keeps_ten_significant_digits(value):
    rounded = round_float(value)
    assert rounded == float(format(Decimal(value), ".9e"))  # decimal's own rounding
    assert abs(rounded - value) <= abs(value) * 5e-10


def test_csv_rounds_nullable_float_columns_and_keeps_their_missing_values(tmp_path):
    frame = pd.DataFrame(
        {
            "db": pd.array([SAME_SCORE[0], None], dtype="Float64"),
            "f32": pd.Series([1 / 3, float("nan")], dtype="float32"),
        }
    )
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "db,f32\n1.84905187,0.3333333433\n,\n"
