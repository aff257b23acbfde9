"""Every user's cluster, assigned by the fitted segmenter inside the engine: one SQL query over
the feature table, so no process holds the table of all users.

The segmenter's preprocessing is a chain of per-column affine maps and logs (the skew
transform, the scaler) and an optional linear map (PCA), and K-Means assignment is the nearest
centroid: `score_sql` writes all of it out with the fitted numbers as literals, in DuckDB's
dialect, which Spark runs through `engines.dialect` like the feature queries. Users get what
`Segmenter.predict` gives them (tested: the same labels). Scored here: kmeans and
minibatch_kmeans (their centroids), agglomerative, dbscan and hdbscan (the segmenter's
centroids, its scoring rule) and gmm (the argmax of each component's weighted log density, a
quadratic form in the projected features). The quantile transform is not a closed form: a
segmenter that uses it is scored in Python (`scorable` says why).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from traveltide.config import EngineConfig
from traveltide.engines.base import Engine, sql_string
from traveltide.engines.session import open_engine
from traveltide.errors import DataError

log = logging.getLogger(__name__)

# Every user's cluster in the feature file's row order, or None to label them in Python.
Labeller = Callable[[Any], "np.ndarray | None"]

_MAX = "1.7976931348623157e308"
SCORED = ("kmeans", "minibatch_kmeans", "agglomerative", "dbscan", "hdbscan", "gmm")


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


def scorable(segmenter: Any) -> str | None:
    """Why `segmenter` cannot be scored in SQL, or None when it can."""
    if segmenter.algorithm not in SCORED:
        return f"cluster.algorithm {segmenter.algorithm} is not supported"
    if not hasattr(segmenter.preprocessor.named_steps["transform"], "columns_"):
        return "cluster.transform quantile is not supported"
    return None


def _gmm_costs(model: Any, x: Sequence[str]) -> list[str]:
    """Per component, minus its weighted log density up to a shared constant (so the argmin is
    GaussianMixture.predict): 0.5 |(x - mean) P|^2 - log det P - log weight, P the precision's
    Cholesky factor of the covariance type (full, tied, diag, spherical)."""
    means, chol, kind = model.means_, np.asarray(model.precisions_cholesky_), model.covariance_type
    n, d = means.shape
    if kind == "full":
        factors = list(chol)
    elif kind == "tied":
        factors = [chol] * n
    elif kind == "diag":
        factors = [np.diag(row) for row in chol]
    else:  # spherical
        factors = [np.eye(d) * value for value in chol]
    costs = []
    for k in range(n):
        P = factors[k]
        centred = [f"(x{i} - {number(means[k, i])})" for i in range(d)]
        squares = []
        for j in range(d):
            terms = [f"{centred[i]} * {number(P[i, j])}" for i in range(d) if P[i, j] != 0.0]
            if terms:
                y = " + ".join(terms)
                squares.append(f"({y}) * ({y})")
        log_det = float(np.sum(np.log(np.diag(P))))
        constant = -log_det - float(np.log(model.weights_[k]))
        costs.append(f"0.5e0 * ({' + '.join(squares) or '0e0'}) + {number(constant)}")
    return costs


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


def _distances(segmenter: Any, x: Sequence[str]) -> list[str]:
    """Per cluster, what its users are nearest to: the squared distance to its centroid, or
    for gmm the component's cost (`_gmm_costs`)."""
    if segmenter.algorithm == "gmm":
        return _gmm_costs(segmenter.model, x)
    return [
        " + ".join(f"({x[i]} - {number(c)}) * ({x[i]} - {number(c)})" for i, c in enumerate(centre))
        for centre in centroids_of(segmenter)
    ]


def score_sql(segmenter: Any, features: str) -> str:
    """user_id and cluster of every row of the view `features`, sorted by user_id; cluster is
    NULL where a feature is NULL or not finite."""
    why = scorable(segmenter)
    if why:
        raise DataError(f"scoring in the engine: {why}")
    x = _projected(segmenter, _scaled(segmenter, "f."))
    dims = ", ".join(f"{expr} AS x{i}" for i, expr in enumerate(x))
    costs = _distances(segmenter, [f"x{i}" for i in range(len(x))])
    names = [f"d{k}" for k in range(len(costs))]
    dist = ", ".join(f"{cost} AS {name}" for cost, name in zip(costs, names, strict=True))
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


def engine_labels(engine: Engine, segmenter: Any, features: Path, scratch: Path) -> np.ndarray:
    """Every user's cluster by `score_sql`, run by `engine` over the feature file `features`,
    in the file's row order (the scores go through a file in the folder `scratch`)."""
    import pyarrow.parquet as pq

    target = scratch / "scores.parquet"
    engine.load("features", features, what="features' user table")
    engine.view("scores", score_sql(segmenter, "features"))
    engine.write(
        "SELECT user_id, CAST(cluster AS BIGINT) AS cluster FROM scores ORDER BY user_id",
        target,
        check=lambda view: check_scored(engine, view),
    )
    scored = pq.read_table(target)
    ids = scored.column("user_id").to_numpy()
    clusters = scored.column("cluster").to_numpy()
    users = pq.read_table(features, columns=["user_id"]).column(0).to_numpy()
    at = np.searchsorted(ids, users)
    if len(ids) != len(users) or not np.array_equal(ids[np.minimum(at, len(ids) - 1)], users):
        raise DataError(f"scoring: the engine scored {len(ids)} users of {len(users)}")
    return clusters[at].astype("int64")


@contextmanager
def engine_labeller(config: EngineConfig, features: Path, scratch: Path) -> Iterator[Labeller]:
    """A labeller for `fit_segmenter`: on Spark (`engine.name: spark`) it scores every user in a
    Spark session (opened on first use); it answers None, so the users are labelled in
    process a batch at a time, on DuckDB and for a segmenter `scorable` rejects."""
    if config.name != "spark":
        yield lambda segmenter: None
        return
    with ExitStack() as stack:
        engines: list[Engine] = []  # the session, once a segmenter needs it

        def label(segmenter: Any) -> np.ndarray | None:
            why = scorable(segmenter)
            if why:
                log.info("cluster: users scored in Python, not on Spark: %s", why)
                return None
            if not engines:
                engines.append(stack.enter_context(open_engine(config)))
            folder = stack.enter_context(tempfile.TemporaryDirectory(dir=scratch))
            return engine_labels(engines[0], segmenter, features, Path(folder))

        yield label
