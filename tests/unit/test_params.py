"""The generic reader behind every config block: types, constraints, nesting, unknown keys."""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import yaml

from traveltide.errors import ConfigError
from traveltide.params import (
    Block,
    Check,
    Identifier,
    Min,
    Positive,
    Range,
    flatten,
    read_params,
    reject,
)


def _even(value: Any, key: str) -> int:
    if not isinstance(value, int) or value % 2:
        reject(key, f"must be even, got {value!r}")
    return value * 10  # a Check returns the value the field keeps


@dataclass(frozen=True)
class Inner(Block, show_keys=True):
    ratio: Annotated[float, Range(0.0, 1.0)]
    name: Identifier


@dataclass(frozen=True)
class Plain(Block):
    flag: bool


@dataclass(frozen=True)
class Demo(Block, block="demo"):
    count: Annotated[int, Min(1)]
    share: Annotated[float, Range(0.5, None)]
    width: Annotated[float, Positive()]
    flag: bool
    label: str
    day: dt.date
    mode: Literal["fast", "slow"]
    maybe: Literal["x", "y"] | None
    sizes: tuple[Annotated[int, Min(0)], ...]
    even: Annotated[int, Check(_even)]
    inner: Inner
    plain: Plain

    def validate(self, path: str) -> None:
        if self.mode == "fast" and self.count > 10:
            reject(f"{path}.count", "must be <= 10 when fast")


def good() -> dict[str, Any]:
    return {
        "demo": {
            "count": 3,
            "share": 1,
            "width": 2,
            "flag": True,
            "label": "a b",
            "day": "2024-02-29",
            "mode": "fast",
            "maybe": None,
            "sizes": [0, 4],
            "even": 4,
            "inner": {"ratio": 0.25, "name": "col_1"},
            "plain": {"flag": False},
        }
    }


def with_value(dotted: str, value: Any) -> dict[str, Any]:
    params = good()
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value
    return params


def error(params: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        Demo.from_params(params)
    return str(info.value)


def test_reads_and_casts_every_kind_of_field():
    demo = Demo.from_params(good())
    assert demo == Demo(
        count=3,
        share=1.0,
        width=2.0,
        flag=True,
        label="a b",
        day=dt.date(2024, 2, 29),
        mode="fast",
        maybe=None,
        sizes=(0, 4),
        even=40,
        inner=Inner(ratio=0.25, name="col_1"),
        plain=Plain(flag=False),
    )
    assert type(demo.share) is float and type(demo.width) is float  # ints written for floats
    assert type(demo.sizes) is tuple
    assert Demo.from_params(with_value("demo.maybe", "y")).maybe == "y"
    assert Demo.from_params(with_value("demo.day", dt.date(2024, 1, 2))).day == dt.date(2024, 1, 2)


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        ("demo.count", 0, "demo.count must be >= 1, got 0"),
        ("demo.count", 2.0, "demo.count must be an integer, got 2.0"),
        ("demo.count", True, "demo.count must be an integer, got True"),
        ("demo.share", 0.25, "demo.share must be in [0.5, None], got 0.25"),
        ("demo.share", "1", "demo.share must be a number, got '1'"),
        ("demo.share", float("nan"), "demo.share must be a number, got nan"),
        ("demo.share", False, "demo.share must be a number, got False"),
        ("demo.width", 0, "demo.width must be > 0, got 0.0"),
        ("demo.width", -1.5, "demo.width must be > 0, got -1.5"),
        ("demo.flag", "yes", "demo.flag must be true or false, got 'yes'"),
        ("demo.label", 5, "demo.label must be a string, got 5"),
        ("demo.day", "29.02.2024", "demo.day must be an ISO date YYYY-MM-DD, got '29.02.2024'"),
        ("demo.day", "2023-02-29", "demo.day is not a valid date: '2023-02-29'"),
        ("demo.mode", "medium", "demo.mode must be one of fast, slow, got 'medium'"),
        ("demo.maybe", "z", "demo.maybe must be one of x, y, got 'z'"),
        ("demo.sizes", 4, "demo.sizes must be a list, got 4"),
        ("demo.sizes", [0, -1], "demo.sizes[1] must be >= 0, got -1"),
        ("demo.sizes", [0, "1"], "demo.sizes[1] must be an integer, got '1'"),
        ("demo.even", 3, "demo.even must be even, got 3"),
        ("demo.count", 11, "demo.count must be <= 10 when fast"),  # validate, across fields
    ],
)
def test_each_check_names_the_key_and_the_value(dotted, value, message):
    assert error(with_value(dotted, value)) == f"params.yaml: {message}"


