"""Read a config dataclass from its params.yaml block, checking every value on the way in.

A field says what it accepts with its type, narrowed by constraints in `Annotated` (in the
spirit of scikit-learn's `_parameter_constraints`), so the rule sits next to the default:

    seed: Annotated[int, Min(0)] = 42
    quantile: Annotated[float, Range(0.5, 1.0)] = 0.99
    k: Annotated[int | Literal["auto"], Check(_k)] = 7

The type gives the basic check: bool, int, float, str, `datetime.date`, a `Literal`'s choices,
`X | None`, `tuple[X, ...]` (a YAML list) and a nested `Block` (a YAML mapping, read the same
way). `Min`, `Range` and `Positive` narrow it; `Check` replaces it with a function for the few
values no type describes. A block's `validate` runs once its fields are read, for checks that
span fields. Keys no field reads are errors too. Every failure is one ConfigError line naming
the dotted key, e.g. ``params.yaml: cluster.k must be >= 2, got 1``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import (
    Annotated,
    Any,
    ClassVar,
    Literal,
    NoReturn,
    Self,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import yaml

from traveltide.errors import ConfigError
from traveltide.nested import leaves

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reject(key: str, problem: str) -> NoReturn:
    """Raise the one-line error about the value at dotted `key`."""
    raise ConfigError(f"params.yaml: {key} {problem}")


# ------------------------------------------------------------------------------ constraints
# Plain classes, not dataclasses: every stage imports them, and a dataclass costs its import.


class Min:
    """An integer >= `least`."""

    def __init__(self, least: int) -> None:
        self.least = least

    def __call__(self, value: Any, key: str) -> Any:
        if value < self.least:
            reject(key, f"must be >= {self.least}, got {value}")
        return value


class Range:
    """A number in [`low`, `high`]; a bound left as None is open."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low, self.high = low, high

    def __call__(self, value: Any, key: str) -> Any:
        too_low = self.low is not None and value < self.low
        if too_low or (self.high is not None and value > self.high):
            reject(key, f"must be in [{self.low}, {self.high}], got {value}")
        return value


class Positive:
    """A number > 0."""

    def __call__(self, value: Any, key: str) -> Any:
        if value <= 0:
            reject(key, f"must be > 0, got {float(value)}")
        return value


class Check:
    """`fn(value, key)` checks the raw value instead of the field's type and returns it, cast."""

    def __init__(self, fn: Callable[[Any, str], Any]) -> None:
        self.fn = fn


def identifier(value: Any, key: str) -> str:
    """A name that may reach SQL or a column lookup: letters, digits and underscores."""
    if not isinstance(value, str) or not _NAME.match(value):
        reject(key, f"must be an identifier, got {value!r}")
    return value


Identifier = Annotated[str, Check(identifier)]
Share = Annotated[float, Range(0.0, 1.0)]  # a probability or a share
Lift = Annotated[float, Range(-1.0, 1.0)]  # a change of a probability


# ------------------------------------------------------------------------------ by type


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        reject(key, f"must be true or false, got {value!r}")
    return value


