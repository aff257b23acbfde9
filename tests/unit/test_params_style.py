"""params.yaml is written in the style DVC writes it, so `dvc exp run -S key=value` changes
one line: quotes, nulls, list layout and line width survive DVC's own round trip."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from dvc.utils.serialize import modify_yaml

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def _rewritten(tmp_path: Path, key: str | None, value: object) -> tuple[list[str], list[str]]:
    """params.yaml before and after DVC's writer sets `key` (dotted) to `value`."""
    copy = tmp_path / "params.yaml"
    shutil.copyfile(PARAMS, copy)
    with modify_yaml(copy) as data:
        if key is not None:
            *parents, leaf = key.split(".")
            for part in parents:
                data = data[part]
            data[leaf] = value
    return PARAMS.read_text().splitlines(), copy.read_text().splitlines()


def test_dvc_writes_params_yaml_back_unchanged(tmp_path: Path) -> None:
    before, after = _rewritten(tmp_path, None, None)
    assert after == before, "\n".join(difflib.unified_diff(before, after, lineterm=""))


@pytest.mark.parametrize(
    ("key", "value"),
    [("cluster.k", 5), ("cluster.algorithm", "gmm"), ("generate.seed", 7), ("cluster.pca", 0.9)],
)
def test_a_set_param_is_a_one_line_diff(tmp_path: Path, key: str, value: object) -> None:
    before, after = _rewritten(tmp_path, key, value)
    changed = [line for line in difflib.ndiff(before, after) if line[:1] in "+-"]
    assert len(changed) == 2, changed
    assert changed[1].startswith("+ ") and f"{key.rsplit('.', 1)[1]}: {value}" in changed[1]