def test_a_check_replaces_the_type_check():
    assert Demo.from_params(with_value("demo.even", 0)).even == 0
    assert error(with_value("demo.even", "2")) == "params.yaml: demo.even must be even, got '2'"


def test_nested_blocks_are_read_with_their_dotted_path():
    assert error(with_value("demo.inner.ratio", 2)) == (
        "params.yaml: demo.inner.ratio must be in [0.0, 1.0], got 2"
    )
    assert error(with_value("demo.inner.name", "a b")) == (
        "params.yaml: demo.inner.name must be an identifier, got 'a b'"
    )
    assert error(with_value("demo.plain.flag", 1)) == (
        "params.yaml: demo.plain.flag must be true or false, got 1"
    )


def test_a_malformed_nested_block_lists_its_keys_when_asked():
    assert error(with_value("demo.inner", [1])) == (
        "params.yaml: demo.inner must be a mapping {ratio, name}"
    )
    assert error(with_value("demo.plain", "x")) == "params.yaml: demo.plain must be a mapping"


def test_missing_key_and_block():
    params = good()
    del params["demo"]["inner"]["name"]
    assert error(params) == "params.yaml: missing key demo.inner.name"
    assert error({}) == "params.yaml: missing or malformed block 'demo'"
    assert error({"demo": [1]}) == "params.yaml: missing or malformed block 'demo'"


@pytest.mark.parametrize(
    ("dotted", "message"),
    [
        ("demo.cuont", "unknown key demo.cuont (did you mean demo.count?)"),
        ("demo.inner.ration", "unknown key demo.inner.ration (did you mean demo.inner.ratio?)"),
        ("demo.plain.zzz", "unknown key demo.plain.zzz (valid keys: flag)"),
    ],
)
def test_unknown_keys_name_the_closest_valid_one(dotted, message):
    assert error(with_value(dotted, 1)) == f"params.yaml: {message}"


def test_unknown_key_is_named_before_a_missing_one():
    """A misspelt key is also a missing one: the misspelling is the more useful line."""
    params = good()
    params["demo"]["cuont"] = params["demo"].pop("count")
    assert "unknown key demo.cuont (did you mean demo.count?)" in error(params)


def test_a_type_without_a_reader_is_a_programming_error():
    @dataclass(frozen=True)
    class Odd(Block, block="odd"):
        table: dict[str, int]

    with pytest.raises(TypeError, match=r"odd\.table: no reader for the type"):
        Odd.from_params({"odd": {"table": {"a": 1}}})


def test_string_annotations_are_evaluated(tmp_path, monkeypatch):
    """A block in a module with `from __future__ import annotations` is read the same way."""
    (tmp_path / "lazy_block.py").write_text(
        "from __future__ import annotations\n"
        "from dataclasses import dataclass\n"
        "from typing import Annotated\n"
        "from traveltide.params import Block, Min\n\n"
        "@dataclass(frozen=True)\n"
        "class Lazy(Block, block='lazy'):\n"
        "    n: Annotated[int, Min(2)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from lazy_block import Lazy

    assert Lazy.from_params({"lazy": {"n": 2}}).n == 2
    with pytest.raises(ConfigError, match=r"^params.yaml: lazy.n must be >= 2, got 1$"):
        Lazy.from_params({"lazy": {"n": 1}})


# ------------------------------------------------------------------------------ files


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("cluster:\n  k: 5\n   bad: [\n")
    with pytest.raises(ConfigError, match=r"params.yaml: malformed YAML at line \d+"):
        read_params(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_params(tmp_path / "nope.yaml")


def test_a_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping of parameter blocks"):
        read_params(path)


def test_flatten_is_dotted_and_complete():
    params = read_params("params.yaml")
    flat = flatten(params)
    assert flat["cluster.k"] == "7"
    assert flat["ab_test.response.base_rate"] == "0.1"
    leaves = 0

    def count(d):
        nonlocal leaves
        for v in d.values():
            if isinstance(v, dict):
                count(v)
            else:
                leaves += 1

    count(yaml.safe_load(Path("params.yaml").read_text()))
    assert len(flat) == leaves