def _integer(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        reject(key, f"must be an integer, got {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    """A finite int or float, returned as given: a range error shows the value as written."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        reject(key, f"must be a number, got {value!r}")
    return value


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        reject(key, f"must be a string, got {value!r}")
    return value


def _date(value: Any, key: str) -> dt.date:
    """A date YAML parsed already, or an ISO date string."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        reject(key, f"must be an ISO date YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"params.yaml: {key} is not a valid date: {value!r}") from exc


_BY_TYPE: dict[Any, Callable[[Any, str], Any]] = {
    bool: _boolean,
    int: _integer,
    float: _number,
    str: _string,
    dt.date: _date,
}


def _choice(options: tuple[str, ...], value: Any, key: str) -> str:
    if value not in options:
        reject(key, f"must be one of {', '.join(options)}, got {value!r}")
    return value


def read_value(hint: Any, value: Any, key: str) -> Any:
    """`value` checked against a field's type `hint` (with its constraints) and cast to it."""
    constraints: tuple[Any, ...] = ()
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        constraints = tuple(extras)
    custom = [c for c in constraints if isinstance(c, Check)]
    if custom:
        return custom[0].fn(value, key)
    value = _read_type(hint, value, key)
    for constraint in constraints:
        value = constraint(value, key)
    return float(value) if hint is float else value


def _read_type(hint: Any, value: Any, key: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint in _BY_TYPE:
        return _BY_TYPE[hint](value, key)
    if origin is Literal:
        return _choice(args, value, key)
    if origin in (Union, types.UnionType) and type(None) in args and len(args) == 2:
        inner = next(a for a in args if a is not type(None))
        return None if value is None else read_value(inner, value, key)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, list):
            reject(key, f"must be a list, got {value!r}")
        return tuple(read_value(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and issubclass(hint, Block):
        return hint.from_block(value, key)
    raise TypeError(f"{key}: no reader for the type {hint!r}; annotate it with Check(...)")


# ------------------------------------------------------------------------------ blocks


def reject_unknown(mapping: dict[Any, Any], known: Iterable[str], path: str = "") -> None:
    """A key no field reads (a typo, a stale name) is an error naming the closest valid key."""
    prefix = f"{path}." if path else ""
    valid = list(known)
    for key in mapping:
        if key not in valid:
            import difflib  # only an error needs it

            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = (
                f"did you mean {prefix}{close[0]}?" if close else f"valid keys: {', '.join(valid)}"
            )
            raise ConfigError(f"params.yaml: unknown key {prefix}{key} ({hint})")


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    """Each field's type. String annotations (`from __future__ import annotations`) are
    evaluated here, a cost at every stage's start that config.py avoids with plain ones."""
    hints = {f.name: f.type for f in fields(cls)}
    if any(isinstance(hint, str) for hint in hints.values()):
        hints = get_type_hints(cls, include_extras=True)
    return hints


class Block:
    """Base of the config dataclasses: read from a params.yaml mapping, one key per field.

    `class ClusterConfig(Block, block="cluster")` reads the top-level block `cluster` (nested
    blocks name none); `show_keys=True` makes the error for a malformed mapping list its keys.
    """

    BLOCK: ClassVar[str] = ""
    SHOW_KEYS: ClassVar[bool] = False

    def __init_subclass__(cls, *, block: str = "", show_keys: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.BLOCK, cls.SHOW_KEYS = block, show_keys

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Self:
        """The class's `BLOCK` of params.yaml, checked."""
        block = params.get(cls.BLOCK)
        if not isinstance(block, dict):
            raise ConfigError(f"params.yaml: missing or malformed block '{cls.BLOCK}'")
        return cls.from_block(block, cls.BLOCK)

    @classmethod
    def from_block(cls, block: Any, path: str) -> Self:
        """The mapping `block` found at dotted `path`, checked field by field, then `validate`."""
        assert is_dataclass(cls), f"{cls.__name__} must be a dataclass"
        names = [f.name for f in fields(cls)]
        if not isinstance(block, dict):
            keys = f" {{{', '.join(names)}}}" if cls.SHOW_KEYS else ""
            reject(path, f"must be a mapping{keys}")
        reject_unknown(block, names, path)
        hints = _hints(cls)
        values = {}
        for name in names:
            key = f"{path}.{name}"
            if name not in block:
                raise ConfigError(f"params.yaml: missing key {key}")
            values[name] = read_value(hints[name], block[name], key)
        config = cls(**values)
        config.validate(path)
        return config

    def validate(self, path: str) -> None:
        """Checks across fields, once each field is read; `path` is the block's dotted key."""


# ------------------------------------------------------------------------------ files


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Parse params.yaml into a dict; a missing or malformed file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of parameter blocks")
    return data


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested params to dotted keys (MLflow params): lists become their JSON-ish repr."""
    return {name: str(value) for name, value in leaves(params, prefix)}
