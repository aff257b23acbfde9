"""The queries' DuckDB SQL in Spark's dialect: sqlglot's translation plus the few functions it
leaves as DuckDB spells them.

sqlglot carries the syntax over (NULL ordering, `//`, casts, QUALIFY, ...). It passes unknown
functions through by name and writes DuckDB's `quantile_cont(x, q)` as the ordered-set form
Spark does not take, so `_RENAMED` and `_percentile` give Spark's function of the same meaning.
The queries keep to functions whose meaning is the same on both engines (day of week, for one,
is computed from epoch days: the engines number weekdays differently); the parity test
(tests/integration/test_spark_parity.py) runs every query on both.
"""

from __future__ import annotations

import functools
from typing import Any

# DuckDB function -> Spark function with the same arguments and meaning.
_RENAMED: dict[str, str] = {
    "EPOCH_US": "UNIX_MICROS",  # microseconds since 1970-01-01 00:00 (UTC sessions)
}


def _rewrite(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and str(node.this).upper() in _RENAMED:
        return exp.Anonymous(this=_RENAMED[str(node.this).upper()], expressions=node.expressions)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        # quantile_cont(x, q): linear interpolation between the closest ranks, as Spark's
        # percentile(x, q) (not percentile_approx)
        return exp.Anonymous(this="PERCENTILE", expressions=[node.this, node.expression])
    return node


@functools.lru_cache(maxsize=256)
def to_spark(sql: str) -> str:
    """`sql` (DuckDB's dialect) as Spark SQL."""
    import sqlglot

    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(_rewrite).sql(dialect="spark")
