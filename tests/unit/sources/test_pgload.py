"""`traveltide db load` without a server: where a COPY error is, and an unreachable server."""

import pytest

from traveltide.errors import ConfigError, SourceError
from traveltide.sources.pgload import copy_error_where, load_tables
from traveltide.sources.source import redact_url
from traveltide.sources.table_inputs import database_input


def test_copy_error_row_counts_over_chunks():
    assert copy_error_where('COPY users, line 3, column user_id: "x"', 400) == (
        " (row 403, column user_id)"
    )
    assert copy_error_where("COPY users, line 2", 0) == " (row 2)"
    assert copy_error_where(None, 5) == ""


def test_unreachable_server_is_one_line_without_password(small_db):
    url = "postgresql://alice:hunter2@127.0.0.1:1/traveltide"
    with pytest.raises(SourceError) as err:
        load_tables(url, database_input(small_db), progress=False)
    message = str(err.value)
    assert "127.0.0.1:1/traveltide" in message
    assert "hunter2" not in message and "\n" not in message
    assert "hunter2" not in redact_url(url) and "alice" in redact_url(url)


def test_unknown_type_set_is_refused_before_connecting(small_db):
    with pytest.raises(
        ConfigError, match=r"types must be one of standard, real, narrow, got 'wide'"
    ):
        load_tables("postgresql://x@127.0.0.1:1/tt", database_input(small_db), types="wide")
