"""The `engine` block of params.yaml: which engine runs the clean and features stages, and
where Spark runs (docs/spark.md). traveltide.config re-exports it with the other blocks."""

# No `from __future__ import annotations`: the reader takes the fields' types as objects.
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from traveltide.params import Block, Check, reject

EngineName = Literal["duckdb", "spark"]

# local, local[4], local[*], local[4,2]; spark://h:7077[,h2:7077]; sc://h[:15002][/;k=v];
# yarn; k8s://https://h:443
_MASTER = re.compile(
    r"^(local(\[(\d+|\*)(,\d+)?\])?|yarn|spark://[\w.\-]+(:\d+)?(,[\w.\-]+(:\d+)?)*"
    r"|sc://[\w.\-]+(:\d+)?(/(;[\w\-]+=[^;\s]*)*)?|k8s://\S+)$"
)
_CONF_KEY = re.compile(r"^spark\.[\w.\-]+$")


def _master(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _MASTER.match(value):
        reject(
            key,
            "must be local[N], spark://host:port, yarn, k8s://..., or a Spark Connect URL "
            f"sc://host:15002, got {value!r}",
        )
    if re.search(r";\s*token=", value, flags=re.IGNORECASE):
        reject(
            key,
            "must not carry a token: set the SPARK_CONNECT_AUTHENTICATE_TOKEN environment "
            "variable instead (params are logged to MLflow)",
        )
    return value


def _conf(value: Any, key: str) -> dict[str, str]:
    """Spark settings passed to the session as they are: `spark.*` keys, scalar values."""
    if not isinstance(value, dict):
        reject(key, f"must map spark.* settings to values, got {value!r}")
    out = {}
    for name, setting in value.items():
        if not isinstance(name, str) or not _CONF_KEY.match(name):
            reject(f"{key}.{name}", "is not a Spark setting (spark.*)")
        if isinstance(setting, dict | list) or setting is None:
            reject(f"{key}.{name}", f"must be a string, number or boolean, got {setting!r}")
        out[name] = str(setting).lower() if isinstance(setting, bool) else str(setting)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class SparkConfig(Block, show_keys=True):
    """Where Spark runs: `master` (a local session, a cluster, or Spark Connect) and any Spark
    settings (`conf`), e.g. `spark.driver.memory` or `spark.executor.memory`."""

    master: Annotated[str, Check(_master)] = "local[2]"
    conf: Annotated[dict[str, str], Check(_conf)] = field(
        default_factory=lambda: {"spark.driver.memory": "2g"}
    )


@dataclass(frozen=True)
class EngineConfig(Block, block="engine"):
    """The engine of the clean and features stages: DuckDB in process (the default), or Spark
    for data that outgrows one machine. Both run the same SQL (traveltide.features)."""

    name: EngineName = "duckdb"
    spark: SparkConfig = field(default_factory=SparkConfig)
