"""Every user's cluster, assigned by the fitted segmenter inside the engine: one SQL query over
the feature table, so no process holds the table of all users.

The segmenter's preprocessing is a chain of per-column affine maps and logs (the skew
transform, the scaler) and an optional linear map (PCA), and K-Means assignment is the nearest
centroid: `score_sql` writes all of it out with the fitted numbers as literals, in DuckDB's
dialect, which Spark runs through `engines.dialect` like the feature queries. Users get what
`Segmenter.predict` gives them (tested: the same labels). Scored here: kmeans and
minibatch_kmeans (their centroids) and agglomerative, dbscan and hdbscan (the segmenter's
centroids, its scoring rule); gmm and the quantile transform are not linear and stay in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from traveltide.engines.base import Engine, sql_string
from traveltide.errors import DataError

_MAX = "1.7976931348623157e308"
SCORED = ("kmeans", "minibatch_kmeans", "agglomerative", "dbscan", "hdbscan")


def number(value: float) -> str:
    """A float as an exact DOUBLE literal (exponent form: not DECIMAL), in parentheses."""
    value = float(value)
    if not np.isfinite(value):
        raise DataError(f"scoring: a fitted parameter is {value}")
    return f"({value!r}e0)" if "e" not in repr(value) else f"({value!r})"


def _steps(segmenter: Any) -> tuple[Any, Any, Any]:
    """The segmenter's skew transform, scaler and PCA (None when absent)."""
    steps = segmenter.preprocessor.named_steps
    transform, scaler = steps["transform"], steps["scale"]
    if not hasattr(transform, "columns_"):
        raise DataError("scoring in the engine: cluster.transform quantile is not supported")
    return transform, scaler, steps.get("pca")


def _scaled(segmenter: Any, column: str) -> list[str]:
    """Each feature as SQL after the skew transform and the scaler: z_i."""
    transform, scaler, _ = _steps(segmenter)
    logged = dict(zip(transform.columns_.tolist(), transform.scale_.tolist(), strict=True))
    centre = getattr(scaler, "mean_", None)
    if centre is None:
        centre = getattr(scaler, "center_", None)
    width = scaler.scale_
    out = []
    for i, name in enumerate(segmenter.features):
        x = f"CAST({column}{name} AS DOUBLE)"
        if i in logged:
            # np.clip(x, 0): negatives to 0, NULL and NaN kept (greatest would drop a NULL)
            clipped = f"CASE WHEN {x} < 0e0 THEN 0e0 ELSE {x} END"
            x = f"ln(1 + {clipped} / {number(logged[i])})"
        if centre is not None:
            x = f"({x} - {number(centre[i])})"
        if width is not None:
            x = f"({x} / {number(width[i])})"
        out.append(x)
    return out


def _projected(segmenter: Any, z: Sequence[str]) -> list[str]:
    """The scaled features through PCA (centred, times the components), or as they are."""
    _, _, pca = _steps(segmenter)
    if pca is None:
        return list(z)
    mean = pca.mean_
    return [
        " + ".join(f"({z[i]} - {number(mean[i])}) * {number(w)}" for i, w in enumerate(component))
        for component in pca.components_
    ]


def centroids_of(segmenter: Any) -> np.ndarray:
    """The centroids users are assigned to: K-Means' centers, else the segmenter's own."""
    if segmenter.algorithm not in SCORED:
        raise DataError(
            f"scoring in the engine: cluster.algorithm {segmenter.algorithm} is not supported"
        )
    model = segmenter.model
    if model is not None and hasattr(model, "cluster_centers_"):
        return np.asarray(model.cluster_centers_, dtype=float)
    if segmenter.centroids is None or len(segmenter.centroids) == 0:
        raise DataError("no cluster centroid to assign users to")
    return np.asarray(segmenter.centroids, dtype=float)


def argmin_sql(distances: Sequence[str]) -> str:
    """The index of the smallest of `distances` (column names), ties to the lower index."""
    if len(distances) == 1:
        return "0"

    def smallest(rest: Sequence[str]) -> str:  # Spark's least needs two arguments or more
        return rest[0] if len(rest) == 1 else f"least({', '.join(rest)})"

    whens = [
        f"WHEN {d} <= {smallest(distances[j + 1 :])} THEN {j}" for j, d in enumerate(distances[:-1])
    ]
    return f"CASE {' '.join(whens)} ELSE {len(distances) - 1} END"


def score_sql(segmenter: Any, features: str) -> str:
    """user_id and cluster of every row of the view `features`, sorted by user_id; cluster is
    NULL where a feature is NULL or not finite."""
    centres = centroids_of(segmenter)
    x = _projected(segmenter, _scaled(segmenter, "f."))
    dims = ", ".join(f"{expr} AS x{i}" for i, expr in enumerate(x))
    names = [f"d{k}" for k in range(len(centres))]
    dist = ", ".join(
        " + ".join(f"(x{i} - {number(c)}) * (x{i} - {number(c)})" for i, c in enumerate(centre))
        + f" AS {names[k]}"
        for k, centre in enumerate(centres)
    )
    finite = " AND ".join(f"{n} < {_MAX}" for n in names)  # NaN compares above every double
    return (
        f"WITH projected AS (SELECT f.user_id, {dims} FROM {features} f), "
        f"distances AS (SELECT user_id, {dist} FROM projected) "
        f"SELECT user_id, CASE WHEN {finite} THEN {argmin_sql(names)} END AS cluster "
        "FROM distances ORDER BY user_id"
    )


def labelled_sql(segmenter: Any, scores: str) -> str:
    """user_id, cluster (int64), cluster_name and perk from the view `scores` (`score_sql`)."""

    def mapping(values: dict[int, str]) -> str:
        whens = " ".join(f"WHEN {int(k)} THEN {sql_string(str(v))}" for k, v in values.items())
        return f"CASE cluster {whens} END"

    return (
        "SELECT user_id, CAST(cluster AS BIGINT) AS cluster, "
        f"{mapping(segmenter.names)} AS cluster_name, {mapping(segmenter.perks)} AS perk "
        f"FROM {scores} ORDER BY user_id"
    )


def check_scored(engine: Engine, view: str) -> None:
    """Every user got a cluster; else name how many did not (a NaN or NULL feature)."""
    ((unscored,),) = engine.rows(f"SELECT count(*) FROM {view} WHERE cluster IS NULL")
    if unscored:
        raise DataError(f"scoring: {unscored} users have a NULL, NaN or infinite feature")


def score_file(engine: Engine, segmenter: Any, features: Path, target: Path) -> None:
    """The clusters file (user_id, cluster, cluster_name, perk) of every user of the feature
    table `features`, assigned by `segmenter`, written by the engine."""
    columns = engine.load("features", features, what="features' user table")
    missing = [name for name in segmenter.features if name not in columns]
    if missing:
        raise DataError(f"score input: missing feature column(s) {', '.join(missing)}")
    engine.view("scores", score_sql(segmenter, "features"))
    engine.write(
        labelled_sql(segmenter, "scores"), target, check=lambda view: check_scored(engine, view)
    )
