"""The wide-cohort figures: features + clustering on about every user (cohort.min_sessions 0),
and how that time grows from a tenth of the users to all of them."""

from __future__ import annotations

from figure import GB, Context, Figure, median

WIDE_STAGES = ("features", "select_k", "cluster")  # "features + cluster" of the wide figure

_USERS_SNIPPET = (
    "import pyarrow.parquet as pq, yaml;"
    "p = yaml.safe_load(open('dvc.yaml'))['vars'][0]['paths']['features'];"
    "print(pq.ParquetFile(p).metadata.num_rows)"
)


def features_cluster(ctx: Context, scale: float) -> dict[str, list[float]]:
    """features + cluster on the wide cohort (min_sessions 0) at `scale`, forced `runs` times
    (no run-cache); measured once per scale, shared by the wide and scaling figures."""
    if scale in ctx.wide_cache:
        return ctx.wide_cache[scale]
    s = ctx.scratch
    s.restore()
    s.set_params(**{"generate.scale": scale, "cohort.min_sessions": 0})
    s.run("dvc", "repro", "cluster")  # inputs at this scale and cohort; not timed
    users = s.quiet("python", "-c", _USERS_SNIPPET).strip()
    out: dict[str, list[float]] = {
        "seconds": [],
        "cpu_s": [],
        "peak_rss_gb": [],
        "users": [float(users)],
    }
    for _ in range(ctx.runs):
        runs = {
            name: s.run("dvc", "repro", "--force", "--single-item", name) for name in WIDE_STAGES
        }
        out["seconds"].append(sum(r.seconds for r in runs.values()))
        out["cpu_s"].append(sum(r.cpu for r in runs.values()))
        out["peak_rss_gb"].append(max(r.peak_rss for r in runs.values()) / GB)
        timings = s.timings()
        for name in WIDE_STAGES:
            if name in timings:
                out.setdefault(f"{name}_stage_s", []).append(timings[name]["wall_s"])
        each = ", ".join(f"{name} {r.seconds:.1f} s" for name, r in runs.items())
        ctx.log(
            f"  wide scale {scale:g} ({users} users): {each}, "
            f"peak RSS {out['peak_rss_gb'][-1]:.2f} GB"
        )
    s.restore()
    ctx.wide_cache[scale] = out
    return out


def fig_wide(ctx: Context) -> Figure:
    big = features_cluster(ctx, ctx.scale)
    sec, rss = median(big["seconds"]), median(big["peak_rss_gb"])
    return Figure(
        "wide",
        f"wide cohort ({int(big['users'][0]):,} users): features + cluster",
        f"{sec:.1f} s (CPU {median(big['cpu_s']):.0f} s), peak RSS {rss:.2f} GB",
        "<= 120 s, <= 8 GB",
        sec <= 120 and rss <= 8,
        big,
    )


def fig_scaling(ctx: Context) -> Figure:
    small = features_cluster(ctx, round(ctx.scale / 10, 6))
    big = features_cluster(ctx, ctx.scale)
    ratio = median(big["seconds"]) / median(small["seconds"])
    users = big["users"][0] / small["users"][0]
    return Figure(
        "scaling",
        f"features + cluster, {users:.1f}x the users",
        f"{median(big['seconds']):.1f} s / {median(small['seconds']):.1f} s = {ratio:.1f}x",
        "<= 10x (linear or better)",
        ratio <= 10,
        {"big_s": big["seconds"], "small_s": small["seconds"]},
        {"users": [small["users"][0], big["users"][0]]},
    )
