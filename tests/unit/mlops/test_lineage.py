"""Dataset lineage: the md5s dvc.lock records, checked against the files a run logs."""

import hashlib
from pathlib import Path

import pytest

from traveltide.errors import DataError
from traveltide.mlops.lineage import dvc_digest, dvc_out_hashes


def test_dvc_out_hashes_reads_every_stage_output(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text(
        """schema: '2.0'
stages:
  extract:
    cmd: python stages/extract.py
    deps:
    - path: data/raw/traveltide
      md5: 11111111111111111111111111111111.dir
    outs:
    - path: data/interim/cohort.parquet
      hash: md5
      md5: 38789afc4b752e0ada9ba63e000150b1
      size: 10
  features:
    outs:
    - path: data/features/user_features.parquet
      md5: '33333333333333333333333333333333'  # DVC quotes all-digit hashes
"""
    )
    assert dvc_out_hashes(lock) == {
        "data/interim/cohort.parquet": "38789afc4b752e0ada9ba63e000150b1",
        "data/features/user_features.parquet": "33333333333333333333333333333333",
    }
    assert dvc_out_hashes(tmp_path / "missing.lock") == {}
    lock.write_text("stages: [unclosed")
    with pytest.raises(DataError, match="dvc.lock: not valid YAML"):
        dvc_out_hashes(lock)


def test_dvc_digest_is_the_md5_dvc_records_and_flags_a_stale_lock(tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = Path("data/features/user_features.parquet")
    table.parent.mkdir(parents=True)
    table.write_bytes(b"some parquet bytes")
    md5 = hashlib.md5(b"some parquet bytes").hexdigest()
    assert dvc_digest(table, {table.as_posix(): md5}) == md5
    assert dvc_digest(table, {}) == md5
    with caplog.at_level("WARNING"):
        assert dvc_digest(table, {table.as_posix(): "0" * 32}) == md5
    assert "dvc.lock records md5 " + "0" * 32 in caplog.text
