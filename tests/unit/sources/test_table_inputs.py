"""The tables to load as chunked readers: regrouping, casting and header checks."""

import pandas as pd
import pyarrow as pa
import pytest

from support import write_csvs
from traveltide.errors import DataError
from traveltide.io import row_groups
from traveltide.schema import TABLES
from traveltide.sources.table_inputs import cast_chunk, check_csv_header, csv_input


def frames_of(db) -> dict[str, pd.DataFrame]:
    """A few rows of each table: the header checks read no further."""
    return {t: getattr(db, t).head(5) for t in TABLES}


def test_row_groups_regroups_rows_in_order():
    batches = [pa.record_batch({"x": list(range(a, b))}) for a, b in [(0, 3), (3, 4), (4, 11)]]
    out = list(row_groups(batches, 4))
    assert [t.num_rows for t in out] == [4, 4, 3]
    assert sum((t.column("x").to_pylist() for t in out), []) == list(range(11))


def test_a_value_that_cannot_be_stored_names_table_and_column(small_db):
    users = pa.Table.from_pandas(small_db.users.head(3), preserve_index=False)
    assert cast_chunk(users, "users").column_names == list(TABLES["users"])
    column = next(c for c, logical in TABLES["users"].items() if logical == "int")
    bad = users.set_column(
        users.column_names.index(column), column, pa.array(["x", "1", "2"], pa.string())
    )
    with pytest.raises(DataError, match=rf"users\.{column}: cannot store string as int"):
        cast_chunk(bad, "users")


def test_csv_header_mismatch_names_file_and_column(small_db, tmp_path):
    frames = frames_of(small_db)
    frames["hotels"] = frames["hotels"].drop(columns="nights")
    with pytest.raises(DataError, match=r"hotels\.csv: missing column 'nights'"):
        csv_input(write_csvs(frames, tmp_path / "a"))
    frames = frames_of(small_db)
    frames["users"] = frames["users"].assign(loyalty_tier="gold")
    with pytest.raises(DataError, match=r"users\.csv: unexpected column 'loyalty_tier'"):
        csv_input(write_csvs(frames, tmp_path / "b"))
    with pytest.raises(DataError, match=r"flights\.csv: duplicate column 'seats'"):
        check_csv_header([*TABLES["flights"], "seats"], "flights", "flights.csv")
